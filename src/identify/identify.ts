// Blind PSF identification of a whole image (or region) with a trained network, and a grid of PSFs across the
// field.
//
// Preprocessing (documented for users):
// - The image enters on its own intensity scale; no offset or gain is needed because the network standardises
//   every patch (minus its mean, over its standard deviation) before looking at it.
// - Patches: the region is covered by square patches of `patchSize` pixels (default 128) on a regular lattice with
//   `patchOverlap` (default 0: side by side, the last one flush with the region's end; the network pools each patch
//   globally, so half-overlapping patches mostly repeat information at 3× the cost); patches with NaN/Inf are refused
//   earlier by the caller.
// - At most `maxPatches` (default 256) patches are used, so huge images cost bounded time and memory: when the
//   lattice holds more, the `maxPatches` of highest contrast (standard deviation) are kept, ties in lattice order —
//   flat background carries no information about the blur, and on a sparse specimen (a few cells on a dark field)
//   evenly spread patches would mostly be background. Fewer patches cost proportionally less (the network's
//   convolutions dominate); on 12 synthetic 512² images (fc 0.2, θmax 0.1, σ 0.01; dead leaves and the demo
//   specimen) the 4, 8 and 16 patches of 128² of highest contrast gave the same PSNR(ĥ) with the shipped model
//   (29.90, 29.90, 29.89 dB; mean PSF 21.65; `node scripts/analysis/patch-count.mjs MODEL`): its error is systematic,
//   not patch-to-patch noise.
// - Combination: each patch is weighted by its standard deviation (flat, featureless patches carry little
//   information about the blur). With a Zernike-head model the patches' coefficients θ̂_p are averaged (after
//   aligning each to the same member of its twin pair, see combineTheta) and ĥ = h(θ̄): averaging PSFs instead would
//   blur the estimate towards a broader mean (measured on the identify test's three cases with a stage-2 model:
//   mean gain over the mean PSF 6.52 → 7.24 dB); with a pixel correction (psfResidual) the patches' corrections
//   r_p are averaged with the same weights and ĥ = max(h(θ̄) + r̄, 0), renormalised. A pixel-head model's PSFs, and
//   those of a Zernike mixture (psfMixture, which has no single θ̂), are averaged and renormalised to sum 1.
import { noGrad, stack, tensor, tidy, full, keep, type Tensor } from '../engine/index.js';
import { inputError, usageError } from '../errors.js';
import { applySymmetry, GRID_SYMMETRIES, psfFromZernike, thetaFromSymmetric, undoSymmetry } from '../optics/index.js';
import { twinSigns, withPsfResidual, ZERNIKE_HEAD_NOLL, type Identifier } from '../model/identifier.js';

/** identify's test-time augmentations (IdentifyOptions.augment). */
export const AUGMENTATIONS = ['none', 'dihedral'] as const;
export type Augment = (typeof AUGMENTATIONS)[number];

/** The one-line refusal of an augmentation outside AUGMENTATIONS, naming the option as the caller spells it. */
export function checkAugment(value: string, option: string): Augment {
  if (!(AUGMENTATIONS as readonly string[]).includes(value)) throw usageError(option, `${option} must be ${AUGMENTATIONS.join(' or ')}, got '${value}'`);
  return value as Augment;
}

export interface IdentifyOptions {
  /** Cut-off frequency in cycles/pixel. */
  fc: number;
  /** Aberration amplitude bound in waves. */
  thetaMax: number;
  patchSize?: number;
  patchOverlap?: number;
  /** Patches per network call. */
  batchSize?: number;
  /** At most this many patches (those of highest contrast) are used: bounds time and memory on huge images. */
  maxPatches?: number;
  /**
   * 'dihedral': each patch is also shown to the network flipped and transposed (the eight symmetries of the grid,
   * optics/symmetry.ts) and the eight answers are mapped back and combined like patches; 8× the network's cost.
   * 'none' (the default): each patch once.
   */
  augment?: Augment;
  device?: string;
  /** Called after each batch of patches with the patches done and the region's total (a progress bar). */
  onPatches?: (done: number, total: number) => void;
}

