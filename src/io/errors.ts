// The one error type of src/io. It is a PsfidError of kind 'input', so the CLI reports it as bad input (exit 1).
import { PsfidError } from '../errors.js';

/** What went wrong, for callers that branch on it (the message is for people). */
export type ImageIOErrorCode =
  | 'not-found' // no such file
  | 'not-a-file' // a directory or other non-file
  | 'unreadable' // permission or other OS error
  | 'empty' // 0 bytes
  | 'truncated' // ends before the data it declares
  | 'corrupt' // inconsistent or undecodable content
  | 'unsupported-format' // not TIFF, PNG or JPEG
  | 'unsupported-feature' // a known format with a feature this reader does not handle
  | 'invalid-image' // an image handed to a writer or helper is inconsistent
  | 'write-failed'; // the OS refused a write

/**
 * Error reading, decoding or writing an image. `message` is one line that starts with the file's path (when there
 * is one) and names the problem, e.g. `/data/a.tif: truncated or corrupt TIFF: page 3 pixel data ends past the end
 * of the file (needs 81920 bytes, file has 40000)`.
 */
export class ImageIOError extends PsfidError {
  /** The file at fault, when there is one. */
  readonly path: string | undefined;
  readonly code: ImageIOErrorCode;
  /** The message without the path in front. */
  readonly problem: string;

  constructor(code: ImageIOErrorCode, problem: string, path?: string, options?: { cause?: unknown }) {
    const oneLine = problem.replace(/\s*[\r\n]+\s*/g, ' ').trim();
    super(path ? `${path}: ${oneLine}` : oneLine, path, 'input');
    this.name = 'ImageIOError';
    this.code = code;
    this.path = path;
    this.problem = oneLine;
    if (options && 'cause' in options) (this as { cause?: unknown }).cause = options.cause;
  }
}

/** The message of anything thrown, on one line (libraries throw strings and odd objects too). */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return e.message || e.name;
  if (typeof e === 'string') return e;
  try {
    return JSON.stringify(e) ?? String(e);
  } catch {
    return String(e);
  }
}
