// The identify test's measure (test/identify/identify.test.ts) for any model file: PSNR(ĥ) of `identify` against
// the mean PSF (θ = 0) on three known aberrations of the demo specimen (fc 0.2, θmax 0.12, σ 0.002), plus the
// same on a spatially varying 2×2 field (grid vs one global PSF). Usage: node scripts/analysis/gain-over-mean.mjs MODEL
import { Generator, noGrad, tensor, tidy, zeros } from '../../dist/src/engine/index.js';
import { blur, gaussianNoise } from '../../dist/src/acquisition/index.js';
import { psfFromZernike, resolveOptics } from '../../dist/src/optics/index.js';
import { psnrPsf } from '../../dist/src/evaluate/metrics.js';
import { identifyImage } from '../../dist/src/identify/pipeline.js';
import { loadModel } from '../../dist/src/model/store.js';
import { demoSpecimen } from '../../dist/src/demo/scene.js';
const fc = 0.2, optics = resolveOptics({ fc, psfSize: 31 });
const { model } = loadModel(process.argv[2]);
const cases = [
  [0.12, 0.03, -0.06, 0.02, 0.04, 0, 0.02, 0.03],
  [-0.1, -0.05, 0.08, -0.04, 0.0, 0.03, 0, -0.02],
  [0.06, 0.08, 0.0, 0.05, -0.05, -0.02, 0.03, 0.04],
];
let gain = 0;
for (const [k, theta] of cases.entries()) {
  const seed = 100 + k, size = 256;
  const h = noGrad(() => psfFromZernike(optics, tensor(theta, [1, 8])));
  const y = noGrad(() => tidy(() => {
    const x = tensor(demoSpecimen(seed, size + 30), [1, 1, size + 30, size + 30]);
    const gen = new Generator(seed);
    const out = gaussianNoise(gen, blur(x, h, 'valid'), 0.002).data();
    gen.dispose();
    return out;
  }));
  const { psf } = identifyImage(model, y, size, size, { fc, thetaMax: 0.12 });
  const mean = noGrad(() => psfFromZernike(optics, zeros([1, 8])));
  const [net, base] = noGrad(() => [psnrPsf(psf.unsqueeze(0), h).item(), psnrPsf(mean, h).item()]);
  console.log(`case ${k}: network ${net.toFixed(2)} dB, mean PSF ${base.toFixed(2)} dB`);
  gain += (net - base) / cases.length;
}
console.log(`mean gain ${gain.toFixed(2)} dB`);
