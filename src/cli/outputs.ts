// Writing a command's outputs all together: every file is first written in full to a temporary file beside its
// target and flushed, and only when all of them are on disk are they renamed into place. If anything fails before
// the renames, no target is touched and no temporary file is left; a command that computes everything first and
// then calls writeOutputs therefore never leaves partial output behind.
import { closeSync, fsyncSync, openSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { usageError, writeFailureReason } from '../errors.js';
import { ImageIOError } from '../io/index.js';
import { TEMP_MARK } from '../io/atomic.js';

export interface OutputFile {
  /** Target path. */
  path: string;
  /** The flag that named it, for messages (e.g. '--out'). */
  flag: string;
  bytes: Uint8Array;
}

function writeError(e: unknown, path: string): ImageIOError {
  return new ImageIOError('write-failed', `cannot write file: ${writeFailureReason(e)}`, path, { cause: e });
}

/** The file a path names, links resolved (also through its folder when the file does not exist yet). */
export function canonicalPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    try {
      return join(realpathSync(dirname(resolve(path))), basename(path));
    } catch {
      return resolve(path);
    }
  }
}

/**
 * Checks, before any work is done, that the outputs can be created: distinct paths, none equal to an input, and
 * each in an existing folder and not a folder itself. Throws a usage error (clashing names) or an ImageIOError
 * (missing folder) naming the file.
 */
export function checkOutputPaths(outputs: readonly { path: string; flag: string }[], inputs: readonly (string | undefined)[] = []): void {
  const seen = new Map<string, string>();
  const inputOf = new Map<string, string>();
  for (const p of inputs) if (p !== undefined) inputOf.set(canonicalPath(p), p);
  for (const o of outputs) {
    const abs = canonicalPath(o.path);
    const other = seen.get(abs);
    if (other !== undefined) throw usageError(o.flag, `${o.flag} ${o.path} is the same file as ${other}; give distinct output paths`);
    seen.set(abs, o.flag);
    const input = inputOf.get(abs);
    if (input !== undefined) throw usageError(o.flag, `${o.flag} ${o.path} would overwrite the input ${input}; give another output path`);
    let dir;
    try {
      dir = statSync(dirname(abs));
    } catch (e) {
      throw writeError(e, o.path);
    }
    if (!dir.isDirectory()) throw new ImageIOError('write-failed', 'cannot write file: the folder does not exist', o.path);
    try {
      if (statSync(abs).isDirectory()) throw new ImageIOError('write-failed', 'cannot write file: is a directory', o.path);
    } catch (e) {
      if (e instanceof ImageIOError) throw e;
      // ENOENT: the file does not exist yet, as expected.
    }
  }
}

/**
 * Writes every file, all or nothing (see the module comment). Existing targets are replaced. Throws ImageIOError
 * ('write-failed') naming the file that could not be written.
 */
export function writeOutputs(files: readonly OutputFile[]): void {
  checkOutputPaths(files);
  const temps: string[] = [];
  try {
    for (const f of files) {
      const tmp = join(dirname(f.path), `.${basename(f.path)}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}`);
      let fd: number | undefined;
      try {
        fd = openSync(tmp, 'wx', 0o644);
        temps.push(tmp);
        let off = 0;
        while (off < f.bytes.byteLength) off += writeSync(fd, f.bytes, off, f.bytes.byteLength - off);
        fsyncSync(fd);
      } catch (e) {
        throw writeError(e, f.path);
      } finally {
        if (fd !== undefined) closeSync(fd);
      }
    }
  } catch (e) {
    for (const t of temps) rmSync(t, { force: true });
    throw e;
  }
  const renamed: string[] = [];
  for (let i = 0; i < files.length; i++) {
    try {
      renameSync(temps[i]!, files[i]!.path);
      renamed.push(files[i]!.path);
    } catch (e) {
      // Rare (the folder vanished or changed permissions between the writes and the renames): undo what we can.
      for (const t of temps.slice(i)) rmSync(t, { force: true });
      for (const p of renamed) rmSync(p, { force: true });
      throw writeError(e, files[i]!.path);
    }
  }
}

/** Refuses a figure name that is not .png (usage error): psfid's figures are PNG, and a .tif holding one misleads. */
export function pngPath(flag: string, path: string): void {
  const ext = extname(path);
  if (ext.toLowerCase() !== '.png' || basename(path) === ext) throw usageError(flag, `${flag} must name a .png file (figures are PNG), got '${path}'`);
}

/** A JSON document as an output's bytes (pretty-printed, with a final newline). */
export function jsonBytes(value: unknown, indent = 2): Uint8Array {
  return Buffer.from(JSON.stringify(value, null, indent) + '\n', 'utf8');
}

/** `dir/name.tif` → `{ stem: 'dir/name', ext: '.tif' }`; refuses names that are not .tif/.tiff (usage error). */
export function tiffPath(flag: string, path: string): { stem: string; ext: string } {
  const ext = extname(path);
  if (!/^\.tiff?$/i.test(ext) || basename(path) === ext) {
    throw usageError(flag, `${flag} must name a .tif or .tiff file (psfid writes float32 TIFF), got '${path}'`);
  }
  return { stem: path.slice(0, -ext.length), ext };
}
