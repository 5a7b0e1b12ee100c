// Richardson–Lucy against independent truth: a seeded synthetic scene blurred by naive loops (not by our FFT code),
// PSNR against the sharp scene, flux, identity with a delta PSF, scale equivariance, batching, input checks.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { liveTensors, tensor, tidy } from '../../src/engine/index.js';
import { deconvolveGrid, richardsonLucy, wiener } from '../../src/deconv/index.js';
import { PsfidError } from '../../src/errors.js';
import { airyPsf, convSame, convValid, crop, deadLeaves, gaussianNoise, gaussianPsf, psnr, sum } from './helpers.js';

const N = 96;
const S = 15;
const PAD = S - 1;
const M = N + PAD;

/** The sharp scene on the extended domain, its window, and the observed image (valid blur + noise σ). */
function scene(h: Float64Array, seed: number, sigma: number): { truth: Float64Array; y: Float64Array } {
  const ext = deadLeaves(M, M, seed);
  const y = convValid(ext, M, M, h, S);
  const noise = gaussianNoise(y.length, seed + 100);
  for (let i = 0; i < y.length; i++) y[i]! += sigma * noise[i]!;
  return { truth: crop(ext, M, PAD / 2, PAD / 2, N, N), y };
}

const f32 = (a: ArrayLike<number>, shape: number[]) => tensor(Float32Array.from(a), shape);

