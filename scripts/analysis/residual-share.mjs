// What a psfResidual head's pixel correction r adds: on a run's validation set, PSNR(ĥ) of the whole estimate
// ĥ = max(h(θ̂) + r, 0)/Σ against that of its Zernike part h(θ̂) alone, and the size of r relative to h(θ̂) (L2).
// Usage: node scripts/analysis/residual-share.mjs CHECKPOINT [n]
import { noGrad, tidy } from '../../dist/src/engine/index.js';
import { psfFromZernike } from '../../dist/src/optics/index.js';
import { psnrPsf } from '../../dist/src/evaluate/metrics.js';
import { validationRun } from './validation-run.mjs';
const { step, model, set } = validationRun(process.argv[2], process.argv[3]);
if (!model.residualOut) throw new Error(`${process.argv[2]}: the network has no psfResidual correction`);
const whole = [], zernike = [], size = [];
for (const b of set.batches) tidy(() => noGrad(() => {
  const { psf, theta } = model.identifyDetailed(b.y, b.fc, b.thetaMax);
  const hz = psfFromZernike(model.optics, theta, { fc: b.fc.toArray() });
  whole.push(...psnrPsf(psf, b.h).toArray());
  zernike.push(...psnrPsf(hz, b.h).toArray());
  size.push(...psf.sub(hz).square().sum([1, 2]).sqrt().div(hz.square().sum([1, 2]).sqrt()).toArray());
}));
const mean = (v) => v.reduce((a, x) => a + x, 0) / v.length;
console.log(`step ${step}, n ${whole.length}: PSNR(ĥ) ${mean(whole).toFixed(2)} dB, its Zernike part h(θ̂) alone ${mean(zernike).toFixed(2)} dB; ‖ĥ − h(θ̂)‖/‖h(θ̂)‖ ${mean(size).toFixed(3)} (mean)`);
