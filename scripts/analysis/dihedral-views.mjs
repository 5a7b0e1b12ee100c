// Test-time augmentation, measured: the evaluation of `psfid eval --mode given --baselines none` (same seeded
// acquisitions) with the network's ĥ replaced by the mean over V of the 8 dihedral views of y (transpose and/or
// flips), each estimate mapped back (flip(h ⋆ x) = flip(h) ⋆ flip(x), and the noise is pixelwise, so every view is
// an equally valid observation of the transformed PSF). Prints "CROP V mean-PSNR(ĥ)"; V = 1 is the plain network.
// Usage: node scripts/analysis/dihedral-views.mjs MODEL CROP V DIR [DIR…]   (n 64, seed 1, as scripts/eval)
import { tidy } from '../../dist/src/engine/index.js';
import { resolvePrior } from '../../dist/src/acquisition/index.js';
import { resolveSources } from '../../dist/src/data/sources.js';
import { evaluate } from '../../dist/src/evaluate/evaluate.js';
import { loadModel } from '../../dist/src/model/store.js';
const [modelPath, crop, views, ...dirs] = process.argv.slice(2);
if (!modelPath || !(Number(views) >= 1 && Number(views) <= 8) || dirs.length === 0) {
  console.error('usage: node scripts/analysis/dihedral-views.mjs MODEL CROP V(1–8) DIR [DIR…]');
  process.exit(2);
}
const { model, info } = loadModel(modelPath, 'cpu');
const prior = resolvePrior(info.prior ?? {});
const sources = resolveSources(dirs.map((p) => ({ kind: 'folder', path: p, weight: 1 })), Number(crop) + model.config.psfSize - 1, 5000);
const plain = model.identify.bind(model);
// [transpose?, flipped dims of y [B,1,H,W]]; the PSF [B,S,S] flips the same axes one dim lower
const group = [[false, []], [false, [3]], [false, [2]], [false, [2, 3]], [true, []], [true, [3]], [true, [2]], [true, [2, 3]]].slice(0, Number(views));
model.identify = (y, fc, tm) =>
  tidy(() => {
    let sum = null;
    for (const [t, f] of group) {
      let yg = t ? y.transpose(2, 3) : y;
      if (f.length) yg = yg.flip(f);
      let h = plain(yg.contiguous(), fc, tm);
      if (f.length) h = h.flip(f.map((d) => d - 1));
      if (t) h = h.transpose(1, 2);
      sum = sum ? sum.add(h) : h;
    }
    return sum.div(group.length).contiguous();
  });
const r = evaluate(model, sources, prior, { n: 64, seed: 1, modes: ['given'], cropSize: Number(crop), baselines: [] });
console.log(crop, views, r.summary['network-given'].psnrPsf.mean.toFixed(2));
