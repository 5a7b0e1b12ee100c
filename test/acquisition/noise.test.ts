// Noise and camera: moments of Poisson–Gaussian noise, quantization levels, salt-and-pepper rates, per-sample
// parameters, reproducibility, and refusal of bad values.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cudaDeviceCount, Generator, ones, tensor, tidy, uniform, type Tensor } from '../../src/engine/index.js';
import { PsfidError } from '../../src/errors.js';
import { gaussianNoise, poissonNoise, quantize, saltPepper } from '../../src/acquisition/index.js';

const f64 = { dtype: 'float64' as const };

function throwsParam(fn: () => unknown, param: string): void {
  assert.throws(fn, (e: unknown) => e instanceof PsfidError && e.param === param, `expected PsfidError(${param})`);
}

/** Sample mean, variance, and their standard errors (the variance's from the sample fourth moment). */
function moments(values: ArrayLike<number>): { mean: number; variance: number; seMean: number; seVariance: number } {
  const n = values.length;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += values[i]!;
  mean /= n;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = values[i]! - mean;
    m2 += d * d;
    m4 += d ** 4;
  }
  m2 /= n;
  m4 /= n;
  return { mean, variance: m2, seMean: Math.sqrt(m2 / n), seVariance: Math.sqrt((m4 - m2 * m2) / n) };
}

/** Constant images [B, 1, side, side] with the given levels. */
function levels(values: number[], side: number): Tensor {
  return ones([values.length, 1, side, side], f64).mul(tensor(values, [values.length, 1, 1, 1], f64));
}

/** Poisson–Gaussian noise on constant images on `device` from `gen`: mean z and variance γ·z + σ² per sample. */
function checkPoissonGaussian(gen: Generator, device: string): void {
  const z = [0.2, 0.5, 0.9, 0.6];
  const gain = [0.01, 0.02, 0.005, 0];
  const sigma = [0.01, 0, 0.02, 0.015];
  tidy(() => {
    const on = { ...f64, device };
    const y = gaussianNoise(gen, poissonNoise(gen, levels(z, 200).toDevice(device), tensor(gain, [4], on)), tensor(sigma, [4], on));
    assert.equal(y.device, levels([0], 1).toDevice(device).device);
    const values = y.toDevice('cpu');
    z.forEach((level, b) => {
      const m = moments(values.select(0, b).data() as Float64Array);
      const variance = gain[b]! * level + sigma[b]! ** 2;
      assert.ok(Math.abs(m.mean - level) < 5 * m.seMean, `sample ${b}: mean ${m.mean} vs ${level} (SE ${m.seMean})`);
      assert.ok(Math.abs(m.variance - variance) < 5 * m.seVariance, `sample ${b}: variance ${m.variance} vs ${variance} (SE ${m.seVariance})`);
    });
  });
}

/** Salt and pepper on a grey image on `device` from `gen`: a fraction ≈ s replaced, half by 0 and half by 1. */
function checkSaltPepper(gen: Generator, device: string): void {
  const rates = [0.01, 0.002, 0];
  tidy(() => {
    const side = 400;
    const y = saltPepper(gen, levels([0.5, 0.5, 0.5], side).toDevice(device), tensor(rates, [3], { ...f64, device })).toDevice('cpu');
    rates.forEach((s, b) => {
      const v = y.select(0, b).data() as Float64Array;
      const n = v.length;
      let zeros = 0;
      let ones = 0;
      for (const p of v) {
        if (p === 0) zeros++;
        else if (p === 1) ones++;
        else assert.equal(p, 0.5);
      }
      const replaced = zeros + ones;
      const se = Math.sqrt((s * (1 - s)) / n);
      assert.ok(Math.abs(replaced / n - s) <= 5 * se, `sample ${b}: fraction ${replaced / n} vs ${s}`);
      if (replaced > 0) assert.ok(Math.abs(zeros / replaced - 0.5) < 5 * Math.sqrt(0.25 / replaced), `sample ${b}: ${zeros} zeros, ${ones} ones`);
    });
  });
}

const hasCuda = cudaDeviceCount() > 0;

