// Input checks shared by the deconvolution functions: image and PSF shapes, dtypes, finiteness, normalisation.
// Everything here either returns a tensor ready for the algorithms or throws a PsfidError naming the parameter.
import { callMany, type Tensor } from '../engine/index.js';
import { inputError, usageError } from '../errors.js';
import { gridLattice, type PsfGridSpec } from './operator.js';

/** Relative tolerance on Σh = 1 (CONVENTIONS.md: PSFs are normalised to sum 1). */
export const PSF_SUM_TOLERANCE = 1e-3;

/** The working dtype: float64 stays float64 (tests, precision studies); everything else is computed in float32. */
export function workingDtype(t: Tensor): 'float32' | 'float64' {
  return t.dtype === 'float64' ? 'float64' : 'float32';
}

export interface BatchedImage {
  /** [B, 1, H, W] in the working dtype on the image's device. */
  x: Tensor;
  /** The caller's rank (2: [H, W]; 4: [B, 1, H, W]): results come back in the same layout. */
  rank: 2 | 4;
  /** The smallest and largest pixel values (finite). */
  min: number;
  max: number;
}

/** Accepts [H, W] or [B, 1, H, W] real images; converts integer/float16 types to float32 (values unchanged). */
export function batchImage(fn: string, image: Tensor): BatchedImage {
  const shape = image.shape;
  if (image.isComplex || image.dtype === 'bool') {
    throw inputError('image', `${fn}: image must be real-valued, got dtype ${image.dtype}`);
  }
  let x: Tensor;
  let rank: 2 | 4;
  if (shape.length === 2) {
    rank = 2;
    x = image.reshape([1, 1, shape[0]!, shape[1]!]);
  } else if (shape.length === 4 && shape[1] === 1) {
    rank = 4;
    x = image;
  } else {
    throw inputError('image', `${fn}: image must be [H, W] or [B, 1, H, W], got [${shape.join(', ')}]`);
  }
  if (x.size(2) < 1 || x.size(3) < 1 || x.size(0) < 1) throw inputError('image', `${fn}: image is empty ([${shape.join(', ')}])`);
  const dtype = workingDtype(image);
  if (x.dtype !== dtype) x = x.to({ dtype });
  const { min, max } = extremes(x);
  if (!Number.isFinite(min) || !Number.isFinite(max)) {
    throw inputError('image', `${fn}: image has NaN or infinite values; replace them (e.g. by the local median) before deconvolving`);
  }
  return { x, rank, min, max };
}

/** Smallest and largest element in one pass (aminmax); NaN when any element is NaN. */
export function extremes(t: Tensor): { min: number; max: number } {
  const [lo, hi] = callMany('aminmax', t);
  try {
    return { min: lo!.item(), max: hi!.item() };
  } finally {
    lo!.dispose();
    hi!.dispose();
  }
}

/** Whether every element is finite (no NaN, no ±∞). */
export function allFinite(t: Tensor): boolean {
  const { min, max } = extremes(t);
  return Number.isFinite(min) && Number.isFinite(max);
}

/** Restores the caller's layout. */
export function unbatch(x: Tensor, rank: 2 | 4): Tensor {
  return rank === 2 ? x.reshape([x.size(2), x.size(3)]) : x;
}

export interface PsfCheck {
  /** Refuse negative entries (Richardson–Lucy needs h ≥ 0); entries above −1e-6·max(h) are set to 0. */
  nonNegative: boolean;
  /** Allowed leading batch size for a per-image PSF [B, 1, S, S] (the image batch), or null for [S, S] only. */
  batch: number | null;
  /** Parameter name for errors. */
  param?: string;
}

/**
 * Validates a PSF and returns it as [1 or B, 1, Sh, Sw] in `dtype` on `device`. PSFs are centred at index ⌊S/2⌋
 * and sum to 1 (CONVENTIONS.md); a PSF whose sum is off by more than 0.1 % is refused rather than rescaled.
 */
