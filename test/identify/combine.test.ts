// How identify combines its patches: with a Zernike-head model, the twin-aligned weighted mean of the patches'
// coefficients (combineTheta) and ĥ = h(θ̄); checked against the definition and against the per-patch network
// outputs computed separately.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { full, noGrad, tensor, tidy, uniform, Generator } from '../../src/engine/index.js';
import { Identifier, PRESETS, twinSigns, ZERNIKE_HEAD_NOLL } from '../../src/model/identifier.js';
import { psfFromZernike } from '../../src/optics/index.js';
import { combineTheta, identifyRegion, patchStarts } from '../../src/identify/identify.js';

const signs = twinSigns(ZERNIKE_HEAD_NOLL);

test('combineTheta: patches that report the twin of θ are flipped back before averaging', () => {
  const theta = [0.1, -0.04, 0.03, 0.05, -0.02, 0.01, 0.0, 0.06];
  const twin = theta.map((v, j) => v * signs[j]!);
  // Naively averaging θ and its twin cancels the even-order modes (defocus, astigmatism, spherical).
  const naive = theta.map((v, j) => (v + twin[j]!) / 2);
  assert.ok(Math.abs(naive[0]!) < 1e-12, 'the test needs a mode that the twin flips');
  const got = combineTheta([theta, twin, twin, theta], [1, 2, 3, 1], signs);
  got.forEach((v, j) => assert.ok(Math.abs(Math.abs(v) - Math.abs(theta[j]!)) < 1e-12, `mode ${j}: ${v} vs ±${theta[j]}`));
  // the mean is one member of the pair: the heaviest patch's (the twin, weight 3)
  got.forEach((v, j) => assert.ok(Math.abs(v - twin[j]!) < 1e-12));
});

test('combineTheta: the weighted mean of noisy estimates of one θ (some reported as its twin)', () => {
  const theta = [0.08, 0.02, -0.05, 0.03, 0.04, -0.01, 0.02, 0.03];
  const rng = new Generator(3);
  const noise = noGrad(() => uniform(rng, [6, 8], { low: -0.01, high: 0.01 }).toArray());
  const weights = [1, 0.5, 2, 1.5, 1, 0.7];
  const rows = weights.map((_, i) => theta.map((v, j) => (v + noise[i * 8 + j]!) * (i % 2 ? signs[j]! : 1)));
  const total = weights.reduce((a, b) => a + b, 0);
  // reference: align by hand to θ's own member, then the weighted mean
  const want = theta.map((_, j) => rows.reduce((a, r, i) => a + weights[i]! * r[j]! * (i % 2 ? signs[j]! : 1), 0) / total);
  const got = combineTheta(rows, weights, signs);
  const wantTwin = want.map((v, j) => v * signs[j]!);
  const near = (a: number[]) => Math.max(...a.map((v, j) => Math.abs(v - got[j]!)));
  assert.ok(Math.min(near(want), near(wantTwin)) < 1e-12, `got ${got} want ±${want}`);
  rng.dispose();
});

/**
 * A tiny untrained Zernike-head network whose output layer is amplified: untrained, it barely tells patches apart;
 * amplified, they get different θ̂ (and averaging PSFs differs from h(θ̄)).
 */
function tinyZernikeModel(seed: number): Identifier {
  const model = new Identifier({ ...PRESETS.tiny, head: 'zernike', conditionHead: true, init: 'he' }, seed);
  model.eval();
  const out = model.namedParameters().find(([k]) => k.startsWith('zernike.') && k.endsWith('weight'))![1];
  noGrad(() => out.mul_(50));
  return model;
}

