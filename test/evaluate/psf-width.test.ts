// PSF width metrics against analytic truth: sampled Gaussians (RMS and equivalent radius √2·σ, FWHM 2.3548·σ),
// the analytic Airy pattern (equivalent radius 1/(π·fc), FWHM 0.5145/fc), and psfid's own diffraction PSFs, which
// must widen as fc falls, in proportion 1/fc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad, zeros } from '../../src/engine/index.js';
import { psfFromZernike, resolveOptics } from '../../src/optics/index.js';
import { gradientEnergy, psfCentroid, psfEquivalentRadius, psfFwhm, psfRmsRadius } from '../../src/evaluate/metrics.js';
import { airyPattern } from '../optics/oracles.js';

/** An isotropic Gaussian exp(−((x−cx)² + (y−cy)²)/2σ²) sampled at pixel centres, sum 1. */
function gaussian(size: number, sigma: number, cx = Math.floor(size / 2), cy = Math.floor(size / 2)): Float64Array {
  const g = new Float64Array(size * size);
  let s = 0;
  for (let r = 0; r < size; r++) for (let c = 0; c < size; c++) s += g[r * size + c] = Math.exp(-((c - cx) ** 2 + (r - cy) ** 2) / (2 * sigma * sigma));
  return g.map((v) => v / s);
}

function airyOf(fc: number): Float32Array {
  return noGrad(() => psfFromZernike(resolveOptics({ fc, psfSize: 31 }), zeros([1, 8])).data() as Float32Array);
}

test('RMS radius of a sampled Gaussian is √2·σ (to 1e-6 relative), about its centroid wherever it sits', () => {
  // sampling at unit pitch changes the second moment by ~exp(−2π²σ²) relative (Poisson summation): < 1e-8 for σ ≥ 1
  // (in a 41² window the truncated tail, beyond 6.7σ, is negligible too)
  for (const sigma of [1, 1.5, 2, 3]) {
    const r = psfRmsRadius(gaussian(41, sigma), 41);
    assert.ok(Math.abs(r / (Math.SQRT2 * sigma) - 1) < 1e-6, `σ = ${sigma}: RMS radius ${r}, expected ${Math.SQRT2 * sigma}`);
  }
  // off-centre and between pixels (centroid 14.3, 25.6), scaled, with a negative undershoot that must count as 0
  const g = gaussian(41, 2, 14.3, 25.6).map((v) => 7 * v);
  g[0] = -1e-3;
  const c = psfCentroid(g, 41);
  assert.ok(Math.abs(c.x - 14.3) < 1e-6 && Math.abs(c.y - 25.6) < 1e-6, `centroid ${c.x}, ${c.y}`);
  assert.ok(Math.abs(psfRmsRadius(g, 41) / (2 * Math.SQRT2) - 1) < 1e-6);
  // a non-square plane (width 41, height 31) is read row-major
  const w = 41, h = 31, rect = new Float64Array(w * h);
  for (let r = 0; r < h; r++) for (let col = 0; col < w; col++) rect[r * w + col] = Math.exp(-((col - 25) ** 2 + (r - 12) ** 2) / 8);
  assert.ok(Math.abs(psfRmsRadius(rect, w, h) / (2 * Math.SQRT2) - 1) < 1e-6);
  assert.deepEqual(Object.values(psfCentroid(rect, w, h)).map((v) => Math.round(v * 1e6) / 1e6), [25, 12]);
});

test('equivalent radius √(Σh / π·max h) of a Gaussian centred on a pixel is √2·σ (1e-6) and FWHM is 2.3548·σ (3 %)', () => {
  for (const sigma of [1.5, 2, 3]) {
    const g = gaussian(31, sigma);
    const eq = psfEquivalentRadius(g, 31);
    assert.ok(Math.abs(eq / (Math.SQRT2 * sigma) - 1) < 1e-6, `σ = ${sigma}: equivalent radius ${eq}`);
    const fwhm = psfFwhm(g, 31);
    const truth = 2 * Math.sqrt(2 * Math.LN2) * sigma;
    assert.ok(Math.abs(fwhm / truth - 1) < 0.03, `σ = ${sigma}: FWHM ${fwhm}, expected ${truth}`);
  }
});

