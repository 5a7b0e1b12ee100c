// Metrics: PSNR of PSFs (peak = the true PSF's maximum), PSNR of images (peak 1), PSF SNR, one value per sample.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tensor, tidy } from '../../src/engine/index.js';
import { PsfidError } from '../../src/errors.js';
import { psfSnr, psnrImage, psnrPsf } from '../../src/evaluate/metrics.js';

const f64 = { dtype: 'float64' as const };

describe('metrics', () => {
  test('match hand computations, per sample', () => {
    tidy(() => {
      const h = tensor([0.1, 0.2, 0.3, 0.4, 0.25, 0.25, 0.25, 0.25], [2, 2, 2], f64);
      const hHat = tensor([0.1, 0.2, 0.3, 0.3, 0.25, 0.25, 0.25, 0.35], [2, 2, 2], f64);
      // Sample 0: MSE = 0.01/4, peak 0.4 → 10·log10(0.16/0.0025). Sample 1: MSE = 0.0025, peak 0.25.
      const p = psnrPsf(hHat, h).toArray();
      assert.ok(Math.abs(p[0]! - 10 * Math.log10(0.16 / 0.0025)) < 1e-9);
      assert.ok(Math.abs(p[1]! - 10 * Math.log10(0.0625 / 0.0025)) < 1e-9);
      const snr = psfSnr(hHat, h).toArray();
      assert.ok(Math.abs(snr[0]! + 10 * Math.log10(0.01 / 0.3)) < 1e-9);
      assert.ok(Math.abs(snr[1]! + 10 * Math.log10(0.01 / 0.25)) < 1e-9);
      const img = psnrImage(hHat.unsqueeze(1), h.unsqueeze(1)).toArray();
      assert.ok(Math.abs(img[0]! - 10 * Math.log10(1 / 0.0025)) < 1e-9);
      assert.equal(psnrPsf(h, h).toArray()[0], Infinity);
    });
  });

  test('refuses mismatched shapes', () => {
    tidy(() => {
      assert.throws(() => psnrPsf(tensor([1, 2], [1, 2]), tensor([1, 2, 3], [1, 3])), PsfidError);
    });
  });
});
