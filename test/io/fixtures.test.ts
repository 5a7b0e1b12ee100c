// Reads the checked-in synthetic fixtures (written by tifffile and Pillow/libtiff, see
// test/fixtures/io/make_fixtures.py) and checks every value against the formula they were made from. Runs with or
// without python, so the reader is always checked against files another tool wrote.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readImage, readImageAsync, ImageIOError, planeIndex, type ImageStack } from '../../src/io/index.js';
import { FIXTURES, firstDifference } from './helpers.js';

const H = 6;
const W = 7;
/** The formula of make_fixtures.py. */
const f = (z: number, y: number, x: number, mod: number) => (x * 37 + y * 101 + z * 53 + 11) % mod;

function expectedPlanes(nz: number, h: number, w: number, value: (z: number, y: number, x: number) => number): number[][] {
  const out: number[][] = [];
  for (let z = 0; z < nz; z++) {
    const p: number[] = [];
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) p.push(value(z, y, x));
    out.push(p);
  }
  return out;
}

function assertPlanes(img: ImageStack, expected: number[][]): void {
  assert.equal(img.planes.length, expected.length, 'plane count');
  img.planes.forEach((p, i) => {
    const d = firstDifference(p, expected[i]!);
    assert.equal(d, -1, `plane ${i} differs at ${d}: got ${p[d]}, expected ${expected[i]![d]}`);
  });
}

const read = (name: string) => readImage(join(FIXTURES, name));

test('LZW + horizontal predictor, uint16 (libtiff)', () => {
  const img = read('lzw_pred_u16.tif');
  assert.equal(img.dtype, 'uint16');
  assert.equal(img.metadata.compression, 'lzw');
  assertPlanes(img, expectedPlanes(1, H, W, (z, y, x) => f(z, y, x, 65536)));
});

test('LZW + floating-point predictor, float32 (libtiff)', () => {
  const img = read('lzw_fpred_f32.tif');
  assert.equal(img.dtype, 'float32');
  assertPlanes(img, expectedPlanes(1, H, W, (z, y, x) => f(z, y, x, 1000) / 8 - 40));
});

test('PackBits, uint8 (libtiff)', () => {
  const img = read('packbits_u8.tif');
  assert.equal(img.dtype, 'uint8');
  assert.equal(img.metadata.compression, 'packbits');
  assertPlanes(img, expectedPlanes(1, H, W, (z, y, x) => f(z, y, x, 256)));
});

test('Deflate + predictor, int16 (tifffile)', () => {
  const img = read('deflate_pred_i16.tif');
  assert.equal(img.dtype, 'int16');
  assertPlanes(img, expectedPlanes(1, H, W, (z, y, x) => f(z, y, x, 65536) - 32768));
});

test('big-endian deflate + horizontal predictor, uint16, 2 pages (tifffile)', () => {
  const img = read('be_pred_u16.tif');
  assert.equal(img.dtype, 'uint16');
  assertPlanes(img, expectedPlanes(2, H, W, (z, y, x) => f(z, y, x, 65536)));
});

test('big-endian float64, 2 pages (tifffile)', () => {
  const img = read('be_f64.tif');
  assert.equal(img.dtype, 'float64');
  assert.equal(img.bitsPerSample, 64);
  assertPlanes(img, expectedPlanes(2, H, W, (z, y, x) => f(z, y, x, 1000) / 4 - 100));
});

test('tiled, deflate, uint32 (tifffile)', () => {
  const img = read('tiled_u32.tif');
  assert.equal(img.dtype, 'uint32');
  assert.equal([img.width, img.height].join('x'), '32x20');
  assertPlanes(img, expectedPlanes(1, 20, 32, (z, y, x) => (f(z, y, x, 65521) * 65537) % 2 ** 32));
});

test('planar RGB is returned interleaved', () => {
  const img = read('rgb_planar_u8.tif');
  assert.equal(img.samplesPerPixel, 3);
  assert.equal(img.colorModel, 'rgb');
  const exp: number[] = [];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let s = 0; s < 3; s++) exp.push(f(s, y, x, 256));
  assertPlanes(img, [exp]);
});

test('ImageJ z-stack: values, pixel size 65 nm, spacing 200 nm', () => {
  const img = read('imagej_zyx_u16.tif');
  assertPlanes(img, expectedPlanes(3, H, W, (z, y, x) => f(z, y, x, 4096)));
  const m = img.metadata;
  assert.ok(m.imagej);
  assert.equal(m.imagej.slices, 3);
  assert.equal(m.pixelSizeUnit, 'um');
  assert.ok(Math.abs(m.pixelSizeNm! - 65) < 1e-6, `pixelSizeNm ${m.pixelSizeNm}`);
  assert.ok(Math.abs(m.zSpacingNm! - 200) < 1e-9, `zSpacingNm ${m.zSpacingNm}`);
  assert.deepEqual([m.sizeC, m.sizeZ, m.sizeT], [1, 3, 1]);
});

