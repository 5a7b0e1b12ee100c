// Reading images: the format is told by the content (magic bytes), never by the file name. Synchronous functions
// (`readImage`, `decodeImage`) for the CLI and loaders; `…Async` ones decode TIFFs on the calling thread.
import { readFileSync, statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { ImageIOError, describeThrown } from './errors.js';
import { sniffFormat } from './format.js';
import { decodeJpeg } from './jpeg.js';
import { decodePng } from './png.js';
import { decodeTiffSync } from './sync.js';
import { decodeTiff } from './tiff-read.js';
import type { ImageStack } from './types.js';

/** The decodable format of `bytes`, or the error to throw (empty, or not TIFF/PNG/JPEG). */
function classify(bytes: Uint8Array, path?: string): ImageIOError | 'tiff' | 'png' | 'jpeg' {
  if (bytes.length === 0) return new ImageIOError('empty', 'empty file (0 bytes)', path);
  const format = sniffFormat(bytes);
  if (format.kind !== 'other') return format.kind;
  return new ImageIOError('unsupported-format', `unsupported format: found ${format.name}; psfid reads TIFF, PNG and JPEG`, path);
}

/**
 * Decodes a TIFF, PNG or JPEG held in memory, telling them apart by their first bytes. `path` only names the file
 * in error messages. NaN/Inf samples are kept (see `findNonFinite`). Throws ImageIOError.
 * TIFFs are decoded in a worker thread (geotiff is async) while this call blocks; `bytes` is not modified.
 */
export function decodeImage(bytes: Uint8Array, path?: string): ImageStack {
  return decodeSync(bytes, path, false);
}

function decodeSync(bytes: Uint8Array, path: string | undefined, transfer: boolean): ImageStack {
  const kind = classify(bytes, path);
  if (kind instanceof ImageIOError) throw kind;
  if (kind === 'png') return decodePng(bytes, path);
  if (kind === 'jpeg') return decodeJpeg(bytes, path);
  return decodeTiffSync(bytes, path, transfer);
}

/** As `decodeImage`, but returns a promise and decodes TIFFs on the calling thread. */
export async function decodeImageAsync(bytes: Uint8Array, path?: string): Promise<ImageStack> {
  const kind = classify(bytes, path);
  if (kind instanceof ImageIOError) throw kind;
  if (kind === 'png') return decodePng(bytes, path);
  if (kind === 'jpeg') return decodeJpeg(bytes, path);
  return decodeTiff(bytes, path);
}

function fileError(e: unknown, path: string): ImageIOError {
  if (e instanceof ImageIOError) return e;
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new ImageIOError('not-found', 'file not found', path, { cause: e });
  if (code === 'EACCES' || code === 'EPERM') return new ImageIOError('unreadable', 'permission denied', path, { cause: e });
  return new ImageIOError('unreadable', `cannot read file (${describeThrown(e)})`, path, { cause: e });
}

function notAFile(isDirectory: boolean, path: string): ImageIOError {
  return new ImageIOError('not-a-file', isDirectory ? 'is a directory, not an image file' : 'is not a regular file', path);
}

/**
 * Reads and decodes an image file: TIFF (every page), PNG or JPEG, recognised by content. Pixels keep their stored
 * dtype and values. Throws ImageIOError naming the file and the problem (missing, empty, truncated, corrupt,
 * unsupported format or feature).
 */
export function readImage(path: string): ImageStack {
  let bytes: Uint8Array;
  try {
    const s = statSync(path);
    if (!s.isFile()) throw notAFile(s.isDirectory(), path);
    bytes = readFileSync(path);
  } catch (e) {
    throw fileError(e, path);
  }
  return decodeSync(bytes, path, true);
}

/** As `readImage`, but returns a promise and decodes TIFFs on the calling thread. */
export async function readImageAsync(path: string): Promise<ImageStack> {
  let bytes: Uint8Array;
  try {
    const s = await stat(path);
    if (!s.isFile()) throw notAFile(s.isDirectory(), path);
    bytes = await readFile(path);
  } catch (e) {
    throw fileError(e, path);
  }
  return decodeImageAsync(bytes, path);
}
