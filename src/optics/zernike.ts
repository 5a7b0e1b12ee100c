// Zernike polynomials: index conversions, radial polynomials, evaluation, names, parsing.
//
// Conventions (../shared/CONVENTIONS.md, binding):
// - Single index **Noll** (j ≥ 1) by default; ANSI/OSA (j ≥ 0) and explicit (n, m) are also accepted. Within
//   radial order n, |m| increases; for m ≠ 0 an even Noll index is the cosine term (m > 0), an odd one the sine
//   term (m < 0).
// - Z_n^m(ρ, ϑ) = N·R_n^m(ρ)·cos(mϑ) (m ≥ 0) or N·R_n^|m|(ρ)·sin(|m|ϑ) (m < 0), with Noll's RMS normalisation
//   N = √(n+1) (m = 0) or √(2(n+1)) (m ≠ 0): the mean of Z_i·Z_j over the unit disk is δ_ij.
// - ϑ = atan2(y, x) with x = the column axis (increasing to the right) and y = the row axis (increasing
//   DOWNWARD): on an image, tilt y (Noll 3) increases toward the bottom rows.
// - Coefficients are in waves (phase = 2π·θ·Z radians).
import { usageError } from '../errors.js';

/** A Zernike mode as (radial order n ≥ 0, azimuthal frequency m), |m| ≤ n, n − |m| even. */
export interface ZernikeNM {
  readonly n: number;
  readonly m: number;
}

/** Largest radial order supported (Noll ≤ 231): beyond it the factorial sums lose exactness in double precision. */
export const MAX_RADIAL_ORDER = 20;

function checkIndex(j: number, min: number, what: string): void {
  if (!Number.isInteger(j) || j < min) throw usageError('zernike', `${what} index must be an integer ≥ ${min}, got ${j}`);
}

function checkNM(n: number, m: number): void {
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 0 || Math.abs(m) > n || (n - Math.abs(m)) % 2 !== 0) {
    throw usageError('zernike', `(n, m) must be integers with |m| ≤ n and n − |m| even, got (${n}, ${m})`);
  }
  if (n > MAX_RADIAL_ORDER) throw usageError('zernike', `radial order n must be ≤ ${MAX_RADIAL_ORDER}, got ${n}`);
}

/** Noll index (j ≥ 1) → (n, m). */
export function nollToNM(j: number): ZernikeNM {
  checkIndex(j, 1, 'Noll');
  let n = 0;
  while (((n + 1) * (n + 2)) / 2 < j) n++;
  if (n > MAX_RADIAL_ORDER) throw usageError('zernike', `Noll index ${j} has radial order ${n} > ${MAX_RADIAL_ORDER}`);
  const p = j - (n * (n + 1)) / 2 - 1; // 0-based position within order n
  const absM = n % 2 === 0 ? 2 * Math.floor((p + 1) / 2) : 2 * Math.floor(p / 2) + 1;
  const m = absM === 0 ? 0 : j % 2 === 0 ? absM : -absM;
  return { n, m };
}

/** (n, m) → Noll index. */
export function nmToNoll(n: number, m: number): number {
  checkNM(n, m);
  const start = (n * (n + 1)) / 2 + 1;
  for (let j = start; j < start + n + 1; j++) {
    const t = nollToNM(j);
    if (t.m === m) return j;
  }
  throw new Error(`unreachable: no Noll index for (${n}, ${m})`);
}

/** ANSI/OSA index (j ≥ 0) → (n, m): j = (n(n+2) + m)/2. */
export function ansiToNM(j: number): ZernikeNM {
  checkIndex(j, 0, 'ANSI');
  let n = 0;
  while (((n + 1) * (n + 2)) / 2 <= j) n++; // order n holds ANSI indices n(n+1)/2 … (n+1)(n+2)/2 − 1
  const m = 2 * j - n * (n + 2);
  checkNM(n, m);
  return { n, m };
}

/** (n, m) → ANSI/OSA index. */
export function nmToAnsi(n: number, m: number): number {
  checkNM(n, m);
  return (n * (n + 2) + m) / 2;
}

export function nollToAnsi(j: number): number {
  const { n, m } = nollToNM(j);
  return nmToAnsi(n, m);
}

