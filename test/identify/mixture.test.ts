// The Zernike head's mixture (architecture.psfMixture = K): ĥ = Σ_k w_k h(θ̂_k) with θ̂_k = θmax·tanh(z + Δ_k),
// checked against the same sum computed by hand from the network's main coefficients; identical components reduce
// to the one-component network; identify combines a mixture's PSFs (it has no single θ̂).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { full, noGrad, tensor, uniform, Generator } from '../../src/engine/index.js';
import { Identifier, PRESETS } from '../../src/model/identifier.js';
import { psfFromZernike } from '../../src/optics/index.js';
import { identifyRegion } from '../../src/identify/identify.js';
import { ZERNIKE_TINY as zernikeTiny } from './tiny.js';

const param = (m: Identifier, name: string) => m.namedParameters().find(([k]) => k === name)![1];

test('a K-component mixture is Σ w_k h(θmax·tanh(z + Δ_k)) with softmax weights; identical components give the one-component PSF', () => {
  const K = 3;
  const single = new Identifier(zernikeTiny, 4);
  const mix = new Identifier({ ...zernikeTiny, psfMixture: K }, 4);
  mix.loadStateDict(new Map(single.namedParameters()), false);
  single.eval();
  mix.eval();
  const y = noGrad(() => uniform(new Generator(2), [2, 1, 32, 32]));
  const fc = tensor([0.14, 0.22]);
  const tm = tensor([0.08, 0.15]);
  // the same weights as `single` and offsets Δ = 0 (the fresh biases are distinct, the test sets them): ĥ = h(θ̂)
  noGrad(() => param(mix, 'mixture.bias').zero_());
  const d0 = noGrad(() => mix.identify(y, fc, tm).sub(single.identify(y, fc, tm)).abs().max().item());
  assert.ok(d0 < 1e-7, `identical components: ${d0}`);
  // known offsets and weights (input weights at zero, so each is its bias): the mixture by hand
  const n = 8;
  const offsets = Array.from({ length: (K - 1) * n }, (_, i) => 0.4 * Math.sin(1.7 * i + 0.3));
  const logits = [0.2, -0.5, 0.9];
  noGrad(() => {
    param(mix, 'mixture.bias').copy_(tensor(offsets));
    param(mix, 'mixtureWeights.bias').copy_(tensor(logits));
    param(mix, 'mixtureWeights.weight').zero_();
  });
  const got = noGrad(() => mix.identify(y, fc, tm).toArray());
  const theta0 = noGrad(() => single.identifyDetailed(y, fc, tm).theta!.toArray());
  const w = logits.map((l) => Math.exp(l));
  const wsum = w.reduce((a, v) => a + v, 0);
  const S = mix.config.psfSize;
  const [fcs, tms] = [fc.toArray(), tm.toArray()];
  for (let b = 0; b < 2; b++) {
    const z = theta0.slice(b * n, (b + 1) * n).map((t) => Math.atanh(t / tms[b]!));
    const thetas = Array.from({ length: K }, (_, k) => z.map((v, j) => tms[b]! * Math.tanh(v + (k === 0 ? 0 : offsets[(k - 1) * n + j]!))));
    const hs = noGrad(() => psfFromZernike(mix.optics!, tensor(thetas.flat(), [K, n]), { fc: Array<number>(K).fill(fcs[b]!) }).toArray());
    let err = 0;
    for (let i = 0; i < S * S; i++) {
      let want = 0;
      for (let k = 0; k < K; k++) want += (w[k]! / wsum) * hs[k * S * S + i]!;
      err = Math.max(err, Math.abs(got[b * S * S + i]! - want));
    }
    const spread = Math.max(...Array.from({ length: S * S }, (_, i) => Math.abs(hs[i]! - hs[S * S + i]!)));
    assert.ok(spread > 1e-3, `components too alike to test: ${spread}`);
    assert.ok(err < 1e-6, `sample ${b}: ${err}`);
  }
  assert.throws(() => new Identifier({ ...PRESETS.tiny, psfMixture: 2 }), /psfMixture needs the 'zernike' head/);
  assert.throws(() => new Identifier({ ...zernikeTiny, psfMixture: 0 }), /psfMixture must be a positive integer/);
});

test('identify with a mixture model: no single θ̂, the patches’ PSFs are combined; one patch gives the network’s own ĥ', () => {
  const model = new Identifier({ ...zernikeTiny, psfMixture: 2 }, 5);
  model.eval();
  const p = 32;
  const image = noGrad(() => uniform(new Generator(7), [p, p], { low: 0, high: 1 }).data() as Float32Array);
  const y = tensor(image, [1, 1, p, p]);
  assert.equal(noGrad(() => model.identifyTheta(y, full([1], 0.2), full([1], 0.1))), null);
  const one = identifyRegion(model, image, p, p, { x: 0, y: 0, width: p, height: p }, { fc: 0.2, thetaMax: 0.1, patchSize: p });
  const S = model.config.psfSize;
  const d = noGrad(() => one.psf.sub(model.identify(y, full([1], 0.2), full([1], 0.1)).reshape([S, S])).abs().max().item());
  assert.ok(d < 1e-6, `${d}`);
});