test('ImageJ hyperstack TZCYX: C/Z/T and plane order', () => {
  const img = read('imagej_tzcyx_f32.tif');
  const m = img.metadata;
  assert.deepEqual([m.sizeC, m.sizeZ, m.sizeT, m.dimensionOrder], [2, 3, 2, 'XYCZT']);
  assert.equal(m.pixelSizeUnit, 'micron');
  assert.ok(Math.abs(m.pixelSizeNm! - 100) < 1e-6);
  assertPlanes(img, expectedPlanes(12, H, W, (z, y, x) => f(z, y, x, 1000)));
  // The file was written from a (T=2, Z=3, C=2) array: plane (c, z, t) is t*6 + z*2 + c.
  assert.equal(planeIndex(img, { c: 1, z: 2, t: 1 }), 1 * 6 + 2 * 2 + 1);
});

test('OME-TIFF: PhysicalSizeX in µm becomes nm', async () => {
  const img = await readImageAsync(join(FIXTURES, 'ome_zyx_u16.tif'));
  assertPlanes(img, expectedPlanes(3, H, W, (z, y, x) => f(z, y, x, 65536)));
  const m = img.metadata;
  assert.ok(m.ome);
  assert.equal(m.ome.physicalSizeXUnit, 'µm');
  assert.ok(Math.abs(m.pixelSizeNm! - 100) < 1e-9);
  assert.ok(Math.abs(m.zSpacingNm! - 250) < 1e-9);
  assert.equal(m.sizeZ, 3);
});

test('JPEG-compressed TIFF is refused with a message naming it', () => {
  const p = join(FIXTURES, 'jpeg_in_tiff.tif');
  assert.throws(
    () => readImage(p),
    (e: unknown) => e instanceof ImageIOError && e.code === 'unsupported-feature' && e.message.includes(p) && /JPEG-compressed TIFF/.test(e.message),
  );
});

test('PNG 16-bit grey keeps its values', () => {
  const img = read('gray16.png');
  assert.equal(img.format, 'png');
  assert.equal(img.dtype, 'uint16');
  assertPlanes(img, expectedPlanes(1, H, W, (z, y, x) => f(z, y, x, 65536)));
});

test('PNG RGBA 8-bit', () => {
  const img = read('rgba8.png');
  assert.equal(img.colorModel, 'rgba');
  const exp: number[] = [];
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let s = 0; s < 4; s++) exp.push(f(s, y, x, 256));
  assertPlanes(img, [exp]);
});

test('PNG 4-bit palette is expanded to RGB', () => {
  const img = read('palette4.png');
  assert.equal(img.colorModel, 'rgb');
  assert.equal(img.dtype, 'uint8');
  const exp: number[] = [];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = f(0, y, x, 16);
      exp.push(i * 16, 255 - i * 16, i * 8);
    }
  }
  assertPlanes(img, [exp]);
});

function jpegError(img: ImageStack, value: (y: number, x: number, s: number) => number): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  const spp = img.samplesPerPixel;
  const p = img.planes[0]!;
  for (let y = 0; y < img.height; y++) {
    for (let x = 0; x < img.width; x++) {
      for (let s = 0; s < spp; s++) {
        const d = Math.abs(p[(y * img.width + x) * spp + s]! - value(y, x, s));
        max = Math.max(max, d);
        sum += d;
      }
    }
  }
  return { max, mean: sum / p.length };
}

test('JPEG grey and RGB decode close to the encoded ramp', () => {
  const g = read('gray.jpg');
  assert.equal(g.format, 'jpeg');
  assert.equal(g.samplesPerPixel, 1);
  assert.deepEqual([g.width, g.height], [40, 32]);
  const eg = jpegError(g, (y, x) => x * 4 + y * 2);
  assert.ok(eg.max <= 6 && eg.mean <= 1.5, JSON.stringify(eg));
  const c = read('rgb.jpg');
  assert.equal(c.samplesPerPixel, 3);
  assert.equal(c.colorModel, 'rgb');
  const ec = jpegError(c, (y, x, s) => [x * 5, y * 6, (x + y) * 3][s]!);
  assert.ok(ec.max <= 16 && ec.mean <= 3, JSON.stringify(ec));
});
