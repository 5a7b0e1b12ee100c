// Blur: a TRUE convolution h ⋆ x (not the correlation conv2d computes), batched with one PSF per sample.
//
//   x [B, C, H, W] images; h [B, Kh, Kw] PSFs (or [1, Kh, Kw], shared by the batch), centre at (⌊Kh/2⌋, ⌊Kw/2⌋):
//   'valid'    y[i, j] = Σ_{a,b} h[a, b] · x[i + Kh−1 − a, j + Kw−1 − b],   y is (H−Kh+1) × (W−Kw+1): only pixels
//              whose whole support lies in x, so no boundary assumption leaks in (training crops use this).
//   'circular' y[i, j] = Σ_{a,b} h[a, b] · x[(i − a + ⌊Kh/2⌋) mod H, (j − b + ⌊Kw/2⌋) mod W],   H × W.
//   'reflect'  the same with x extended by reflection about its edge pixels (the edge pixel is not repeated:
//              torch/numpy 'reflect', scipy 'mirror'), H × W; needs H, W larger than the kernel's half-width.
// 'valid' is exactly 'circular' or 'reflect' cropped to [⌊Kh/2⌋, H − Kh + ⌊Kh/2⌋] (rows; columns alike) for odd
// kernels. Implemented with real FFTs at the image size (a circular convolution whose wrapped part 'valid'
// discards), differentiable w.r.t. both x and h.
import { irfft2, rfft2, tidy, Tensor } from '../engine/index.js';
import { usageError } from '../errors.js';

export type Boundary = 'valid' | 'circular' | 'reflect';
export const BOUNDARIES: readonly Boundary[] = Object.freeze(['valid', 'circular', 'reflect']);

interface Geometry {
  batch: number;
  channels: number;
  /** Image size (of x). */
  height: number;
  width: number;
  kh: number;
  kw: number;
}

function checkBoundary(boundary: unknown): asserts boundary is Boundary {
  if (!BOUNDARIES.includes(boundary as Boundary)) throw usageError('boundary', `boundary must be one of ${BOUNDARIES.join(', ')}, got '${String(boundary)}'`);
}

function checkKernel(h: unknown, batch: number, dtype: string): { kh: number; kw: number } {
  if (!(h instanceof Tensor)) throw usageError('psf', 'the PSF must be a Tensor [B, S, S]');
  const s = h.shape;
  if (s.length !== 3 || (s[0] !== batch && s[0] !== 1)) throw usageError('psf', `the PSF must be [${batch}, S, S] (one per image) or [1, S, S], got [${s.join(', ')}]`);
  if (h.dtype !== dtype) throw usageError('psf', `the PSF (${h.dtype}) and the images (${dtype}) must have the same dtype`);
  return { kh: s[1]!, kw: s[2]! };
}

function checkImages(x: unknown, param: string): [number, number, number, number] {
  if (!(x instanceof Tensor)) throw usageError(param, `${param} must be a Tensor [B, C, H, W]`);
  const s = x.shape;
  if (s.length !== 4) throw usageError(param, `${param} must be [B, C, H, W], got [${s.join(', ')}]`);
  if (x.dtype !== 'float32' && x.dtype !== 'float64') throw usageError(param, `${param} must be float32 or float64, got ${x.dtype}`);
  return s as [number, number, number, number];
}

function checkFits(g: Geometry, boundary: Boundary): void {
  if (boundary === 'valid' && (g.height < g.kh || g.width < g.kw)) {
    throw usageError('psf', `a ${g.kh}×${g.kw} PSF needs images of at least ${g.kh}×${g.kw} for 'valid' blur, got ${g.height}×${g.width}`);
  }
  if (boundary === 'reflect' && (g.kh - 1 - Math.floor(g.kh / 2) >= g.height || Math.floor(g.kh / 2) >= g.height || g.kw - 1 - Math.floor(g.kw / 2) >= g.width || Math.floor(g.kw / 2) >= g.width)) {
    throw usageError('boundary', `'reflect' blur with a ${g.kh}×${g.kw} PSF needs images larger than ${Math.floor(g.kh / 2)}×${Math.floor(g.kw / 2)}, got ${g.height}×${g.width}`);
  }
  if (boundary === 'circular' && (g.kh > g.height || g.kw > g.width)) {
    throw usageError('psf', `a ${g.kh}×${g.kw} PSF does not fit in ${g.height}×${g.width} images for 'circular' blur`);
  }
}

