// Wiener deconvolution against independent truth (a scene blurred by naive loops), and its invariants.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tensor, tidy } from '../../src/engine/index.js';
import { wiener } from '../../src/deconv/index.js';
import { PsfidError } from '../../src/errors.js';
import { airyPsf, convValid, crop, deadLeaves, gaussianNoise, gaussianPsf, psnr, sum } from './helpers.js';

const N = 96;
const S = 15;
const PAD = S - 1;
const M = N + PAD;
const f32 = (a: ArrayLike<number>, shape: number[]) => tensor(Float32Array.from(a), shape);

function scene(h: Float64Array, seed: number, sigma: number): { truth: Float64Array; y: Float64Array } {
  const ext = deadLeaves(M, M, seed);
  const y = convValid(ext, M, M, h, S);
  const noise = gaussianNoise(y.length, seed + 100);
  for (let i = 0; i < y.length; i++) y[i]! += sigma * noise[i]!;
  return { truth: crop(ext, M, PAD / 2, PAD / 2, N, N), y };
}

describe('wiener', () => {
  for (const [name, h] of [
    ['Gaussian σ = 2 px', gaussianPsf(S, 2)],
    ['Airy fc = 0.15', airyPsf(S, 0.15)],
  ] as const) {
    test(`raises PSNR against the sharp scene (${name}, noise σ = 0.005, default balance)`, () =>
      tidy(() => {
        const { truth, y } = scene(h, 7, 0.005);
        const before = psnr(y, truth);
        const after = psnr(wiener(f32(y, [N, N]), f32(h, [S, S])).image.toArray(), truth);
        // Measured: Gaussian 23.9 → 25.4 dB, Airy 25.3 → 27.1 dB.
        assert.ok(after > before + 1, `PSNR ${before.toFixed(2)} → ${after.toFixed(2)} dB`);
      }));
  }

  test('more noise wants a larger balance', () =>
    tidy(() => {
      const h = gaussianPsf(S, 2);
      const { truth, y } = scene(h, 8, 0.03);
      const at = (balance: number) => psnr(wiener(f32(y, [N, N]), f32(h, [S, S]), { balance }).image.toArray(), truth);
      assert.ok(at(0.3) > at(1e-3));
    }));

  test('keeps the mean and the intensity scale (values outside [0, 1] kept, negatives allowed)', () =>
    tidy(() => {
      const h = gaussianPsf(S, 1.5);
      const { y } = scene(h, 9, 0);
      const scaled = y.map((v) => 500 * v - 20);
      const out = wiener(f32(scaled, [N, N]), f32(h, [S, S])).image;
      assert.equal(out.dtype, 'float32');
      assert.deepEqual(out.shape, [N, N]);
      const v = out.toArray();
      const ratio = sum(v) / sum(scaled);
      assert.ok(Math.abs(ratio - 1) < 0.01, `Σ out / Σ in = ${ratio}`);
      assert.ok(Math.max(...v) > 100);
    }));

  test('a delta PSF with a tiny balance returns the input', () =>
    tidy(() => {
      const delta = new Float64Array(9);
      delta[4] = 1;
      const { y } = scene(gaussianPsf(S, 1), 10, 0);
      const out = wiener(f32(y, [N, N]), f32(delta, [3, 3]), { balance: 1e-9 }).image.toArray();
      for (let i = 0; i < y.length; i++) assert.ok(Math.abs(out[i]! - y[i]!) < 1e-5);
    }));

  test('options are checked', () =>
    tidy(() => {
      const img = f32(scene(gaussianPsf(S, 1), 11, 0).y, [N, N]);
      const psf = f32(gaussianPsf(S, 1), [S, S]);
      assert.throws(() => wiener(img, psf, { balance: 0 }), (e: unknown) => e instanceof PsfidError && e.param === 'balance');
      assert.throws(() => wiener(img, psf, { boundary: 'masked' as never }), (e: unknown) => e instanceof PsfidError && e.param === 'boundary');
    }));
});