export function ansiToNoll(j: number): number {
  const { n, m } = ansiToNM(j);
  return nmToNoll(n, m);
}

const FACTORIAL: number[] = [1];
for (let i = 1; i <= 2 * MAX_RADIAL_ORDER + 1; i++) FACTORIAL[i] = FACTORIAL[i - 1]! * i;

/**
 * Coefficients of the radial polynomial R_n^|m|(ρ) = Σ_k c_k ρ^(n−2k), k = 0 … (n−|m|)/2, with
 * c_k = (−1)^k (n−k)! / (k! ((n+|m|)/2−k)! ((n−|m|)/2−k)!).
 */
export function radialCoefficients(n: number, m: number): number[] {
  checkNM(n, m);
  const a = Math.abs(m);
  const out: number[] = [];
  for (let k = 0; k <= (n - a) / 2; k++) {
    const c = FACTORIAL[n - k]! / (FACTORIAL[k]! * FACTORIAL[(n + a) / 2 - k]! * FACTORIAL[(n - a) / 2 - k]!);
    out.push(k % 2 === 0 ? c : -c);
  }
  return out;
}

/** R_n^|m|(ρ). */
export function radial(n: number, m: number, rho: number): number {
  const c = radialCoefficients(n, m);
  let s = 0;
  for (let k = 0; k < c.length; k++) s += c[k]! * rho ** (n - 2 * k);
  return s;
}

/** Noll's RMS normalisation √(n+1) (m = 0) or √(2(n+1)). */
export function nollNormalisation(n: number, m: number): number {
  return m === 0 ? Math.sqrt(n + 1) : Math.sqrt(2 * (n + 1));
}

/** Z_n^m as a function of polar pupil coordinates, with its coefficients computed once (for evaluation on grids). */
export function zernikeEvaluator(n: number, m: number): (rho: number, theta: number) => number {
  const c = radialCoefficients(n, m);
  const norm = nollNormalisation(n, m);
  return (rho, theta) => {
    let r = 0;
    for (let k = 0; k < c.length; k++) r += c[k]! * rho ** (n - 2 * k);
    return m >= 0 ? norm * r * Math.cos(m * theta) : norm * r * Math.sin(-m * theta);
  };
}

/** Z_n^m at polar pupil coordinates (ρ, ϑ): ρ = |f|/fc, ϑ = atan2(y, x) (y = row axis, downward). */
export function zernikeNM(n: number, m: number, rho: number, theta: number): number {
  return zernikeEvaluator(n, m)(rho, theta);
}

/** Z_j (Noll) at polar pupil coordinates. */
export function zernike(noll: number, rho: number, theta: number): number {
  const { n, m } = nollToNM(noll);
  return zernikeNM(n, m, rho, theta);
}

/**
 * Z_j (Noll) as a polynomial in Cartesian pupil coordinates (x = column axis, y = row axis, both divided by fc):
 * terms {a, b, c} meaning c·x^a·y^b. Exact (a sum of products of binomial and radial coefficients); used where a
 * per-sample cut-off rescales the coordinates, since x^a y^b scales by s^(a+b).
 */
export function zernikeMonomials(noll: number): { a: number; b: number; c: number }[] {
  const { n, m } = nollToNM(noll);
  const absM = Math.abs(m);
  const norm = nollNormalisation(n, m);
  const radialC = radialCoefficients(n, m);
  const terms = new Map<string, { a: number; b: number; c: number }>();
  const add = (a: number, b: number, c: number): void => {
    const key = `${a},${b}`;
    const t = terms.get(key);
    if (t) t.c += c;
    else terms.set(key, { a, b, c });
  };
  // R·cos(|m|ϑ) = Σ_k c_k (x²+y²)^((n−|m|)/2−k) · Re((x+iy)^|m|); R·sin(|m|ϑ) uses Im.
  for (let k = 0; k < radialC.length; k++) {
    const p = (n - absM) / 2 - k; // power of (x² + y²)
    for (let t = 0; t <= absM; t++) {
      // (x + iy)^|m| term: C(|m|, t) x^(|m|−t) (iy)^t; i^t is real for even t, imaginary for odd t.
      const wantOdd = m < 0;
      if ((t % 2 === 1) !== wantOdd) continue;
      const sign = Math.floor(t / 2) % 2 === 0 ? 1 : -1;
      const binomMT = FACTORIAL[absM]! / (FACTORIAL[t]! * FACTORIAL[absM - t]!);
      for (let q = 0; q <= p; q++) {
        // (x² + y²)^p term: C(p, q) x^(2(p−q)) y^(2q)
        const binomPQ = FACTORIAL[p]! / (FACTORIAL[q]! * FACTORIAL[p - q]!);
        add(absM - t + 2 * (p - q), t + 2 * q, norm * radialC[k]! * sign * binomMT * binomPQ);
      }
    }
  }
  return [...terms.values()].filter((t) => t.c !== 0);
}

