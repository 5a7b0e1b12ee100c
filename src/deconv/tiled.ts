// Deconvolution of large images in overlapping tiles, so that memory stays bounded by the tile size rather than the
// image size (an untiled 8192² image needs FFT grids of 8232², ~0.27 GB per tensor and a dozen of them).
//
// The image is cut into ⌈H/T⌉ × ⌈W/T⌉ cores of near-equal size (at most T = tileSize pixels a side). Each core is
// deconvolved together with a margin of M pixels on every side (clipped at the image border), and only the core is
// kept: the margin is discarded. With the 'masked' boundary (the default, and the only one used here) a tile's edge
// assumes nothing about the scene beyond it, so the error it causes is confined near that edge: in the tests
// (Airy and Gaussian PSFs, S = 15–31, 30–300 iterations) the difference from the untiled estimate falls to float32
// round-off (~1e-5 of the image maximum) within about one PSF width of the tile edge. The default margin is two PSF
// widths, so tiled and untiled results agree to round-off everywhere and no seams appear; at the image border the
// tile edge is the image edge, exactly as untiled.
//
// Everything that depends on the whole image is computed once on the whole image and passed to every tile: the
// negative-pixel policy, the floor eps and the TV scale (image maximum), and the starting constant (the image mean;
// from a constant start RL's iterates do not depend on the constant). With a PSF grid each tile uses the lattice
// nodes whose interpolation weights reach it, which gives the same forward model as the whole grid on that window.
import { noGrad, tensor, tidy, Tensor } from '../engine/index.js';
import { inputError } from '../errors.js';
import { gridBlur, uniformBlur, type BlurOperator, type PsfGridSpec } from './operator.js';
import { defaultEps, historyOf, negativePolicy, resolve, solve, type IterationRecord, type RichardsonLucyOptions } from './richardson-lucy.js';
import { checkCount, checkGrid, checkKeys, checkPsf, workingDtype } from './validate.js';
import { wiener, type WienerOptions } from './wiener.js';

/** Default core tile side in pixels: FFT grids of ~1200², a few tens of MB per tile. */
export const DEFAULT_TILE_SIZE = 1024;

/** Default margin: two PSF widths (see the header for what that buys). */
export function defaultMargin(psfSize: number): number {
  return 2 * psfSize;
}

/** A rectangle of pixels: first row and column, and size. */
export interface Rect {
  y: number;
  x: number;
  height: number;
  width: number;
}

export interface Tile {
  /** The output pixels this tile writes. Cores partition the image. */
  core: Rect;
  /** The core plus the margin on each side, clipped to the image: the window that is deconvolved. */
  window: Rect;
}

/** Cuts [0, n) into ⌈n/t⌉ near-equal intervals; returns their n + 1 boundaries. */
function cuts(n: number, t: number): number[] {
  const k = Math.ceil(n / t);
  return Array.from({ length: k + 1 }, (_, i) => Math.round((i * n) / k));
}

/** The tiles of an image of size [H, W]: row-major cores of at most tileSize a side, windows with the margin. */
export function tileLayout(size: readonly [number, number], tileSize: number, margin: number): Tile[] {
  const [H, W] = size;
  const rows = cuts(H, tileSize);
  const cols = cuts(W, tileSize);
  const tiles: Tile[] = [];
  for (let i = 0; i + 1 < rows.length; i++) {
    for (let j = 0; j + 1 < cols.length; j++) {
      const core = { y: rows[i]!, x: cols[j]!, height: rows[i + 1]! - rows[i]!, width: cols[j + 1]! - cols[j]! };
      const y0 = Math.max(0, core.y - margin);
      const x0 = Math.max(0, core.x - margin);
      const y1 = Math.min(H, core.y + core.height + margin);
      const x1 = Math.min(W, core.x + core.width + margin);
      tiles.push({ core, window: { y: y0, x: x0, height: y1 - y0, width: x1 - x0 } });
    }
  }
  return tiles;
}

/** A grey image as a plain row-major float32 array (kept out of tensors: only tiles become tensors). */
export interface PlainImage {
  data: Float32Array;
  width: number;
  height: number;
}

