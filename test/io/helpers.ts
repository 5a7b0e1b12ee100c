// Shared helpers of the src/io tests: python availability, temp folders, raw array files, exact comparison.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DType, PixelArray } from '../../src/io/index.js';

/** The python with tifffile/numpy/Pillow; PSFID_TEST_PYTHON overrides it (e.g. a missing path, to see the skips). */
export const PYTHON = process.env['PSFID_TEST_PYTHON'] ?? '/usr/bin/python3';

/** Folder of the checked-in synthetic fixtures (source tree, not dist). */
export const FIXTURES = fileURLToPath(new URL('../../../test/fixtures/io/', import.meta.url));

const pyCache = new Map<string, boolean>();
/** Whether `/usr/bin/python3 -c "import <modules>"` works. */
export function pythonHas(modules: string): boolean {
  if (!pyCache.has(modules)) {
    const r = spawnSync(PYTHON, ['-c', `import ${modules}`], { encoding: 'utf8' });
    pyCache.set(modules, r.status === 0);
  }
  return pyCache.get(modules)!;
}

/** Runs a python script with args; throws with its stderr when it fails. Returns stdout. */
export function runPython(script: string, args: string[] = []): string {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

export function makeTempDir(tag: string): string {
  return mkdtempSync(join(tmpdir(), `psfid-io-${tag}-`));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

const CTORS = {
  uint8: Uint8Array,
  uint16: Uint16Array,
  uint32: Uint32Array,
  int8: Int8Array,
  int16: Int16Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

/** Reads a raw little-endian array file (numpy `arr.astype('<…').tofile`). */
export function readRaw(path: string, dtype: DType): PixelArray {
  const b = readFileSync(path);
  const copy = new Uint8Array(b.byteLength);
  copy.set(b);
  const C = CTORS[dtype];
  return new C(copy.buffer, 0, copy.byteLength / C.BYTES_PER_ELEMENT);
}

export function typedArrayOf(dtype: DType, values: ArrayLike<number>): PixelArray {
  return CTORS[dtype].from(values as ArrayLike<number>);
}

/** Concatenates planes' bytes. */
export function concatBytes(planes: readonly PixelArray[]): Buffer {
  return Buffer.concat(planes.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

/** Index of the first differing element, or -1 (NaN equals NaN, as bytes). */
export function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return i;
  }
  return -1;
}
