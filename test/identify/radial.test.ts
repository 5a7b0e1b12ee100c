// The radial log-spectrum profile (radialBins, src/model/radial.ts): against loops over the pixels, its scaling with
// the cut-off, and a network that grows the branch --init-from a model without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Generator, noGrad, nn, tensor, uniform } from '../../src/engine/index.js';
import { RADIAL_EXTENT, radialLogProfile } from '../../src/model/radial.js';
import { Identifier, PRESETS } from '../../src/model/identifier.js';
import { loadInitialWeights } from '../../src/train/checkpoint.js';
import { withSavedNetwork, ZERNIKE_TINY } from './tiny.js';

const n = 32;
/** |f| of pixel (i, j) of an n × n fftshifted spectrum. */
const radius = (i: number, j: number): number => Math.hypot((i - n / 2) / n, (j - n / 2) / n);

test('radialLogProfile equals triangular-weighted means over the pixels, computed by loops in doubles', () => {
  const B = 2;
  const bins = 9;
  const fc = [0.13, 0.23];
  const spec = noGrad(() => uniform(new Generator(3), [B, 1, n, n], { low: -5, high: 2 }));
  const got = noGrad(() => radialLogProfile(spec, tensor(fc), bins).toArray());
  const v = spec.toArray();
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < bins; k++) {
      let num = 0;
      let den = 0;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          const w = Math.max(0, 1 - Math.abs((radius(i, j) / (2 * fc[b]!)) * ((bins - 1) / RADIAL_EXTENT) - k));
          num += w * v[b * n * n + i * n + j]!;
          den += w;
        }
      }
      assert.ok(Math.abs(got[b * bins + k]! - num / (den + 1e-6)) < 1e-4, `sample ${b} bin ${k}: ${got[b * bins + k]} vs ${num / den}`);
    }
  }
});

test('the profile is in units of the OTF cut-off: a spectrum that steps at |f| = fc (ρ = 0.5) steps at the same bin for every fc', () => {
  const bins = 11; // centres every 0.125 in ρ
  for (const fc of [0.125, 0.2, 0.25]) {
    const values = new Float32Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) values[i * n + j] = radius(i, j) < fc ? 3 : -1;
    const p = noGrad(() => radialLogProfile(tensor(values, [1, 1, n, n]), tensor([fc]), bins).toArray());
    const rho = (k: number): number => (k * RADIAL_EXTENT) / (bins - 1);
    p.forEach((x, k) => {
      // bins whose one-bin-wide support lies wholly inside (outside) ρ < 0.5 read the inner (outer) value
      if (rho(k) + RADIAL_EXTENT / (bins - 1) < 0.5) assert.ok(Math.abs(x - 3) < 1e-5, `fc ${fc} bin ${k}: ${x}`);
      if (rho(k) - RADIAL_EXTENT / (bins - 1) >= 0.5) assert.ok(Math.abs(x + 1) < 1e-5, `fc ${fc} bin ${k}: ${x}`);
    });
    // the bin at the step reads between the two
    assert.ok(p[4]! > -1 && p[4]! < 3, `fc ${fc} bin 4: ${p[4]}`);
  }
});

test('a radialBins model grown --init-from one without the branch starts as that model; its branch then moves ĥ', () => {
  withSavedNetwork(ZERNIKE_TINY, 3, (base, file) => {
    const y = noGrad(() => uniform(new Generator(2), [3, 1, 32, 32]));
    const fc = tensor([0.13, 0.2, 0.24]);
    const tm = tensor([0.03, 0.1, 0.15]);
    const grown = new Identifier({ ...ZERNIKE_TINY, radialBins: 12 }, 8);
    loadInitialWeights(grown, file);
    grown.eval();
    assert.ok(grown.numParameters() > base.numParameters());
    const same = noGrad(() => grown.identify(y, fc, tm).sub(base.identify(y, fc, tm)).abs().max().item());
    assert.equal(same, 0);
    const out = (grown.namedModules().find(([k]) => k === 'radial')![1] as nn.Linear).namedParameters().find(([k]) => k === 'weight')![1];
    noGrad(() => out.copy_(uniform(new Generator(6), out.shape, { low: -1, high: 1 })));
    const moved = noGrad(() => grown.identify(y, fc, tm).sub(base.identify(y, fc, tm)).abs().max().item());
    assert.ok(moved > 1e-4, `${moved}`);
  });
  assert.throws(() => new Identifier({ ...PRESETS.tiny, spectralChannels: 0, radialBins: 8 }), /radialBins needs the spectral branch/);
  assert.throws(() => new Identifier({ ...ZERNIKE_TINY, radialBins: 1 }), /radialBins must be 0 or an integer ≥ 2/);
});