export interface TileOptions {
  /** Core tile side in pixels (an integer ≥ 16). Default 1024. */
  tileSize?: number;
  /** Pixels deconvolved around each core and then discarded (an integer ≥ 0). Default: two PSF widths. */
  margin?: number;
  /** Called after each unit of work with (done, total): each iteration of each tile (RL), or each tile (Wiener). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Where to write the result (H·W values). It may be `image.data` itself, which is then overwritten: the memory of
   * a second full-size image is saved (about a tile row is held instead). Default: a new array.
   */
  output?: Float32Array;
}

export type TiledRichardsonLucyOptions = Omit<RichardsonLucyOptions, 'boundary' | 'onIteration'> & TileOptions;

export interface TiledResult {
  /** The estimate, row-major H × W float32, on the input's intensity scale (never clipped or rescaled); `output`
   * when it was given. */
  image: Float32Array;
  /** The tiles used. */
  tiles: Tile[];
  tileSize: number;
  margin: number;
}

export interface TiledRichardsonLucyResult extends TiledResult {
  /**
   * ‖u_i − u_{i−1}‖₂ / ‖u_{i−1}‖₂ over all tiles' windows together (margins included, so overlapping pixels count
   * once per tile).
   */
  history: IterationRecord[];
  /** Negative input pixels that were set to 0. */
  clampedPixels: number;
}

const TILE_KEYS = ['tileSize', 'margin', 'onProgress', 'output'] as const;

function checkImage(fn: string, image: PlainImage): void {
  const { data, width, height } = image;
  if (!(data instanceof Float32Array)) throw inputError('image', `${fn}: image.data must be a Float32Array`);
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 1 && height >= 1) || data.length !== width * height) {
    throw inputError('image', `${fn}: image is ${width} × ${height} but holds ${data.length} values`);
  }
}

function tiling(fn: string, o: TileOptions, psfSize: number): { tileSize: number; margin: number } {
  const tileSize = checkCount(fn, 'tileSize', o.tileSize ?? DEFAULT_TILE_SIZE, 16);
  const margin = checkCount(fn, 'margin', o.margin ?? defaultMargin(psfSize), 0);
  return { tileSize, margin };
}

/** Whole-image statistics in one pass: extremes, number of negatives, sum with negatives counted as 0. */
function statistics(fn: string, data: Float32Array): { min: number; max: number; negatives: number; mean: number } {
  let min = Infinity;
  let max = -Infinity;
  let negatives = 0;
  let sum = 0;
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    if (v < 0) negatives++;
    else sum += v;
  }
  if (!Number.isFinite(min) || !Number.isFinite(max) || Number.isNaN(sum)) {
    throw inputError('image', `${fn}: image has NaN or infinite values; replace them (e.g. by the local median) before deconvolving`);
  }
  return { min, max, negatives, mean: sum / data.length };
}

/** Copies the window `r` of a row-major image of width W out into its own array. */
function extract(data: Float32Array, W: number, r: Rect): Float32Array {
  const out = new Float32Array(r.height * r.width);
  for (let i = 0; i < r.height; i++) {
    const from = (r.y + i) * W + r.x;
    out.set(data.subarray(from, from + r.width), i * r.width);
  }
  return out;
}

/**
 * Runs `each` on the tiles in order (it returns the deconvolved window, row-major) and writes their cores into
 * `out`. When `out` is the input itself, a core is held back until no later tile's window reads its rows (tiles are
 * row-major and their windows' first rows never decrease), so that every window is read before it is overwritten;
 * what is held is about two rows of tiles.
 */
function assemble(tiles: readonly Tile[], image: PlainImage, out: Float32Array, each: (tile: Tile, k: number) => Float32Array): void {
  const W = image.width;
  const inPlace = out === image.data;
  const pending: { core: Rect; pixels: Float32Array }[] = [];
  tiles.forEach((tile, k) => {
    const { core, window } = tile;
    const result = each(tile, k);
    const pixels = extract(result, window.width, { ...core, y: core.y - window.y, x: core.x - window.x });
    pending.push({ core, pixels });
    const nextTop = inPlace && k + 1 < tiles.length ? tiles[k + 1]!.window.y : Infinity;
    while (pending.length > 0 && pending[0]!.core.y + pending[0]!.core.height <= nextTop) {
      const { core: c, pixels: p } = pending.shift()!;
      for (let i = 0; i < c.height; i++) out.set(p.subarray(i * c.width, (i + 1) * c.width), (c.y + i) * W + c.x);
    }
  });
}

