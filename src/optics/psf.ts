// Batched, differentiable PSFs from Zernike coefficients.
//
// Model (../shared/CONVENTIONS.md, binding):
//   pupil = A(f) · exp(−2πi · Σ_k θ_k Z_k(fx/fc, fy/fc))        θ in waves, Z Noll-normalised, A the aperture
//   h     = |fftshift(FFT2(ifftshift(pupil)))|²                 forward FFT, kernel exp(−2πi k·n/N), P × P grid
//   then the centred S × S crop (optical axis at ⌊S/2⌋, S odd) normalised to sum 1.
// So the amplitude at pixel offset (x, y) from the axis (x = column, y = row) is Σ_f pupil(f)·exp(−2πi f·(x, y)),
// f on the grid (k − ⌊P/2⌋)/P. A positive tilt x (Noll 2) moves the PSF toward −x (left).
//
// Methods:
// - 'mft' (default), the matrix Fourier transform (Soummer et al. 2007): h = |E·p·Eᵀ|² with E [S × M] the exact
//   DFT factors of the P-point FFT (fftshift/ifftshift included) restricted to the M = 2·(⌈fc·P⌉ + 1) + 1 offsets
//   that hold the pupil's non-zero samples. The same samples as the full FFT and crop (to float rounding), for
//   ~4·M²·(⌊S/2⌋ + 1) real multiply-adds per PSF in three BLAS calls per batch (see mftIntensity), and the pupil
//   (Zernike sum, exponentials) is built on M² instead of P² samples. M = 131 for fc = 0.25 on P = 256.
// - 'fft': the plain full-grid path, kept as the reference the MFT is tested against.
//
// Per-sample cut-offs (`fc`, one per batch row: a batch mixing microscopes, as training needs). Design: every
// Z_k is a polynomial in the normalised coordinates (x, y)/(P·fc), so a change of fc only rescales the
// coefficients of its monomials x^a·y^b by fc^−(a+b). One set of monomial images on the band covering the batch's
// largest fc is cached (pupil.ts, monomialBasis); per sample, only a small [K × nMono] coefficient matrix is
// rescaled, and one matrix product gives every sample's phase, exact up to float rounding (no interpolation, no
// grouping by fc). The apertures (anti-aliased disks) are built per sample. Without `fc`, the Zernike basis for
// optics.fc is evaluated once (float64) and cached.
//
// Everything runs on theta's device and in theta's dtype (float32 or float64), and is differentiable w.r.t. θ.
import { cat, complex, fft2, fftshift, ifftshift, stack, tensor, tidy, uniform, type Generator, type DType, Tensor } from '../engine/index.js';
import { usageError } from '../errors.js';
import { checkCutoff, type Optics } from './optics.js';
import { apertureWeightsBatch, bandLength, cached, dftFactors, fixedBasis, fullBand, monomialBasis, supportBand, type PupilBand } from './pupil.js';

export type PsfMethod = 'mft' | 'fft';

/** Per-sample bands are rounded up to this many samples of half-width (≤ P/8 distinct cached bases). */
const PER_SAMPLE_BAND_STEP = 4;

export interface PsfOptions {
  /** 'mft' (default) or 'fft' (full grid; the reference). Both give the same samples. */
  method?: PsfMethod;
  /**
   * Per-sample cut-offs in cycles/pixel, one per batch row (a Tensor [B] or B numbers), used instead of optics.fc.
   * Each is checked against the optics' limits (fc < 0.5; ≤ 0.25 unless optics.allowUndersampling).
   */
  fc?: Tensor | readonly number[];
}

function checkTheta(optics: Optics, theta: unknown): { batch: number; dtype: DType } {
  if (!(theta instanceof Tensor)) throw usageError('theta', 'theta must be a Tensor [B, K]');
  const k = optics.zernikeNoll.length;
  const shape = theta.shape;
  if (shape.length !== 2 || shape[1] !== k || shape[0] === 0) {
    throw usageError('theta', `theta must be [B, ${k}] with B ≥ 1 (one coefficient per Noll index ${optics.zernikeNoll.join(', ')}), got [${shape.join(', ')}]`);
  }
  const dtype = theta.dtype;
  if (dtype !== 'float32' && dtype !== 'float64') throw usageError('theta', `theta must be float32 or float64, got ${dtype}`);
  return { batch: shape[0]!, dtype };
}

function perSampleCutoffs(optics: Optics, fc: Tensor | readonly number[], batch: number): number[] {
  const values = fc instanceof Tensor ? fc.toArray() : Array.from(fc);
  const shapeOk = fc instanceof Tensor ? fc.ndim === 1 && values.length === batch : values.length === batch;
  if (!shapeOk) throw usageError('fc', `per-sample fc must hold one cut-off per batch row (${batch}), got ${fc instanceof Tensor ? `a tensor [${fc.shape.join(', ')}]` : `${values.length} values`}`);
  values.forEach((f, i) => checkCutoff(f, optics, `fc[${i}]`));
  return values;
}

