// The seed's loss: E‖ĥ − h(θ)‖₁ + λ E‖ĥ ⋆ x − y‖₁.
// PSF term: the L1 distance between the sum-1 PSFs (sum over the S² pixels, in [0, 2]), averaged over the batch.
// Data term: the mean absolute difference per pixel between the re-blurred crop ĥ ⋆ x (valid region) and y.
import type { Tensor } from '../engine/index.js';
import { blur } from '../acquisition/index.js';

export interface LossBatch {
  /** Sharp crops [B, 1, C + S − 1, C + S − 1]. */
  x: Tensor;
  /** Observations [B, 1, C, C]. */
  y: Tensor;
  /** True PSFs [B, S, S]. */
  h: Tensor;
}

export function seedLoss(hHat: Tensor, batch: LossBatch, lambda: number): { loss: Tensor; psfTerm: Tensor; dataTerm: Tensor } {
  const psfTerm = hHat.sub(batch.h).abs().sum([1, 2]).mean();
  if (lambda === 0) return { loss: psfTerm, psfTerm, dataTerm: psfTerm.mul(0) };
  const reblurred = blur(batch.x, hHat, 'valid');
  const dataTerm = reblurred.sub(batch.y).abs().mean();
  return { loss: psfTerm.add(dataTerm.mul(lambda)), psfTerm, dataTerm };
}
