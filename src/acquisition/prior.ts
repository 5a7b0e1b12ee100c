// The prior μ over degradations: a plain, frozen value (stored with every dataset, checkpoint and model), never a
// hidden global. Sampling draws per-sample parameters as plain data, which `acquire` consumes.
import { randint, tensor, tidy, uniform, type DType, type Generator, type Tensor } from '../engine/index.js';
import { usageError } from '../errors.js';
import { MAX_FC } from '../optics/optics.js';
import { nollToNM } from '../optics/zernike.js';
import { randomTheta } from '../optics/psf.js';

/** A closed range [min, max] (min = max fixes the value). Every range is sampled uniformly. */
export type Range = readonly [number, number];

export interface Prior {
  /** Pupil cut-off in cycles/pixel, U[min, max]. */
  readonly fc: Range;
  /** Per-sample Zernike amplitude bound θmax in waves, U[min, max]; then θ_k ~ U[−θmax, θmax] i.i.d. */
  readonly thetaMax: Range;
  /** The Zernike modes θ is drawn on (Noll). */
  readonly zernikeNoll: readonly number[];
  /** Poisson gain γ (intensity units per photon; 0 = no Poisson noise), U[min, max]. */
  readonly gain: Range;
  /** Gaussian read-noise standard deviation σ on the [0, 1] scale, U[min, max]. */
  readonly sigma: Range;
  /** Camera bit depths q, one chosen uniformly per sample (0 = no quantization). */
  readonly bits: readonly number[];
  /** Salt-and-pepper probability s, U[min, max]. */
  readonly saltPepper: Range;
}

/** Partial overrides of DEFAULT_PRIOR (e.g. from a training config: {"thetaMax": [0.02, 0.15]}). */
export type PriorSpec = { [K in keyof Prior]?: Prior[K] };

/**
 * The default μ, for images scaled to [0, 1] with their brightest structures near 1:
 * - fc ∈ [0.125, 0.25] cycles/pixel: from twice Nyquist-oversampled (fc = 0.125, e.g. NA 1.4 at 520 nm with
 *   46 nm pixels) to Nyquist (0.25); larger fc alias (refused by default, see resolveOptics).
 * - θmax ∈ [0.02, 0.15] waves on Noll 4–11 (defocus … primary spherical): from nearly diffraction-limited
 *   (Strehl ≈ 0.99) to clearly aberrated (8 modes of up to ±0.15 waves: RMS wavefront up to ≈ 0.25 waves).
 * - γ ∈ [0, 0.02]: γ = 0.02 at an intensity of 1 is 50 photons per pixel at the peak (SNR ≈ 7), a dim
 *   fluorescence image; γ = 0 is photon-noise-free.
 * - σ ∈ [0, 0.02]: read noise up to 2 % of the full scale (a few electrons against ~100–500 at the peak).
 * - q ∈ {8, 12, 16} bits: common camera depths (8-bit exports, 12-bit sCMOS, 16-bit EMCCD/sCMOS).
 * - s ∈ [0, 0.002]: up to 0.2 % hot/dead pixels and cosmic-ray hits.
 */
export const DEFAULT_PRIOR: Prior = Object.freeze({
  fc: Object.freeze([0.125, 0.25] as const),
  thetaMax: Object.freeze([0.02, 0.15] as const),
  zernikeNoll: Object.freeze([4, 5, 6, 7, 8, 9, 10, 11]),
  gain: Object.freeze([0, 0.02] as const),
  sigma: Object.freeze([0, 0.02] as const),
  bits: Object.freeze([8, 12, 16]),
  saltPepper: Object.freeze([0, 0.002] as const),
});

const KEYS = Object.keys(DEFAULT_PRIOR) as (keyof Prior)[];

function range(param: string, v: unknown, lo: number, hi: number, hiOpen = false): Range {
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw usageError(`prior.${param}`, `prior.${param} must be a range [min, max] of two finite numbers, got ${JSON.stringify(v)}`);
  }
  const [a, b] = v as [number, number];
  if (a > b) throw usageError(`prior.${param}`, `prior.${param} must have min ≤ max, got [${a}, ${b}]`);
  if (a < lo || (hiOpen ? b >= hi : b > hi)) {
    throw usageError(`prior.${param}`, `prior.${param} must lie in [${lo}, ${hi}${hiOpen ? ')' : ']'}, got [${a}, ${b}]`);
  }
  return Object.freeze([a, b] as const);
}