/** Rows (w, 0) and (w, 1) for each row w of [B, n] → [2B, n + 1]: with a basis whose last row is −π/2, the
 * product gives φ and φ − π/2 for each sample, and one cosine then gives cos φ and sin φ. */
function withQuarterTurn(w: Tensor): Tensor {
  const batch = w.size(0);
  return stack([w.pad([0, 1]), w.pad([0, 1], 'constant', 1)], 1).reshape([batch * 2, w.size(1) + 1]);
}

/**
 * The pupil on `band` as [B, 2, M, M]: channel 0 its real part A·cos φ, channel 1 its imaginary part A·sin φ, with
 * φ = −2π·Σ θ_k Z_k (fixed fc when `fcs` is null, else one cut-off per sample).
 */
function pupilStack(optics: Optics, theta: Tensor, band: PupilBand, fcs: number[] | null, dtype: DType): Tensor {
  const device = theta.device;
  const m = bandLength(band);
  const batch = theta.size(0);
  let weights: Tensor;
  let basis: Tensor;
  let aperture: Tensor;
  if (fcs === null) {
    const fixed = fixedBasis(band, optics.fc, optics.zernikeNoll, dtype, device);
    weights = theta.mul(-2 * Math.PI);
    basis = fixed.phaseBasis;
    aperture = fixed.aperture;
  } else {
    const mono = monomialBasis(band, optics.zernikeNoll, dtype, device);
    // u = x/(P·fc) = x̃·g with g = scale/(P·fc): the coefficient of x̃^a ỹ^b scales by g^(a+b).
    const g = tensor(Float64Array.from(fcs, (f) => mono.scale / (band.pupilSize * f)), [batch, 1], { dtype, device });
    weights = theta.mul(-2 * Math.PI).matmul(mono.coefficients).mul(g.pow(mono.degrees.unsqueeze(0)));
    basis = mono.phaseBasis;
    aperture = apertureWeightsBatch(band, fcs, dtype, device).unsqueeze(1);
  }
  return withQuarterTurn(weights).matmul(basis).reshape([batch, 2, m, m]).cos().mul(aperture);
}

/**
 * The matrix Fourier transform's constant factors (cached): `rows` = [Er; Ei] [2h, M] at positions 0 … ⌊S/2⌋
 * (h = ⌊S/2⌋ + 1); `cols` = [Erᵀ | Eiᵀ] [M, 2S] at all positions −⌊S/2⌋ … ⌊S/2⌋ (E(−x) = conj E(x)); `mix` [8, 4]
 * (see mftIntensity).
 */
function mftMatrices(band: PupilBand, psfSize: number, dtype: DType, device: string): { rows: Tensor; cols: Tensor; mix: Tensor } {
  const key = `mft|${band.pupilSize}:${band.lo}:${band.hi}|${psfSize}|${dtype}|${device}`;
  const [rows, cols, mix] = cached(key, () => {
    const e = dftFactors(band, psfSize, dtype, device);
    const rows = cat([e.re, e.im], 0).contiguous();
    const re = mirror(e.re, e.re, 0);
    const im = mirror(e.im.neg(), e.im, 0);
    const cols = cat([re, im], 0).transpose(0, 1).contiguous();
    return [rows, cols, tensor(MIX, [8, 4], { dtype, device })];
  });
  return { rows: rows!, cols: cols!, mix: mix! };
}

/**
 * Rows: the products Q(a, b, c) = E_c(y)·p_b·E_a(x)ᵀ, index 4a + 2b + c, with a, c ∈ {Er, Ei} (x and y factors)
 * and b ∈ {pr, pi}. Columns: Re and Im of the amplitude at +x, then at −x (where Ei(x) flips sign):
 *   Re(+x) = Q000 − Q110 − Q101 − Q011     Im(+x) = Q100 + Q010 + Q001 − Q111
 *   Re(−x) = Q000 + Q110 + Q101 − Q011     Im(−x) = −Q100 + Q010 + Q001 + Q111
 * from (Er_y + i·Ei_y)·(pr + i·pi)·(Er_x + i·Ei_x).
 */
const MIX = Float64Array.from([
  1, 0, 1, 0, //  Q000
  0, 1, 0, 1, //  Q001
  0, 1, 0, 1, //  Q010
  -1, 0, -1, 0, // Q011
  0, 1, 0, -1, // Q100
  -1, 0, 1, 0, // Q101
  -1, 0, 1, 0, // Q110
  0, -1, 0, 1, // Q111
]);

