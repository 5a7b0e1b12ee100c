// Does the classical blind fit (baseline (b): alternating Zernike + TV minimisation), started from the network's θ̂
// instead of random starts, improve PSNR(ĥ)? Eval-like acquisitions (64² crops, (fc, θmax) given, batches of 8 drawn
// from μ as psfid eval draws them). Session 6: no, it loses 5–6 dB (docs/model-history.md).
// Usage: node scripts/analysis/network-refine.mjs MODEL IMAGE_DIR [BATCHES] [TV] [ROUNDS] [LR]
import { loadModel } from '../../dist/src/model/store.js';
import { Generator, noGrad } from '../../dist/src/engine/index.js';
import { resolveOptics, psfFromZernike } from '../../dist/src/optics/index.js';
import { Rng, stepSeed } from '../../dist/src/data/rng.js';
import { synthesizeBatch } from '../../dist/src/train/synthesize.js';
import { resolveSources } from '../../dist/src/data/sources.js';
import { resolvePrior } from '../../dist/src/acquisition/index.js';
import { fitBlind } from '../../dist/src/identify/fit.js';
import { psnrPsf } from '../../dist/src/evaluate/metrics.js';
const [modelPath, dir, nBatches = '2', tvArg = '2e-4', roundsArg = '30', lrArg = '0.01'] = process.argv.slice(2);
const { model, info } = loadModel(modelPath); model.eval();
const prior = resolvePrior(info.prior);
const optics = resolveOptics({ fc: prior.fc[1], psfSize: model.config.psfSize, zernikeNoll: prior.zernikeNoll });
const sources = resolveSources([{ kind: 'folder', path: dir, weight: 1 }], 64 + optics.psfSize - 1, 5000);
let net = 0, ref = 0, n = 0;
for (let k = 0; k < Number(nBatches); k++) {
  const gen = new Generator(stepSeed(1, k, 5));
  const b = synthesizeBatch(sources, prior, optics, new Rng(stepSeed(1, k, 4)), gen, 8, 64, 'cpu');
  const fc = b.fc.toArray();
  const th = noGrad(() => model.identifyTheta(b.y, b.fc, b.thetaMax).theta);
  const hNet = noGrad(() => psfFromZernike(optics, th, { fc }));
  const r = fitBlind(optics, b.y, fc, { init: th, tv: Number(tvArg), rounds: Number(roundsArg), lr: Number(lrArg) });
  const a = noGrad(() => psnrPsf(hNet, b.h).toArray()), c = noGrad(() => psnrPsf(r.psf, b.h).toArray());
  a.forEach((v, i) => { net += v; ref += c[i]; n++; });
  console.log(`batch ${k}: network ${(a.reduce((s, v) => s + v, 0) / a.length).toFixed(2)} refined ${(c.reduce((s, v) => s + v, 0) / c.length).toFixed(2)}`);
}
console.log(`mean over ${n}: network ${(net / n).toFixed(2)} dB, refined ${(ref / n).toFixed(2)} dB`);