describe('richardsonLucy', () => {
  for (const [name, h] of [
    ['Gaussian σ = 2 px', gaussianPsf(S, 2)],
    ['Airy fc = 0.15', airyPsf(S, 0.15)],
  ] as const) {
    test(`raises PSNR against the sharp scene (${name}, noise σ = 0.005)`, () =>
      tidy(() => {
        const { truth, y } = scene(h, 7, 0.005);
        const before = psnr(y, truth);
        const r = richardsonLucy(f32(y, [N, N]), f32(h, [S, S]), { iterations: 30 });
        const after = psnr(r.image.toArray(), truth);
        // Measured: Gaussian 23.9 → 25.7 dB, Airy 25.3 → 27.5 dB.
        assert.ok(after > before + 1, `PSNR ${before.toFixed(2)} → ${after.toFixed(2)} dB`);
        assert.equal(r.history.length, 30);
        assert.equal(r.boundary, 'masked');
        assert.ok(r.history.at(-1)!.relativeChange < r.history[0]!.relativeChange);
      }));
  }

  test('RL-TV (tv = 0.005) does better than plain RL on the same noisy data after 100 iterations (measured 26.9 → 28.2 dB)', () =>
    tidy(() => {
      const h = gaussianPsf(S, 2);
      const { truth, y } = scene(h, 8, 0.01);
      const plain = psnr(richardsonLucy(f32(y, [N, N]), f32(h, [S, S]), { iterations: 100 }).image.toArray(), truth);
      const tv = psnr(richardsonLucy(f32(y, [N, N]), f32(h, [S, S]), { iterations: 100, tv: 0.005 }).image.toArray(), truth);
      assert.ok(tv > plain, `RL ${plain.toFixed(2)} dB, RL-TV ${tv.toFixed(2)} dB`);
    }));

  describe('Biggs–Andrews acceleration', () => {
    // Photon counts (scene 5–105, Poisson-like noise) blurred circularly by loops, so that the Poisson data misfit
    // (I-divergence) of an estimate u, Σ y log(y / Au) − y + Au, is computed here with Au from the same loops.
    const C = 128;
    const h = airyPsf(25, 0.1);
    const x = deadLeaves(C, C, 3).map((v) => 100 * v + 5);
    const y = convSame(x, C, C, h, 25, 'circular');
    const noise = gaussianNoise(y.length, 5);
    for (let i = 0; i < y.length; i++) y[i] = Math.max(0, y[i]! + Math.sqrt(y[i]!) * noise[i]!);
    const misfit = (u: ArrayLike<number>): number => {
      const au = convSame(u, C, C, h, 25, 'circular');
      let d = 0;
      for (let i = 0; i < y.length; i++) d += (y[i]! > 0 ? y[i]! * Math.log(y[i]! / au[i]!) : 0) - y[i]! + au[i]!;
      return d;
    };
    const run = (iterations: number, acceleration: 'none' | 'biggs-andrews') =>
      tidy(() => richardsonLucy(f32(y, [C, C]), f32(h, [25, 25]), { iterations, boundary: 'circular', acceleration }).image.toArray());

    test('fits the data better in half the iterations (measured: 15 accelerated 7,559, 30 plain 7,612, 15 plain 7,714)', () => {
      const fast = misfit(run(15, 'biggs-andrews'));
      const plain30 = misfit(run(30, 'none'));
      const plain15 = misfit(run(15, 'none'));
      assert.ok(fast < plain30 && plain30 < plain15, `I-divergence: accelerated 15 ${fast.toFixed(1)}, plain 30 ${plain30.toFixed(1)}, plain 15 ${plain15.toFixed(1)}`);
    });

    test('its first two iterations are plain RL (no step history yet), later ones differ', () => {
      assert.deepEqual(run(2, 'biggs-andrews'), run(2, 'none'));
      assert.notDeepEqual(run(3, 'biggs-andrews'), run(3, 'none'));
    });

    test('keeps the estimate non-negative and the flux within 1 % (masked boundary, RL-TV too)', () =>
      tidy(() => {
        const hm = airyPsf(S, 0.12);
        const { y: ym } = scene(hm, 9, 0);
        for (const tv of [0, 0.002]) {
          const out = richardsonLucy(f32(ym, [N, N]), f32(hm, [S, S]), { iterations: 40, tv, acceleration: 'biggs-andrews' }).image.toArray();
          assert.ok(Math.min(...out) >= 0);
          const ratio = sum(out) / sum(ym);
          assert.ok(Math.abs(ratio - 1) < 0.01, `tv ${tv}: Σ estimate / Σ image = ${ratio}`);
        }
      }));
  });

  test('keeps the total flux within 1 % (masked and reflect boundaries)', () =>
    tidy(() => {
      const h = airyPsf(S, 0.12);
      const { y } = scene(h, 9, 0);
      for (const boundary of ['masked', 'reflect'] as const) {
        const out = richardsonLucy(f32(y, [N, N]), f32(h, [S, S]), { iterations: 50, boundary }).image.toArray();
        const ratio = sum(out) / sum(y);
        assert.ok(Math.abs(ratio - 1) < 0.01, `${boundary}: Σ estimate / Σ image = ${ratio}`);
      }
    }));

  test('a delta PSF returns the input (every boundary)', () =>
    tidy(() => {
      const delta = new Float64Array(5 * 5);
      delta[12] = 1;
      const { y } = scene(gaussianPsf(S, 1), 10, 0);
      for (const boundary of ['masked', 'reflect', 'zero', 'circular'] as const) {
        const out = richardsonLucy(f32(y, [N, N]), f32(delta, [5, 5]), { iterations: 5, boundary }).image.toArray();
        let worst = 0;
        for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(out[i]! - y[i]!) / y[i]!);
        assert.ok(worst < 1e-5, `${boundary}: worst relative difference ${worst}`);
      }
    }));

  test('keeps the intensity scale: 1000 × the image gives 1000 × the estimate (no clipping, no rescaling)', () =>
    tidy(() => {
      const h = gaussianPsf(S, 1.5);
      const { y } = scene(h, 11, 0.002);
      const psf = f32(h, [S, S]);
      const a = richardsonLucy(f32(y, [N, N]), psf, { iterations: 10 }).image;
      const b = richardsonLucy(f32(y.map((v) => 1000 * v), [N, N]), psf, { iterations: 10 }).image;
      assert.equal(b.dtype, 'float32');
      assert.deepEqual(b.shape, [N, N]);
      const av = a.toArray();
      const bv = b.toArray();
      assert.ok(Math.max(...bv) > 1, 'values above 1 are kept');
      for (let i = 0; i < av.length; i++) assert.ok(Math.abs(bv[i]! - 1000 * av[i]!) <= 1e-3 * Math.abs(1000 * av[i]!) + 1e-3);
    }));

  test('a batch [B, 1, H, W] gives each image its own result, and the input is not mutated', () =>
    tidy(() => {
      const h = gaussianPsf(S, 1.5);
      const y1 = scene(h, 12, 0.002).y;
      const y2 = scene(h, 13, 0.002).y;
      const both = new Float32Array(2 * N * N);
      both.set(y1);
      both.set(y2, N * N);
      const input = tensor(both, [2, 1, N, N]);
      const psf = f32(h, [S, S]);
      // Accelerated too: each image gets its own extrapolation step, as if run alone.
      for (const acceleration of ['none', 'biggs-andrews'] as const) {
        const batched = richardsonLucy(input, psf, { iterations: 8, acceleration }).image;
        assert.deepEqual(batched.shape, [2, 1, N, N]);
        assert.deepEqual(input.toArray(), Array.from(both));
        const single = [y1, y2].map((y) => richardsonLucy(f32(y, [N, N]), psf, { iterations: 8, acceleration }).image.toArray());
        const bv = batched.toArray();
        for (let i = 0; i < N * N; i++) {
          assert.ok(Math.abs(bv[i]! - single[0]![i]!) < 1e-5, acceleration);
          assert.ok(Math.abs(bv[N * N + i]! - single[1]![i]!) < 1e-5, acceleration);
        }
      }
    }));

  test('negative data: rounding-size negatives are set to 0; larger ones are refused unless negative: clamp', () =>
    tidy(() => {
      const h = gaussianPsf(S, 1.5);
      const y = scene(h, 14, 0).y;
      const small = Float32Array.from(y);
      small[0] = -1e-4;
      small[1] = -2e-4;
      const r = richardsonLucy(tensor(small, [N, N]), f32(h, [S, S]), { iterations: 3 });
      assert.equal(r.clampedPixels, 2);
      const big = Float32Array.from(y);
      big[5] = -0.05;
      assert.throws(
        () => richardsonLucy(tensor(big, [N, N]), f32(h, [S, S])),
        (e: unknown) => e instanceof PsfidError && e.param === 'image' && e.kind === 'input' && /down to -0\.05.*negative: 'clamp'/.test(e.message),
      );
      const c = richardsonLucy(tensor(big, [N, N]), f32(h, [S, S]), { iterations: 3, negative: 'clamp' });
      assert.equal(c.clampedPixels, 1);
      assert.ok(Math.min(...c.image.toArray()) >= 0);
    }));

  test('options are checked: iterations, tv, boundary, unknown keys, a negative PSF', () =>
    tidy(() => {
      const img = f32(scene(gaussianPsf(S, 1), 15, 0).y, [N, N]);
      const psf = f32(gaussianPsf(S, 1), [S, S]);
      const usage = (param: string) => (e: unknown) => e instanceof PsfidError && e.param === param && e.kind === 'usage';
      assert.throws(() => richardsonLucy(img, psf, { iterations: 0 }), usage('iterations'));
      assert.throws(() => richardsonLucy(img, psf, { tv: 0.3 }), usage('tv'));
      assert.throws(() => richardsonLucy(img, psf, { boundary: 'mirror' as never }), usage('boundary'));
      assert.throws(() => richardsonLucy(img, psf, { iteration: 5 } as never), usage('iteration'));
      assert.throws(() => richardsonLucy(img, psf, { acceleration: 'fast' as never }), usage('acceleration'));
      const neg = gaussianPsf(S, 1);
      neg[0] = -0.01;
      neg[112] += 0.01;
      assert.throws(() => richardsonLucy(img, f32(neg, [S, S])), (e: unknown) => e instanceof PsfidError && e.param === 'psf' && /negative/.test(e.message));
    }));

  test('onIteration is called once per iteration, in order', () =>
    tidy(() => {
      const seen: number[] = [];
      const img = f32(scene(gaussianPsf(S, 1), 16, 0).y, [N, N]);
      richardsonLucy(img, f32(gaussianPsf(S, 1), [S, S]), { iterations: 4, onIteration: (i) => seen.push(i) });
      assert.deepEqual(seen, [1, 2, 3, 4]);
    }));

  test('integer input (camera counts) is computed in float32 on the same scale', () =>
    tidy(() => {
      const h = gaussianPsf(S, 1.5);
      const counts = Int32Array.from(scene(h, 17, 0).y, (v) => Math.round(4000 * v));
      const a = richardsonLucy(tensor(counts, [N, N]), f32(h, [S, S]), { iterations: 5 }).image;
      const b = richardsonLucy(f32(counts, [N, N]), f32(h, [S, S]), { iterations: 5 }).image;
      assert.equal(a.dtype, 'float32');
      assert.deepEqual(a.toArray(), b.toArray());
    }));

  test('leaves no native tensors behind (richardsonLucy, RL-TV, deconvolveGrid, wiener)', () => {
    const h = gaussianPsf(S, 1.5);
    const y = scene(h, 18, 0).y;
    const image = f32(y, [N, N]);
    const psf = f32(h, [S, S]);
    const psfs = tensor(Float32Array.from([...h, ...h]), [2, S, S]);
    const negative = f32(y.map((v) => v - 0.5), [N, N]);
    const before = liveTensors();
    richardsonLucy(image, psf, { iterations: 3 }).image.dispose();
    richardsonLucy(image, psf, { iterations: 3, tv: 0.002, boundary: 'reflect' }).image.dispose();
    richardsonLucy(image, psf, { iterations: 5, acceleration: 'biggs-andrews' }).image.dispose();
    deconvolveGrid(image, { psfs, centres: [[20, 48], [70, 48]], tiles: [2, 1] }, { iterations: 3 }).image.dispose();
    wiener(image, psf).image.dispose();
    assert.throws(() => richardsonLucy(image, psf, { tv: 1 }));
    assert.throws(() => richardsonLucy(negative, psf), PsfidError);
    assert.equal(liveTensors(), before);
    for (const t of [image, psf, psfs, negative]) t.dispose();
  });
});

