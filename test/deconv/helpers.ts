// Test helpers for deconvolution: seeded synthetic scenes, PSFs, naive (loop) convolutions as independent truth,
// PSNR, and a bridge to scikit-image through Debian's /usr/bin/python3.
import { spawnSync } from 'node:child_process';

/** Seeded uniform [0, 1) generator (mulberry32). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Seeded N(0, 1) samples (Box–Muller). */
export function gaussianNoise(n: number, seed: number): Float64Array {
  const u = rng(seed);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const t = 2 * Math.PI * u();
    out[i] = r * Math.cos(t);
    if (i + 1 < n) out[i + 1] = r * Math.sin(t);
  }
  return out;
}

/** A sampled isotropic Gaussian PSF, S × S, centred at ⌊S/2⌋, sum 1. */
export function gaussianPsf(s: number, sigma: number): Float64Array {
  const c = Math.floor(s / 2);
  const h = new Float64Array(s * s);
  let sum = 0;
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) sum += h[i * s + j] = Math.exp(-((i - c) ** 2 + (j - c) ** 2) / (2 * sigma * sigma));
  for (let k = 0; k < h.length; k++) h[k]! /= sum;
  return h;
}

/** J₁ by its integral representation J₁(x) = (1/π) ∫₀^π cos(τ − x sin τ) dτ (Simpson, 200 panels). */
function besselJ1(x: number): number {
  const n = 200;
  let acc = 0;
  for (let k = 0; k <= n; k++) {
    const t = (Math.PI * k) / n;
    const w = k === 0 || k === n ? 1 : k % 2 ? 4 : 2;
    acc += w * Math.cos(t - x * Math.sin(t));
  }
  return (acc * (Math.PI / n)) / 3 / Math.PI;
}

/** An Airy pattern [2J₁(v)/v]², v = 2π·fc·r (CONVENTIONS.md), sampled at pixel centres, S × S, sum 1. */
export function airyPsf(s: number, fc: number): Float64Array {
  const c = Math.floor(s / 2);
  const h = new Float64Array(s * s);
  let sum = 0;
  for (let i = 0; i < s; i++) {
    for (let j = 0; j < s; j++) {
      const v = 2 * Math.PI * fc * Math.hypot(i - c, j - c);
      const a = v === 0 ? 1 : (2 * besselJ1(v)) / v;
      sum += h[i * s + j] = a * a;
    }
  }
  for (let k = 0; k < h.length; k++) h[k]! /= sum;
  return h;
}

/**
 * A dead-leaves-like scene in [0, 1]: occluding discs of random grey levels and radii, plus a few bright Gaussian
 * spots (fluorescent beads), on `h` × `w` pixels.
 */
export function deadLeaves(h: number, w: number, seed: number, opts: { discs?: number; spots?: number } = {}): Float64Array {
  const u = rng(seed);
  const x = new Float64Array(h * w).fill(0.2);
  const discs = opts.discs ?? Math.round((h * w) / 250);
  for (let d = 0; d < discs; d++) {
    const cy = u() * h;
    const cx = u() * w;
    const r = 2 + 14 * u() ** 2;
    const v = 0.1 + 0.6 * u();
    for (let i = Math.max(0, Math.floor(cy - r)); i < Math.min(h, Math.ceil(cy + r)); i++) {
      for (let j = Math.max(0, Math.floor(cx - r)); j < Math.min(w, Math.ceil(cx + r)); j++) {
        if ((i - cy) ** 2 + (j - cx) ** 2 <= r * r) x[i * w + j] = v;
      }
    }
  }
  const spots = opts.spots ?? Math.max(1, Math.round((h * w) / 1500));
  for (let s = 0; s < spots; s++) {
    const cy = u() * h;
    const cx = u() * w;
    const sg = 0.7 + 0.6 * u();
    const a = 0.3;
    for (let i = Math.max(0, Math.floor(cy - 4 * sg)); i < Math.min(h, Math.ceil(cy + 4 * sg)); i++) {
      for (let j = Math.max(0, Math.floor(cx - 4 * sg)); j < Math.min(w, Math.ceil(cx + 4 * sg)); j++) {
        x[i * w + j] = Math.min(1, x[i * w + j]! + a * Math.exp(-((i - cy) ** 2 + (j - cx) ** 2) / (2 * sg * sg)));
      }
    }
  }
  return x;
}

/**
 * Naive true convolution, 'valid' region: out[i][j] = Σ_k Σ_l h[k][l]·x[i + Sh − 1 − k][j + Sw − 1 − l], for x of
 * hx × wx and h of sh × sw; out is (hx − sh + 1) × (wx − sw + 1). This is the scene-to-window model ('masked').
 */
export function convValid(x: ArrayLike<number>, hx: number, wx: number, h: ArrayLike<number>, sh: number, sw = sh): Float64Array {
  const ho = hx - sh + 1;
  const wo = wx - sw + 1;
  const out = new Float64Array(ho * wo);
  for (let i = 0; i < ho; i++) {
    for (let j = 0; j < wo; j++) {
      let acc = 0;
      for (let k = 0; k < sh; k++) for (let l = 0; l < sw; l++) acc += h[k * sw + l]! * x[(i + sh - 1 - k) * wx + (j + sw - 1 - l)]!;
      out[i * wo + j] = acc;
    }
  }
  return out;
}