describe('noise', () => {
  test('Poisson–Gaussian: mean ≈ z and variance ≈ γ·z + σ² within 5 standard errors, per sample', () => {
    checkPoissonGaussian(new Generator(11), 'cpu');
  });

  test('with a CPU fork of the generator (what acquire uses for noiseDraws: device) the moments are the same', () => {
    checkPoissonGaussian(new Generator(11).fork('cpu'), 'cpu');
    checkSaltPepper(new Generator(14).fork('cpu'), 'cpu');
  });

  test('on a GPU with a GPU fork (torch.poisson, randn and rand drawn there): the same moments and rates', (t) => {
    if (!hasCuda) return t.skip('no CUDA GPU visible (cudaDeviceCount() = 0)');
    checkPoissonGaussian(new Generator(11).fork('cuda'), 'cuda');
    checkSaltPepper(new Generator(14).fork('cuda'), 'cuda');
    // A CPU generator with GPU data: drawn on the CPU and moved (the default, same numbers on every device).
    checkPoissonGaussian(new Generator(11), 'cuda');
  });

  test('Poisson samples are γ times integers; γ = 0 and σ = 0 leave the image unchanged', () => {
    tidy(() => {
      const gen = new Generator(12);
      const x = uniform(gen, [2, 1, 16, 16], f64);
      const counts = poissonNoise(gen, x, 0.01).div(0.01);
      assert.ok(counts.sub(counts.round()).abs().max().item() < 1e-9);
      assert.deepEqual(poissonNoise(gen, x, 0).toArray(), x.toArray());
      assert.deepEqual(gaussianNoise(gen, x, 0).toArray(), x.toArray());
      assert.deepEqual(poissonNoise(gen, x, tensor([0, 0], [2], f64)).toArray(), x.toArray());
    });
  });

  test('quantization: exactly 2^q levels on a ramp over [−0.1, 1.1]; q = 0 and Infinity are off; per sample', () => {
    tidy(() => {
      const n = 4096;
      const ramp = Float64Array.from({ length: n }, (_, i) => -0.1 + (1.2 * i) / (n - 1));
      const x = tensor(ramp, [1, 1, 1, n]).expand([4, 1, 1, n]).contiguous();
      const q = quantize(x, tensor([4, 8, 0, Infinity], [4], f64));
      const distinct = (b: number): number => new Set(q.select(0, b).toArray()).size;
      assert.equal(distinct(0), 16);
      assert.equal(distinct(1), 256);
      for (const v of q.select(0, 1).toArray()) assert.ok(Math.abs(v * 255 - Math.round(v * 255)) < 1e-9 && v >= 0 && v <= 1);
      assert.deepEqual(q.select(0, 2).toArray(), Array.from(ramp));
      assert.deepEqual(q.select(0, 3).toArray(), Array.from(ramp));
      // A number applies to the whole batch; random data never shows more than 2^q levels.
      const r = quantize(uniform(new Generator(13), [2, 1, 64, 64], f64), 3);
      assert.ok(new Set(r.toArray()).size <= 8);
    });
  });

  test('salt and pepper: a fraction ≈ s of pixels replaced, half by 0 and half by 1 (5 standard errors), per sample', () => {
    checkSaltPepper(new Generator(14), 'cpu');
  });

  test('same seed → same noise; inputs are not modified', () => {
    tidy(() => {
      const x = uniform(new Generator(15), [2, 1, 32, 32], f64);
      const before = x.toArray();
      const run = (): number[] => {
        const gen = new Generator(99);
        return saltPepper(gen, quantize(gaussianNoise(gen, poissonNoise(gen, x, 0.01), 0.01), 12), 0.01).toArray();
      };
      assert.deepEqual(run(), run());
      assert.deepEqual(x.toArray(), before);
    });
  });

  test('bad parameters are refused naming the parameter', () => {
    tidy(() => {
      const gen = new Generator(16);
      const x = uniform(gen, [2, 1, 8, 8]);
      throwsParam(() => gaussianNoise(gen, x, -0.1), 'sigma');
      throwsParam(() => gaussianNoise(gen, x, Number.NaN), 'sigma');
      throwsParam(() => gaussianNoise(gen, x, tensor([0.1, -0.1])), 'sigma');
      throwsParam(() => gaussianNoise(gen, x, tensor([0.1, 0.1, 0.1])), 'sigma');
      throwsParam(() => poissonNoise(gen, x, -1), 'gain');
      throwsParam(() => quantize(x, 3.5), 'bits');
      throwsParam(() => quantize(x, -8), 'bits');
      throwsParam(() => saltPepper(gen, x, 1.5), 'saltPepper');
      throwsParam(() => saltPepper(gen, tensor([1, 2, 3], [3], { dtype: 'int64' }), 0.1), 'image');
    });
  });
});
