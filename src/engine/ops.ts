// Functional operators over several tensors (the Tensor class holds the unary/binary methods).
import { native } from './native.js';
import { call, callMany, Tensor, type TensorLike } from './tensor.js';

type Pair = number | [number, number];
const pair = (v: Pair): [number, number] => (typeof v === 'number' ? [v, v] : v);

export interface Conv2dOptions {
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}

/** 2-D cross-correlation over (N, C, H, W), as torch.nn.functional.conv2d. */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: Conv2dOptions = {}): Tensor {
  return call('conv2d', x, weight, bias, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.dilation ?? 1), o.groups ?? 1);
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: Pair;
}

export function convTranspose2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, o: ConvTranspose2dOptions = {}): Tensor {
  return call('conv_transpose2d.input', x, weight, bias, pair(o.stride ?? 1), pair(o.padding ?? 0), pair(o.outputPadding ?? 0), o.groups ?? 1, pair(o.dilation ?? 1));
}

export function maxPool2d(x: Tensor, kernel: Pair, stride?: Pair, padding: Pair = 0): Tensor {
  return call('max_pool2d', x, pair(kernel), pair(stride ?? kernel), pair(padding));
}
export function avgPool2d(x: Tensor, kernel: Pair, stride?: Pair, padding: Pair = 0): Tensor {
  return call('avg_pool2d', x, pair(kernel), pair(stride ?? kernel), pair(padding));
}
export function adaptiveAvgPool2d(x: Tensor, size: Pair): Tensor {
  return call('adaptive_avg_pool2d', x, pair(size));
}

/** Resizes (N, C, H, W) to `size` = [H', W'] (bilinear or nearest). */
export function interpolate(x: Tensor, size: [number, number], mode: 'bilinear' | 'nearest' = 'bilinear', alignCorners = false): Tensor {
  return mode === 'bilinear' ? call('upsample_bilinear2d.vec', x, size, alignCorners, null) : call('upsample_nearest2d.vec', x, size, null);
}

/** Sampling grids [N, H, W, 2] of the affine maps θ [N, 2, 3] for an output of `size` [N, C, H, W] (as
 * torch.nn.functional.affine_grid): normalised coordinates in [−1, 1], x first. */
export function affineGrid(theta: Tensor, size: [number, number, number, number], alignCorners = false): Tensor {
  return call('affine_grid_generator', theta, size, alignCorners);
}

const GRID_MODES = { bilinear: 0, nearest: 1, bicubic: 2 } as const;
const GRID_PADDING = { zeros: 0, border: 1, reflection: 2 } as const;

/** Samples x [N, C, H, W] at the grid [N, H', W', 2] (as torch.nn.functional.grid_sample). */
export function gridSample(x: Tensor, grid: Tensor, mode: keyof typeof GRID_MODES = 'bilinear', padding: keyof typeof GRID_PADDING = 'zeros', alignCorners = false): Tensor {
  return call('grid_sampler', x, grid, GRID_MODES[mode], GRID_PADDING[padding], alignCorners);
}

export function batchNorm(x: Tensor, runningMean: Tensor | null, runningVar: Tensor | null, weight: Tensor | null, bias: Tensor | null, training: boolean, momentum = 0.1, eps = 1e-5): Tensor {
  return call('batch_norm', x, weight, bias, runningMean, runningVar, training, momentum, eps, true);
}
export function groupNorm(x: Tensor, groups: number, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return call('group_norm', x, groups, weight, bias, eps, true);
}
export function instanceNorm(x: Tensor, weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return call('instance_norm', x, weight, bias, null, null, true, 0.1, eps, true);
}
export function layerNorm(x: Tensor, shape: number[], weight: Tensor | null = null, bias: Tensor | null = null, eps = 1e-5): Tensor {
  return call('layer_norm', x, shape, weight, bias, eps, true);
}

export function linear(x: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return call('linear', x, weight, bias);
}

