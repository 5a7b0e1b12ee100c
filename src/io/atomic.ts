// Atomic file writes: the bytes go to a temporary file in the target's folder, are flushed to disk, then renamed
// over the target. A reader never sees a partial file, and a failed write leaves neither a temporary file nor a
// partial target behind (an existing target is left as it was).
import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { ImageIOError } from './errors.js';
import { writeFailureReason } from '../errors.js';

/** Temporary names start with this, so stray ones are easy to spot: `.<name>.psfid-tmp-<random>`. */
export const TEMP_MARK = '.psfid-tmp-';

/**
 * Writes `data` to `path` atomically. `data` may be a function producing the bytes: it runs before anything
 * touches the disk, and whatever it throws propagates with no file created. OS errors become
 * ImageIOError('write-failed').
 */
export function writeFileAtomic(path: string, data: Uint8Array | (() => Uint8Array)): void {
  const bytes = typeof data === 'function' ? data() : data;
  const tmp = join(dirname(path), `.${basename(path)}${TEMP_MARK}${process.pid}-${randomBytes(6).toString('hex')}`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.byteLength) off += writeSync(fd, bytes, off, bytes.byteLength - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (e) {
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        /* already failing */
      }
    }
    rmSync(tmp, { force: true });
    throw new ImageIOError('write-failed', `cannot write file: ${writeFailureReason(e)}`, path, { cause: e });
  }
}