test('identifyRegion with a Zernike-head model returns h(θ̄) of its patches, θ̄ from the per-patch outputs', () => {
  const model = tinyZernikeModel(5);
  const size = 96;
  const p = 64;
  const gen = new Generator(9);
  // patches of different texture: noise whose amplitude grows across the image
  const image = noGrad(() => uniform(gen, [size, size], { low: 0, high: 1 }).data() as Float32Array).map((v, i) => v * (1 + ((i % size) * (i / size)) / 500));
  const fc = 0.2;
  const thetaMax = 0.1;
  const { psf, patches } = identifyRegion(model, image, size, size, { x: 0, y: 0, width: size, height: size }, { fc, thetaMax, patchSize: p });
  const starts = patchStarts(size, p, 0);
  assert.equal(patches, starts.length ** 2);
  // reference: each patch through the network on its own, weighted by its standard deviation
  const rows: number[][] = [];
  const weights: number[] = [];
  for (const y0 of starts) {
    for (const x0 of starts) {
      const buf = new Float32Array(p * p);
      for (let r = 0; r < p; r++) buf.set(image.subarray((y0 + r) * size + x0, (y0 + r) * size + x0 + p), r * p);
      const mean = buf.reduce((a, b) => a + b, 0) / buf.length;
      weights.push(Math.sqrt(buf.reduce((a, b) => a + (b - mean) ** 2, 0) / buf.length));
      rows.push(noGrad(() => tidy(() => model.identifyDetailed(tensor(buf, [1, 1, p, p]), full([1], fc), full([1], thetaMax)).theta!.toArray())));
    }
  }
  const want = noGrad(() => psfFromZernike(model.optics!, tensor(combineTheta(rows, weights, signs), [1, 8]), { fc: [fc] }));
  const diff = noGrad(() => psf.sub(want.reshape([psf.size(0), psf.size(1)])).abs().max().item());
  const peak = noGrad(() => want.max().item());
  assert.ok(diff < 1e-5 * peak, `max difference ${diff} (peak ${peak})`);
  assert.ok(Math.abs(noGrad(() => psf.sum().item()) - 1) < 1e-5);
  // the case is not trivial: the patches disagree, and the mean of their PSFs is not h(θ̄)
  const spread = Math.max(...rows[0]!.map((_, j) => Math.max(...rows.map((r) => r[j]!)) - Math.min(...rows.map((r) => r[j]!))));
  assert.ok(spread > 0.02, `patches' θ̂ spread ${spread}`);
  const meanOfPsfs = noGrad(() =>
    tidy(() => {
      const hs = psfFromZernike(model.optics!, tensor(rows.flat(), [rows.length, 8]), { fc: rows.map(() => fc) });
      const w = tensor(weights, [rows.length, 1, 1]);
      return hs.mul(w).sum(0).div(w.sum()).sub(want.reshape([psf.size(0), psf.size(1)])).abs().max().item();
    }),
  );
  assert.ok(meanOfPsfs > 1e-3 * peak, `mean of PSFs differs from h(θ̄) by only ${meanOfPsfs}`);
  gen.dispose();
  model.dispose();
});

test('maxPatches keeps the patches of highest contrast: a textured quadrant on a flat field', () => {
  const model = tinyZernikeModel(6);
  const size = 128;
  const p = 32;
  const gen = new Generator(11);
  // a flat field with faint noise (std 0.003) and a textured lower-right quadrant (uniform [0, 1): std 0.29)
  const image = noGrad(() => uniform(gen, [size, size], { low: 0, high: 1 }).data() as Float32Array).map((v, i) => {
    const r = Math.floor(i / size);
    const c = i % size;
    return r >= 64 && c >= 64 ? v : 0.5 + 0.01 * (v - 0.5);
  });
  const opts = { fc: 0.2, thetaMax: 0.1, patchSize: p };
  const whole = { x: 0, y: 0, width: size, height: size };
  // 16 patches in the lattice, 4 of them textured: with maxPatches 4 only those are kept, so the estimate equals
  // that of the textured quadrant alone (whose lattice is exactly those 4 patches)
  const picked = identifyRegion(model, image, size, size, whole, { ...opts, maxPatches: 4 });
  const quadrant = identifyRegion(model, image, size, size, { x: 64, y: 64, width: 64, height: 64 }, opts);
  const all = identifyRegion(model, image, size, size, whole, opts);
  assert.equal(picked.patches, 4);
  assert.equal(all.patches, 16);
  const diff = (a: typeof picked.psf, b: typeof picked.psf) => noGrad(() => a.sub(b).abs().max().item());
  const peak = noGrad(() => quadrant.psf.max().item());
  assert.ok(diff(picked.psf, quadrant.psf) < 1e-6 * peak, `maxPatches 4 vs the quadrant: ${diff(picked.psf, quadrant.psf)}`);
  // not trivial: the flat patches change the estimate when they are included
  assert.ok(diff(all.psf, quadrant.psf) > 1e-4 * peak, `all 16 vs the quadrant: ${diff(all.psf, quadrant.psf)}`);
  assert.throws(() => identifyRegion(model, image, size, size, whole, { ...opts, maxPatches: 0 }), /max-patches/);
  gen.dispose();
  model.dispose();
});
