// Procedural training images on [0, 1], drawn from an explicit Rng: dead leaves (natural-image statistics),
// filaments (microtubule-like curves), spots (vesicles, blobs of various sizes) and beads (sparse sub-resolution
// points: the classical PSF target, where the PSF is seen directly). Each returns a size×size
// Float32Array, row-major.
import type { Rng } from './rng.js';

export type ProceduralKind = 'dead-leaves' | 'filaments' | 'spots' | 'beads';
export const PROCEDURAL_KINDS: readonly ProceduralKind[] = ['dead-leaves', 'filaments', 'spots', 'beads'];

/**
 * Dead leaves: opaque disks with radii ∝ r^−3 on [rMin, rMax] (scale-invariant like natural images), random grey
 * levels, painted front to back until every pixel is covered (or 4000 disks).
 */
export function deadLeaves(rng: Rng, size: number, rMin = 1, rMax = size / 3): Float32Array {
  const img = new Float32Array(size * size).fill(-1);
  let uncovered = size * size;
  const a = rMin ** -2;
  const b = rMax ** -2;
  for (let k = 0; k < 4000 && uncovered > 0; k++) {
    const r = (a + (b - a) * rng.next()) ** -0.5; // inverse CDF of p(r) ∝ r^-3
    const cx = rng.uniform(-r, size + r);
    const cy = rng.uniform(-r, size + r);
    const v = rng.next();
    const y0 = Math.max(0, Math.floor(cy - r));
    const y1 = Math.min(size - 1, Math.ceil(cy + r));
    const x0 = Math.max(0, Math.floor(cx - r));
    const x1 = Math.min(size - 1, Math.ceil(cx + r));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const i = y * size + x;
        if (img[i]! >= 0) continue;
        if ((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2 <= r * r) {
          img[i] = v;
          uncovered--;
        }
      }
    }
  }
  for (let i = 0; i < img.length; i++) if (img[i]! < 0) img[i] = 0.5;
  return img;
}

/** Adds a Gaussian-profile segment-chain along `pts` with peak `amp` and width `sigma` pixels. */
function drawPolyline(img: Float32Array, size: number, pts: [number, number][], amp: number, sigma: number): void {
  const reach = Math.ceil(3 * sigma);
  for (let s = 0; s + 1 < pts.length; s++) {
    const [ax, ay] = pts[s]!;
    const [bx, by] = pts[s + 1]!;
    const dx = bx - ax;
    const dy = by - ay;
    const len2 = dx * dx + dy * dy || 1e-12;
    const xs = Math.max(0, Math.floor(Math.min(ax, bx) - reach));
    const xe = Math.min(size - 1, Math.ceil(Math.max(ax, bx) + reach));
    const ys = Math.max(0, Math.floor(Math.min(ay, by) - reach));
    const ye = Math.min(size - 1, Math.ceil(Math.max(ay, by) + reach));
    for (let y = ys; y <= ye; y++) {
      for (let x = xs; x <= xe; x++) {
        const px = x + 0.5 - ax;
        const py = y + 0.5 - ay;
        const t = Math.max(0, Math.min(1, (px * dx + py * dy) / len2));
        const d2 = (px - t * dx) ** 2 + (py - t * dy) ** 2;
        const i = y * size + x;
        // max, not sum, so that segment joints do not double the intensity
        img[i] = Math.max(img[i]!, amp * Math.exp(-d2 / (2 * sigma * sigma)));
      }
    }
  }
}

/** Filaments: 3–25 smooth random curves (persistent random walks), thin (σ 0.5–1.5 px), on a dim background. */
export function filaments(rng: Rng, size: number): Float32Array {
  const img = new Float32Array(size * size);
  const layer = new Float32Array(size * size);
  const n = 3 + rng.int(23);
  for (let f = 0; f < n; f++) {
    layer.fill(0);
    let x = rng.uniform(0, size);
    let y = rng.uniform(0, size);
    let angle = rng.uniform(0, 2 * Math.PI);
    const curl = rng.uniform(0.02, 0.25);
    const step = 2;
    const pts: [number, number][] = [[x, y]];
    const length = rng.uniform(size / 2, 2 * size);
    for (let l = 0; l < length; l += step) {
      angle += curl * rng.normal();
      x += step * Math.cos(angle);
      y += step * Math.sin(angle);
      pts.push([x, y]);
    }
    drawPolyline(layer, size, pts, rng.uniform(0.3, 1), rng.uniform(0.5, 1.5));
    for (let i = 0; i < img.length; i++) img[i]! += layer[i]!;
  }
  const bg = rng.uniform(0, 0.1);
  let max = 0;
  for (let i = 0; i < img.length; i++) max = Math.max(max, img[i]!);
  const scale = max > 0 ? rng.uniform(0.5, 1) / max : 0;
  for (let i = 0; i < img.length; i++) img[i] = Math.min(1, bg + img[i]! * scale * (1 - bg));
  return img;
}