function outputFor(fn: string, image: PlainImage, output: Float32Array | undefined): Float32Array {
  if (output === undefined) return new Float32Array(image.width * image.height);
  if (!(output instanceof Float32Array) || output.length !== image.width * image.height) {
    throw inputError('output', `${fn}: output must be a Float32Array of ${image.width * image.height} values (the image's size)`);
  }
  return output;
}

/**
 * The part of a PSF grid whose interpolation weights reach the window `r` (in image pixels), in the window's
 * coordinates. The object domain of a 'masked' operator on the window reaches ⌊S/2⌋ (or S − 1 − ⌊S/2⌋) pixels past
 * it; over that range the hat weights of the kept lattice nodes equal those of the whole lattice (constant
 * extrapolation beyond the outer nodes is the same as beyond the kept ones when nothing lies past them).
 */
function gridForWindow(psfs: Tensor, lattice: { xs: number[]; ys: number[] }, r: Rect, psfSize: [number, number]): { psfs: Tensor; lattice: { xs: number[]; ys: number[] } } {
  const before = (s: number): number => s - 1 - Math.floor(s / 2);
  const after = (s: number): number => Math.floor(s / 2);
  const [sh, sw] = psfSize;
  const span = (cs: number[], lo: number, hi: number): [number, number] => {
    let a = 0;
    while (a + 1 < cs.length && cs[a + 1]! <= lo) a++;
    let b = cs.length - 1;
    while (b - 1 >= 0 && cs[b - 1]! >= hi) b--;
    return [a, Math.max(a, b)];
  };
  // Pixel-centre coordinates of the first and last object pixels.
  const [c0, c1] = span(lattice.xs, r.x - before(sw) + 0.5, r.x + r.width - 1 + after(sw) + 0.5);
  const [r0, r1] = span(lattice.ys, r.y - before(sh) + 0.5, r.y + r.height - 1 + after(sh) + 0.5);
  const nx = lattice.xs.length;
  const ny = lattice.ys.length;
  const kept = psfs
    .reshape([ny, nx, sh, sw])
    .narrow(0, r0, r1 - r0 + 1)
    .narrow(1, c0, c1 - c0 + 1)
    .reshape([(r1 - r0 + 1) * (c1 - c0 + 1), sh, sw]);
  return {
    psfs: kept,
    lattice: { xs: lattice.xs.slice(c0, c1 + 1).map((x) => x - r.x), ys: lattice.ys.slice(r0, r1 + 1).map((y) => y - r.y) },
  };
}

/**
 * Richardson–Lucy (RL-TV with `tv`) of a large grey image in overlapping tiles, with one PSF `psf` ([S, S], sum 1,
 * centred at ⌊S/2⌋) or a PSF grid (spatially varying, see deconvolveGrid). Same options and meaning as
 * richardsonLucy with the 'masked' boundary (but with acceleration 'biggs-andrews' each tile computes its own step size
 * α, so tiles agree with the untiled result to ~1e-3 of the maximum rather than round-off); the tiles' tensors live
 * on the PSF's device. Peak native memory is a
 * few tens of tensors of the tile's FFT grid, (tileSize + 2·margin + S − 1)² values each, whatever the image size.
 */
