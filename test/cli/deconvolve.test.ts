// `psfid deconvolve` with --psf, run as a child process on a small uint16 TIFF with a camera offset: tiled runs
// (--tile-size) against a single-tile run and against the library's untiled richardsonLucy / wiener on the same
// data, the output's type, size, scale and calibration, and the refusal of a bad --tile-size.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cudaDeviceCount, tensor, tidy } from '../../src/engine/index.js';
import { richardsonLucy, wiener } from '../../src/deconv/index.js';
import { readImage, writeTiff } from '../../src/io/index.js';
import { airyPsf, convValid, deadLeaves, relMaxDiff, sum } from '../deconv/helpers.js';
import { assertError, assertOk, listDir, makeTempDir, psfid, removeDir } from './helpers.js';

const W = 150;
const H = 130;
const S = 15;
const OFFSET = 100;
const PSF = airyPsf(S, 0.15);

let dir = '';
let image = '';
let psfPath = '';
/** The counts written to the file, minus the offset (what the library is given). */
let counts = new Float32Array(0);

before(() => {
  dir = makeTempDir('deconvolve');
  const scene = deadLeaves(H + S - 1, W + S - 1, 4);
  const blurred = convValid(scene, H + S - 1, W + S - 1, PSF, S);
  const raw = Uint16Array.from(blurred, (v) => Math.round(OFFSET + 3000 * v));
  counts = Float32Array.from(raw, (v) => v - OFFSET);
  image = join(dir, 'cells.tif');
  writeTiff(image, { width: W, height: H, planes: [raw] }, { pixelSizeNm: 65 });
  psfPath = join(dir, 'psf.tif');
  writeTiff(psfPath, { width: S, height: S, planes: [Float32Array.from(PSF)] });
});

after(() => removeDir(dir));


/** Runs deconvolve and returns the output image's pixels (after checking type, size and calibration). */
async function deconvolve(out: string, extra: string[], opts: { gpu?: boolean } = {}): Promise<{ pixels: Float32Array; stdout: string }> {
  const r = await psfid(['deconvolve', image, '--psf', psfPath, '--offset', String(OFFSET), '--out', join(dir, out), ...extra], dir, opts);
  assertOk(r);
  const x = readImage(join(dir, out));
  assert.equal(x.dtype, 'float32');
  assert.equal(x.width, W);
  assert.equal(x.height, H);
  assert.ok(Math.abs((x.metadata.pixelSizeNm ?? 0) - 65) < 1e-3, 'pixel size kept');
  return { pixels: x.planes[0] as Float32Array, stdout: r.stdout };
}

