// Metrics (../shared/CONVENTIONS.md): one value per sample (a Tensor [B]); report mean ± std over a test set.
import { tidy, Tensor } from '../engine/index.js';
import { usageError } from '../errors.js';

function pair(a: Tensor, b: Tensor, fn: string): number[] {
  if (!(a instanceof Tensor) || !(b instanceof Tensor)) throw usageError('metrics', `${fn}: both arguments must be Tensors`);
  const sa = a.shape;
  const sb = b.shape;
  if (sa.length < 2 || sa.length !== sb.length || sa.some((d, i) => d !== sb[i])) {
    throw usageError('metrics', `${fn}: expected two tensors of the same shape [B, …], got [${sa.join(', ')}] and [${sb.join(', ')}]`);
  }
  return sa.slice(1).map((_, i) => i + 1);
}

/**
 * PSNR of PSFs: 10·log10(max(h)² / mean((ĥ − h)²)) per sample, the peak being the TRUE PSF's maximum (a fixed
 * peak of 1 on sum-1 PSFs would give ~50 dB to any guess). hHat, h [B, S, S] → [B] (dB).
 */
export function psnrPsf(hHat: Tensor, h: Tensor): Tensor {
  const dims = pair(hHat, h, 'psnrPsf');
  return tidy(() => h.amax(dims).square().div(hHat.sub(h).square().mean(dims)).log10().mul(10));
}

/** PSNR of images on [0, 1] (peak 1): 10·log10(1 / mean((a − b)²)) per sample, [B, …] → [B] (dB). */
export function psnrImage(a: Tensor, b: Tensor): Tensor {
  const dims = pair(a, b, 'psnrImage');
  return tidy(() => a.sub(b).square().mean(dims).reciprocal().log10().mul(10));
}

/** PSF relative error as an SNR: −10·log10(‖ĥ − h‖² / ‖h‖²) per sample (Deep-blur's figure), [B] (dB). */
export function psfSnr(hHat: Tensor, h: Tensor): Tensor {
  const dims = pair(hHat, h, 'psfSnr');
  return tidy(() => hHat.sub(h).square().sum(dims).div(h.square().sum(dims)).log10().mul(-10));
}

/** Mean and sample standard deviation (n − 1) of per-sample values, for reports (mean ± std). */
export function meanStd(v: readonly number[]): { mean: number; std: number } {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean, std: Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, v.length - 1)) };
}

// ---- PSF width (pure functions on one PSF as a row-major plane; no tensors, usable on files and model outputs) ----

function psfPlane(h: ArrayLike<number>, width: number, height: number, fn: string): void {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw usageError('metrics', `${fn}: width and height must be positive integers, got ${width}×${height}`);
  }
  if (h.length !== width * height) throw usageError('metrics', `${fn}: expected ${width}×${height} = ${width * height} values, got ${h.length}`);
  let sum = 0;
  for (let i = 0; i < h.length; i++) {
    const v = h[i]!;
    if (!Number.isFinite(v)) throw usageError('metrics', `${fn}: the PSF holds a non-finite value at index ${i}`);
    if (v > 0) sum += v;
  }
  if (!(sum > 0)) throw usageError('metrics', `${fn}: the PSF has no positive value`);
}

/**
 * Intensity-weighted centroid (x along columns, y down the rows, in pixels from the top-left pixel's centre) of a
 * PSF given as a row-major `width × height` plane. Negative values (e.g. a deconvolution's undershoot) count as 0.
 */
export function psfCentroid(h: ArrayLike<number>, width: number, height = width): { x: number; y: number } {
  psfPlane(h, width, height, 'psfCentroid');
  let s = 0, sx = 0, sy = 0;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const v = Math.max(0, h[r * width + c]!);
      s += v;
      sx += v * c;
      sy += v * r;
    }
  }
  return { x: sx / s, y: sy / s };
}

/**
 * RMS radius of a PSF in pixels: √(Σ h·((x − x̄)² + (y − ȳ)²) / Σ h) about the centroid (x̄, ȳ), over the plane
 * given (row-major `width × height`; negative values count as 0). A sampled isotropic Gaussian of standard
 * deviation σ (per axis) gives √2·σ. The second moment weights the tails by r², so it depends on the window for
 * PSFs whose tails decay slowly: an Airy pattern's second moment diverges, and in an S × S crop it grows like
 * √(a/fc² + b·S/fc), not exactly as 1/fc. Compare widths measured in the same window (psfid's PSFs are 31 × 31).
 */
