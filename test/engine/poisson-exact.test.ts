// poissonExact, psfid's own exact Poisson sampler (native/psfid_torch.cc): moments against λ, chi-square
// goodness of fit against the Poisson pmf, integer support, λ = 0, determinism (seed, generator state, thread count),
// dtypes, layouts and refusal of bad rates. Every statistical check is on a fixed seed, so it is deterministic; the
// tolerances say how unlikely a failure of a correct sampler would be.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cudaDeviceCount, full, Generator, getNumThreads, poissonExact, setNumThreads, tensor, tidy, uniform, type Tensor } from '../../src/engine/index.js';

const f64 = { dtype: 'float64' as const };

/** log Γ(a) for a > 0 a multiple of ½ (all a chi-square needs): exact recurrences from Γ(½) = √π and Γ(1) = 1. */
function logGammaHalf(a: number): number {
  assert.ok(a > 0 && Number.isInteger(2 * a), `logGammaHalf(${a})`);
  let x = Number.isInteger(a) ? 1 : 0.5;
  let s = Number.isInteger(a) ? 0 : 0.5 * Math.log(Math.PI);
  for (; x < a; x++) s += Math.log(x);
  return s;
}

/**
 * Q(a, x) = Γ(a, x)/Γ(a), the regularized upper incomplete gamma function, for a a multiple of ½: the power series of
 * P(a, x) below x = a + 1, the continued fraction of Q (modified Lentz) above.
 */
function gammaQ(a: number, x: number): number {
  if (x <= 0) return 1;
  const logPrefactor = a * Math.log(x) - x - logGammaHalf(a);
  if (x < a + 1) {
    let term = 1 / a;
    let sum = term;
    for (let n = 1; n < 10_000 && Math.abs(term) > Math.abs(sum) * 1e-16; n++) {
      term *= x / (a + n);
      sum += term;
    }
    return 1 - sum * Math.exp(logPrefactor);
  }
  const tiny = 1e-300;
  let b = x + 1 - a;
  let c = 1 / tiny;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 10_000; i++) {
    const an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < tiny) d = tiny;
    c = b + an / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(logPrefactor) * h;
}

/** P(χ²_df ≥ stat). */
const chiSquareSurvival = (stat: number, df: number): number => gammaQ(df / 2, stat / 2);

/** Poisson pmf p(0…kMax) by the recurrence p(k) = p(k − 1)·λ/k, started in log space (no underflow for λ ≤ 700). */
function poissonPmf(lambda: number, kMax: number): number[] {
  const p = [Math.exp(-lambda)];
  for (let k = 1; k <= kMax; k++) p.push((p[k - 1]! * lambda) / k);
  return p;
}

/**
 * Pearson's chi-square of integer samples against Poisson(λ): the cells are single values of k with expected count
 * ≥ 5, the two tails pooled into the first and last cells. Returns the statistic, degrees of freedom and p-value.
 */
function chiSquarePoisson(samples: ArrayLike<number>, lambda: number): { stat: number; df: number; p: number; cells: number } {
  const n = samples.length;
  const kMax = Math.ceil(lambda + 20 * Math.sqrt(lambda) + 30);
  const pmf = poissonPmf(lambda, kMax);
  const counts = new Float64Array(kMax + 2);
  for (let i = 0; i < n; i++) counts[Math.min(samples[i]!, kMax + 1)]!++;
  // Cells [lo … hi] with n·p(k) ≥ 5; below lo pooled into lo, above hi pooled into hi.
  let lo = 0;
  while (n * pmf[lo]! < 5) lo++;
  let hi = kMax;
  while (n * pmf[hi]! < 5) hi--;
  const expected: number[] = [];
  const observed: number[] = [];
  let cdfBelow = 0;
  let obsBelow = 0;
  for (let k = 0; k < lo; k++) {
    cdfBelow += pmf[k]!;
    obsBelow += counts[k]!;
  }
  for (let k = lo; k <= hi; k++) {
    expected.push(n * pmf[k]!);
    observed.push(counts[k]!);
  }
  expected[0]! += n * cdfBelow;
  observed[0]! += obsBelow;
  const used = pmf.slice(0, hi + 1).reduce((a, b) => a + b, 0);
  let obsAbove = 0;
  for (let k = hi + 1; k <= kMax + 1; k++) obsAbove += counts[k]!;
  expected[expected.length - 1]! += n * Math.max(0, 1 - used);
  observed[observed.length - 1]! += obsAbove;
  let stat = 0;
  for (let i = 0; i < expected.length; i++) stat += (observed[i]! - expected[i]!) ** 2 / expected[i]!;
  const df = expected.length - 1;
  return { stat, df, p: chiSquareSurvival(stat, df), cells: expected.length };
}

