// Seeded random numbers: reproducibility, moments within statistical tolerance, generator state round trips, and
// the same streams as PyTorch's CPU generator.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator, normal, poisson, randint, randperm, tidy, uniform, full, type Tensor } from '../../src/engine/index.js';
import { assertClose, pythonHasTorch, runPython } from './helpers.js';

const f64 = (t: Tensor): number[] => t.toArray();

function moments(v: number[]): { mean: number; var: number } {
  const n = v.length;
  const mean = v.reduce((a, b) => a + b, 0) / n;
  const vr = v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1);
  return { mean, var: vr };
}

/** |x − expected| ≤ 5 standard errors. */
function within5(x: number, expected: number, se: number, what: string): void {
  assert.ok(Math.abs(x - expected) <= 5 * se, `${what}: ${x} is more than 5 standard errors (${se}) from ${expected}`);
}

describe('random: reproducibility', () => {
  test('the same seed gives identical samples, for every sampler', () => {
    tidy(() => {
      const draw = (seed: number) => {
        const g = new Generator(seed);
        const out = [
          f64(uniform(g, [50], { dtype: 'float64' })),
          f64(normal(g, [50], { dtype: 'float64', mean: 1, std: 3 })),
          f64(normal(g, [7])),
          f64(poisson(g, full([40], 3.5, { dtype: 'float64' }))),
          f64(randint(g, 0, 10, [30])),
          f64(randperm(g, 20)),
        ];
        g.dispose();
        return out;
      };
      assert.deepEqual(draw(123), draw(123));
      const a = draw(123);
      const b = draw(124);
      for (let i = 0; i < a.length; i++) assert.notDeepEqual(a[i], b[i], `sampler ${i} gives the same numbers for seeds 123 and 124`);
    });
  });

  test('successive draws from one generator differ; a bigint seed is accepted', () => {
    tidy(() => {
      const g = new Generator(5n);
      assert.notDeepEqual(f64(normal(g, [10])), f64(normal(g, [10])));
      const h = new Generator(5);
      const k = new Generator(5n);
      assert.deepEqual(f64(normal(h, [10])), f64(normal(k, [10])));
      for (const x of [g, h, k]) x.dispose();
    });
  });

  test('getState/setState reproduces a stream, also in another generator', () => {
    tidy(() => {
      const g = new Generator(77);
      normal(g, [13]);
      const state = g.getState();
      const a = [f64(normal(g, [25], { dtype: 'float64' })), f64(uniform(g, [9])), f64(poisson(g, full([5], 2)))];
      g.setState(state);
      const b = [f64(normal(g, [25], { dtype: 'float64' })), f64(uniform(g, [9])), f64(poisson(g, full([5], 2)))];
      assert.deepEqual(a, b);
      const other = new Generator(1);
      other.setState(state);
      const c = [f64(normal(other, [25], { dtype: 'float64' })), f64(uniform(other, [9])), f64(poisson(other, full([5], 2)))];
      assert.deepEqual(a, c);
      g.dispose();
      other.dispose();
    });
  });
});