export function checkPsf(fn: string, psf: Tensor, dtype: 'float32' | 'float64', device: string, o: PsfCheck): Tensor {
  const param = o.param ?? 'psf';
  const shape = psf.shape;
  let h: Tensor;
  if (shape.length === 2) h = psf.reshape([1, 1, shape[0]!, shape[1]!]);
  else if (shape.length === 4 && shape[1] === 1 && o.batch !== null && (shape[0] === o.batch || shape[0] === 1)) h = psf;
  else {
    const want = o.batch !== null ? `[S, S] or [${o.batch}, 1, S, S]` : '[S, S]';
    throw inputError(param, `${fn}: ${param} must be ${want}, got [${shape.join(', ')}]`);
  }
  if (h.size(2) < 1 || h.size(3) < 1) throw inputError(param, `${fn}: ${param} is empty`);
  if (psf.isComplex || psf.dtype === 'bool') throw inputError(param, `${fn}: ${param} must be real-valued, got ${psf.dtype}`);
  h = h.to({ dtype, device });
  if (!allFinite(h)) throw inputError(param, `${fn}: ${param} has NaN or infinite values`);
  const sums = h.sum([2, 3]).toArray();
  for (let b = 0; b < sums.length; b++) {
    const s = sums[b]!;
    if (!(Math.abs(s - 1) <= PSF_SUM_TOLERANCE)) {
      const which = sums.length > 1 ? ` (PSF ${b})` : '';
      throw inputError(param, `${fn}: ${param}${which} sums to ${s.toPrecision(6)}; psfid PSFs are normalised to sum 1 (CONVENTIONS.md). Divide it by its sum first.`);
    }
  }
  if (o.nonNegative) {
    const peak = h.amax().item();
    const low = h.amin().item();
    if (low < -1e-6 * peak) {
      throw inputError(param, `${fn}: ${param} has negative values (down to ${low.toPrecision(3)}, peak ${peak.toPrecision(3)}); Richardson–Lucy needs h ≥ 0. Clamp it to 0 and renormalise to sum 1, or use wiener().`);
    }
    if (low < 0) h = h.clampMin(0);
  }
  return h;
}

/** Refuses option keys the function does not know (a typo would otherwise be silently ignored). */
export function checkKeys(fn: string, opts: object, known: readonly string[]): void {
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) throw usageError(k, `${fn}: unknown option '${k}'; known options: ${known.join(', ')}`);
  }
}

/** A positive integer option. */
export function checkCount(fn: string, name: string, v: number, min: number): number {
  if (!Number.isInteger(v) || v < min) throw usageError(name, `${fn}: ${name} must be an integer ≥ ${min}, got ${v}`);
  return v;
}

/** A finite number in [lo, hi) (hi may be Infinity). */
export function checkRange(fn: string, name: string, v: number, lo: number, hi: number, hint = ''): number {
  if (!(typeof v === 'number' && v >= lo && v < hi)) {
    throw usageError(name, `${fn}: ${name} must be in [${lo}, ${hi === Infinity ? '∞' : hi}), got ${v}${hint ? `. ${hint}` : ''}`);
  }
  return v;
}

export function checkOneOf<T extends string>(fn: string, name: string, v: T, allowed: readonly T[]): T {
  if (!allowed.includes(v)) throw usageError(name, `${fn}: ${name} must be one of ${allowed.map((a) => `'${a}'`).join(', ')}, got '${String(v)}'`);
  return v;
}

/** Validates a PSF grid: lattice of centres, psfs [T, Sh, Sw] each summing to 1. Returns psfs in `dtype` on `device`. */
export function checkGrid(
  fn: string,
  grid: PsfGridSpec,
  dtype: 'float32' | 'float64',
  device: string,
  nonNegative: boolean,
): { psfs: Tensor; lattice: { xs: number[]; ys: number[] } } {
  const lattice = gridLattice(fn, grid);
  const shape = grid.psfs.shape;
  if (shape.length !== 3 || shape[0] !== grid.centres.length) {
    throw inputError('grid', `${fn}: grid.psfs must be [T, S, S] with T = ${grid.centres.length} tiles, got [${shape.join(', ')}]`);
  }
  const [t, sh, sw] = shape as [number, number, number];
  const h = checkPsf(fn, grid.psfs.reshape([t, 1, sh, sw]), dtype, device, { nonNegative, batch: t, param: 'grid.psfs' });
  return { psfs: h.reshape([t, sh, sw]), lattice };
}