describe('psfid deconvolve --tile-size', () => {
  test('tiles of 48 px give the untiled result (RL, 10 iterations) to 1e-4 of the maximum, on the input scale', async () => {
    const tiled = await deconvolve('tiled.tif', ['--iterations', '10', '--tile-size', '48']);
    assert.match(tiled.stdout, /12 tiles of ≤ 48² px, margin 30 px/);
    const whole = await deconvolve('whole.tif', ['--iterations', '10', '--tile-size', '4096']);
    assert.match(whole.stdout, /1 tile of ≤ 4096² px/);
    const lib = tidy(() => richardsonLucy(tensor(counts, [H, W]), tensor(Float32Array.from(PSF), [S, S]), { iterations: 10, negative: 'clamp' }).image.add(OFFSET).data() as Float32Array);
    assert.ok(relMaxDiff(whole.pixels, lib) < 1e-6, 'one tile is the library’s untiled RL');
    const d = relMaxDiff(tiled.pixels, lib);
    assert.ok(d < 1e-4, `max |tiled − untiled| / max = ${d.toExponential(2)}`);
    // The offset is added back: the output stays on the file's scale (its mean that of the input).
    const mean = (a: ArrayLike<number>): number => sum(a) / a.length;
    assert.ok(Math.abs(mean(tiled.pixels) / (mean(counts) + OFFSET) - 1) < 0.01);
  });

  // Wiener is global (its inverse kernel rings far where the OTF falls steeply, and 'reflect' tapers each tile's
  // mirror extension to the tile's mean): measured 1.8e-3 here with S = 15, 8e-5 with S = 31 (test/deconv/tiled).
  test('wiener in tiles of 64 px matches the library to 5e-3 of the maximum', async () => {
    const tiled = await deconvolve('wiener.tif', ['--method', 'wiener', '--tile-size', '64']);
    const lib = tidy(() => wiener(tensor(counts, [H, W]), tensor(Float32Array.from(PSF), [S, S]), { balance: 0.01 }).image.add(OFFSET).data() as Float32Array);
    const d = relMaxDiff(tiled.pixels, lib);
    assert.ok(d < 5e-3, `max |tiled − untiled| / max = ${d.toExponential(2)}`);
  });

  // Only where a CUDA GPU is visible: the CLI on the GPU against the library on the CPU. cuFFT and the CPU's FFT round
  // differently, and RL compounds it over iterations, hence 1e-3 rather than the CPU's 1e-6.
  test('--device cuda gives the CPU library result (RL, 10 iterations, in tiles of 48 px) to 1e-3 of the maximum', { skip: cudaDeviceCount() > 0 ? false : 'no CUDA GPU visible' }, async () => {
    const gpu = await deconvolve('gpu.tif', ['--iterations', '10', '--tile-size', '48', '--device', 'cuda'], { gpu: true });
    const lib = tidy(() => richardsonLucy(tensor(counts, [H, W]), tensor(Float32Array.from(PSF), [S, S]), { iterations: 10, negative: 'clamp' }).image.add(OFFSET).data() as Float32Array);
    const d = relMaxDiff(gpu.pixels, lib);
    assert.ok(d < 1e-3, `max |cuda − cpu| / max = ${d.toExponential(2)}`);
  });

  // Each tile computes its own extrapolation step α from its own pixels, so tiles agree with the whole image less
  // closely than plain RL's (measured 3.4e-3 of the maximum with these 48 px tiles, 1e-6 for one tile).
  test('--accelerate runs the library\'s Biggs–Andrews RL (one tile: 1e-6 of the maximum; 48 px tiles: 1e-2) and says so; refused with wiener', async () => {
    const whole = await deconvolve('fast.tif', ['--iterations', '8', '--accelerate', '--tile-size', '4096']);
    assert.match(whole.stdout, /8 accelerated iterations/);
    const lib = (acceleration: 'none' | 'biggs-andrews') =>
      tidy(() => richardsonLucy(tensor(counts, [H, W]), tensor(Float32Array.from(PSF), [S, S]), { iterations: 8, negative: 'clamp', acceleration }).image.add(OFFSET).data() as Float32Array);
    const accelerated = lib('biggs-andrews');
    assert.ok(relMaxDiff(whole.pixels, accelerated) < 1e-6, 'one tile is the library’s accelerated RL');
    assert.ok(relMaxDiff(whole.pixels, lib('none')) > 1e-3, 'and differs from plain RL');
    const tiled = await deconvolve('fast-tiled.tif', ['--iterations', '8', '--accelerate', '--tile-size', '48']);
    const d = relMaxDiff(tiled.pixels, accelerated);
    assert.ok(d < 1e-2, `max |tiled − untiled| / max = ${d.toExponential(2)}`);
    const sub = makeTempDir('deconvolve-accel');
    try {
      const r = await psfid(['deconvolve', image, '--psf', psfPath, '--method', 'wiener', '--accelerate', '--out', join(sub, 'x.tif')], sub);
      assertError(r, 2, ['--accelerate', 'wiener']);
      assert.deepEqual(listDir(sub), []);
    } finally {
      removeDir(sub);
    }
  });

  test('--help documents --tile-size; a bad value is refused (exit 2, one line, no output)', async () => {
    const help = await psfid(['deconvolve', '--help'], dir);
    assertOk(help);
    assert.match(help.stdout, /--tile-size <px>/);
    const sub = makeTempDir('deconvolve-bad');
    try {
      for (const bad of ['8', '64.5', 'big']) {
        const r = await psfid(['deconvolve', image, '--psf', psfPath, '--tile-size', bad, '--out', join(sub, 'x.tif')], sub);
        assertError(r, 2, ['--tile-size', bad]);
      }
      assert.deepEqual(listDir(sub), []);
      assert.ok(!existsSync(join(sub, 'x.tif')));
    } finally {
      removeDir(sub);
    }
  });
});
