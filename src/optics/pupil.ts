// The pupil on the FFT's own frequency grid, its aperture weights and the cached Zernike bases.
//
// Grid (../shared/CONVENTIONS.md): a P × P pupil with frequencies (k − ⌊P/2⌋)/P cycles/pixel, k = 0 … P−1, i.e. the
// integer offsets o = k − ⌊P/2⌋ ∈ [−⌊P/2⌋, ⌈P/2⌉ − 1], f = o/P. Row offsets are fy (y = row axis, downward),
// column offsets fx (x = column axis, rightward). Normalised pupil coordinates are (fx/fc, fy/fc).
//
// Aperture: the disk |f| ≤ fc with an ANTI-ALIASED edge. Each cell (a 1/P × 1/P square around its sample) gets
// the fraction of its area inside the disk, computed as if the circle were a straight line across the cell
// (tangent at the cell's radial projection): exact for a straight edge, and off by O(curvature) = O(1/(fc·P)) of a
// cell otherwise. On P = 256 this brings θ = 0 to within 0.04–0.07 % (relative L2) of the analytic Airy pattern,
// 3–4× closer than a hard edge, and as close as 32 × 32 supersampling of each cell. Cells with any weight lie
// within fc·P + √2/2 samples of the centre, so the support (and the OTF's) reaches √2/2 sample beyond the disk.
//
// A pupil restricted to a band of offsets [lo, hi] (the same for rows and columns) holds every non-zero sample
// when [lo, hi] covers ±(⌈fc·P⌉ + 1): the matrix Fourier transform works on that band only.
import { keep, tensor, type DType, type Tensor } from '../engine/index.js';
import { nollToNM, zernikeEvaluator, zernikeMonomials } from './zernike.js';

/** A band of integer frequency offsets o = lo … hi (rows and columns alike), frequency o/P. */
export interface PupilBand {
  readonly pupilSize: number;
  readonly lo: number;
  readonly hi: number;
}

export function bandLength(band: PupilBand): number {
  return band.hi - band.lo + 1;
}

/** The whole FFT grid: offsets −⌊P/2⌋ … ⌈P/2⌉ − 1. */
export function fullBand(pupilSize: number): PupilBand {
  return { pupilSize, lo: -Math.floor(pupilSize / 2), hi: Math.ceil(pupilSize / 2) - 1 };
}

/**
 * A band holding every cell with non-zero aperture weight for cut-offs up to fcMax: offsets within
 * ±(⌈fcMax·P⌉ + 1) > fc·P + √2/2, the half-width rounded up to a multiple of `step` (so that batches of random
 * cut-offs share a few cached bases instead of one per batch), clipped to the grid.
 */
export function supportBand(pupilSize: number, fcMax: number, step = 1): PupilBand {
  const full = fullBand(pupilSize);
  const h = step * Math.ceil((Math.ceil(fcMax * pupilSize) + 1) / step);
  return { pupilSize, lo: Math.max(full.lo, -h), hi: Math.min(full.hi, h) };
}

// ---------------------------------------------------------------------------------------------------------------
// Aperture weights
// ---------------------------------------------------------------------------------------------------------------

/**
 * The per-cell geometry the anti-aliased edge needs, row-major over the band: distance ρ from the centre (in
 * samples), the edge-crossing half-widths w1 = (a−b)/2 and w2 = (a+b)/2 with a ≥ b the |components| of the unit
 * radial direction, 1/a and 1/(2ab) (0 where b = 0, where the quadratic pieces are empty).
 */
interface CellGeometry {
  rho: Float64Array;
  w1: Float64Array;
  w2: Float64Array;
  invA: Float64Array;
  inv2ab: Float64Array;
}
const geometryCache = new Map<string, CellGeometry>();

function cellGeometry(band: PupilBand): CellGeometry {
  const key = bandKey(band);
  let g = geometryCache.get(key);
  if (!g) {
    g = buildCellGeometry(band);
    if (geometryCache.size >= MAX_CACHE_ENTRIES) geometryCache.clear();
    geometryCache.set(key, g);
  }
  return g;
}

