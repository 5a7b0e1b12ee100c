// The radial profile of the spectral branch's log power spectrum, sampled in units of the OTF's cut-off 2·fc
// (IdentifierConfig.radialBins).
//
// The blur multiplies the image's power spectrum by |OTF(f)|², and rotationally symmetric aberrations (defocus,
// spherical) change |OTF| along the radius: a defocused OTF falls faster, and dips, inside |f| < 2fc. The spectral
// CNN sees the whole 2-D log spectrum but must also learn where 2fc lies for each fc; this profile hands it the
// radial attenuation directly, already in units of the cut-off, averaged over all directions (so much less noisy than
// any pixel of the spectrum), with the noise floor beyond 2fc as its own reference. Session 11 measured that the
// network reads the amount of defocus twice as well when fc is fixed; this is another way of taking fc out of it.
import { arange, keep, tensor, type Tensor } from '../engine/index.js';

/** The profile spans ρ = |f|/(2·fc) ∈ [0, RADIAL_EXTENT]: the OTF's support and the noise floor just beyond it. */
export const RADIAL_EXTENT = 1.25;

const radiusMaps = new Map<string, Tensor>();
/** |f| in cycles/pixel of each pixel of an n × n fftshifted spectrum (zero frequency at index n/2), [1, 1, n²]. */
function radiusMap(n: number, device: string): Tensor {
  const key = `${n}:${device}`;
  let r = radiusMaps.get(key);
  if (!r) {
    const values = new Float32Array(n * n);
    const c = Math.floor(n / 2);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) values[i * n + j] = Math.hypot((i - c) / n, (j - c) / n);
    r = keep(tensor(values, [1, 1, n * n], { device })); // cached for the process's life
    radiusMaps.set(key, r);
  }
  return r;
}

/**
 * logSpec [B, 1, n, n] (fftshifted), fc [B] → [B, bins]: bin k is the mean of the spectrum around ρ_k =
 * k·RADIAL_EXTENT/(bins − 1) with triangular weights one bin wide (linear interpolation's weights). A bin without
 * pixels reads 0 (for fc ≥ 0.125 every bin has some).
 */
export function radialLogProfile(logSpec: Tensor, fc: Tensor, bins: number): Tensor {
  if (!(Number.isInteger(bins) && bins >= 2)) throw new RangeError(`radialLogProfile: bins must be an integer ≥ 2, got ${bins}`);
  const [B, , n] = logSpec.shape as [number, number, number, number];
  const pos = radiusMap(n, logSpec.device).div(fc.reshape([B, 1, 1]).mul(2)).mul((bins - 1) / RADIAL_EXTENT); // [B, 1, n²]
  const centres = arange(0, bins, 1, { device: logSpec.device }).reshape([1, bins, 1]);
  const w = pos.sub(centres).abs().neg().add(1).relu(); // [B, bins, n²]
  return w.mul(logSpec.float().reshape([B, 1, n * n])).sum(2).div(w.sum(2).add(1e-6));
}
