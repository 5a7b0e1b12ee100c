// The demo's synthetic specimen and its spatially varying aberrations (pure functions of a seed).
import { filaments, spots } from '../data/procedural.js';
import { Rng } from '../data/rng.js';

/** A fluorescence-like specimen on [0, 1]: microtubule-like filaments plus sub-resolution spots, size × size. */
export function demoSpecimen(seed: number, size: number): Float32Array {
  const rng = new Rng(seed);
  const a = filaments(rng, size);
  const b = spots(rng, size);
  const out = new Float32Array(size * size);
  for (let i = 0; i < out.length; i++) out[i] = Math.min(1, 0.75 * a[i]! + 0.35 * b[i]!);
  return out;
}

/**
 * Noll 4–11 coefficients (waves) for tile (i, j) of an nx × ny grid: defocus grows from left to right, vertical
 * astigmatism changes sign from top to bottom, and a little coma points away from the field centre — the kind of
 * field dependence a tilted coverslip or an off-axis objective produces.
 */
export function demoAberrations(i: number, j: number, nx: number, ny: number): number[] {
  const u = nx > 1 ? i / (nx - 1) : 0.5; // 0 … 1 across columns
  const v = ny > 1 ? j / (ny - 1) : 0.5; // 0 … 1 down rows
  const defocus = 0.02 + 0.12 * u;
  const astigmatism = -0.08 + 0.16 * v;
  const comaX = 0.06 * (u - 0.5);
  const comaY = 0.06 * (v - 0.5);
  // Noll: 4 defocus, 5 oblique astig, 6 vertical astig, 7 vertical coma, 8 horizontal coma, 9, 10 trefoil, 11 spherical
  return [defocus, 0.02, astigmatism, comaY, comaX, 0, 0, 0.03];
}