function buildCellGeometry(band: PupilBand): CellGeometry {
  const m = bandLength(band);
  const rho = new Float64Array(m * m);
  const w1 = new Float64Array(m * m);
  const w2 = new Float64Array(m * m);
  const invA = new Float64Array(m * m);
  const inv2ab = new Float64Array(m * m);
  for (let i = 0; i < m; i++) {
    const y = band.lo + i;
    for (let j = 0; j < m; j++) {
      const x = band.lo + j;
      const k = i * m + j;
      const r = Math.hypot(x, y);
      rho[k] = r;
      let a = 1;
      let b = 0;
      if (r > 0) {
        const c = Math.abs(x) / r;
        const s = Math.abs(y) / r;
        a = Math.max(c, s);
        b = Math.min(c, s);
      }
      w1[k] = (a - b) / 2;
      w2[k] = (a + b) / 2;
      invA[k] = 1 / a;
      inv2ab[k] = b > 0 ? 1 / (2 * a * b) : 0;
    }
  }
  return { rho, w1, w2, invA, inv2ab };
}

/**
 * Fraction of a cell inside the disk, for a signed distance t = R − ρ (samples; > 0 inside) of the edge from the
 * cell centre: the CDF at t of n·p for p uniform in the unit cell (a trapezoid: quadratic, linear, quadratic).
 */
function coverage(t: number, w1: number, w2: number, invA: number, inv2ab: number): number {
  if (t >= w2) return 1;
  if (t > w1) return 1 - (w2 - t) * (w2 - t) * inv2ab;
  if (t >= -w1) return 0.5 + t * invA;
  if (t > -w2) return (t + w2) * (t + w2) * inv2ab;
  return 0;
}

/** Aperture weights (float64, row-major [M·M]) for one cut-off fc on a band. */
export function apertureWeights(band: PupilBand, fc: number): Float64Array {
  const g = cellGeometry(band);
  const radius = fc * band.pupilSize;
  const out = new Float64Array(g.rho.length);
  for (let k = 0; k < out.length; k++) out[k] = coverage(radius - g.rho[k]!, g.w1[k]!, g.w2[k]!, g.invA[k]!, g.inv2ab[k]!);
  return out;
}

/** Aperture weights for several cut-offs at once, as a tensor [B, M, M] (same formula). */
export function apertureWeightsBatch(band: PupilBand, fc: readonly number[], dtype: DType, device: string): Tensor {
  const g = cellGeometry(band);
  const cells = g.rho.length;
  const out = dtype === 'float32' ? new Float32Array(fc.length * cells) : new Float64Array(fc.length * cells);
  const m = bandLength(band);
  fc.forEach((f, b) => {
    const radius = f * band.pupilSize;
    // Cells within radius − √2/2 of the centre are wholly inside (weight 1), beyond radius + √2/2 wholly outside
    // (0): per row, fill the inner span and evaluate the coverage only on the two edge spans.
    const inner = radius - Math.SQRT1_2;
    const outer = radius + Math.SQRT1_2;
    for (let r = 0; r < m; r++) {
      const y = band.lo + r;
      if (Math.abs(y) >= outer) continue;
      const row = b * cells + r * m;
      const xo = Math.floor(Math.sqrt(outer * outer - y * y));
      const xi = Math.abs(y) <= inner ? Math.floor(Math.sqrt(inner * inner - y * y)) : -1;
      const col = (x: number): number => x - band.lo;
      if (xi >= 0) out.fill(1, row + Math.max(0, col(-xi)), row + Math.min(m - 1, col(xi)) + 1);
      const edge = (from: number, to: number): void => {
        for (let x = Math.max(from, band.lo); x <= Math.min(to, band.hi); x++) {
          const k = r * m + col(x);
          out[row + col(x)] = coverage(radius - g.rho[k]!, g.w1[k]!, g.w2[k]!, g.invA[k]!, g.inv2ab[k]!);
        }
      };
      edge(-xo, -xi - 1);
      edge(xi + 1, xo);
    }
  });
  return tensor(out, [fc.length, m, m], { dtype, device });
}

// ---------------------------------------------------------------------------------------------------------------
// Cached bases
// ---------------------------------------------------------------------------------------------------------------