/** Spots: 5–200 Gaussian blobs (σ 0.3–3 px) of random brightness on a dim background. */
export function spots(rng: Rng, size: number): Float32Array {
  const img = new Float32Array(size * size);
  const n = 5 + rng.int(196);
  for (let k = 0; k < n; k++) {
    const cx = rng.uniform(0, size);
    const cy = rng.uniform(0, size);
    const sigma = rng.uniform(0.3, 3);
    const amp = rng.uniform(0.2, 1);
    const reach = Math.ceil(4 * sigma);
    for (let y = Math.max(0, Math.floor(cy - reach)); y <= Math.min(size - 1, Math.ceil(cy + reach)); y++) {
      for (let x = Math.max(0, Math.floor(cx - reach)); x <= Math.min(size - 1, Math.ceil(cx + reach)); x++) {
        img[y * size + x]! += amp * Math.exp(-((x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2) / (2 * sigma * sigma));
      }
    }
  }
  const bg = rng.uniform(0, 0.1);
  for (let i = 0; i < img.length; i++) img[i] = Math.min(1, bg + img[i]! * (1 - bg));
  return img;
}

/**
 * Beads: 1 to 1 + ⌊size²/400⌋ points, each of flux 0.3–1 spread over the pixels as a Gaussian of σ 0.2–0.5 px
 * (far below the PSF's width) integrated over each pixel, on a dim flat background (0–5 %); even the densest
 * images leave most beads isolated.
 */
export function beads(rng: Rng, size: number): Float32Array {
  const img = new Float32Array(size * size);
  const n = 1 + rng.int(1 + Math.floor((size * size) / 400));
  const wx = new Float64Array(7);
  const wy = new Float64Array(7);
  for (let k = 0; k < n; k++) {
    const cx = rng.uniform(0, size);
    const cy = rng.uniform(0, size);
    const sigma = rng.uniform(0.2, 0.5);
    const flux = rng.uniform(0.3, 1);
    const x0 = Math.floor(cx) - 3;
    const y0 = Math.floor(cy) - 3;
    for (let i = 0; i < 7; i++) {
      wx[i] = pixelGaussian(x0 + i, cx, sigma);
      wy[i] = pixelGaussian(y0 + i, cy, sigma);
    }
    for (let i = 0; i < 7; i++) {
      const y = y0 + i;
      if (y < 0 || y >= size) continue;
      for (let j = 0; j < 7; j++) {
        const x = x0 + j;
        if (x >= 0 && x < size) img[y * size + x]! += flux * wy[i]! * wx[j]!;
      }
    }
  }
  const bg = rng.uniform(0, 0.05);
  for (let i = 0; i < img.length; i++) img[i] = Math.min(1, bg + img[i]! * (1 - bg));
  return img;
}

/** The mass of a 1-D Gaussian (centre c, σ) on the pixel [p, p + 1). */
function pixelGaussian(p: number, c: number, sigma: number): number {
  const k = 1 / (Math.SQRT2 * sigma);
  return 0.5 * (erf((p + 1 - c) * k) - erf((p - c) * k));
}

/** erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7): enough for pixel masses; no dependency needed for one function. */
function erf(x: number): number {
  const s = Math.sign(x);
  const a = Math.abs(x);
  const t = 1 / (1 + 0.3275911 * a);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  return s * (1 - poly * Math.exp(-a * a));
}

export function procedural(kind: ProceduralKind, rng: Rng, size: number): Float32Array {
  switch (kind) {
    case 'beads': return beads(rng, size);
    case 'dead-leaves': return deadLeaves(rng, size);
    case 'filaments': return filaments(rng, size);
    case 'spots': return spots(rng, size);
  }
}
