// Figures: the evaluation montage (y, true h, ĥ, |ĥ − h|) and the PSF grid drawn over an image.
import { Raster, inferno } from './raster.js';

function range(a: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/** Robust display range: the 0.5 and 99.5 percentiles. */
export function percentileRange(a: ArrayLike<number>, lo = 0.005, hi = 0.995): [number, number] {
  const s = Float32Array.from(a).sort();
  return [s[Math.floor(lo * (s.length - 1))]!, s[Math.floor(hi * (s.length - 1))]!];
}

export interface MontageRow {
  y: Float32Array;
  ySize: number;
  h: Float32Array;
  hHat: Float32Array;
  psfSize: number;
  label: string;
}

/** One row per example: y | true h | ĥ (same colour scale as h) | |ĥ − h| (own scale). */
export function montage(rows: MontageRow[], cell = 128): Raster {
  const pad = 6;
  const header = 16;
  const r = new Raster(4 * (cell + pad) + pad, header + rows.length * (cell + pad + 12) + pad);
  ['Y', 'TRUE H', 'ESTIMATE', '|ERROR|'].forEach((t, i) => r.text(pad + i * (cell + pad), 4, t));
  rows.forEach((row, k) => {
    const top = header + k * (cell + pad + 12);
    const [ylo, yhi] = percentileRange(row.y);
    r.image(pad, top, cell, cell, row.y, row.ySize, row.ySize, ylo, yhi);
    const [, hmax] = range(row.h);
    r.image(pad + (cell + pad), top, cell, cell, row.h, row.psfSize, row.psfSize, 0, hmax, inferno);
    r.image(pad + 2 * (cell + pad), top, cell, cell, row.hHat, row.psfSize, row.psfSize, 0, hmax, inferno);
    const err = row.h.map((v, i) => Math.abs(v - row.hHat[i]!));
    r.image(pad + 3 * (cell + pad), top, cell, cell, err, row.psfSize, row.psfSize, 0, range(err)[1], inferno);
    r.text(pad, top + cell + 2, row.label);
  });
  return r;
}

/**
 * The image (grey, percentile-stretched) with each tile's PSF drawn at its centre, contrast-stretched
 * (each PSF to its own maximum, gamma 0.5 so the wings show), like the seed's "estimated PSF grids". Images larger
 * than `maxSide` (default 1024) are shrunk to it; smaller than `minSide` (default 768) enlarged to it (nearest
 * neighbour), so that the insets (psfScale × S px) leave the image between them visible.
 */
export function psfGridFigure(image: Float32Array, width: number, height: number, psfs: Float32Array[], psfSize: number, centres: [number, number][], opts: { maxSide?: number; minSide?: number; psfScale?: number } = {}): Raster {
  const longer = Math.max(width, height);
  const maxSide = opts.maxSide ?? 1024;
  const minSide = Math.min(opts.minSide ?? 768, maxSide);
  const scale = longer > maxSide ? maxSide / longer : longer < minSide ? minSide / longer : 1;
  const W = Math.max(1, Math.round(width * scale));
  const H = Math.max(1, Math.round(height * scale));
  const r = new Raster(W, H);
  const [lo, hi] = percentileRange(image);
  r.image(0, 0, W, H, image, width, height, lo, hi);
  const side = Math.round(psfSize * (opts.psfScale ?? 3));
  psfs.forEach((p, k) => {
    const [, max] = range(p);
    const g = p.map((v) => Math.sqrt(Math.max(0, v) / (max || 1)));
    const [cx, cy] = centres[k]!;
    const x0 = Math.round(cx * scale - side / 2);
    const y0 = Math.round(cy * scale - side / 2);
    r.image(x0, y0, side, side, g, psfSize, psfSize, 0, 1, inferno);
    r.line(x0 - 1, y0 - 1, x0 + side, y0 - 1, [255, 255, 255]);
    r.line(x0 - 1, y0 + side, x0 + side, y0 + side, [255, 255, 255]);
    r.line(x0 - 1, y0 - 1, x0 - 1, y0 + side, [255, 255, 255]);
    r.line(x0 + side, y0 - 1, x0 + side, y0 + side, [255, 255, 255]);
  });
  return r;
}
