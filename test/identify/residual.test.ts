// The Zernike head's pixel correction (architecture.psfResidual): ĥ = max(h(θ̂) + r, 0) renormalised; grown from a
// model without it (--init-from), it starts as that model exactly; identify averages the patches' corrections with
// their θ̂, so one patch gives the network's own output; a bad architecture is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { full, noGrad, tensor, uniform, Generator } from '../../src/engine/index.js';
import { Identifier, PRESETS, withPsfResidual } from '../../src/model/identifier.js';
import { psfFromZernike } from '../../src/optics/index.js';
import { identifyRegion } from '../../src/identify/identify.js';
import { loadInitialWeights } from '../../src/train/checkpoint.js';
import { withSavedNetwork, ZERNIKE_TINY as zernikeTiny } from './tiny.js';


test('withPsfResidual: h + r clipped at 0 and renormalised; a correction proportional to h changes nothing', () => {
  const h = noGrad(() => psfFromZernike(new Identifier(zernikeTiny, 1).optics!, tensor([0.05, 0, 0, 0.03, 0, 0, 0, 0, 0, 0.04, -0.02, 0, 0, 0, 0, 0], [2, 8]), { fc: [0.2, 0.15] }));
  const S = h.size(1);
  // r = c·h with c > −1 only rescales h: the renormalised result is h
  const scaled = noGrad(() => withPsfResidual(h, h.mul(0.7)).sub(h).abs().max().item());
  assert.ok(scaled < 1e-7, `${scaled}`);
  // a correction that drives pixels negative: those are 0, the rest renormalised (reference by hand on the CPU)
  const r = noGrad(() => uniform(new Generator(4), [2, S, S], { low: -0.01, high: 0.01 }));
  const got = noGrad(() => withPsfResidual(h, r).toArray());
  const hv = h.toArray();
  const rv = r.toArray();
  for (let b = 0; b < 2; b++) {
    const c = Array.from({ length: S * S }, (_, i) => Math.max(hv[b * S * S + i]! + rv[b * S * S + i]!, 0));
    const sum = c.reduce((a, v) => a + v, 0);
    assert.ok(c.some((v) => v === 0), 'the case needs clipped pixels');
    c.forEach((v, i) => assert.ok(Math.abs(got[b * S * S + i]! - v / sum) < 1e-6, `sample ${b} pixel ${i}`));
  }
  assert.equal(withPsfResidual(h, null), h);
});

test('a psfResidual model grown --init-from a Zernike-head model starts as that model; other missing layers are still refused', () => {
  withSavedNetwork(zernikeTiny, 3, (base, file) => {
    const y = noGrad(() => uniform(new Generator(2), [3, 1, 32, 32]));
    const fc = tensor([0.13, 0.2, 0.24]);
    const tm = tensor([0.03, 0.1, 0.15]);
    // a linear correction, and one with a hidden layer (whose output layer starts at zero)
    for (const hidden of [0, 16]) {
      const grown = new Identifier({ ...zernikeTiny, psfResidual: true, psfResidualHidden: hidden }, 8);
      loadInitialWeights(grown, file);
      grown.eval();
      assert.equal(grown.numParameters() > base.numParameters(), true);
      const want = base.identify(y, fc, tm);
      const diff = noGrad(() => grown.identify(y, fc, tm).sub(want).abs().max().item());
      // the grown model renormalises h + 0 by its sum, which is 1 only to float32 rounding, so the two may differ by
      // an ulp or so of the peak (one ulp, 7.5e-9, on a CPU whose sum rounds differently); a correction layer that
      // did not start at zero moves pixels by orders of magnitude more
      const peak = noGrad(() => want.max().item());
      assert.ok(diff <= 4 * 2 ** -24 * peak, `hidden ${hidden}: ${diff} against a peak of ${peak}`);
    }
    // a model with more hidden layers than the file is not "grown": refused, naming the file
    assert.throws(() => loadInitialWeights(new Identifier({ ...zernikeTiny, headLayers: 2, psfResidual: true }, 0), file), (e: Error) => e.message.includes(file) && /not this configuration/.test(e.message));
    // and a pixel-head model cannot have the correction
    assert.throws(() => new Identifier({ ...PRESETS.tiny, psfResidual: true }), /psfResidual needs the 'zernike' head/);
  });
});

