// acquire = camera ∘ noise ∘ blur (../shared/CONVENTIONS.md, acquisition model, in this order):
//   y0 = h ⋆ x (true convolution, 'valid' by default),  y = S_s(Q_q(P_γ(y0) + ε_σ)),  h = h(θ, fc) per sample.
import { tensor, tidy, type Generator, Tensor } from '../engine/index.js';
import { usageError } from '../errors.js';
import type { Optics } from '../optics/optics.js';
import { psfFromZernike, type PsfMethod } from '../optics/psf.js';
import { blur, type Boundary } from './blur.js';
import { gaussianNoise, poissonNoise, quantize, saltPepper } from './noise.js';
import type { Degradation } from './prior.js';

export interface Acquisition {
  /** The observation, after noise and camera [B, 1, H', W']. */
  y: Tensor;
  /** The noise-free blurred image h ⋆ x, same region as y. */
  y0: Tensor;
  /** The PSFs [B, S, S] (sum 1). */
  h: Tensor;
  /** The input as imaged: x itself, or x scaled per sample when `peak` is given. */
  x: Tensor;
}

export interface AcquireOptions {
  /** Blur boundary (default 'valid': y is (H − S + 1) × (W − S + 1)). */
  boundary?: Boundary;
  /** PSF method (default 'mft'). */
  method?: PsfMethod;
  /**
   * Auto-exposure: per-sample peaks [B] (or null): each x is scaled so that max(h ⋆ x) equals its peak before the
   * noise (blank samples stay blank); the scaled x is returned. Blur is linear, so y0 is scaled, not recomputed.
   */
  peak?: readonly number[] | null;
  /**
   * Where the noise is drawn. 'cpu' (default): every draw on the CPU from `gen`, then moved to x's device, so a seed
   * gives the same y on every device. 'device': on x's device, from a fork of `gen` (Generator.fork: one draw of gen
   * seeds it) with torch's samplers there; on a GPU this removes the CPU draws and copies (session 12 on an H200:
   * Poisson, Gaussian and salt-and-pepper took 107 of the 114 ms of a 32 × 256² batch), at the price of numbers that
   * depend on the device. On the CPU both are the same.
   */
  noiseDraws?: 'cpu' | 'device';
}

/**
 * Simulates the acquisition of x [B, 1, H, W] (on [0, 1]) under per-sample parameters `params` (from
 * sampleDegradation): PSFs from (params.theta, params.fc) with the optics' PSF size, pupil grid and limits (the
 * optics' own fc is not used), then blur, Poisson, Gaussian, quantization and salt-and-pepper, drawing from `gen`
 * in that order. PSFs follow params.theta's dtype and x's device; x must have the same dtype.
 */
export function acquire(gen: Generator, x: Tensor, params: Degradation, optics: Optics, opts: AcquireOptions = {}): Acquisition {
  if (!(x instanceof Tensor) || x.ndim !== 4 || x.size(1) !== 1) throw usageError('x', `acquire: x must be a Tensor [B, 1, H, W], got ${x instanceof Tensor ? `[${x.shape.join(', ')}]` : String(x)}`);
  const batch = x.size(0);
  if (params.theta.size(0) !== batch) throw usageError('params', `acquire: params hold ${params.theta.size(0)} samples but x holds ${batch}`);
  const noll = optics.zernikeNoll;
  if (params.zernikeNoll.length !== noll.length || params.zernikeNoll.some((j, i) => j !== noll[i])) {
    throw usageError('zernikeNoll', `acquire: params are drawn on Noll [${params.zernikeNoll.join(', ')}] but the optics use [${noll.join(', ')}]`);
  }
  if (opts.noiseDraws !== undefined && opts.noiseDraws !== 'cpu' && opts.noiseDraws !== 'device') {
    throw usageError('noiseDraws', `acquire: noiseDraws must be 'cpu' or 'device', got ${String(opts.noiseDraws)}`);
  }
  return tidy(() => {
    const h = psfFromZernike(optics, params.theta.toDevice(x.device), { fc: params.fc, method: opts.method ?? 'mft' });
    let y0 = blur(x, h, opts.boundary ?? 'valid');
    let imaged = x;
    if (opts.peak) {
      const max = y0.amax([1, 2, 3]).toArray();
      const scale = tensor(max.map((m, b) => (m > 0 ? opts.peak![b]! / m : 1)), [batch, 1, 1, 1], { dtype: x.dtype, device: x.device });
      imaged = x.mul(scale);
      y0 = y0.mul(scale);
    }
    const device = (t: Tensor): Tensor => t.toDevice(x.device);
    const noiseGen = opts.noiseDraws === 'device' && x.device !== 'cpu' ? gen.fork(x.device) : gen;
    try {
      let y = poissonNoise(noiseGen, y0, device(params.gain));
      y = gaussianNoise(noiseGen, y, device(params.sigma));
      y = quantize(y, device(params.bits));
      y = saltPepper(noiseGen, y, device(params.saltPepper));
      return { y, y0, h, x: imaged };
    } finally {
      if (noiseGen !== gen) noiseGen.dispose();
    }
  });
}