/** Sample mean and variance (n − 1), in one pass of Welford's recurrence. */
function meanVar(v: ArrayLike<number>): { mean: number; variance: number } {
  let mean = 0;
  let m2 = 0;
  for (let i = 0; i < v.length; i++) {
    const d = v[i]! - mean;
    mean += d / (i + 1);
    m2 += d * (v[i]! - mean);
  }
  return { mean, variance: m2 / (v.length - 1) };
}

function draw(seed: number, rates: Tensor): Float64Array | Float32Array {
  const g = new Generator(seed);
  try {
    return poissonExact(g, rates).data() as Float64Array | Float32Array;
  } finally {
    g.dispose();
  }
}

function withThreads<T>(n: number, fn: () => T): T {
  const before = getNumThreads();
  setNumThreads(n);
  try {
    return fn();
  } finally {
    setNumThreads(before);
  }
}

describe('poissonExact: distribution', () => {
  test('the chi-square helper gives textbook p-values', () => {
    // Upper 5 % and 1 % points of χ² with 1, 2, 10 and 30 degrees of freedom (any statistics table).
    for (const [stat, df, p] of [[3.841459, 1, 0.05], [5.991465, 2, 0.05], [18.307038, 10, 0.05], [23.209251, 10, 0.01], [50.892181, 30, 0.01]] as const) {
      assert.ok(Math.abs(chiSquareSurvival(stat, df) - p) < 1e-6, `Q(χ² = ${stat}, df = ${df}) = ${chiSquareSurvival(stat, df)}, want ${p}`);
    }
  });

  test('mean and variance within 5σ of λ, for λ from 0 to 1e5 and 1e12 (float64 and float32 rates)', () => {
    // For n i.i.d. Poisson(λ) samples: σ(mean) = √(λ/n); σ(sample variance) = √((μ₄ − σ⁴(n − 3)/(n − 1))/n) with
    // μ₄ = λ + 3λ², σ² = λ, i.e. ≈ √((λ + 2λ²)/n).
    const n = 1 << 18;
    tidy(() => {
      const g = new Generator(101);
      for (const dtype of ['float64', 'float32'] as const) {
        for (const lambda of [0, 1e-3, 0.5, 3, 9.99, 10, 37, 1e3, 1e5, 1e12]) {
          if (dtype === 'float32' && lambda > 1e6) continue; // float32 cannot hold such counts exactly
          const v = poissonExact(g, full([n], lambda, { dtype })).data() as Float64Array | Float32Array;
          const { mean, variance } = meanVar(v);
          const sdMean = Math.sqrt(lambda / n);
          const sdVar = Math.sqrt((lambda + 3 * lambda * lambda - (lambda * lambda * (n - 3)) / (n - 1)) / n);
          const what = `${dtype} λ = ${lambda}`;
          if (lambda === 0) {
            assert.ok(v.every((x) => x === 0), `${what}: every sample is 0`);
            continue;
          }
          assert.ok(Math.abs(mean - lambda) <= 5 * sdMean, `${what}: mean ${mean} is more than 5σ (${sdMean}) from λ`);
          assert.ok(Math.abs(variance - lambda) <= 5 * sdVar, `${what}: variance ${variance} is more than 5σ (${sdVar}) from λ`);
        }
      }
      g.dispose();
    });
  });

  test('chi-square goodness of fit against the Poisson pmf (p > 1e-4) on both sides of the λ = 10 switch', () => {
    const n = 1 << 18;
    tidy(() => {
      const g = new Generator(202);
      for (const lambda of [0.5, 4, 9.99, 10, 25, 150]) {
        const v = poissonExact(g, full([n], lambda, f64)).data() as Float64Array;
        const r = chiSquarePoisson(v, lambda);
        assert.ok(r.cells >= 4, `λ = ${lambda}: only ${r.cells} cells`);
        assert.ok(r.p > 1e-4, `λ = ${lambda}: χ² = ${r.stat.toFixed(1)} on ${r.df} df, p = ${r.p.toExponential(2)}`);
      }
      g.dispose();
    });
  });

  test('per-element rates: an interleaved mixture of λ = 0, 4, 25 and 150 fits each pmf, 0 stays 0', () => {
    // Elements of different rates take different paths (none, inversion, PTRS) inside one block.
    const n = 1 << 18;
    const lambdas = [4, 0, 150, 25, 25, 4, 0, 150, 4];
    tidy(() => {
      const rates = Float64Array.from({ length: n * lambdas.length }, (_, i) => lambdas[i % lambdas.length]!);
      const v = draw(303, tensor(rates, [rates.length], f64));
      for (const lambda of new Set(lambdas)) {
        const mine = v.filter((_, i) => rates[i] === lambda);
        if (lambda === 0) {
          assert.ok(mine.every((x) => x === 0), 'λ = 0 gives 0');
          continue;
        }
        const r = chiSquarePoisson(mine, lambda);
        assert.ok(r.p > 1e-4, `mixture, λ = ${lambda}: χ² = ${r.stat.toFixed(1)} on ${r.df} df, p = ${r.p.toExponential(2)}`);
      }
    });
  });

  test('samples are non-negative integers; the result keeps the rates’ dtype and shape; any layout works', () => {
    tidy(() => {
      const g = new Generator(404);
      const rates = uniform(g, [3, 5, 7], { dtype: 'float32', high: 40 });
      const k = poissonExact(g, rates);
      assert.equal(k.dtype, 'float32');
      assert.deepEqual(k.shape, [3, 5, 7]);
      assert.ok((k.data() as Float32Array).every((x) => Number.isInteger(x) && x >= 0));
      // A transposed (non-contiguous) view: zero rates must come back as zeros in the same places.
      const r = tensor(Float64Array.from({ length: 64 * 48 }, (_, i) => (i % 3 === 0 ? 0 : 20)), [64, 48], f64).transpose(0, 1);
      const s = poissonExact(g, r);
      assert.deepEqual(s.shape, [48, 64]);
      const want = r.toArray();
      const got = s.toArray();
      got.forEach((x, i) => assert.ok(want[i] === 0 ? x === 0 : Number.isInteger(x), `element ${i}`));
      assert.equal(poissonExact(g, full([0], 3, f64)).shape[0], 0);
      g.dispose();
    });
  });
});

