// Resampling between an image's own cut-off and a model's reference cut-off (IdentifierConfig.fcRef).
//
// The cut-off fc = NA·pixel size/λ (cycles per pixel) sets how many pixels the PSF spans: the same objective imaged
// with pixels r times smaller has the cut-off fc·r and a PSF 1/r times wider in pixels. A network trained at one
// cut-off fcRef sees every input at that scale if each input is first resampled onto pixels fcRef/fc times its own
// (session 11: the shipped stage reads the amount of defocus twice as well on crops resampled to a fixed cut-off).
// The Zernike coefficients are in waves over the pupil and do not change with the pixel size, so the PSF is then
// computed at the input's own fc from them; only a pixel correction drawn on the reference grid is mapped back.
import { affineGrid, gridSample, tensor, tidy, type Tensor } from '../engine/index.js';

/** Per-sample maps diag(s·ax, s·ay) [B, 2, 3]: a scale about the centre, no shift (normalised coordinates; x first). */
function scaleMaps(scale: Tensor, ax = 1, ay = 1): Tensor {
  const B = scale.size(0);
  const unit = tensor([ax, 0, 0, 0, ay, 0], [1, 6], { dtype: scale.dtype, device: scale.device });
  return scale.reshape([B, 1]).mul(unit).reshape([B, 2, 3]);
}

/**
 * The side of the resampled input that covers an input of `side` pixels for every sample: side / max r (the sample
 * with the coarsest reference pixels fills it; the others show their central part), at least `minSide`.
 */
export function referenceSide(side: number, fc: readonly number[], fcRef: number, minSide = 1): number {
  const rMax = Math.max(...fc.map((f) => fcRef / f));
  return Math.max(minSide, Math.round(side / rMax));
}

/**
 * y [B, 1, H, W] imaged at cut-offs fc [B] → resampled onto pixels r = fcRef/fc times its own (bicubic, about the
 * centre), `size` [H', W'] pixels (default [H, W]): the output spans r·H' input pixels, so r·H' > H mirrors the border
 * beyond the input (reflection). r = 1 at the input's size returns y unchanged.
 */
export function toReferenceCutoff(y: Tensor, fc: Tensor, fcRef: number, size?: [number, number]): Tensor {
  return tidy(() => {
    const [B, C, H, W] = y.shape as [number, number, number, number];
    const [Ho, Wo] = size ?? [H, W];
    const r = fc.reciprocal().mul(fcRef).to({ dtype: y.dtype });
    if (Ho === H && Wo === W && r.sub(1).abs().max().item() < 1e-6) return y.clone();
    // Output pixel at normalised u samples the input at r·(Ho/H)·u: the output's pixels are r input pixels wide.
    return gridSample(y, affineGrid(scaleMaps(r, Wo / W, Ho / H), [B, C, Ho, Wo]), 'bicubic', 'reflection');
  });
}

/**
 * A correction c [B, S, S] drawn on the reference grid → the inputs' own grids (fc [B]): magnified by 1/r and divided
 * by r² per sample so that its sum is kept; zero beyond the reference grid's edge. r = 1 returns c unchanged.
 */
export function fromReferenceCutoff(c: Tensor, fc: Tensor, fcRef: number): Tensor {
  return tidy(() => {
    const r = fc.reciprocal().mul(fcRef).to({ dtype: c.dtype });
    if (r.sub(1).abs().max().item() < 1e-6) return c.clone();
    const [B, S, S2] = c.shape as [number, number, number];
    // Output pixel at normalised u (own grid) samples the reference grid at u/r.
    const sampled = gridSample(c.reshape([B, 1, S, S2]), affineGrid(scaleMaps(r.reciprocal()), [B, 1, S, S2]), 'bicubic', 'zeros');
    return sampled.reshape([B, S, S2]).div(r.square().reshape([B, 1, 1]));
  });
}
