// Noise and camera, the seed's eq. 2 (../shared/CONVENTIONS.md): y = S_s(Q_q(P_γ(z) + ε_σ)) for z = h ⋆ x on [0, 1].
//
// Every parameter is per sample: a number for the whole batch, or a Tensor [B] with one value per batch row (the
// first dimension of z), so one batch mixes noise levels. Every random draw comes from the Generator argument.
// None of these functions modifies its input. Past their first step they work in place on the tensors they made:
// every out-of-place step would allocate and fill one more image-sized buffer (libtorch's in-place CPU kernels
// give the same values as their out-of-place forms).
import { isGradEnabled, noGrad, normal, poisson, poissonExact, tensor, tidy, uniform, where, type Generator, Tensor } from '../engine/index.js';
import { usageError } from '../errors.js';

/** A number for the whole batch, or a Tensor [B] (one value per batch row). */
export type PerSample = number | Tensor;

interface Checked {
  /** Null for a plain number; else builds the values as [B, 1, …, 1] in z's dtype and device (call inside tidy). */
  t: (() => Tensor) | null;
  /** The values (one for a number). */
  values: number[];
}

/** Validates a per-sample parameter against z and `ok`; the message names `param` and the offending value. */
function perSample(param: string, v: PerSample, z: Tensor, ok: (x: number) => boolean, want: string): Checked {
  if (typeof v === 'number') {
    if (!ok(v)) throw usageError(param, `${param} must be ${want}, got ${v}`);
    return { t: null, values: [v] };
  }
  if (!(v instanceof Tensor)) throw usageError(param, `${param} must be a number or a Tensor [B]`);
  const batch = z.size(0);
  if (v.ndim !== 1 || v.size(0) !== batch) throw usageError(param, `${param} must be a Tensor [${batch}] (one per batch row), got [${v.shape.join(', ')}]`);
  const values = v.toArray();
  values.forEach((x, i) => {
    if (!ok(x)) throw usageError(param, `${param}[${i}] must be ${want}, got ${x}`);
  });
  const shape = [batch, ...z.shape.slice(1).map(() => 1)];
  return { t: () => v.to({ dtype: z.dtype, device: z.device }).reshape(shape), values };
}

function checkZ(z: unknown): asserts z is Tensor {
  if (!(z instanceof Tensor) || z.ndim < 1) throw usageError('image', 'noise functions take a Tensor [B, …]');
  if (z.dtype !== 'float32' && z.dtype !== 'float64') throw usageError('image', `noise functions take float32 or float64 images, got ${z.dtype}`);
}

const nonNegative = (x: number): boolean => Number.isFinite(x) && x >= 0;

/** Random draws are not differentiable; they never record gradients. */
function draw<T>(fn: () => T): T {
  return isGradEnabled() ? noGrad(fn) : fn();
}

/**
 * Poisson counts drawn where `gen` draws: a CPU Generator uses the engine's exact sampler (`poissonExact`: same
 * distribution as torch.poisson, about twice as fast on the CPU) and moves the counts to the rates' device, so a seed
 * gives the same image on CPU and GPU; a device fork (Generator.fork) draws with torch.poisson on that device.
 */
function poissonCounts(gen: Generator, rates: Tensor): Tensor {
  return gen.device === 'cpu' ? poissonExact(gen, rates) : poisson(gen, rates);
}

/**
 * P_γ(z) = γ · Poisson(z/γ): gain γ in intensity units per photon, so E = z and Var = γ·z. γ = 0 leaves the sample
 * unchanged. Rates are clamped at 0 (an FFT blur may leave −1e-8 where z should be 0). The counts come from
 * poissonCounts (above). With a CPU Generator z/γ must stay ≤ 1e15.
 */
export function poissonNoise(gen: Generator, z: Tensor, gain: PerSample): Tensor {
  checkZ(z);
  const g = perSample('gain', gain, z, nonNegative, 'a finite number ≥ 0 (intensity units per photon)');
  return tidy(() => {
    if (g.t === null && g.values[0] === 0) return z.clone();
    const gainT = g.t ? g.t() : g.values[0]!;
    if (g.values.every((v) => v > 0)) return draw(() => poissonCounts(gen, z.detach().clampMin(0).div_(gainT))).mul_(gainT);
    // Some samples have γ = 0: draw for all (rate z for those), keep z where γ = 0.
    const gains = gainT as Tensor;
    const on = gains.gt(0);
    const safe = where(on, gains, 1);
    const counts = draw(() => poissonCounts(gen, z.detach().clampMin(0).div_(safe)));
    return where(on, counts.mul_(safe), z);
  });
}

/** z + ε with ε ~ N(0, σ²) i.i.d. */
export function gaussianNoise(gen: Generator, z: Tensor, sigma: PerSample): Tensor {
  checkZ(z);
  const s = perSample('sigma', sigma, z, nonNegative, 'a finite standard deviation ≥ 0');
  return tidy(() => {
    if (s.t === null && s.values[0] === 0) return z.clone();
    const eps = draw(() => normal(gen, z.shape, { dtype: z.dtype, device: z.device }));
    return z.add(eps.mul_(s.t ? s.t() : s.values[0]!));
  });
}

const validBits = (q: number): boolean => q === 0 || q === Infinity || (Number.isInteger(q) && q >= 1 && q <= 32);

/**
 * Q_q(z) = round(clip(z, 0, 1)·(2^q − 1)) / (2^q − 1): a q-bit camera on [0, 1] (round half to even). q = 0 or
 * Infinity means no quantization (and no clipping) for that sample.
 */
export function quantize(z: Tensor, bits: PerSample): Tensor {
  checkZ(z);
  const b = perSample('bits', bits, z, validBits, 'an integer number of bits in 1…32, or 0 / Infinity for none');
  return tidy(() => {
    if (b.t === null) {
      const q = b.values[0]!;
      if (q === 0 || q === Infinity) return z.clone();
      const levels = 2 ** q - 1;
      return z.clamp(0, 1).mul_(levels).round().div_(levels);
    }
    const shape = [z.size(0), ...z.shape.slice(1).map(() => 1)];
    const off = (q: number): boolean => q === 0 || q === Infinity;
    const on = tensor(b.values.map((q) => (off(q) ? 0 : 1)), shape, { dtype: 'bool', device: z.device });
    const levels = tensor(Float64Array.from(b.values, (q) => (off(q) ? 1 : 2 ** q - 1)), shape, { dtype: z.dtype, device: z.device });
    const quantized = z.clamp(0, 1).mul_(levels).round().div_(levels);
    return b.values.some(off) ? where(on, quantized, z) : quantized;
  });
}

/** S_s: each pixel independently replaced with probability s, by 0 or by 1 with equal chance. */
export function saltPepper(gen: Generator, z: Tensor, s: PerSample): Tensor {
  checkZ(z);
  const p = perSample('saltPepper', s, z, (x) => Number.isFinite(x) && x >= 0 && x <= 1, 'a probability in [0, 1]');
  return tidy(() => {
    if (p.t === null && p.values[0] === 0) return z.clone();
    const u = draw(() => uniform(gen, z.shape, { dtype: z.dtype, device: z.device }));
    const prob = p.t ? p.t() : p.values[0]!;
    const half = typeof prob === 'number' ? prob / 2 : prob.div(2);
    const pepper = u.lt(half);
    const salt = u.lt(prob).logicalAnd(pepper.logicalNot());
    return where(pepper, 0, where(salt, 1, z));
  });
}
