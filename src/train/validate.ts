// Periodic validation on a fixed, seeded set: PSNR of ĥ (peak = max of the true PSF), PSNR of ĥ ⋆ x against the
// noise-free blurred image y₀ (peak 1), and the PSF SNR (../shared/CONVENTIONS.md, Metrics).
import { tidy, type Tensor } from '../engine/index.js';
import { blur } from '../acquisition/index.js';
import { meanStd, psnrImage, psnrPsf, psfSnr } from '../evaluate/metrics.js';
import type { Identifier } from '../model/identifier.js';

export interface ValidationSet {
  /** Batches of the fixed set (x, y, y0, h, fc, thetaMax). */
  batches: { x: Tensor; y: Tensor; y0: Tensor; h: Tensor; fc: Tensor; thetaMax: Tensor }[];
  dispose(): void;
}

export interface ValidationResult {
  n: number;
  psnrPsf: number;
  psnrPsfStd: number;
  psnrImage: number;
  psfSnr: number;
}

export function validate(model: Identifier, set: ValidationSet): ValidationResult {
  model.eval();
  const psf: number[] = [];
  const img: number[] = [];
  const snr: number[] = [];
  for (const b of set.batches) {
    tidy(() => {
      const hHat = model.identify(b.y, b.fc, b.thetaMax);
      psf.push(...psnrPsf(hHat, b.h).toArray());
      snr.push(...psfSnr(hHat, b.h).toArray());
      img.push(...psnrImage(blur(b.x, hHat, 'valid'), b.y0).toArray());
    });
  }
  const p = meanStd(psf);
  return { n: psf.length, psnrPsf: p.mean, psnrPsfStd: p.std, psnrImage: meanStd(img).mean, psfSnr: meanStd(snr).mean };
}