describe('random: distributions (5 standard errors)', () => {
  const n = 200_000;
  test('uniform: range, mean 1/2, variance 1/12; low/high shift and scale', () => {
    tidy(() => {
      const g = new Generator(2024);
      const v = f64(uniform(g, [n], { dtype: 'float64' }));
      assert.ok(v.every((x) => x >= 0 && x < 1));
      const m = moments(v);
      within5(m.mean, 0.5, Math.sqrt(1 / 12 / n), 'uniform mean');
      within5(m.var, 1 / 12, Math.sqrt((1 / 80 - 1 / 144) / n), 'uniform variance');
      const w = f64(uniform(g, [n], { dtype: 'float64', low: -3, high: 5 }));
      assert.ok(w.every((x) => x >= -3 && x < 5));
      const mw = moments(w);
      within5(mw.mean, 1, Math.sqrt(64 / 12 / n), 'U(-3,5) mean');
      within5(mw.var, 64 / 12, 64 * Math.sqrt((1 / 80 - 1 / 144) / n), 'U(-3,5) variance');
      g.dispose();
    });
  });

  test('normal: mean, variance, P(|z| < 1); mean/std options', () => {
    tidy(() => {
      const g = new Generator(31337);
      const v = f64(normal(g, [n], { dtype: 'float64' }));
      const m = moments(v);
      within5(m.mean, 0, Math.sqrt(1 / n), 'normal mean');
      within5(m.var, 1, Math.sqrt(2 / n), 'normal variance');
      const p1 = v.filter((x) => Math.abs(x) < 1).length / n;
      within5(p1, 0.682689492, Math.sqrt((0.6827 * 0.3173) / n), 'P(|z|<1)');
      const w = moments(f64(normal(g, [n], { dtype: 'float64', mean: 3, std: 2 })));
      within5(w.mean, 3, 2 / Math.sqrt(n), 'N(3, 4) mean');
      within5(w.var, 4, 4 * Math.sqrt(2 / n), 'N(3, 4) variance');
      const f = normal(g, [1000]);
      assert.equal(f.dtype, 'float32');
      g.dispose();
    });
  });

  test('poisson: integer samples with mean = variance = rate, P(0) = e^−λ', () => {
    tidy(() => {
      const g = new Generator(8);
      for (const lam of [0.3, 4, 50]) {
        const v = f64(poisson(g, full([n], lam, { dtype: 'float64' })));
        assert.ok(v.every((x) => Number.isInteger(x) && x >= 0), 'non-negative integers');
        const m = moments(v);
        within5(m.mean, lam, Math.sqrt(lam / n), `poisson(${lam}) mean`);
        within5(m.var, lam, Math.sqrt((lam + 2 * lam * lam) / n), `poisson(${lam}) variance`);
        const p0 = v.filter((x) => x === 0).length / n;
        const e = Math.exp(-lam);
        within5(p0, e, Math.sqrt((e * (1 - e)) / n) + 1e-12, `poisson(${lam}) P(0)`);
      }
      // Per-element rates are honoured.
      const rates = full([2, n / 2], 1, { dtype: 'float64' }).mul(full([2, 1], 0, { dtype: 'float64' }).add(1).cumsum(0).mul(10));
      const means = poisson(g, rates).mean(1).toArray();
      within5(means[0]!, 10, Math.sqrt(10 / (n / 2)), 'rate 10');
      within5(means[1]!, 20, Math.sqrt(20 / (n / 2)), 'rate 20');
      g.dispose();
    });
  });

  test('randint covers [low, high) evenly; randperm is a permutation', () => {
    tidy(() => {
      const g = new Generator(3);
      const v = f64(randint(g, -2, 3, [n]));
      const counts = new Map<number, number>();
      for (const x of v) counts.set(x, (counts.get(x) ?? 0) + 1);
      assert.deepEqual([...counts.keys()].sort((a, b) => a - b), [-2, -1, 0, 1, 2]);
      for (const c of counts.values()) within5(c / n, 0.2, Math.sqrt((0.2 * 0.8) / n), 'randint frequency');
      const p = f64(randperm(g, 100));
      assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 100 }, (_, i) => i));
      assert.notDeepEqual(p, Array.from({ length: 100 }, (_, i) => i));
      g.dispose();
    });
  });
});

describe('random: same streams as PyTorch (python3-torch)', () => {
  test('new Generator(42) gives torch.Generator().manual_seed(42)’s randn / rand / poisson', (t) => {
    if (!pythonHasTorch()) {
      t.skip('/usr/bin/python3 has no torch');
      return;
    }
    const py = JSON.parse(
      runPython(`
import json, torch
def g(): return torch.Generator().manual_seed(42)
r = torch.poisson(torch.full((20,), 3.5, dtype=torch.float64), generator=g())
print(json.dumps({
  'n3': torch.randn(3, generator=g()).tolist(),
  'n100': torch.randn(100, generator=g()).tolist(),
  'n64': torch.randn(37, dtype=torch.float64, generator=g()).tolist(),
  'u32': torch.rand(50, generator=g()).tolist(),
  'u64': torch.rand(50, dtype=torch.float64, generator=g()).tolist(),
  'poisson': r.tolist(),
  'manual': (torch.manual_seed(42), torch.normal(0, 1, (3,)))[1].tolist(),
}))
`),
    ) as Record<string, number[]>;
    tidy(() => {
      const g = () => new Generator(42);
      const n3 = f64(normal(g(), [3]));
      assertClose(n3, [0.3367, 0.1288, 0.2345], { atol: 1e-4, rtol: 0 });
      assert.deepEqual(n3, py.n3);
      assert.deepEqual(py.manual, py.n3);
      assert.deepEqual(f64(normal(g(), [100])), py.n100);
      assert.deepEqual(f64(normal(g(), [37], { dtype: 'float64' })), py.n64);
      assert.deepEqual(f64(uniform(g(), [50])), py.u32);
      assert.deepEqual(f64(uniform(g(), [50], { dtype: 'float64' })), py.u64);
      assert.deepEqual(f64(poisson(g(), full([20], 3.5, { dtype: 'float64' }))), py.poisson);
    });
  });
});