/** Spectrum of h zero-padded to [H, W] (kernel origin at [0, 0]), broadcastable against x's [B, C, H, W/2+1]. */
function kernelSpectrum(h: Tensor, height: number, width: number): Tensor {
  return rfft2(h, [height, width]).unsqueeze(1);
}

/** Circular convolution (conj = false) or correlation (conj = true) of x [B, C, H, W] with h at the origin. */
function circular(x: Tensor, h: Tensor, conj: boolean): Tensor {
  const height = x.size(2);
  const width = x.size(3);
  const k = kernelSpectrum(h, height, width);
  // In place on x's fresh spectrum: one complex image-sized buffer fewer (autograd keeps what it needs).
  return irfft2(rfft2(x).mul_(conj ? k.conj() : k), [height, width]);
}

/** (before, after) reflect padding so that a same-size output has the kernel centre at ⌊K/2⌋. */
function reflectPads(k: number): [number, number] {
  const c = Math.floor(k / 2);
  return [k - 1 - c, c];
}

/** h ⋆ x, true convolution, one PSF per image; see the module comment for the boundary modes. */
export function blur(x: Tensor, h: Tensor, boundary: Boundary): Tensor {
  checkBoundary(boundary);
  const [batch, channels, height, width] = checkImages(x, 'x');
  const { kh, kw } = checkKernel(h, batch, x.dtype);
  checkFits({ batch, channels, height, width, kh, kw }, boundary);
  return tidy(() => {
    if (boundary === 'valid') return circular(x, h, false).narrow(2, kh - 1, height - kh + 1).narrow(3, kw - 1, width - kw + 1);
    if (boundary === 'circular') return circular(x, h, false).roll([-Math.floor(kh / 2), -Math.floor(kw / 2)], [2, 3]);
    const [top, bottom] = reflectPads(kh);
    const [left, right] = reflectPads(kw);
    const padded = x.pad([left, right, top, bottom], 'reflect');
    return circular(padded, h, false).narrow(2, kh - 1, height).narrow(3, kw - 1, width);
  });
}

/** Adjoint of reflect padding along `dim` (size n after removal): folds the reflected borders back in. */
function foldReflect(z: Tensor, dim: 2 | 3, before: number, after: number): Tensor {
  const n = z.size(dim) - before - after;
  let out = z.narrow(dim, before, n);
  const padSpec = (lo: number, hi: number): number[] => (dim === 3 ? [lo, hi] : [0, 0, lo, hi]);
  // Padded index j < before holds x[before − j]; index before + n − 1 + t holds x[n − 1 − t] (t = 1 … after).
  if (before > 0) out = out.add(z.narrow(dim, 0, before).flip([dim]).pad(padSpec(1, n - 1 - before)));
  if (after > 0) out = out.add(z.narrow(dim, before + n, after).flip([dim]).pad(padSpec(n - 1 - after, 1)));
  return out;
}

/**
 * The adjoint Aᵀ of `blur(·, h, boundary)`: ⟨blur(x, h), y⟩ = ⟨x, blurAdjoint(y, h)⟩ for every x and y (e.g. for
 * Richardson–Lucy and gradient steps). For 'valid' the result is (h + Kh − 1) × (w + Kw − 1) for y of h × w (the
 * image size whose valid blur y is); for 'circular' and 'reflect' it has y's size.
 */
export function blurAdjoint(y: Tensor, h: Tensor, boundary: Boundary): Tensor {
  checkBoundary(boundary);
  const [batch, channels, outH, outW] = checkImages(y, 'y');
  const { kh, kw } = checkKernel(h, batch, y.dtype);
  const height = boundary === 'valid' ? outH + kh - 1 : outH;
  const width = boundary === 'valid' ? outW + kw - 1 : outW;
  checkFits({ batch, channels, height, width, kh, kw }, boundary);
  return tidy(() => {
    if (boundary === 'valid') return circular(y.pad([kw - 1, 0, kh - 1, 0]), h, true);
    if (boundary === 'circular') return circular(y.roll([Math.floor(kh / 2), Math.floor(kw / 2)], [2, 3]), h, true);
    const [top, bottom] = reflectPads(kh);
    const [left, right] = reflectPads(kw);
    const z = circular(y.pad([kw - 1, 0, kh - 1, 0]), h, true); // adjoint of the valid blur of the padded image
    return foldReflect(foldReflect(z, 2, top, bottom), 3, left, right);
  });
}
