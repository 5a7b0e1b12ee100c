// Where the PSF's PSNR is lost, mode by mode: on a run's validation set, the network's θ̂ with one group of Zernike
// modes replaced by the truth (aligned to θ or its twin, whichever is nearer θ̂: the same PSF), its pixel correction
// kept, scored as PSNR(ĥ) against the true PSF. The gain over the network's own PSNR is what reading that group
// perfectly would be worth. Usage: node scripts/analysis/oracle-modes.mjs CHECKPOINT [n] [source] [prior overrides as JSON]
import { noGrad, tensor, tidy } from '../../dist/src/engine/index.js';
import { twinSigns, withPsfResidual, ZERNIKE_HEAD_NOLL } from '../../dist/src/model/identifier.js';
import { psfFromZernike } from '../../dist/src/optics/index.js';
import { psnrPsf } from '../../dist/src/evaluate/metrics.js';
import { validationRun } from './validation-run.mjs';
const { step, model, synth, set } = validationRun(process.argv[2], process.argv[3], process.argv[4], process.argv[5]);
const noll = synth.prior.zernikeNoll, K = noll.length;
if (noll.some((j, k) => j !== ZERNIKE_HEAD_NOLL[k]) || K !== ZERNIKE_HEAD_NOLL.length) throw new Error(`the prior must draw Noll ${ZERNIKE_HEAD_NOLL.join(', ')}`);
const signs = twinSigns(noll);
const groups = { 'defocus 4': [4], 'astigmatism 5–6': [5, 6], 'coma 7–8': [7, 8], 'trefoil 9–10': [9, 10], 'spherical 11': [11], 'even 4–6, 11': [4, 5, 6, 11], 'odd 7–10': [7, 8, 9, 10], 'all': noll };
const scores = Object.fromEntries(['network', ...Object.keys(groups)].map((g) => [g, []]));
for (const b of set.batches) tidy(() => {
  const B = b.y.size(0);
  const { theta, residual } = noGrad(() => model.identifyTheta(b.y, b.fc, b.thetaMax));
  const th = theta.toArray(), t = b.theta.toArray(), fc = b.fc.toArray();
  const rows = Array.from({ length: B }, (_, i) => {
    const est = th.slice(i * K, (i + 1) * K), u = t.slice(i * K, (i + 1) * K), w = u.map((v, k) => v * signs[k]);
    const near = est.reduce((q, v, k) => q + (v - u[k]) ** 2, 0) <= est.reduce((q, v, k) => q + (v - w[k]) ** 2, 0) ? u : w;
    return { est, near };
  });
  const score = (name, pick) => {
    const h = psfFromZernike(model.optics, tensor(rows.flatMap((r) => pick(r)), [B, K]), { fc });
    scores[name].push(...psnrPsf(withPsfResidual(h, residual), b.h).toArray());
  };
  score('network', (r) => r.est);
  for (const [name, modes] of Object.entries(groups)) score(name, (r) => r.est.map((v, k) => (modes.includes(noll[k]) ? r.near[k] : v)));
});
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;
const base = mean(scores.network);
console.log(`step ${step} n ${scores.network.length}: network ${base.toFixed(2)} dB; with the true modes (correction kept):`);
for (const name of Object.keys(groups)) console.log(`  ${name}: ${mean(scores[name]).toFixed(2)} dB (${(mean(scores[name]) - base >= 0 ? '+' : '')}${(mean(scores[name]) - base).toFixed(2)})`);
