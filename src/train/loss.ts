// The seed's loss: E‖ĥ − h(θ)‖₁ + λ E‖ĥ ⋆ x − y‖₁.
// PSF term: the L1 distance between the sum-1 PSFs (sum over the S² pixels, in [0, 2]), averaged over the batch
// (or, with psfLoss 'log-mse', the batch mean of log(mean squared error), i.e. minus the mean PSNR up to constants).
// Data term: the mean absolute difference per pixel between the re-blurred crop ĥ ⋆ x (valid region) and y.
import { tensor, type Tensor } from '../engine/index.js';
import { blur } from '../acquisition/index.js';

export interface LossBatch {
  /** Sharp crops [B, 1, C + S − 1, C + S − 1]. */
  x: Tensor;
  /** Observations [B, 1, C, C]. */
  y: Tensor;
  /** True PSFs [B, S, S]. */
  h: Tensor;
}

/** Keeps log(MSE) finite when ĥ = h exactly: far below any error a PSF of sum 1 on 31² pixels reaches (PSNR 120 dB). */
const LOG_MSE_FLOOR = 1e-14;

export function seedLoss(hHat: Tensor, batch: LossBatch, lambda: number, psfLoss: 'l1' | 'log-mse' = 'l1'): { loss: Tensor; psfTerm: Tensor; dataTerm: Tensor } {
  const psfTerm = psfLoss === 'l1' ? psfL1(hHat, batch.h) : hHat.sub(batch.h).square().mean([1, 2]).add(LOG_MSE_FLOOR).log().mean();
  if (lambda === 0) return { loss: psfTerm, psfTerm, dataTerm: psfTerm.mul(0) };
  const reblurred = blur(batch.x, hHat, 'valid');
  const dataTerm = reblurred.sub(batch.y).abs().mean();
  return { loss: psfTerm.add(dataTerm.mul(lambda)), psfTerm, dataTerm };
}

/** The L1 distance between two batches of sum-1 PSFs [B, S, S], summed over the pixels and averaged over the batch. */
export function psfL1(a: Tensor, b: Tensor): Tensor {
  return a.sub(b).abs().sum([1, 2]).mean();
}

/**
 * Twin-aware coefficient loss: per sample, min over {θ, twin(θ)} of mean_k ((θ̂_k − θ_k)/θmax)², averaged over the
 * batch. `signs` are twinSigns(noll) (−1 on even radial orders): h(twin(θ)) = h(θ), so neither sign is preferred.
 */
export function twinThetaLoss(thetaHat: Tensor, theta: Tensor, thetaMax: Tensor, signs: readonly number[]): Tensor {
  const [B, K] = theta.shape as [number, number];
  const scale = thetaMax.reshape([B, 1]);
  const s = tensor(Float32Array.from(signs), [1, K], { device: theta.device, dtype: theta.dtype });
  const direct = thetaHat.sub(theta).div(scale).square().mean(1);
  const twin = thetaHat.sub(theta.mul(s)).div(scale).square().mean(1);
  return direct.minimum(twin).mean();
}
