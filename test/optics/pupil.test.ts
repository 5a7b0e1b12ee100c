// The pupil grid and its anti-aliased aperture: area, symmetry, support, batch == single.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tidy } from '../../src/engine/index.js';
import { apertureWeights, fullBand, supportBand } from '../../src/optics/index.js';
import { apertureWeightsBatch } from '../../src/optics/pupil.js';

describe('pupil aperture', () => {
  test('the FFT grid: offsets −⌊P/2⌋ … ⌈P/2⌉ − 1 (frequency (k − ⌊P/2⌋)/P)', () => {
    assert.deepEqual(fullBand(256), { pupilSize: 256, lo: -128, hi: 127 });
    assert.deepEqual(fullBand(101), { pupilSize: 101, lo: -50, hi: 50 });
    assert.deepEqual(supportBand(256, 0.25), { pupilSize: 256, lo: -65, hi: 65 });
    assert.deepEqual(supportBand(64, 0.49), { pupilSize: 64, lo: -32, hi: 31 }); // clipped to the grid
  });

  for (const fc of [0.05, 0.125, 0.2371, 0.25]) {
    test(`area weights: Σ A = π(fc·P)² within half a cell, weights in [0, 1], symmetric (fc = ${fc})`, () => {
      const p = 256;
      const full = fullBand(p);
      const m = p;
      const a = apertureWeights(full, fc);
      const radius = fc * p;
      const sum = a.reduce((s, v) => s + v, 0);
      assert.ok(Math.abs(sum - Math.PI * radius * radius) < 0.5, `Σ A = ${sum}, π R² = ${Math.PI * radius * radius}`);
      const at = (y: number, x: number): number => a[(y - full.lo) * m + (x - full.lo)]!;
      for (let y = -radius - 2; y <= radius + 2; y++) {
        for (let x = -radius - 2; x <= radius + 2; x++) {
          const yi = Math.round(y);
          const xi = Math.round(x);
          const v = at(yi, xi);
          assert.ok(v >= 0 && v <= 1);
          assert.equal(v, at(-yi, xi));
          assert.equal(v, at(yi, -xi));
          assert.equal(v, at(xi, yi));
          const r = Math.hypot(xi, yi);
          if (r <= radius - Math.SQRT1_2) assert.equal(v, 1);
          if (r >= radius + Math.SQRT1_2) assert.equal(v, 0);
        }
      }
      // The MFT's band holds every non-zero weight.
      const band = supportBand(p, fc);
      const inBand = apertureWeights(band, fc).reduce((s, v) => s + v, 0);
      assert.ok(Math.abs(inBand - sum) < 1e-9);
    });
  }

  test('the batched aperture equals one aperture per cut-off', () => {
    tidy(() => {
      const band = supportBand(256, 0.25, 4);
      const fcs = [0.125, 0.2, 0.2371, 0.25];
      const batch = apertureWeightsBatch(band, fcs, 'float64', 'cpu').data() as Float64Array;
      const n = (band.hi - band.lo + 1) ** 2;
      fcs.forEach((fc, b) => {
        const one = apertureWeights(band, fc);
        for (let k = 0; k < n; k++) assert.equal(batch[b * n + k], one[k], `fc ${fc}, cell ${k}`);
      });
    });
  });
});
