// One domain error for input a user can correct. `param` names the option or file so the CLI can name the flag.
export class PsfidError extends Error {
  constructor(
    message: string,
    /** The parameter, flag or file at fault (e.g. 'fc', '--pixel-size-nm', a path). */
    readonly param?: string,
    /** 'usage' for wrong or contradictory arguments (CLI exit 2), 'input' for bad data or files (exit 1). */
    readonly kind: 'usage' | 'input' = 'usage',
  ) {
    super(message);
    this.name = 'PsfidError';
  }
}

export function usageError(param: string, message: string): PsfidError {
  return new PsfidError(message, param, 'usage');
}

export function inputError(param: string, message: string): PsfidError {
  return new PsfidError(message, param, 'input');
}

/**
 * Why a file could not be written, in a user's words (the folder is missing, permission denied, …), from the
 * errno of a failed open/write/rename; other errors give their own message. Shared by every atomic writer.
 */
export function writeFailureReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'the folder does not exist';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return 'permission denied';
  if (code === 'ENOSPC') return 'no space left on the device';
  if (code === 'EISDIR') return 'is a directory';
  return e instanceof Error ? e.message || e.name : String(e);
}

/** Shortest readable form of a number for messages and help (4 significant digits, no trailing zeros). */
export function fmt(v: number): string {
  return Number(v.toPrecision(4)).toString();
}