/**
 * The fixed-fc basis: aperture [M, M] and the phase basis [K + 1, M·M]: the K Zernike modes (evaluated once in
 * float64), then a constant row of −π/2, so that one matrix product with rows (θ, 0) and (θ, 1) yields both
 * φ and φ − π/2, whose cosines are cos φ and sin φ (pupil.ts → psf.ts, pupilStack).
 */
export interface FixedBasis {
  readonly band: PupilBand;
  readonly aperture: Tensor;
  readonly phaseBasis: Tensor;
}

/** The rescalable basis for per-sample cut-offs: monomials x̃^a ỹ^b on the band (x̃ = o/scale), see monomialBasis. */
export interface MonomialBasis {
  readonly band: PupilBand;
  /** Offsets are divided by this before taking powers, so that every monomial is ≤ 1 in magnitude on the band. */
  readonly scale: number;
  /** [nMono + 1, M·M]: the monomial images, then a constant row of −π/2 (as in FixedBasis). */
  readonly phaseBasis: Tensor;
  /** [K, nMono]: Z_k = Σ coefficient · x^a y^b in normalised pupil coordinates. */
  readonly coefficients: Tensor;
  /** [nMono]: total degree a + b of each monomial. */
  readonly degrees: Tensor;
}

const MAX_CACHE_ENTRIES = 64;
const cache = new Map<string, Tensor[]>();

/** A least-recently-used cache of kept tensors; evicted entries are freed. */
export function cached<T extends Tensor[]>(key: string, build: () => T): T {
  const hit = cache.get(key);
  if (hit && hit.every((t) => !t.isDisposed)) {
    cache.delete(key);
    cache.set(key, hit);
    return hit as T;
  }
  const made = build();
  for (const t of made) keep(t);
  cache.set(key, made);
  while (cache.size > MAX_CACHE_ENTRIES) {
    const [oldest, tensors] = cache.entries().next().value as [string, Tensor[]];
    cache.delete(oldest);
    for (const t of tensors) t.free();
  }
  return made;
}

/** Frees every cached basis (tests, or to release memory). */
export function clearPupilCache(): void {
  for (const tensors of cache.values()) for (const t of tensors) t.free();
  cache.clear();
  geometryCache.clear();
}

/**
 * A cached set of tensors in (dtype, device), derived from one float64 CPU original that `build` makes (once per
 * key, whatever the dtypes and devices asked for later).
 */
function cachedAs(key: string, dtype: DType, device: string, build: () => Tensor[]): Tensor[] {
  const base = cached(`${key}|float64|cpu`, build);
  if (dtype === 'float64' && device === 'cpu') return base;
  return cached(`${key}|${dtype}|${device}`, () => base.map((t) => t.to({ dtype, device })));
}

function bandKey(band: PupilBand): string {
  return `${band.pupilSize}:${band.lo}:${band.hi}`;
}

/**
 * Aperture and Zernike basis for one cut-off on a band, evaluated ONCE per (band, fc, indices, dtype, device) in
 * float64 and cached. Zernike values are those of the polynomials at the normalised coordinates (o/(P·fc)),
 * including outside the unit disk, where the aperture is zero.
 */
export function fixedBasis(band: PupilBand, fc: number, noll: readonly number[], dtype: DType, device: string): FixedBasis {
  const key = `fixed|${bandKey(band)}|${fc}|${noll.join(',')}`;
  const [aperture, zernike] = cachedAs(key, dtype, device, () => {
    const m = bandLength(band);
    const z = new Float64Array((noll.length + 1) * m * m);
    z.fill(-Math.PI / 2, noll.length * m * m);
    const scale = 1 / (band.pupilSize * fc);
    noll.forEach((j, k) => {
      const { n, m: mm } = nollToNM(j);
      const zk = zernikeEvaluator(n, mm);
      for (let r = 0; r < m; r++) {
        const v = (band.lo + r) * scale;
        for (let c = 0; c < m; c++) {
          const u = (band.lo + c) * scale;
          z[k * m * m + r * m + c] = zk(Math.hypot(u, v), Math.atan2(v, u));
        }
      }
    });
    return [tensor(apertureWeights(band, fc), [m, m]), tensor(z, [noll.length + 1, m * m])];
  });
  return { band, aperture: aperture!, phaseBasis: zernike! };
}