describe('poissonExact: determinism', () => {
  test('the same seed gives the same samples; other seeds and successive draws differ', () => {
    tidy(() => {
      const rates = uniform(new Generator(1), [50_000], { dtype: 'float64', high: 60 });
      assert.deepEqual(draw(7, rates), draw(7, rates));
      assert.notDeepEqual(draw(7, rates), draw(8, rates));
      const g = new Generator(7);
      assert.notDeepEqual(poissonExact(g, rates).toArray(), poissonExact(g, rates).toArray());
      g.dispose();
    });
  });

  test('getState/setState replays the same samples (what --resume relies on)', () => {
    tidy(() => {
      const rates = uniform(new Generator(2), [4, 1, 64, 64], { dtype: 'float32', high: 300 });
      const g = new Generator(9);
      poissonExact(g, rates);
      const state = g.getState();
      const a = poissonExact(g, rates).toArray();
      const b = poissonExact(g, rates).toArray();
      const h = new Generator(12345);
      h.setState(state);
      assert.deepEqual(poissonExact(h, rates).toArray(), a);
      assert.deepEqual(poissonExact(h, rates).toArray(), b);
      g.dispose();
      h.dispose();
    });
  });

  test('the samples do not depend on the thread count', () => {
    tidy(() => {
      // 300k elements: 74 blocks of 4096, mixed rates (inversion and PTRS) so every path is used.
      const rates = uniform(new Generator(3), [300_000], { dtype: 'float64', high: 80 });
      const one = withThreads(1, () => draw(11, rates));
      const two = withThreads(2, () => draw(11, rates));
      const three = withThreads(3, () => draw(11, rates));
      assert.deepEqual(two, one);
      assert.deepEqual(three, one);
    });
  });
});

describe('poissonExact: devices', () => {
  test('on a CUDA tensor: drawn on the CPU and moved, so the same samples as on the CPU', (t) => {
    if (cudaDeviceCount() === 0) return t.skip('no CUDA GPU visible (cudaDeviceCount() = 0)');
    tidy(() => {
      const rates = uniform(new Generator(4), [2, 1, 32, 32], { high: 50 });
      const onGpu = poissonExact(new Generator(13), rates.toDevice('cuda'));
      assert.match(onGpu.device, /^cuda/);
      assert.deepEqual(onGpu.toArray(), poissonExact(new Generator(13), rates).toArray());
    });
  });
});

describe('poissonExact: bad input', () => {
  test('negative, NaN, infinite or too large rates, integer tensors and non-tensors are refused', () => {
    tidy(() => {
      const g = new Generator(5);
      for (const bad of [-1, NaN, Infinity, 2e15]) {
        assert.throws(() => poissonExact(g, tensor([1, 2, bad, 4], [4], f64)), /rates must be finite, ≥ 0 and ≤ 1e15; element 2/, `rate ${bad}`);
      }
      assert.throws(() => poissonExact(g, tensor([1, 2], [2], { dtype: 'int64' })), /float32 or float64/);
      assert.throws(() => poissonExact(g, [1, 2] as unknown as Tensor), TypeError);
      assert.throws(() => poissonExact({} as Generator, full([2], 1)), TypeError);
      g.dispose();
    });
  });
});
