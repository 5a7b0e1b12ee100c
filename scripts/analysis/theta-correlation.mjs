// Does a training run read the image? Per-mode correlation between the Zernike head's θ̂/θmax and the true θ/θmax
// (aligned to θ or its twin, whichever is nearer θ̂: the same PSF) on the run's own validation set. A network that
// only knows (fc, θmax) scores ≈ 0 (±1/√n). Usage: node scripts/analysis/theta-correlation.mjs CHECKPOINT [n] [source: a generator or domain of the config, e.g. beads, or all] [prior overrides as JSON]
import { noGrad, tidy } from '../../dist/src/engine/index.js';
import { twinSigns, ZERNIKE_HEAD_NOLL } from '../../dist/src/model/identifier.js';
import { pearson, validationRun } from './validation-run.mjs';
const { step, model, synth, set } = validationRun(process.argv[2], process.argv[3], process.argv[4], process.argv[5]);
// The head estimates Noll 4–11; the prior may draw a subset (sanity runs): compare the modes the prior draws.
const modes = synth.prior.zernikeNoll.filter((j) => ZERNIKE_HEAD_NOLL.includes(j));
const col = modes.map((j) => ZERNIKE_HEAD_NOLL.indexOf(j)), K = synth.prior.zernikeNoll.length;
const s = twinSigns(modes);
const est = [], tru = [];
for (const b of set.batches) tidy(() => {
  const { theta } = noGrad(() => model.identifyDetailed(b.y, b.fc, b.thetaMax));
  const th = theta.toArray(), t = b.theta.toArray(), tm = b.thetaMax.toArray();
  for (let i = 0; i < tm.length; i++) {
    const a = col.map((c) => th[i*8 + c]), u = modes.map((j) => t[i*K + synth.prior.zernikeNoll.indexOf(j)]), w = u.map((v, k) => v * s[k]);
    const d1 = a.reduce((q, v, k) => q + (v-u[k])**2, 0), d2 = a.reduce((q, v, k) => q + (v-w[k])**2, 0);
    est.push(a.map(v => v/tm[i])); tru.push((d1 <= d2 ? u : w).map(v => v/tm[i]));
  }
});
console.log(`step ${step} n ${est.length} corr per Noll mode:`, modes.map((j, k) => `${j}:${pearson(est.map((r) => r[k]), tru.map((r) => r[k])).toFixed(2)}`).join(' '));
// The alignment above can make a sign that varies from sample to sample look like a reading (a head whose even modes
// flip sign per sample, evenModes 'outer'): the magnitudes |θ̂|, |θ| are twin-invariant and need no alignment.
console.log(`step ${step} n ${est.length} corr of |θ̂| and |θ|:`, modes.map((j, k) => `${j}:${pearson(est.map((r) => Math.abs(r[k])), tru.map((r) => Math.abs(r[k]))).toFixed(2)}`).join(' '));
