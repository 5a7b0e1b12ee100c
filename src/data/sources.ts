// Training images: folders and manifest tables of real images, and procedural generators, mixed by weight.
// Real images are converted to float32 grey once at start (integers scaled by their dtype's full range, never by
// the data's maximum; RGB by luminance 0.2989 R + 0.5870 G + 0.1140 B — src/io toFloat32Gray); every plane of a
// stack (z, t, channel) counts as one image.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { readImage, toFloat32Gray } from '../io/index.js';
import { inputError } from '../errors.js';
import { procedural, type ProceduralKind } from './procedural.js';
import type { Rng } from './rng.js';
import type { SourceConfig } from '../train/config.js';

export interface GrayImage {
  width: number;
  height: number;
  data: Float32Array;
  path: string;
}

const IMAGE_EXT = new Set(['.tif', '.tiff', '.png', '.jpg', '.jpeg']);

function listImages(folder: string): string[] {
  let st;
  try {
    st = statSync(folder);
  } catch {
    throw inputError(folder, `${folder}: no such folder`);
  }
  if (!st.isDirectory()) throw inputError(folder, `${folder}: not a folder`);
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (IMAGE_EXT.has(extname(e.name).toLowerCase())) out.push(p);
    }
  };
  walk(folder);
  return out;
}

/** Rows of a MANIFEST.tsv (header: path, domain, split, …) matching split and domain; paths made absolute. */
export function manifestPaths(table: string, split: string, domain?: string): string[] {
  let text: string;
  try {
    text = readFileSync(table, 'utf8');
  } catch {
    throw inputError(table, `${table}: cannot read manifest`);
  }
  const [head, ...rows] = text.split('\n').filter((l) => l.trim());
  const cols = head!.split('\t');
  const [ip, id, is] = ['path', 'domain', 'split'].map((c) => cols.indexOf(c));
  if (ip! < 0 || is! < 0) throw inputError(table, `${table}: manifest needs 'path' and 'split' columns`);
  return rows
    .map((r) => r.split('\t'))
    .filter((c) => c[is!] === split && (!domain || c[id!] === domain))
    .map((c) => resolve(dirname(table), c[ip!]!));
}

/** Loads every plane of every file as grey float32, skipping planes smaller than `minSize` on either side. */
export function loadGrayImages(paths: string[], minSize: number, maxImages: number, onFile?: (path: string) => void): GrayImage[] {
  const out: GrayImage[] = [];
  for (const p of paths) {
    onFile?.(p);
    if (out.length >= maxImages) break;
    const img = readImage(p);
    if (img.width < minSize || img.height < minSize) continue;
    for (let k = 0; k < img.planes.length && out.length < maxImages; k++) {
      const data = toFloat32Gray(img, k);
      if (!data.every(Number.isFinite)) continue;
      out.push({ width: img.width, height: img.height, data, path: p });
    }
  }
  return out;
}

export type Source =
  | { kind: 'images'; name: string; weight: number; images: GrayImage[] }
  | { kind: 'procedural'; name: string; weight: number; generator: ProceduralKind };

export function resolveSources(configs: SourceConfig[], minSize: number, maxImages: number, baseDir = '.'): Source[] {
  return configs.map((c): Source => {
    if (c.kind === 'procedural') return { kind: 'procedural', name: c.generator, weight: c.weight, generator: c.generator };
    const path = resolve(baseDir, c.path);
    const paths = c.kind === 'folder' ? listImages(path) : manifestPaths(path, c.split, c.domain);
    const images = loadGrayImages(paths, minSize, maxImages);
    if (!images.length) throw inputError(c.path, `${c.path}: no usable images (TIFF/PNG/JPEG at least ${minSize}×${minSize})`);
    const name = c.kind === 'folder' ? c.path : `${c.path}[${c.split}${c.domain ? ',' + c.domain : ''}]`;
    return { kind: 'images', name, weight: c.weight, images };
  });
}

/**
 * The sources as they serve crops of n × n: each image source keeps its images that reach n on both sides (an error
 * names a source that keeps none). Images are shared, not copied. Used when training cycles through crop sides.
 */
export function sourcesForSide(sources: Source[], n: number): Source[] {
  return sources.map((s) => {
    if (s.kind !== 'images') return s;
    const images = s.images.filter((img) => img.width >= n && img.height >= n);
    if (!images.length) throw inputError(s.name, `${s.name}: no image reaches ${n}×${n} px (a training crop side + PSF size − 1)`);
    return images.length === s.images.length ? s : { ...s, images };
  });
}

