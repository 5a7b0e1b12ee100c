// Is a Zernike-head output stuck? Per Noll mode: the distribution of θ̂/θmax = tanh(z) on a run's validation set —
// mean, standard deviation, and the share of samples with |θ̂/θmax| > 0.95 (tanh saturated: its gradient
// 1 − tanh² < 0.1, so the PSF loss can hardly move that output any more).
// Usage: node scripts/analysis/theta-saturation.mjs CHECKPOINT [n] [source: a generator or domain of the config, or all] [prior overrides as JSON]
import { noGrad, tidy } from '../../dist/src/engine/index.js';
import { ZERNIKE_HEAD_NOLL } from '../../dist/src/model/identifier.js';
import { validationRun } from './validation-run.mjs';
const { step, model, set } = validationRun(process.argv[2], process.argv[3], process.argv[4], process.argv[5]);
const rows = [];
for (const b of set.batches) tidy(() => {
  const { theta } = noGrad(() => model.identifyDetailed(b.y, b.fc, b.thetaMax));
  const th = theta.toArray(), tm = b.thetaMax.toArray();
  for (let i = 0; i < tm.length; i++) rows.push(ZERNIKE_HEAD_NOLL.map((_, k) => th[i * 8 + k] / tm[i]));
});
console.log(`step ${step}, n ${rows.length}; θ̂/θmax per Noll mode: mean ± std, share saturated (|·| > 0.95)`);
ZERNIKE_HEAD_NOLL.forEach((j, k) => {
  const v = rows.map((r) => r[k]);
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length);
  console.log(`  ${j}: ${m.toFixed(3)} ± ${sd.toFixed(3)}, saturated ${((100 * v.filter((x) => Math.abs(x) > 0.95).length) / v.length).toFixed(0)} %`);
});