test('identify with a psfResidual model: one patch gives the network’s own ĥ; several average the corrections', () => {
  const model = new Identifier({ ...zernikeTiny, psfResidual: true }, 5);
  model.eval();
  // a non-zero correction (trained models have one; a fresh one starts at 0)
  const w = model.namedParameters().find(([k]) => k === 'residual.weight')![1];
  noGrad(() => w.copy_(uniform(new Generator(6), w.shape, { low: -2, high: 2 })));
  const p = 32;
  const image = noGrad(() => uniform(new Generator(7), [p * 2, p * 2], { low: 0, high: 1 }).data() as Float32Array).map((v, i) => v * (1 + (i % (2 * p)) / 20));
  const fc = 0.2;
  const thetaMax = 0.1;
  const opts = { fc, thetaMax, patchSize: p };
  const patch = (x0: number, y0: number) => {
    const buf = new Float32Array(p * p);
    for (let r = 0; r < p; r++) buf.set(image.subarray((y0 + r) * 2 * p + x0, (y0 + r) * 2 * p + x0 + p), r * p);
    return buf;
  };
  const one = identifyRegion(model, image, 2 * p, 2 * p, { x: p, y: 0, width: p, height: p }, opts);
  const direct = noGrad(() => model.identify(tensor(patch(p, 0), [1, 1, p, p]), full([1], fc), full([1], thetaMax)));
  const S = model.config.psfSize;
  const d1 = noGrad(() => one.psf.sub(direct.reshape([S, S])).abs().max().item());
  const zernikeOnly = noGrad(() => psfFromZernike(model.optics!, model.identifyDetailed(tensor(patch(p, 0), [1, 1, p, p]), full([1], fc), full([1], thetaMax)).theta!, { fc: [fc] }));
  const correction = noGrad(() => direct.sub(zernikeOnly).abs().max().item());
  assert.ok(correction > 1e-3 * noGrad(() => direct.max().item()), `the correction is too small to test: ${correction}`);
  assert.ok(d1 < 1e-6, `one patch: ${d1}`);
  // four patches: ĥ = max(h(θ̄) + r̄, 0) renormalised, r̄ the std-weighted mean of the patches' corrections
  const all = identifyRegion(model, image, 2 * p, 2 * p, { x: 0, y: 0, width: 2 * p, height: 2 * p }, opts);
  const corners = [[0, 0], [p, 0], [0, p], [p, p]] as const;
  const weights = corners.map(([x0, y0]) => {
    const b = patch(x0, y0);
    const m = b.reduce((a, v) => a + v, 0) / b.length;
    return Math.sqrt(b.reduce((a, v) => a + (v - m) ** 2, 0) / b.length);
  });
  const residuals = corners.map(([x0, y0]) => noGrad(() => model.identifyTheta(tensor(patch(x0, y0), [1, 1, p, p]), full([1], fc), full([1], thetaMax))!.residual!.toArray()));
  const total = weights.reduce((a, v) => a + v, 0);
  const rMean = residuals[0]!.map((_, i) => residuals.reduce((a, r, k) => a + weights[k]! * r[i]!, 0) / total);
  // the Zernike part: h(θ̄) of the same patches is what identifyRegion computes for a plain Zernike head (checked in
  // combine.test.ts); recover it here as the combined estimate of the same weights without the correction
  const plain = new Identifier(zernikeTiny, 5);
  plain.loadStateDict(new Map(model.namedParameters().filter(([k]) => !k.startsWith('residual.'))));
  plain.eval();
  const hBar = identifyRegion(plain, image, 2 * p, 2 * p, { x: 0, y: 0, width: 2 * p, height: 2 * p }, opts).psf;
  const want = noGrad(() => withPsfResidual(hBar.reshape([1, S, S]), tensor(rMean, [1, S, S])).reshape([S, S]));
  const d4 = noGrad(() => all.psf.sub(want).abs().max().item());
  assert.ok(d4 < 1e-6, `four patches: ${d4}`);
  assert.ok(Math.abs(noGrad(() => all.psf.sum().item()) - 1) < 1e-5);
});
