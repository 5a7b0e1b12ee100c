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