/** sourcesForSide as a memoised function of n when `perSide`; otherwise the sources themselves for every n. */
export function sourcesBySide(sources: Source[], perSide: boolean): (n: number) => Source[] {
  const cache = new Map<number, Source[]>();
  return (n) => {
    if (!perSide) return sources;
    let s = cache.get(n);
    if (!s) cache.set(n, (s = sourcesForSide(sources, n)));
    return s;
  };
}

export interface CropOptions {
  /**
   * 'max': divide each crop from a real image by its maximum, so its brightest structure is at 1 as the
   * acquisition model and the prior's noise levels assume (a 12-bit camera image stored in uint16 would otherwise
   * sit in [0, 0.06] and drown in noise meant for [0, 1]); 'none': keep the dtype-range scaling.
   */
  normalize: 'max' | 'none';
  /** Crops whose standard deviation (after normalisation) is below this are redrawn (up to 20 tries): flat background carries no information about the blur. */
  minStd: number;
  /**
   * Auto-exposure [lo, hi] (null = off): each crop is scaled so that its blurred, noise-free image h ⋆ x peaks at
   * u ~ U[lo, hi] of the full scale, as a camera's exposure is set. Without it, sparse scenes (beads, spots: the
   * blur spreads a point's flux over the PSF, whose peak is 2–20 % of it) sit in the noise floor meant for [0, 1].
   */
  exposure?: readonly [number, number] | null;
}

export const DEFAULT_CROP_OPTIONS: CropOptions = { normalize: 'max', minStd: 0.05, exposure: null };

function cropStd(a: Float32Array): number {
  let s = 0;
  let s2 = 0;
  for (const v of a) {
    s += v;
    s2 += v * v;
  }
  const n = a.length;
  return Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
}

/** A size×size crop from a source: a random window with a random flip and 90° rotation, or a procedural image. */
export function sampleCrop(source: Source, rng: Rng, size: number, opts: CropOptions = DEFAULT_CROP_OPTIONS): Float32Array {
  if (source.kind === 'procedural') return procedural(source.generator, rng, size);
  let crop = rawCrop(source, rng, size);
  for (let attempt = 0; ; attempt++) {
    if (opts.normalize === 'max') {
      let max = 0;
      for (const v of crop) if (v > max) max = v;
      if (max > 0) for (let i = 0; i < crop.length; i++) crop[i]! /= max;
    }
    if (attempt >= 19 || cropStd(crop) >= opts.minStd) return crop;
    crop = rawCrop(source, rng, size);
  }
}

function rawCrop(source: Extract<Source, { kind: 'images' }>, rng: Rng, size: number): Float32Array {
  const img = source.images[rng.int(source.images.length)]!;
  const x0 = rng.int(img.width - size + 1);
  const y0 = rng.int(img.height - size + 1);
  const flip = rng.next() < 0.5;
  const rot = rng.int(4);
  const out = new Float32Array(size * size);
  const last = size - 1;
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // (u, v): the crop coordinate after rotation by rot·90° and an optional horizontal flip
      let u = flip ? last - x : x;
      let v = y;
      for (let r = 0; r < rot; r++) [u, v] = [last - v, u];
      out[y * size + x] = img.data[(y0 + v) * img.width + (x0 + u)]!;
    }
  }
  return out;
}

/** A batch's sharp crops, drawn in plain JS (so worker threads can draw them: src/train/prefetch.ts). */
export interface CropBatch {
  batch: number;
  /** Side of each crop: the observed crop size + PSF size − 1. */
  n: number;
  /** [batch, n, n] row-major. */
  pixels: Float32Array;
  /** Per-crop auto-exposure peak, or null when auto-exposure is off. */
  exposure: number[] | null;
}

/** The crops of one batch from `rng`: a source by weight, a crop from it, then (all crops drawn) the exposures. */
export function drawCrops(sources: Source[], rng: Rng, batch: number, n: number, crop: CropOptions = DEFAULT_CROP_OPTIONS): CropBatch {
  const weights = sources.map((s) => s.weight);
  const pixels = new Float32Array(batch * n * n);
  for (let b = 0; b < batch; b++) pixels.set(sampleCrop(sources[rng.pick(weights)]!, rng, n, crop), b * n * n);
  const exposure = crop.exposure ? Array.from({ length: batch }, () => rng.uniform(crop.exposure![0], crop.exposure![1])) : null;
  return { batch, n, pixels, exposure };
}