/** Validates overrides over DEFAULT_PRIOR into a frozen Prior. Errors name the key, e.g. 'prior.sigma'. */
export function resolvePrior(spec: PriorSpec = {}): Prior {
  if (spec === null || typeof spec !== 'object') throw usageError('prior', 'resolvePrior: the prior must be an object');
  for (const key of Object.keys(spec)) {
    if (!(KEYS as string[]).includes(key)) throw usageError(`prior.${key}`, `prior: unknown key '${key}' (known: ${KEYS.join(', ')})`);
  }
  const merged = { ...DEFAULT_PRIOR, ...spec };
  const fc = range('fc', merged.fc, 0, MAX_FC, true);
  if (fc[0] <= 0) throw usageError('prior.fc', `prior.fc must be > 0 cycles/pixel, got [${fc[0]}, ${fc[1]}]`);
  const noll = merged.zernikeNoll;
  if (!Array.isArray(noll) || noll.length === 0) throw usageError('prior.zernikeNoll', 'prior.zernikeNoll must be a non-empty array of Noll indices');
  noll.forEach((j) => nollToNM(j));
  if (new Set(noll).size !== noll.length) throw usageError('prior.zernikeNoll', `prior.zernikeNoll has a repeated index: [${noll.join(', ')}]`);
  const bits = merged.bits;
  if (!Array.isArray(bits) || bits.length === 0 || !bits.every((q) => q === 0 || (Number.isInteger(q) && q >= 1 && q <= 32))) {
    throw usageError('prior.bits', `prior.bits must be a non-empty list of bit depths (integers 1…32, or 0 for none), got ${JSON.stringify(bits)}`);
  }
  return Object.freeze({
    fc,
    thetaMax: range('thetaMax', merged.thetaMax, 0, 1),
    zernikeNoll: Object.freeze([...noll]),
    gain: range('gain', merged.gain, 0, 1),
    sigma: range('sigma', merged.sigma, 0, 1),
    bits: Object.freeze([...bits]),
    saltPepper: range('saltPepper', merged.saltPepper, 0, 1),
  });
}

/** Per-sample degradation parameters: plain data (tensors [B], θ [B, K]) that `acquire` consumes. */
export interface Degradation {
  /** The Noll indices θ's columns refer to. */
  readonly zernikeNoll: readonly number[];
  /** Cut-offs, cycles/pixel [B]. */
  readonly fc: Tensor;
  /** θmax, waves [B]. */
  readonly thetaMax: Tensor;
  /** Zernike coefficients, waves [B, K]. */
  readonly theta: Tensor;
  readonly gain: Tensor;
  readonly sigma: Tensor;
  /** Bit depths (0 = none) [B]. */
  readonly bits: Tensor;
  readonly saltPepper: Tensor;
}

/**
 * Draws `batch` degradations from μ, in this order from `gen`: fc, θmax, θ, γ, σ, q, s (so the same seed gives the
 * same parameters on every run and device). Tensors in `dtype` (default float32) on `device` (default cpu).
 */
export function sampleDegradation(gen: Generator, prior: Prior, batch: number, opts: { dtype?: DType; device?: string } = {}): Degradation {
  if (!Number.isInteger(batch) || batch < 1) throw usageError('batch', `sampleDegradation: batch must be a positive integer, got ${batch}`);
  const dtype = opts.dtype ?? 'float32';
  const device = opts.device ?? 'cpu';
  const draw = (r: Range): Tensor => uniform(gen, [batch], { dtype, device, low: r[0], high: r[1] });
  const params = tidy(() => {
    const fc = draw(prior.fc);
    const thetaMax = draw(prior.thetaMax);
    const theta = randomTheta(gen, batch, prior.zernikeNoll.length, thetaMax, { dtype, device });
    const gain = draw(prior.gain);
    const sigma = draw(prior.sigma);
    const pick = randint(gen, 0, prior.bits.length, [batch]).toArray();
    const bits = tensor(pick.map((i) => prior.bits[i]!), [batch], { dtype, device });
    const saltPepper = draw(prior.saltPepper);
    return { zernikeNoll: prior.zernikeNoll, fc, thetaMax, theta, gain, sigma, bits, saltPepper };
  });
  return Object.freeze(params);
}
