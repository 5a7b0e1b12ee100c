// No ringing at the borders: a non-periodic scene (a strong linear ramp plus texture) seen through a window, blurred
// by the true scene beyond the border (naive 'valid' convolution), deconvolved. Bound: the RMS error in the outer
// band of S pixels stays within 1.5× the interior's (1.6× for Wiener, whose mirror extension is an approximation),
// while the periodic model, the control that shows the test can see ringing, exceeds 5×.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tensor, tidy } from '../../src/engine/index.js';
import { richardsonLucy, wiener } from '../../src/deconv/index.js';
import { convValid, crop, deadLeaves, gaussianNoise, gaussianPsf, airyPsf, rmsWhere } from './helpers.js';

const N = 96;
const S = 15;
const PAD = S - 1;
const M = N + PAD;

function rampScene(h: Float64Array, seed: number): { truth: Float64Array; image: ReturnType<typeof tensor>; psf: ReturnType<typeof tensor> } {
  const tex = deadLeaves(M, M, seed, { spots: 0 });
  const ext = new Float64Array(M * M);
  for (let i = 0; i < M; i++) for (let j = 0; j < M; j++) ext[i * M + j] = 0.1 + (0.6 * j) / M + (0.25 * i) / M + 0.1 * tex[i * M + j]!;
  const y = convValid(ext, M, M, h, S);
  const noise = gaussianNoise(y.length, seed + 1);
  for (let i = 0; i < y.length; i++) y[i]! += 0.002 * noise[i]!;
  return { truth: crop(ext, M, PAD / 2, PAD / 2, N, N), image: tensor(Float32Array.from(y), [N, N]), psf: tensor(Float32Array.from(h), [S, S]) };
}

const inBand = (i: number, j: number) => i < S || j < S || i >= N - S || j >= N - S;

/** RMS error in the border band over RMS error in the interior. */
function borderRatio(out: ArrayLike<number>, truth: Float64Array): number {
  return rmsWhere(out, truth, N, N, inBand) / rmsWhere(out, truth, N, N, (i, j) => !inBand(i, j));
}

describe('boundaries: no ringing on a non-periodic image', () => {
  for (const [name, h] of [
    ['Gaussian σ = 2', gaussianPsf(S, 2)],
    ['Airy fc = 0.15', airyPsf(S, 0.15)],
  ] as const) {
    test(`Richardson–Lucy, masked and reflect (${name})`, () =>
      tidy(() => {
        const { truth, image, psf } = rampScene(h, 3);
        for (const boundary of ['masked', 'reflect'] as const) {
          const r = borderRatio(richardsonLucy(image, psf, { iterations: 50, boundary }).image.toArray(), truth);
          assert.ok(r < 1.5, `${boundary}: border/interior RMS error ${r.toFixed(2)}`);
        }
        const control = borderRatio(richardsonLucy(image, psf, { iterations: 50, boundary: 'circular' }).image.toArray(), truth);
        assert.ok(control > 5, `circular control: ${control.toFixed(2)}`);
      }));

    test(`Wiener, reflect with apodisation (${name})`, () =>
      tidy(() => {
        const { truth, image, psf } = rampScene(h, 4);
        const r = borderRatio(wiener(image, psf).image.toArray(), truth);
        assert.ok(r < 1.6, `border/interior RMS error ${r.toFixed(2)}`);
        const control = borderRatio(wiener(image, psf, { boundary: 'circular' }).image.toArray(), truth);
        assert.ok(control > 5, `circular control: ${control.toFixed(2)}`);
      }));
  }
});