/** [f(−c) … f(−1), g(0) … g(c)] along `dim` from `neg` (holding f at 0 … c) and `pos` (holding g at 0 … c). */
function mirror(neg: Tensor, pos: Tensor, dim: number): Tensor {
  const c = pos.size(dim) - 1;
  return c === 0 ? pos : cat([neg.narrow(dim, 1, c).flip([dim]), pos], dim);
}

/**
 * |E·p·Eᵀ|² for the pupil stack [B, 2, M, M] (pr, pi; rows fy, columns fx) and E = Er + i·Ei [S, M], in real
 * arithmetic with three matrix products, each ONE BLAS call over the whole batch (few, large operations):
 *   1. [Er; Ei] over the pupil's columns, at x ≥ 0 only: Er is even and Ei odd in x, so x < 0 needs no products
 *      of its own, only other signs in step 3;
 *   2. [Erᵀ | Eiᵀ] over the pupil's rows, at every y: all eight products Q(a, b, c);
 *   3. the 8 × 4 sign matrix MIX → Re and Im of the amplitude at ±x; then |·|² and the mirror image for x < 0.
 * Work per PSF ≈ 4·M²·(⌊S/2⌋ + 1) + 8·M·S·(⌊S/2⌋ + 1) multiply-adds.
 */
function mftIntensity(pupil: Tensor, band: PupilBand, psfSize: number, dtype: DType): Tensor {
  const { rows, cols, mix } = mftMatrices(band, psfSize, dtype, pupil.device);
  const batch = pupil.size(0);
  const m = pupil.size(2);
  const h = Math.floor(psfSize / 2) + 1;
  const s = psfSize;
  // 1. [2h, M] · [M, B·2·M] (a transposed view, no copy) → [(a, x), (B, b, i)].
  const y = rows.matmul(pupil.reshape([batch * 2 * m, m]).transpose(0, 1));
  // 2. [(a, x, B, b), i] · [i, (c, y)] → Q [a, x, B, b, c, y].
  const q = y.reshape([2 * h * batch * 2, m]).matmul(cols).reshape([2, h, batch, 2, 2, s]);
  // 3. → [x, B, y, (a, b, c)] · MIX → [x, B, y, ±x, re/im]; intensity; unfold ±x.
  const amplitude = q.permute([1, 2, 5, 0, 3, 4]).reshape([h * batch * s, 8]).matmul(mix).reshape([h, batch, s, 2, 2]);
  const intensity = amplitude.square().sum(-1); // [x ≥ 0, B, y, ±]
  return mirror(intensity.select(3, 1), intensity.select(3, 0), 0).permute([1, 2, 0]).contiguous(); // [B, S(y), S(x)]
}

/** |fftshift(FFT2(ifftshift(p)))|² on the full P × P grid, [B, P, P], for the pupil stack [B, 2, P, P]. */
function fftIntensity(pupil: Tensor): Tensor {
  const a = fftshift(fft2(ifftshift(complex(pupil.select(1, 0), pupil.select(1, 1)))));
  return a.real().square().add(a.imag().square());
}

function normalise(h: Tensor): Tensor {
  return h.div(h.sum([-2, -1], true));
}

/**
 * PSFs [B, S, S] (sum 1 each, optical axis at ⌊S/2⌋) from Zernike coefficients theta [B, K] in waves, K =
 * optics.zernikeNoll.length, on theta's device and dtype; differentiable w.r.t. theta.
 */
export function psfFromZernike(optics: Optics, theta: Tensor, opts: PsfOptions = {}): Tensor {
  const { batch, dtype } = checkTheta(optics, theta);
  const method = opts.method ?? 'mft';
  if (method !== 'mft' && method !== 'fft') throw usageError('method', `PSF method must be 'mft' or 'fft', got '${String(method)}'`);
  const fcs = opts.fc === undefined ? null : perSampleCutoffs(optics, opts.fc, batch);
  const s = optics.psfSize;
  const p = optics.pupilSize;
  return tidy(() => {
    if (method === 'mft') {
      // Per-sample cut-offs vary from batch to batch: round the band up to 4 samples to share cached bases.
      const band = fcs === null ? supportBand(p, optics.fc) : supportBand(p, fcs.reduce((a, b) => Math.max(a, b)), PER_SAMPLE_BAND_STEP);
      return normalise(mftIntensity(pupilStack(optics, theta, band, fcs, dtype), band, s, dtype));
    }
    const start = Math.floor(p / 2) - Math.floor(s / 2);
    return normalise(fftIntensity(pupilStack(optics, theta, fullBand(p), fcs, dtype)).narrow(1, start, s).narrow(2, start, s));
  });
}