export function psfRmsRadius(h: ArrayLike<number>, width: number, height = width): number {
  psfPlane(h, width, height, 'psfRmsRadius');
  const { x, y } = psfCentroid(h, width, height);
  let s = 0, m2 = 0;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const v = Math.max(0, h[r * width + c]!);
      s += v;
      m2 += v * ((c - x) ** 2 + (r - y) ** 2);
    }
  }
  return Math.sqrt(m2 / s);
}

/**
 * Equivalent (flat-top) radius of a PSF in pixels: √(Σ h / (π · max h)), the radius of the cylinder with the PSF's
 * volume and peak (negative values count as 0). It reads the peak, not the tails, so it barely depends on the window:
 * a sampled Gaussian of standard deviation σ gives √2·σ (as the RMS radius does), and the Airy pattern
 * [2J₁(v)/v]², v = 2π·fc·r, gives exactly 1/(π·fc) (its sum-1 peak is π·fc²), i.e. it scales as 1/fc. For a given
 * fc it equals the ideal Airy value / √Strehl ratio, so aberrations widen it.
 */
export function psfEquivalentRadius(h: ArrayLike<number>, width: number, height = width): number {
  psfPlane(h, width, height, 'psfEquivalentRadius');
  let s = 0, peak = 0;
  for (let i = 0; i < width * height; i++) {
    const v = Math.max(0, h[i]!);
    s += v;
    if (v > peak) peak = v;
  }
  return Math.sqrt(s / (Math.PI * peak));
}

/** Position where a profile falling from index 0 first drops to `half`, linearly interpolated (NaN if it never does). */
function halfCrossing(profile: number[], half: number): number {
  for (let k = 1; k < profile.length; k++) {
    const a = profile[k - 1]!, b = profile[k]!;
    if (b <= half) return k - 1 + (a - half) / (a - b);
  }
  return Number.NaN;
}

/**
 * Full width at half maximum in pixels: along the row and the column through the brightest pixel, each half-maximum
 * crossing located by linear interpolation between samples, the four half-widths summed pairwise and the two
 * widths averaged (negative values count as 0). NaN when the profile does not fall to half maximum inside the
 * plane. The Airy pattern gives 0.5145/fc (the half maximum of [2J₁(v)/v]² lies at v = 1.6163); a Gaussian 2.3548·σ.
 * Linear interpolation between samples biases it by ~1–2 % for widths of 2–4 pixels.
 */
export function psfFwhm(h: ArrayLike<number>, width: number, height = width): number {
  psfPlane(h, width, height, 'psfFwhm');
  let best = 0;
  for (let i = 1; i < width * height; i++) if (h[i]! > h[best]!) best = i;
  const r0 = Math.floor(best / width), c0 = best % width;
  const v = (r: number, c: number) => Math.max(0, h[r * width + c]!);
  const half = v(r0, c0) / 2;
  const walk = (dr: number, dc: number) => {
    const p: number[] = [];
    for (let r = r0, c = c0; r >= 0 && r < height && c >= 0 && c < width; r += dr, c += dc) p.push(v(r, c));
    return halfCrossing(p, half);
  };
  return (walk(0, -1) + walk(0, 1) + walk(-1, 0) + walk(1, 0)) / 2;
}

/**
 * Focus measure of an image plane: the mean squared forward difference (gradient energy)
 * mean((I[r, c+1] − I[r, c])²) + mean((I[r+1, c] − I[r, c])²) over a row-major `width × height` plane. In a
 * z-stack the in-focus slice is the one that maximises it (compare planes of one channel, at one intensity scale).
 */
export function gradientEnergy(image: ArrayLike<number>, width: number, height: number): number {
  if (image.length !== width * height || width < 2 || height < 2) {
    throw usageError('metrics', `gradientEnergy: expected a ${width}×${height} plane (both ≥ 2), got ${image.length} values`);
  }
  let gx = 0, gy = 0;
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) {
      const v = image[r * width + c]!;
      if (c + 1 < width) gx += (image[r * width + c + 1]! - v) ** 2;
      if (r + 1 < height) gy += (image[(r + 1) * width + c]! - v) ** 2;
    }
  }
  return gx / ((width - 1) * height) + gy / (width * (height - 1));
}
