// The prior μ: a frozen value with the default ranges, validated overrides, and sampling from it.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator, tidy } from '../../src/engine/index.js';
import { PsfidError } from '../../src/errors.js';
import { DEFAULT_PRIOR, resolvePrior, sampleDegradation, type PriorSpec } from '../../src/acquisition/index.js';

function refused(spec: PriorSpec, param: string): void {
  assert.throws(() => resolvePrior(spec), (e: unknown) => e instanceof PsfidError && e.param === param, `expected PsfidError(${param})`);
}

describe('prior', () => {
  test('DEFAULT_PRIOR covers the seed’s ranges and is frozen', () => {
    const p = DEFAULT_PRIOR;
    assert.ok(p.fc[0] <= 0.125 && p.fc[1] >= 0.25);
    assert.ok(p.thetaMax[0] <= 0.02 && p.thetaMax[1] >= 0.15);
    assert.deepEqual(p.zernikeNoll, [4, 5, 6, 7, 8, 9, 10, 11]);
    assert.ok(p.gain[0] <= 0 && p.gain[1] >= 0.02);
    assert.ok(p.sigma[0] <= 0 && p.sigma[1] >= 0.02);
    for (const q of [8, 12, 16]) assert.ok(p.bits.includes(q));
    assert.ok(p.saltPepper[0] <= 0 && p.saltPepper[1] >= 0.002);
    assert.ok(Object.isFrozen(p) && Object.isFrozen(p.fc) && Object.isFrozen(p.bits));
    assert.deepEqual(resolvePrior(), DEFAULT_PRIOR);
  });

  test('overrides merge over the defaults; bad values name the key', () => {
    const p = resolvePrior({ thetaMax: [0.05, 0.05], bits: [16] });
    assert.deepEqual(p.thetaMax, [0.05, 0.05]);
    assert.deepEqual(p.bits, [16]);
    assert.deepEqual(p.fc, DEFAULT_PRIOR.fc);
    assert.ok(Object.isFrozen(p));
    refused({ sigma: [-0.01, 0.02] }, 'prior.sigma');
    refused({ gain: [0.02, 0.01] }, 'prior.gain');
    refused({ fc: [0.2, 0.5] }, 'prior.fc');
    refused({ fc: [0, 0.2] }, 'prior.fc');
    refused({ bits: [7.5] }, 'prior.bits');
    refused({ zernikeNoll: [4, 4] }, 'prior.zernikeNoll');
    refused({ thetaMax: [0.1] as unknown as [number, number] }, 'prior.thetaMax');
    refused({ photons: [1, 2] } as unknown as PriorSpec, 'prior.photons');
  });

  test('sampleDegradation: shapes, ranges, reproducibility', () => {
    tidy(() => {
      const prior = resolvePrior({ bits: [8, 12, 16] });
      const a = sampleDegradation(new Generator(21), prior, 500);
      const b = sampleDegradation(new Generator(21), prior, 500);
      assert.deepEqual(a.zernikeNoll, prior.zernikeNoll);
      assert.deepEqual(a.theta.shape, [500, 8]);
      for (const key of ['fc', 'thetaMax', 'gain', 'sigma', 'bits', 'saltPepper'] as const) {
        assert.deepEqual(a[key].shape, [500]);
        assert.deepEqual(a[key].toArray(), b[key].toArray(), `${key} reproducible`);
      }
      assert.deepEqual(a.theta.toArray(), b.theta.toArray());
      const within = (v: number[], r: readonly [number, number]): boolean => v.every((x) => x >= r[0] - 1e-7 && x <= r[1] + 1e-7);
      assert.ok(within(a.fc.toArray(), prior.fc));
      assert.ok(within(a.thetaMax.toArray(), prior.thetaMax));
      assert.ok(within(a.gain.toArray(), prior.gain));
      assert.ok(within(a.sigma.toArray(), prior.sigma));
      assert.ok(within(a.saltPepper.toArray(), prior.saltPepper));
      assert.deepEqual(new Set(a.bits.toArray()), new Set([8, 12, 16]));
      const theta = a.theta.abs().amax(1).toArray();
      const tmax = a.thetaMax.toArray();
      theta.forEach((t, i) => assert.ok(t <= tmax[i]! + 1e-7, `|θ| ≤ θmax in row ${i}`));
      assert.notDeepEqual(sampleDegradation(new Generator(22), prior, 500).fc.toArray(), a.fc.toArray());
    });
  });
});