/**
 * The un-cropped intensity on the whole P × P grid, [B, P, P], centred at ⌊P/2⌋ and normalised to sum 1 over the
 * grid (for OTFs and figures). Same options as psfFromZernike except `method` (always the full FFT).
 */
export function psfFullGrid(optics: Optics, theta: Tensor, opts: { fc?: Tensor | readonly number[] } = {}): Tensor {
  const { batch, dtype } = checkTheta(optics, theta);
  const fcs = opts.fc === undefined ? null : perSampleCutoffs(optics, opts.fc, batch);
  return tidy(() => {
    return normalise(fftIntensity(pupilStack(optics, theta, fullBand(optics.pupilSize), fcs, dtype)));
  });
}

/**
 * The fraction of each PSF's energy that falls inside the centred S × S window psfFromZernike keeps, [B], before
 * that crop is renormalised to sum 1: Σ over the window / Σ over the whole P × P grid of the same intensity (the
 * full FFT, as psfFullGrid). Near 1 when the window holds the PSF; small when defocus spreads it or a tilt moves
 * it out, and then the cropped, renormalised PSF misrepresents the optics. θ = 0 gives the Airy pattern's share
 * of the square: 0.977 for S = 31 at fc = 0.2 on P = 256 (0.970 as P → ∞; the P-periodic grid holds the Airy
 * tails only out to ~P/2 pixels). Same options as psfFullGrid.
 */
export function psfWindowEnergy(optics: Optics, theta: Tensor, opts: { fc?: Tensor | readonly number[] } = {}): Tensor {
  return tidy(() => psfWindowEnergies(optics, theta, [optics.psfSize], opts).select(1, 0));
}

/**
 * psfWindowEnergy for several window sides at once (odd, ≤ P), from one full-grid intensity: [B, sizes.length].
 * For finding the window that would hold a given share of a PSF.
 */
export function psfWindowEnergies(optics: Optics, theta: Tensor, sizes: readonly number[], opts: { fc?: Tensor | readonly number[] } = {}): Tensor {
  const { batch, dtype } = checkTheta(optics, theta);
  const fcs = opts.fc === undefined ? null : perSampleCutoffs(optics, opts.fc, batch);
  const p = optics.pupilSize;
  for (const s of sizes) {
    if (!Number.isInteger(s) || s < 1 || s % 2 === 0 || s > p) throw usageError('psfSize', `window sides must be odd integers in 1…${p} (the pupil grid), got ${s}`);
  }
  if (sizes.length === 0) throw usageError('psfSize', 'give at least one window side');
  return tidy(() => {
    const full = fftIntensity(pupilStack(optics, theta, fullBand(p), fcs, dtype));
    const total = full.sum([-2, -1]);
    const c = Math.floor(p / 2);
    const sums = sizes.map((s) => full.narrow(1, c - Math.floor(s / 2), s).narrow(2, c - Math.floor(s / 2), s).sum([-2, -1]));
    return stack(sums, 1).div(total.unsqueeze(1));
  });
}

/**
 * Zernike coefficients θ ~ U[−θmax, θmax] i.i.d., [batch, K]. `thetaMax` (waves) is one number for all rows, or
 * one per row (B numbers or a Tensor [B]). Drawn from `gen` only.
 */
export function randomTheta(
  gen: Generator,
  batch: number,
  k: number,
  thetaMax: number | readonly number[] | Tensor,
  opts: { dtype?: DType; device?: string } = {},
): Tensor {
  if (!Number.isInteger(batch) || batch < 1) throw usageError('batch', `randomTheta: batch must be a positive integer, got ${batch}`);
  if (!Number.isInteger(k) || k < 1) throw usageError('zernikeNoll', `randomTheta: K must be a positive integer, got ${k}`);
  const dtype = opts.dtype ?? 'float32';
  const device = opts.device ?? 'cpu';
  const check = (v: number): void => {
    if (!Number.isFinite(v) || v < 0) throw usageError('thetaMax', `randomTheta: thetaMax must be ≥ 0 waves, got ${v}`);
  };
  return tidy(() => {
    const u = uniform(gen, [batch, k], { dtype, device, low: -1, high: 1 });
    if (typeof thetaMax === 'number') {
      check(thetaMax);
      return u.mul(thetaMax);
    }
    const values = thetaMax instanceof Tensor ? thetaMax.toArray() : Array.from(thetaMax);
    if (values.length !== batch || (thetaMax instanceof Tensor && thetaMax.ndim !== 1)) {
      throw usageError('thetaMax', `randomTheta: per-sample thetaMax must hold ${batch} values, got ${values.length}`);
    }
    values.forEach(check);
    const t = thetaMax instanceof Tensor ? thetaMax.to({ dtype, device }) : tensor(Float64Array.from(values), [batch], { dtype, device });
    return u.mul(t.unsqueeze(1));
  });
}