/** Naive true convolution, same size, PSF centred at ⌊S/2⌋, with zero or periodic extension of x. */
export function convSame(x: ArrayLike<number>, hx: number, wx: number, h: ArrayLike<number>, s: number, mode: 'zero' | 'circular'): Float64Array {
  const c = Math.floor(s / 2);
  const out = new Float64Array(hx * wx);
  for (let i = 0; i < hx; i++) {
    for (let j = 0; j < wx; j++) {
      let acc = 0;
      for (let k = 0; k < s; k++) {
        for (let l = 0; l < s; l++) {
          let r = i - k + c;
          let q = j - l + c;
          if (mode === 'circular') {
            r = ((r % hx) + hx) % hx;
            q = ((q % wx) + wx) % wx;
          } else if (r < 0 || r >= hx || q < 0 || q >= wx) continue;
          acc += h[k * s + l]! * x[r * wx + q]!;
        }
      }
      out[i * wx + j] = acc;
    }
  }
  return out;
}

/** Bilinear hat weight of lattice node k (of centres cs) at coordinate p; 1 beyond the outer nodes. Independent of src. */
function hat(cs: readonly number[], k: number, p: number): number {
  const n = cs.length;
  if (n === 1) return 1;
  if (p <= cs[0]!) return k === 0 ? 1 : 0;
  if (p >= cs[n - 1]!) return k === n - 1 ? 1 : 0;
  if (k > 0 && p >= cs[k - 1]! && p <= cs[k]!) return (p - cs[k - 1]!) / (cs[k]! - cs[k - 1]!);
  if (k < n - 1 && p >= cs[k]! && p < cs[k + 1]!) return (cs[k + 1]! - p) / (cs[k + 1]! - cs[k]!);
  return 0;
}

/**
 * Naive spatially varying blur Σ_k h_k ⋆ (w_k · x), 'valid' region, for a scene x of hx × wx whose pixel (0, 0) is
 * image pixel (−(S−1−c), −(S−1−c)); tile centres xs (columns) and ys (rows) in image pixel coordinates with pixel
 * centres at index + 0.5; psfs row-major over tiles (ty·nx + tx), each S × S.
 */
export function convGridValid(x: ArrayLike<number>, hx: number, wx: number, psfs: readonly ArrayLike<number>[], s: number, xs: readonly number[], ys: readonly number[]): Float64Array {
  const origin = s - 1 - Math.floor(s / 2);
  const ho = hx - s + 1;
  const wo = wx - s + 1;
  const out = new Float64Array(ho * wo);
  for (let ty = 0; ty < ys.length; ty++) {
    for (let tx = 0; tx < xs.length; tx++) {
      const weighted = new Float64Array(hx * wx);
      for (let i = 0; i < hx; i++) {
        const wy = hat(ys, ty, i - origin + 0.5);
        for (let j = 0; j < wx; j++) weighted[i * wx + j] = x[i * wx + j]! * wy * hat(xs, tx, j - origin + 0.5);
      }
      const part = convValid(weighted, hx, wx, psfs[ty * xs.length + tx]!, s);
      for (let q = 0; q < out.length; q++) out[q]! += part[q]!;
    }
  }
  return out;
}

/** The [r0, r0 + h) × [c0, c0 + w) window of an hx-row, wx-column image. */
export function crop(x: ArrayLike<number>, wx: number, r0: number, c0: number, h: number, w: number): Float64Array {
  const out = new Float64Array(h * w);
  for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) out[i * w + j] = x[(r0 + i) * wx + c0 + j]!;
  return out;
}

/** PSNR (dB) of `a` against the truth `b` with the given peak (1 for images in [0, 1]). */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, peak = 1): number {
  let se = 0;
  for (let i = 0; i < b.length; i++) se += (a[i]! - b[i]!) ** 2;
  return 10 * Math.log10((peak * peak) / (se / b.length));
}

/** Root-mean-square of a − b over the pixels where `select(i, j)` holds. */
export function rmsWhere(a: ArrayLike<number>, b: ArrayLike<number>, h: number, w: number, select: (i: number, j: number) => boolean): number {
  let se = 0;
  let n = 0;
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      if (!select(i, j)) continue;
      se += (a[i * w + j]! - b[i * w + j]!) ** 2;
      n++;
    }
  }
  return Math.sqrt(se / n);
}

export function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

export const PYTHON = '/usr/bin/python3';
let skimageChecked: string | null | undefined;

/** Null when /usr/bin/python3 can import skimage, else why not. */
export function skimageMissing(): string | null {
  if (skimageChecked === undefined) {
    const r = spawnSync(PYTHON, ['-c', 'import skimage, numpy'], { encoding: 'utf8', timeout: 60_000 });
    skimageChecked = r.error ? `${PYTHON}: ${r.error.message}` : r.status === 0 ? null : `${PYTHON} cannot import skimage (apt-get install python3-skimage)`;
  }
  return skimageChecked;
}

/** Runs Python code; returns stdout, throwing with stderr when it fails. */
export function runPython(code: string, args: string[] = []): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], { encoding: 'utf8', timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (status ${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** max |a − b| / max |b|. */
export function relMaxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relMaxDiff: lengths ${a.length} and ${b.length} differ`);
  let d = 0;
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}