export interface Region {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Top-left corners of patches of side `p` covering [0, n) with the given overlap (last patch flush with the end). */
export function patchStarts(n: number, p: number, overlap: number): number[] {
  if (n <= p) return [0];
  const stride = Math.max(1, Math.round(p * (1 - overlap)));
  const starts: number[] = [];
  for (let s = 0; s + p <= n; s += stride) starts.push(s);
  if (starts[starts.length - 1]! + p < n) starts.push(n - p);
  return starts;
}

/**
 * The weighted mean of Zernike coefficient vectors that are each known only up to the twin ambiguity (θ and s⊙θ,
 * s = twinSigns, give the same PSF): each θ_p is replaced by whichever of θ_p, s⊙θ_p lies nearer the current mean,
 * starting from the heaviest patch, until the choice no longer changes (at most 10 rounds). Pure.
 */
export function combineTheta(thetas: readonly (readonly number[])[], weights: readonly number[], signs: readonly number[]): number[] {
  const k = signs.length;
  const total = weights.reduce((a, b) => a + b, 0);
  let mean = [...thetas[weights.indexOf(Math.max(...weights))]!];
  let flips: boolean[] = [];
  for (let round = 0; round < 10; round++) {
    const next = thetas.map((t) => {
      let same = 0;
      let twin = 0;
      for (let j = 0; j < k; j++) {
        same += (t[j]! - mean[j]!) ** 2;
        twin += (t[j]! * signs[j]! - mean[j]!) ** 2;
      }
      return twin < same;
    });
    if (round > 0 && next.every((f, i) => f === flips[i])) break;
    flips = next;
    mean = Array.from({ length: k }, (_, j) => thetas.reduce((a, t, i) => a + weights[i]! * t[j]! * (flips[i] ? signs[j]! : 1), 0) / total);
  }
  return mean;
}

/**
 * The PSF of a grey image [H, W] (float32 on any scale) inside `region`: weighted mean of per-patch estimates,
 * S×S, sum 1. Returns the PSF and the number of patches used.
 */
export function identifyRegion(model: Identifier, image: Float32Array, width: number, height: number, region: Region, opts: IdentifyOptions): { psf: Tensor; patches: number } {
  const minSide = Math.max(2 ** (model.encoder.length - 1) * 4, model.config.spectralChannels > 0 ? (model.config.spectralTile ?? 64) : 0);
  const patchSize = opts.patchSize ?? 128;
  // A patch size below the network's input is the flag's fault, whatever the region (not "the image is too small").
  if (patchSize < minSide) throw usageError('patch-size', `the patch size (--patch-size) is ${patchSize} pixels: the network needs patches of at least ${minSide}×${minSide}`);
  const p = Math.min(patchSize, region.width, region.height);
  if (p < minSide) {
    const message = (what: string): string => `${what} is ${region.width}×${region.height} pixels: the network needs at least ${minSide}×${minSide}`;
    // the whole image too small is bad data (exit 1); a region too small, a bad --roi or --tiles (exit 2)
    if (region.width === width && region.height === height) throw inputError('image', message('the image'));
    throw usageError('roi', message('the region (--roi, or a tile of --tiles)'));
  }
  const xs = patchStarts(region.width, p, opts.patchOverlap ?? 0).map((s) => s + region.x);
  const ys = patchStarts(region.height, p, opts.patchOverlap ?? 0).map((s) => s + region.y);
  const maxPatches = opts.maxPatches ?? 256;
  if (!(Number.isInteger(maxPatches) && maxPatches >= 1)) throw usageError('max-patches', `max-patches must be a positive integer, got ${maxPatches}`);
  // Each lattice patch's standard deviation, computed once: it ranks the patches and weights the kept ones.
  const all = ys.flatMap((y) => xs.map((x) => ({ x, y, std: patchStd(image, width, x, y, p) })));
  const corners = all.length <= maxPatches ? all : highestContrast(all, maxPatches);
  const device = opts.device ?? 'cpu';
  const batch = opts.batchSize ?? 16;
  const augment = checkAugment(String(opts.augment ?? 'none'), 'augment');
  const symmetries = augment === 'dihedral' ? GRID_SYMMETRIES : GRID_SYMMETRIES.slice(0, 1);
  const S = model.config.psfSize;
  return noGrad(() =>
    tidy(() => {
      let acc = full([S, S], 0, { device });
      let residualAcc = full([S, S], 0, { device });
      let wsum = 0;
      const thetas: number[][] = [];
      const patchWeights: number[] = [];
      for (let k = 0; k < corners.length; k += batch) {
        const chunk = corners.slice(k, k + batch);
        const buf = new Float32Array(chunk.length * p * p);
        const weights: number[] = [];
        chunk.forEach(({ x: x0, y: y0, std }, b) => {
          for (let r = 0; r < p; r++) buf.set(image.subarray((y0 + r) * width + x0, (y0 + r) * width + x0 + p), (b * p + r) * p);
          weights.push(std);
        });
        const y = tensor(buf, [chunk.length, 1, p, p], { device });
        const fc = full([chunk.length], opts.fc, { device });
        const tm = full([chunk.length], opts.thetaMax, { device });
        const w = tensor(weights, [chunk.length, 1, 1], { device });
        // Each symmetry's answer is for the transformed PSF h∘R: its θ̂ and pixels are mapped back before combining.
        for (const s of symmetries) {
          const yS = applySymmetry(y, s);
          const parts = model.identifyTheta(yS, fc, tm);
          if (parts) {
            const rows = parts.theta.toArray();
            const K = ZERNIKE_HEAD_NOLL.length;
            chunk.forEach((_, b) => thetas.push(thetaFromSymmetric(rows.slice(b * K, (b + 1) * K), ZERNIKE_HEAD_NOLL, s)));
            patchWeights.push(...weights);
            // A psfResidual head's pixel corrections are averaged with the same weights (h(θ) = h(twin θ), so the
            // twin alignment of the θ̂ does not touch them).
            if (parts.residual) residualAcc = residualAcc.add(undoSymmetry(parts.residual, s).mul(w).sum(0));
          } else {
            acc = acc.add(undoSymmetry(model.identify(yS, fc, tm), s).mul(w).sum(0));
          }
          wsum += weights.reduce((a, b) => a + b, 0);
        }
        opts.onPatches?.(k + chunk.length, corners.length);
      }
      if (!(wsum > 0)) throw inputError('image', 'the image region is constant: there is nothing to identify a PSF from');
      if (thetas.length > 0) {
        const mean = combineTheta(thetas, patchWeights, twinSigns(ZERNIKE_HEAD_NOLL));
        const h = psfFromZernike(model.optics!, tensor(mean, [1, mean.length], { device }), { fc: [opts.fc] });
        const residual = model.residualOut ? residualAcc.div(wsum).reshape([1, S, S]) : null;
        return { psf: withPsfResidual(h, residual).reshape([S, S]), patches: corners.length };
      }
      const psf = acc.div(acc.sum());
      return { psf, patches: corners.length };
    }),
  );
}

/** Standard deviation of the p × p patch of `image` (row length `width`) at (x0, y0). */
function patchStd(image: Float32Array, width: number, x0: number, y0: number, p: number): number {
  let s = 0;
  let s2 = 0;
  for (let r = 0; r < p; r++) {
    const o = (y0 + r) * width + x0;
    for (let c = 0; c < p; c++) {
      const v = image[o + c]!;
      s += v;
      s2 += v * v;
    }
  }
  const n = p * p;
  return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
}

/** The `k` patches of highest standard deviation, in lattice order (ties: the earlier patch). */
function highestContrast<T extends { std: number }>(patches: readonly T[], k: number): T[] {
  const keep = patches
    .map((_, i) => i)
    .sort((a, b) => patches[b]!.std - patches[a]!.std || a - b)
    .slice(0, k)
    .sort((a, b) => a - b);
  return keep.map((i) => patches[i]!);
}

export interface GridOptions extends IdentifyOptions {
  tiles: [number, number];
  /** Fractional overlap of neighbouring tiles (0 ≤ overlap < 1). */
  tileOverlap?: number;
  /** Called after each tile with the tiles done and their total (a progress bar). */
  onTile?: (done: number, total: number) => void;
}

export interface PsfGrid {
  /** [ny·nx, S, S], row-major over tiles (row = y). */
  psfs: Tensor;
  tiles: [number, number];
  /** Tile centres (x = column, y = row, pixels), in the same order as `psfs`. */
  centres: [number, number][];
  regions: Region[];
}

/** One PSF per tile of an nx × ny grid; tiles of size W/nx·(1+overlap) (clipped to the image), centred on the lattice. */
export function identifyGrid(model: Identifier, image: Float32Array, width: number, height: number, opts: GridOptions): PsfGrid {
  const [nx, ny] = opts.tiles;
  if (!(nx >= 1 && ny >= 1 && Number.isInteger(nx) && Number.isInteger(ny))) throw usageError('tiles', `tiles must be positive integers like 4x4, got ${nx}x${ny}`);
  const ov = opts.tileOverlap ?? 0.5;
  if (!(ov >= 0 && ov < 1)) throw usageError('overlap', `overlap must be in [0, 1), got ${ov}`);
  const tw = Math.min(width, Math.round((width / nx) * (1 + ov)));
  const th = Math.min(height, Math.round((height / ny) * (1 + ov)));
  const psfs: Tensor[] = [];
  const centres: [number, number][] = [];
  const regions: Region[] = [];
  for (let j = 0; j < ny; j++) {
    for (let i = 0; i < nx; i++) {
      const cx = ((i + 0.5) * width) / nx;
      const cy = ((j + 0.5) * height) / ny;
      const x = Math.max(0, Math.min(width - tw, Math.round(cx - tw / 2)));
      const y = Math.max(0, Math.min(height - th, Math.round(cy - th / 2)));
      const region = { x, y, width: tw, height: th };
      psfs.push(identifyRegion(model, image, width, height, region, opts).psf);
      centres.push([cx, cy]);
      regions.push(region);
      opts.onTile?.(psfs.length, nx * ny);
    }
  }
  const all = keep(stack(psfs));
  for (const t of psfs) t.dispose();
  return { psfs: all, tiles: [nx, ny], centres, regions };
}