/** Conventional names of Noll 1–11 (these conventions: x = columns, y = rows downward). */
export const ZERNIKE_NAMES: Readonly<Record<number, string>> = Object.freeze({
  1: 'piston',
  2: 'tilt x',
  3: 'tilt y',
  4: 'defocus',
  5: 'oblique astigmatism',
  6: 'vertical astigmatism',
  7: 'vertical coma',
  8: 'horizontal coma',
  9: 'vertical trefoil',
  10: 'oblique trefoil',
  11: 'primary spherical',
});

/** A readable name: the conventional one for Noll 1–11, else "Z(n,m)". */
export function zernikeName(noll: number): string {
  const name = ZERNIKE_NAMES[noll];
  if (name) return name;
  const { n, m } = nollToNM(noll);
  return `Z(${n},${m})`;
}

/** Zernike coefficients as parallel arrays: Noll indices and amplitudes in waves. */
export interface ZernikeCoefficients {
  readonly noll: readonly number[];
  readonly waves: readonly number[];
}

/**
 * Parses "4:0.1,7:-0.05" (index:waves, comma-separated; whitespace ignored) into Noll indices and waves.
 * `indexing: 'ansi'` reads the indices as ANSI/OSA (j ≥ 0) and converts them to Noll. An empty string gives no
 * terms. Duplicate indices, malformed terms and non-finite amplitudes are refused (param 'zernike').
 */
export function parseZernikeCoefficients(text: string, indexing: 'noll' | 'ansi' = 'noll'): ZernikeCoefficients {
  if (indexing !== 'noll' && indexing !== 'ansi') throw usageError('zernikeIndexing', `indexing must be 'noll' or 'ansi', got '${String(indexing)}'`);
  const noll: number[] = [];
  const waves: number[] = [];
  const trimmed = text.trim();
  if (trimmed === '') return Object.freeze({ noll: Object.freeze(noll), waves: Object.freeze(waves) });
  for (const raw of trimmed.split(',')) {
    const term = raw.trim();
    const match = /^([+]?\d+)\s*:\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)$/.exec(term);
    if (!match) {
      throw usageError('zernike', `cannot parse Zernike term '${term}' in '${text}': expected index:waves, e.g. "4:0.1,7:-0.05"`);
    }
    const index = Number(match[1]);
    const value = Number(match[2]);
    if (!Number.isFinite(value)) throw usageError('zernike', `Zernike amplitude in '${term}' is not finite`);
    const j = indexing === 'noll' ? (nollToNM(index), index) : ansiToNoll(index);
    if (noll.includes(j)) throw usageError('zernike', `Zernike index ${index} appears twice in '${text}'`);
    noll.push(j);
    waves.push(value);
  }
  return Object.freeze({ noll: Object.freeze(noll), waves: Object.freeze(waves) });
}

/**
 * The coefficient vector aligned with `active` (e.g. an Optics' zernikeNoll), zeros where `coefficients` has no
 * term. Refuses a term whose index is not active (it would be silently dropped otherwise).
 */
export function coefficientsToTheta(active: readonly number[], coefficients: ZernikeCoefficients): number[] {
  const theta = active.map(() => 0);
  coefficients.noll.forEach((j, i) => {
    const k = active.indexOf(j);
    if (k < 0) {
      throw usageError('zernike', `Zernike term Noll ${j} (${zernikeName(j)}) is not among the active indices [${active.join(', ')}]; add it to zernikeNoll`);
    }
    theta[k] = coefficients.waves[i]!;
  });
  return theta;
}
