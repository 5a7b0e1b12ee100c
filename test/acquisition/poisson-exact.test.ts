// Poisson noise draws its counts with the engine's exact sampler (poissonExact): the wiring, replay from a saved
// generator state (training's --resume), and per-sample gains including γ = 0. The noise moments are checked in
// noise.test.ts, the sampler's distribution in ../engine/poisson-exact.test.ts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator, poissonExact, tensor, tidy, uniform } from '../../src/engine/index.js';
import { poissonNoise } from '../../src/acquisition/index.js';

const f64 = { dtype: 'float64' as const };

describe('poissonNoise uses poissonExact', () => {
  test('γ·poissonExact(z/γ) from the same generator state, for a number and for per-sample gains', () => {
    tidy(() => {
      const z = uniform(new Generator(1), [3, 1, 40, 40], f64).sub(0.01); // a few negative values: clamped to 0
      const gains = tensor([0.01, 0.002, 0.05], [3], f64);
      for (const gain of [0.01, gains] as const) {
        const g = new Generator(21);
        const state = g.getState();
        const y = poissonNoise(g, z, gain).toArray();
        const h = new Generator(0);
        h.setState(state);
        const gT = typeof gain === 'number' ? gain : gain.reshape([3, 1, 1, 1]);
        const want = poissonExact(h, z.clampMin(0).div(gT)).mul(gT).toArray();
        assert.deepEqual(y, want);
        g.dispose();
        h.dispose();
      }
    });
  });

  test('a saved generator state replays the same noisy images (what training’s --resume relies on)', () => {
    tidy(() => {
      const z = uniform(new Generator(2), [2, 1, 64, 64]);
      const g = new Generator(5);
      poissonNoise(g, z, 0.01);
      const state = g.getState();
      const a = poissonNoise(g, z, tensor([0.004, 0.02], [2])).toArray();
      const h = new Generator(6);
      h.setState(state);
      assert.deepEqual(poissonNoise(h, z, tensor([0.004, 0.02], [2])).toArray(), a);
      g.dispose();
      h.dispose();
    });
  });

  test('γ = 0 rows keep z exactly while the other rows are counts times γ', () => {
    tidy(() => {
      const z = uniform(new Generator(3), [2, 1, 32, 32], f64);
      const y = poissonNoise(new Generator(4), z, tensor([0, 0.01], [2], f64));
      assert.deepEqual(y.select(0, 0).toArray(), z.select(0, 0).toArray());
      const counts = y.select(0, 1).div(0.01).toArray();
      assert.ok(counts.every((c) => Math.abs(c - Math.round(c)) < 1e-9 && c >= 0));
    });
  });
});