export function cat(tensors: Tensor[], dim = 0): Tensor { return call('cat', tensors, dim); }
export function stack(tensors: Tensor[], dim = 0): Tensor { return call('stack', tensors, dim); }

/** Elementwise `cond ? a : b`. */
export function where(cond: Tensor, a: TensorLike, b: TensorLike): Tensor {
  if (a instanceof Tensor && b instanceof Tensor) return call('where.self', cond, a, b);
  if (a instanceof Tensor) return call('where.ScalarOther', cond, a, b);
  if (b instanceof Tensor) return call('where.ScalarSelf', cond, a, b);
  return call('where.Scalar', cond, a, b);
}

export function matmul(a: Tensor, b: Tensor): Tensor { return call('matmul', a, b); }
export function einsum(equation: string, ...tensors: Tensor[]): Tensor { return call('einsum', equation, tensors, null); }

// ---- Fourier transforms (torch.fft conventions: forward kernel exp(−2πi k·n/N), `norm` 'backward' by default) ----
type FftNorm = 'backward' | 'forward' | 'ortho';
const DIMS2: [number, number] = [-2, -1];
export function fft2(x: Tensor, s: [number, number] | null = null, norm: FftNorm = 'backward'): Tensor { return call('fft_fft2', x, s, DIMS2, norm); }
export function ifft2(x: Tensor, s: [number, number] | null = null, norm: FftNorm = 'backward'): Tensor { return call('fft_ifft2', x, s, DIMS2, norm); }
// rfft2/irfft2 go through the addon's own entries, which split the 1-D passes across the engine's threads on the
// CPU (libtorch's pocketfft FFT runs on one thread; native/psfid_torch.cc, "Threaded 2-D real FFTs") and call the
// plain operators elsewhere. Same transforms, same norms.
export function rfft2(x: Tensor, s: [number, number] | null = null, norm: FftNorm = 'backward'): Tensor {
  if (s !== null || !(x instanceof Tensor)) return call('fft_rfft2', x, s, DIMS2, norm);
  return new Tensor(native.rfft2(x.handle, norm));
}
/** Inverse of rfft2; pass `s` (the real output size) to recover odd sizes exactly. */
export function irfft2(x: Tensor, s: [number, number] | null = null, norm: FftNorm = 'backward'): Tensor {
  if (!(x instanceof Tensor) || x.ndim < 2) return call('fft_irfft2', x, s, DIMS2, norm);
  const [rows, cols] = s ?? [x.size(-2), 2 * (x.size(-1) - 1)];
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 2) return call('fft_irfft2', x, s, DIMS2, norm);
  return new Tensor(native.irfft2(x.handle, rows, cols, norm));
}
export function fftshift(x: Tensor, dims: number[] = DIMS2): Tensor { return call('fft_fftshift', x, dims); }
export function ifftshift(x: Tensor, dims: number[] = DIMS2): Tensor { return call('fft_ifftshift', x, dims); }

/** abs·exp(i·angle), complex. */
export function polar(abs: Tensor, angle: Tensor): Tensor { return call('polar', abs, angle); }
export function complex(real: Tensor, imag: Tensor): Tensor { return call('complex', real, imag); }

// ---- losses ----
export function l1Loss(a: Tensor, b: Tensor, reduction: 'mean' | 'sum' | 'none' = 'mean'): Tensor {
  return call('l1_loss', a, b, reduction === 'none' ? 0 : reduction === 'mean' ? 1 : 2);
}
export function mseLoss(a: Tensor, b: Tensor, reduction: 'mean' | 'sum' | 'none' = 'mean'): Tensor {
  return call('mse_loss', a, b, reduction === 'none' ? 0 : reduction === 'mean' ? 1 : 2);
}

/** max over one dimension: [values, indices]. */
export function maxDim(x: Tensor, dim: number, keepdim = false): [Tensor, Tensor] {
  const [v, i] = callMany('max.dim', x, dim, keepdim) as [Tensor, Tensor];
  return [v, i];
}
