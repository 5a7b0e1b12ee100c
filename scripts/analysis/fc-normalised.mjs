// Is the cut-off what hides defocus? A network trained with one fc (e.g. stage11g, fc 0.1875) reads the magnitude of
// defocus there; on draws with another fc it reads less. This resamples each validation crop so that its cut-off
// becomes the reference fc before the network sees it (the central 64·fc_ref/fc pixels, bicubic-upsampled to the
// crop side; so fc ≥ fc_ref only), gives the network fc_ref, and compares the twin-free correlation of |θ̂| with |θ|
// (Zernike coefficients are in pupil units, so they do not change with the resampling) with the plain reading.
// Usage: node scripts/analysis/fc-normalised.mjs CHECKPOINT FC_REF [n] [source] [prior overrides as JSON]
import { call, cat, full, noGrad, tidy } from '../../dist/src/engine/index.js';
import { ZERNIKE_HEAD_NOLL } from '../../dist/src/model/identifier.js';
import { pearson, validationRun } from './validation-run.mjs';
const [checkpoint, fcRefText, n = '256', source = 'beads', priorJson] = process.argv.slice(2);
const fcRef = Number(fcRefText);
const { step, model, synth, set } = validationRun(checkpoint, n, source, priorJson);
if (synth.prior.fc[0] < fcRef) throw new Error(`the prior's fc starts at ${synth.prior.fc[0]}, below FC_REF ${fcRef}: give fc ≥ FC_REF in the overrides`);
const K = synth.prior.zernikeNoll.length;
const modes = ZERNIKE_HEAD_NOLL.filter((j) => synth.prior.zernikeNoll.includes(j));
const rows = { plain: [], normalised: [] };
const truth = [];
for (const b of set.batches) tidy(() => {
  const [B, , H] = b.y.shape;
  const fcs = b.fc.toArray(), tm = b.thetaMax.toArray(), th = b.theta.toArray();
  const plain = noGrad(() => model.identifyDetailed(b.y, b.fc, b.thetaMax)).theta.toArray();
  const crops = fcs.map((fc, i) => {
    const m = Math.max(16, Math.round((H * fcRef) / fc));
    const o = Math.floor((H - m) / 2);
    return call('upsample_bicubic2d.vec', b.y.narrow(0, i, 1).narrow(2, o, m).narrow(3, o, m), [H, H], false, null);
  });
  const normalised = noGrad(() => model.identifyDetailed(cat(crops, 0), full([B], fcRef), b.thetaMax)).theta.toArray();
  for (let i = 0; i < B; i++) {
    const pick = (a) => modes.map((j) => a[i * 8 + ZERNIKE_HEAD_NOLL.indexOf(j)] / tm[i]);
    rows.plain.push(pick(plain));
    rows.normalised.push(pick(normalised));
    truth.push(modes.map((j) => th[i * K + synth.prior.zernikeNoll.indexOf(j)] / tm[i]));
  }
});
for (const [name, est] of Object.entries(rows)) {
  console.log(`step ${step} n ${truth.length} ${name}: corr of |θ̂| and |θ|:`, modes.map((j, k) => `${j}:${pearson(est.map((r) => Math.abs(r[k])), truth.map((r) => Math.abs(r[k]))).toFixed(2)}`).join(' '));
}
