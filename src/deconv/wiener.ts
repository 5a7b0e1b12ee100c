// Wiener (Tikhonov) deconvolution in the Fourier domain:
//
//   x̂ = F⁻¹[ conj(Ĥ) · Ŷ / ( |Ĥ|² + balance · R ) ],   R(f) = (|D̂x(f)|² + |D̂y(f)|²) / 8 = (sin²(π f_y) + sin²(π f_x)) / 2,
//
// with D̂x, D̂y the spectra of the forward differences: the minimiser of ‖h ⋆ x − y‖² + (balance/8)·‖∇x‖², a
// Wiener filter whose noise-to-signal ratio grows as |f|² (natural images have power ∝ 1/|f|²). R ∈ [0, 1] is 0 at
// f = 0, so the image mean passes unchanged whatever the balance (Ĥ(0) = Σh = 1), and 1 at (½, ½). In a sweep on
// synthetic dead-leaves scenes like those of test/deconv/wiener.test.ts (Gaussian σ = 2 px and Airy fc = 0.15 PSFs, noise
// σ = 0.1 %, 0.5 %, 2 % of the peak) the best balance was 0.01, 0.03 and 0.3; the squared-Laplacian penalty (R ∝ |f|⁴,
// scikit-image's default regulariser) did no better at its own best balance.
import { arange, irfft2, noGrad, rfft2, tidy, type Tensor } from '../engine/index.js';
import { uniformBlur, type Boundary } from './operator.js';
import { batchImage, checkKeys, checkOneOf, checkPsf, checkRange, unbatch } from './validate.js';

export type WienerBoundary = Extract<Boundary, 'reflect' | 'circular'>;

export interface WienerOptions {
  /**
   * Regularisation weight, dimensionless, > 0: the noise-to-signal power ratio at the highest frequency (½, ½),
   * relative to the OTF's DC gain (1 for a sum-1 PSF); it falls as |f|² towards f = 0. Larger is smoother; 1e-3
   * (little noise) to 0.3 (noisy). Default 1e-2.
   */
  balance?: number;
  /**
   * 'reflect' (default): mirror-pad by ≥ 1.5·S per side and taper the extension to the image mean (apodisation), so
   * the circular filter does not ring at the border; 'circular': periodic image.
   */
  boundary?: WienerBoundary;
}

export interface WienerResult {
  /** Same layout as the input, float32 (float64 for float64 input), on the input's intensity scale and device. */
  image: Tensor;
}

/** R(f) = (sin²(π f_y) + sin²(π f_x)) / 2 on the rfft2 grid [rows, cols/2 + 1]. */
function gradientPenalty(fft: [number, number], dtype: 'float32' | 'float64', device: string): Tensor {
  return tidy(() => {
    const sin2 = (n: number, count: number): Tensor => arange(0, count, 1, { dtype, device }).mul(Math.PI / n).sin().square();
    const fy = sin2(fft[0], fft[0]).reshape([fft[0], 1]);
    const fx = sin2(fft[1], Math.floor(fft[1] / 2) + 1).reshape([1, Math.floor(fft[1] / 2) + 1]);
    return fy.add(fx).mul(0.5);
  });
}

/**
 * Wiener deconvolution of `image` ([H, W] or [B, 1, H, W]) by `psf` ([S, S], or [B, 1, S, S] for one PSF per image;
 * centred at ⌊S/2⌋, sum 1). One FFT pair; negative values are allowed and kept.
 */
export function wiener(image: Tensor, psf: Tensor, opts: WienerOptions = {}): WienerResult {
  const fn = 'wiener';
  checkKeys(fn, opts, ['balance', 'boundary']);
  const balance = checkRange(fn, 'balance', opts.balance ?? 1e-2, Number.MIN_VALUE, Infinity, 'Typical values are 1e-3–0.3.');
  const boundary = checkOneOf(fn, 'boundary', opts.boundary ?? 'reflect', ['reflect', 'circular'] as const);
  return noGrad(() =>
    tidy(() => {
      const { x, rank } = batchImage(fn, image);
      const dtype = x.dtype === 'float64' ? 'float64' : 'float32';
      const h = checkPsf(fn, psf, dtype, x.device, { nonNegative: false, batch: x.size(0) });
      const op = uniformBlur(h, [x.size(2), x.size(3)], { boundary });
      try {
        // For 'reflect' and 'circular' the object and data domains coincide (the padded grid), so A is circulant.
        const otf = op.otf;
        const denom = otf.abs().square().add(gradientPenalty(op.fft, dtype, x.device).mul(balance));
        const filtered = rfft2(op.toData(x), op.fft).mul(otf.conj()).div(denom);
        const out = op.toImage(irfft2(filtered, op.fft)).contiguous();
        return { image: unbatch(out, rank) };
      } finally {
        op.dispose();
      }
    }),
  );
}