test('the analytic Airy pattern: equivalent radius 1/(π·fc) (0.5 % in a 201² window) and FWHM 0.5145/fc (3 %)', () => {
  // the window loses ≈ 2/(π·v) of the energy, v = 2π·fc·100: ≤ 0.6 %, so the radius reads ≤ 0.3 % low
  for (const fc of [0.18, 0.25]) {
    const a = airyPattern(fc, 201);
    const eq = psfEquivalentRadius(a, 201);
    assert.ok(Math.abs(eq * Math.PI * fc - 1) < 0.005, `fc ${fc}: equivalent radius ${eq}, expected ${1 / (Math.PI * fc)}`);
    const fwhm = psfFwhm(a, 201);
    assert.ok(Math.abs(fwhm * fc / 0.5145 - 1) < 0.03, `fc ${fc}: FWHM ${fwhm}, expected ${0.5145 / fc}`);
  }
});

test("psfid's aberration-free PSF widens as fc falls, in proportion 1/fc", () => {
  const fcs = [0.125, 0.15, 0.1875, 0.22, 0.25];
  const psfs = fcs.map(airyOf);
  const eq = psfs.map((h) => psfEquivalentRadius(h, 31));
  const fwhm = psfs.map((h) => psfFwhm(h, 31));
  const rms = psfs.map((h) => psfRmsRadius(h, 31));
  for (const [k, fc] of fcs.entries()) {
    // the 31² crop holds 94.6–97.3 % of the Airy energy, and h is renormalised inside it: the peak rises by that much
    assert.ok(eq[k]! * Math.PI * fc > 0.97 && eq[k]! * Math.PI * fc < 1, `fc ${fc}: equivalent radius ${eq[k]} vs 1/(π·fc) = ${1 / (Math.PI * fc)}`);
    // the same crop of the analytic pattern gives the same value
    assert.ok(Math.abs(eq[k]! / psfEquivalentRadius(airyPattern(fc, 31), 31) - 1) < 2e-3);
    assert.ok(Math.abs(fwhm[k]! * fc / 0.5145 - 1) < 0.04, `fc ${fc}: FWHM ${fwhm[k]} vs 0.5145/fc = ${0.5145 / fc}`);
    if (k > 0) {
      // every measure falls as fc rises (the RMS radius too, though the Airy tails make it window-dependent)
      assert.ok(eq[k]! < eq[k - 1]! && fwhm[k]! < fwhm[k - 1]! && rms[k]! < rms[k - 1]!, `not narrower at fc ${fc}`);
    }
  }
  // halving fc doubles the width (equivalent radius to 1.5 %, FWHM to 4 %)
  assert.ok(Math.abs(eq[0]! / eq[4]! - 2) < 0.03, `equivalent radius ratio ${eq[0]! / eq[4]!}`);
  assert.ok(Math.abs(fwhm[0]! / fwhm[4]! - 2) < 0.08, `FWHM ratio ${fwhm[0]! / fwhm[4]!}`);
});

test('width metrics refuse bad input with a message naming the function', () => {
  assert.throws(() => psfRmsRadius(new Float32Array(30), 31), /psfRmsRadius: expected 31×31/);
  assert.throws(() => psfEquivalentRadius(new Float32Array(9), 3), /no positive value/);
  assert.throws(() => psfFwhm(Float32Array.from([0, 1, Number.NaN, 0]), 2), /non-finite/);
  assert.ok(Number.isNaN(psfFwhm(new Float32Array(9).fill(1), 3)), 'a flat PSF has no half-maximum crossing');
});

test('gradient energy: exact on a ramp, and larger for a sharp edge than for a blurred one', () => {
  const w = 8, h = 5;
  const ramp = Float64Array.from({ length: w * h }, (_, i) => 3 * (i % w) + 2 * Math.floor(i / w));
  assert.equal(gradientEnergy(ramp, w, h), 9 + 4);
  const edge = (soft: number) => Float64Array.from({ length: 32 * 32 }, (_, i) => 1 / (1 + Math.exp(-((i % 32) - 15.5) / soft)));
  assert.ok(gradientEnergy(edge(0.3), 32, 32) > gradientEnergy(edge(3), 32, 32));
  assert.throws(() => gradientEnergy(new Float32Array(4), 2, 3), /gradientEnergy/);
});
