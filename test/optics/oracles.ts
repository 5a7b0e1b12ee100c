// Independent oracles for the optics tests: Bessel J1 by quadrature, the analytic Airy pattern, small helpers.

/**
 * J1(x) from Bessel's integral J1(x) = (1/2π) ∫_0^{2π} cos(τ − x·sin τ) dτ. The integrand is smooth and
 * 2π-periodic, so the trapezoid rule converges exponentially once the point count exceeds ~|x| + 30.
 */
export function besselJ1(x: number): number {
  const n = 64 + 2 * Math.ceil(Math.abs(x));
  let s = 0;
  for (let k = 0; k < n; k++) {
    const tau = (2 * Math.PI * k) / n;
    s += Math.cos(tau - x * Math.sin(tau));
  }
  return s / n;
}

/** [2J1(v)/v]² with v = 2π·fc·r at the pixel centres of an S × S grid centred at ⌊S/2⌋, normalised to sum 1. */
export function airyPattern(fc: number, size: number): Float64Array {
  const c = Math.floor(size / 2);
  const out = new Float64Array(size * size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const v = 2 * Math.PI * fc * Math.hypot(i - c, j - c);
      const a = v === 0 ? 1 : (2 * besselJ1(v)) / v;
      out[i * size + j] = a * a;
      sum += a * a;
    }
  }
  for (let k = 0; k < out.length; k++) out[k]! /= sum;
  return out;
}

/**
 * The share of the Airy pattern's energy in the S × S pixel window centred `dx` pixels from the optical axis along
 * x: Σ_window [2J1(v)/v]² · π·fc². The intensity is band-limited to 2·fc < 1 cycle/pixel, so its sum over every
 * pixel equals its integral, ∫ [2J1(v)/v]² dA = 1/(π·fc²) (∫_0^∞ (2J1(v)/v)² v dv = 2).
 */
export function airyWindowShare(fc: number, size: number, dx = 0): number {
  const c = Math.floor(size / 2);
  let s = 0;
  for (let i = 0; i < size; i++) {
    for (let j = 0; j < size; j++) {
      const v = 2 * Math.PI * fc * Math.hypot(i - c, j - c - dx);
      const a = v === 0 ? 1 : (2 * besselJ1(v)) / v;
      s += a * a;
    }
  }
  return s * Math.PI * fc * fc;
}

/** ‖a − b‖₂ / ‖b‖₂. */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relL2: lengths ${a.length} and ${b.length}`);
  let num = 0;
  let den = 0;
  for (let k = 0; k < a.length; k++) {
    num += (a[k]! - b[k]!) ** 2;
    den += b[k]! ** 2;
  }
  return Math.sqrt(num / den);
}

/** A deterministic pseudo-random stream in [0, 1) (mulberry32) for test inputs built in JavaScript. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