export function richardsonLucyTiled(image: PlainImage, psf: Tensor | PsfGridSpec, opts: TiledRichardsonLucyOptions = {}): TiledRichardsonLucyResult {
  const fn = 'richardsonLucyTiled';
  checkKeys(fn, opts, ['iterations', 'tv', 'eps', 'initial', 'negative', 'acceleration', ...TILE_KEYS]);
  const o = resolve(fn, { iterations: opts.iterations, tv: opts.tv, eps: opts.eps, initial: opts.initial, negative: opts.negative, acceleration: opts.acceleration });
  const onProgress = opts.onProgress;
  checkImage(fn, image);
  const { data, width: W, height: H } = image;
  const st = statistics(fn, data);
  const clampedPixels = negativePolicy(fn, st.min, st.max, o.negative, () => st.negatives);
  const constants = { eps: o.eps ?? defaultEps(st.max), scale: Math.max(st.max, 1e-30), start: o.initial === 'mean' ? st.mean : o.initial };
  const changes2 = new Float64Array(o.iterations);
  const norms2 = new Float64Array(o.iterations);
  let done = 0;
  const { out, tiles, tileSize, margin } = noGrad(() =>
    tidy(() => {
      const isGrid = !(psf instanceof Tensor);
      const device = isGrid ? psf.psfs.device : psf.device;
      const uniform = isGrid ? null : checkPsf(fn, psf, 'float32', device, { nonNegative: true, batch: null });
      const grid = isGrid ? checkGrid(fn, psf, 'float32', device, true) : null;
      const h = uniform ?? grid!.psfs;
      const psfSize: [number, number] = [h.size(-2), h.size(-1)];
      const { tileSize, margin } = tiling(fn, opts, Math.max(...psfSize));
      const tiles = tileLayout([H, W], tileSize, margin);
      const total = tiles.length * o.iterations;
      const out = outputFor(fn, image, opts.output);
      assemble(tiles, image, out, (tile) => {
        const w = tile.window;
        return tidy(() => {
          let y = tensor(extract(data, W, w), [1, 1, w.height, w.width], { device });
          if (clampedPixels > 0) y = y.clampMin(0);
          let op: BlurOperator;
          if (uniform) op = uniformBlur(uniform, [w.height, w.width], { boundary: 'masked' });
          else {
            const g = gridForWindow(grid!.psfs, grid!.lattice, w, psfSize);
            op = gridBlur(g.psfs.contiguous(), g.lattice, [w.height, w.width], { boundary: 'masked' });
          }
          try {
            const onIteration = (): void => onProgress?.(++done, total);
            const sol = solve(op, y, { ...o, onIteration }, constants);
            sol.changes.forEach((d, k) => (changes2[k]! += d * d));
            sol.norms.forEach((n, k) => (norms2[k]! += n * n));
            return sol.image.data() as Float32Array;
          } finally {
            op.dispose();
          }
        });
      });
      return { out, tiles, tileSize, margin };
    }),
  );
  const history = historyOf(Array.from(changes2, Math.sqrt), Array.from(norms2, Math.sqrt));
  return { image: out, tiles, tileSize, margin, history, clampedPixels };
}

export type TiledWienerOptions = WienerOptions & TileOptions;

/**
 * Wiener deconvolution (see wiener) of a large grey image in overlapping tiles, each padded by its own boundary
 * model ('reflect' by default) and cropped to its core. Unlike RL, the Wiener filter is global: its inverse kernel
 * rings with slowly decaying tails where the OTF falls steeply, and 'reflect' tapers each tile's mirrored extension
 * to the tile's own mean rather than the image's. Tiled and untiled results agree to ~1e-5 of the maximum with a
 * well-sampled PSF (Airy fc = 0.15, S = 31, balance 0.01) but differ by up to ~2e-3 with a small truncated one
 * (S = 15), and more as the balance falls; a wider margin barely reduces that (the tests measure it).
 */
export function wienerTiled(image: PlainImage, psf: Tensor, opts: TiledWienerOptions = {}): TiledResult {
  const fn = 'wienerTiled';
  checkKeys(fn, opts, ['balance', 'boundary', ...TILE_KEYS]);
  const wopts: WienerOptions = { balance: opts.balance, boundary: opts.boundary };
  const onProgress = opts.onProgress;
  checkImage(fn, image);
  const { data, width: W, height: H } = image;
  statistics(fn, data);
  const s = tidy(() => checkPsf(fn, psf, workingDtype(psf), psf.device, { nonNegative: false, batch: null }).shape);
  const { tileSize, margin } = tiling(fn, opts, Math.max(s[2]!, s[3]!));
  const tiles = tileLayout([H, W], tileSize, margin);
  const out = outputFor(fn, image, opts.output);
  noGrad(() =>
    assemble(tiles, image, out, (tile, k) => {
      const w = tile.window;
      const result = tidy(() => wiener(tensor(extract(data, W, w), [w.height, w.width], { device: psf.device }), psf, wopts).image.data() as Float32Array);
      onProgress?.(k + 1, tiles.length);
      return result;
    }),
  );
  return { image: out, tiles, tileSize, margin };
}
