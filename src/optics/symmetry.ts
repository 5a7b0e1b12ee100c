// The eight symmetries of the square pixel grid (the dihedral group of the square: flips of the column and row axes,
// and the transpose) and what each does to a PSF and to its Zernike coefficients.
//
// Why they matter: an image transformed by one of them, y∘R, is the transformed specimen blurred by the transformed
// PSF h∘R (convolution commutes with orthogonal maps of the plane), and h∘R is the PSF of the pupil phase φ∘R
// (h = |F(P·e^{−i2πφ})|², and the aperture disk is invariant). The noise model is pixel-wise, so it is invariant
// too, and the prior on θ (independent, symmetric bounds on every Noll 4–11 coefficient) maps onto itself, because
// each symmetry sends every mode to ± one mode of the same radial order n and |m|. So a network can be asked about
// y∘R and its answer for h∘R mapped back: identify's test-time augmentation (identify/identify.ts).
//
// Conventions (../shared/CONVENTIONS.md): x = column axis (rightward), y = row axis (downward), ϑ = atan2(y, x);
// for m ≠ 0 an even Noll index is the cosine term, an odd one the sine term (zernike.ts).
import type { Tensor } from '../engine/index.js';
import { nmToNoll, nollToNM } from './zernike.js';

/**
 * A symmetry of the grid as the pixel operations that apply it, in this order: flip the column axis (x → −x), flip
 * the row axis (y → −y), then transpose (x ↔ y). The transformed image is y∘R with R = Fx^a ∘ Fy^b ∘ T^c.
 */
export interface GridSymmetry {
  readonly flipX: boolean;
  readonly flipY: boolean;
  readonly transpose: boolean;
}

/** All eight, the identity first. */
export const GRID_SYMMETRIES: readonly GridSymmetry[] = Object.freeze(
  [false, true].flatMap((transpose) => [false, true].flatMap((flipY) => [false, true].map((flipX) => Object.freeze({ flipX, flipY, transpose })))),
);

type Generator = 'flipX' | 'flipY' | 'transpose';
/** The generators in the order applySymmetry performs them; every one is its own inverse, so undoing runs them backwards. */
const ORDER: readonly Generator[] = ['flipX', 'flipY', 'transpose'];
const UNDO_ORDER: readonly Generator[] = [...ORDER].reverse();

/** One generator on the last two axes (rows, columns) of a tensor. */
function pixelsUnder(t: Tensor, g: Generator): Tensor {
  const d = t.ndim;
  return g === 'transpose' ? t.transpose(d - 2, d - 1) : t.flip([g === 'flipX' ? d - 1 : d - 2]);
}

function applyGenerators<T>(value: T, s: GridSymmetry, order: readonly Generator[], step: (v: T, g: Generator) => T): T {
  return order.reduce((v, g) => (s[g] ? step(v, g) : v), value);
}

/**
 * Applies the symmetry to the last two axes (rows, columns) of a tensor of images or PSFs. A PSF array of odd side
 * centred on its middle pixel stays centred.
 */
export function applySymmetry(t: Tensor, s: GridSymmetry): Tensor {
  return applyGenerators(t, s, ORDER, pixelsUnder);
}

/** The inverse of applySymmetry. */
export function undoSymmetry(t: Tensor, s: GridSymmetry): Tensor {
  return applyGenerators(t, s, UNDO_ORDER, pixelsUnder);
}

/**
 * Z_{n,m}∘G for one generator G as Σ coefficient·Z_{n,m'} (pure trigonometry on ϑ):
 * x → −x sends ϑ to π − ϑ: cos mϑ → (−1)^m cos mϑ, sin mϑ → −(−1)^m sin mϑ;
 * y → −y sends ϑ to −ϑ: cos unchanged, sin negated;
 * x ↔ y sends ϑ to π/2 − ϑ: cos mϑ → cos(mπ/2) cos mϑ + sin(mπ/2) sin mϑ, sin mϑ → sin(mπ/2) cos mϑ − cos(mπ/2) sin mϑ.
 */
function modeUnder(n: number, m: number, g: Generator): [number, number][] {
  const a = Math.abs(m);
  const sign = a % 2 === 0 ? 1 : -1;
  if (a === 0) return [[m, 1]];
  if (g === 'flipX') return [[m, m > 0 ? sign : -sign]];
  if (g === 'flipY') return [[m, m > 0 ? 1 : -1]];
  const c = Math.round(Math.cos((a * Math.PI) / 2));
  const s = Math.round(Math.sin((a * Math.PI) / 2));
  const terms: [number, number][] = m > 0 ? [[a, c], [-a, s]] : [[a, s], [-a, -c]];
  return terms.filter(([, k]) => k !== 0);
}

/** θ' over the same Noll modes with Σ θ'_k Z_k = (Σ θ_j Z_j)∘G for one generator. */
function coefficientsUnder(theta: readonly number[], noll: readonly number[], g: Generator): number[] {
  const out = new Array<number>(noll.length).fill(0);
  noll.forEach((j, i) => {
    const { n, m } = nollToNM(j);
    for (const [mOut, k] of modeUnder(n, m, g)) {
      const at = noll.indexOf(nmToNoll(n, mOut));
      if (at < 0) throw new RangeError(`Noll ${j} maps to Noll ${nmToNoll(n, mOut)} under a grid symmetry, which is not among the modes`);
      out[at]! += k * theta[i]!;
    }
  });
  return out;
}

/**
 * The Zernike coefficients (over `noll`, which must hold each mode's partner of the same n and |m|) of φ∘R for
 * φ = Σ θ_j Z_j: the coefficients of the PSF applySymmetry(h(θ), s). Pure.
 */
export function thetaUnderSymmetry(theta: readonly number[], noll: readonly number[], s: GridSymmetry): number[] {
  // φ∘(Fx∘Fy∘T) = ((φ∘Fx)∘Fy)∘T: the generators act on the coefficients in the pixel operations' order.
  return applyGenerators([...theta], s, ORDER, (t, g) => coefficientsUnder(t, noll, g));
}

/** The inverse of thetaUnderSymmetry: θ from the coefficients of the transformed PSF. Pure. */
export function thetaFromSymmetric(thetaR: readonly number[], noll: readonly number[], s: GridSymmetry): number[] {
  return applyGenerators([...thetaR], s, UNDO_ORDER, (t, g) => coefficientsUnder(t, noll, g));
}