/**
 * The basis for per-sample cut-offs: every active Z_k is a polynomial in (u, v) = (x, y)/(P·fc), so with
 * x̃ = x/scale, Z_k = Σ c_{k,ab} g^(a+b) x̃^a ỹ^b where g = scale/(P·fc) is per sample. The monomial images
 * x̃^a ỹ^b (|·| ≤ 1 on the band) are cached per (band, indices, dtype, device); only the small coefficient
 * matrix is rescaled per sample, so a batch of mixed cut-offs costs one matrix product for its phases.
 */
export function monomialBasis(band: PupilBand, noll: readonly number[], dtype: DType, device: string): MonomialBasis {
  const key = `mono|${bandKey(band)}|${noll.join(',')}`;
  const scale = Math.max(-band.lo, band.hi, 1);
  const [monomials, coefficients, degrees] = cachedAs(key, dtype, device, () => {
    const expansions = noll.map((j) => zernikeMonomials(j));
    const powers: [number, number][] = [];
    const index = new Map<string, number>();
    for (const terms of expansions) {
      for (const t of terms) {
        const k = `${t.a},${t.b}`;
        if (!index.has(k)) {
          index.set(k, powers.length);
          powers.push([t.a, t.b]);
        }
      }
    }
    const coef = new Float64Array(noll.length * powers.length);
    expansions.forEach((terms, k) => {
      for (const t of terms) coef[k * powers.length + index.get(`${t.a},${t.b}`)!] = t.c;
    });
    const m = bandLength(band);
    const mono = new Float64Array((powers.length + 1) * m * m);
    mono.fill(-Math.PI / 2, powers.length * m * m);
    powers.forEach(([a, b], p) => {
      for (let r = 0; r < m; r++) {
        const y = (band.lo + r) / scale;
        for (let c = 0; c < m; c++) mono[p * m * m + r * m + c] = ((band.lo + c) / scale) ** a * y ** b;
      }
    });
    return [
      tensor(mono, [powers.length + 1, m * m]),
      tensor(coef, [noll.length, powers.length]),
      tensor(Float64Array.from(powers, ([a, b]) => a + b), [powers.length]),
    ];
  });
  return { band, scale, phaseBasis: monomials!, coefficients: coefficients!, degrees: degrees! };
}

/**
 * The DFT factors of the P-point FFT restricted to a band, for output positions x = 0 … ⌊S/2⌋ (the half the
 * matrix Fourier transform computes; x < 0 follows by symmetry: E(−x) = conj(E(x))):
 * E[x, k] = exp(−2πi·(lo + k)·x/P), as real and imaginary parts [⌊S/2⌋ + 1, M] (built in float64, cached).
 * With the pupil p on the band, E·p·Eᵀ over x, y ∈ [−⌊S/2⌋, ⌊S/2⌋] equals the centred S × S crop of
 * fftshift(FFT2(ifftshift(p))).
 */
export function dftFactors(band: PupilBand, psfSize: number, dtype: DType, device: string): { re: Tensor; im: Tensor } {
  const key = `dft|${bandKey(band)}|${psfSize}`;
  const [re, im] = cachedAs(key, dtype, device, () => {
    const m = bandLength(band);
    const p = band.pupilSize;
    const half = Math.floor(psfSize / 2) + 1;
    const re = new Float64Array(half * m);
    const im = new Float64Array(half * m);
    for (let x = 0; x < half; x++) {
      for (let k = 0; k < m; k++) {
        // Reduce o·x mod P exactly in integers before the trigonometry.
        const phase = ((((band.lo + k) * x) % p) + p) % p;
        const angle = (-2 * Math.PI * phase) / p;
        re[x * m + k] = Math.cos(angle);
        im[x * m + k] = Math.sin(angle);
      }
    }
    return [tensor(re, [half, m]), tensor(im, [half, m])];
  });
  return { re: re!, im: im! };
}
