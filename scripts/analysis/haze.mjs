// Does out-of-focus light move the estimate? A widefield image carries, besides the in-focus specimen blurred by the
// PSF, a smooth background from the planes above and below. In the 2-D model that light is part of the specimen x, so
// an identifier should not read it as blur. The identify test's three cases (demo specimen, fc 0.2, θmax 0.12,
// σ 0.002), each with a haze added to x: the specimen itself Gaussian-blurred (σ = 12 px) times `level` (its mean is
// `level` × the specimen's); mean PSNR(ĥ) and the estimate's RMS radius for each level.
// Usage: node scripts/analysis/haze.mjs MODEL [levels, default 0,0.5,1,2,4]
import { noGrad, tensor, tidy } from '../../dist/src/engine/index.js';
import { blur } from '../../dist/src/acquisition/index.js';
import { loadModel } from '../../dist/src/model/store.js';
import { psnrPsf, psfRmsRadius } from '../../dist/src/evaluate/metrics.js';
import { identifyImage } from '../../dist/src/identify/pipeline.js';
import { demoSpecimen } from '../../dist/src/demo/scene.js';
import { CASES, fc, observe } from '../../dist/test/identify/helpers.js';
const { model } = loadModel(process.argv[2]);
const levels = (process.argv[3] ?? '0,0.5,1,2,4').split(',').map(Number);
const size = 256, n = size + 30, sigma = 12, K = 73;
const g = Array.from({ length: K }, (_, i) => Math.exp(-(((i - (K - 1) / 2) / sigma) ** 2) / 2));
const gs = g.reduce((a, b) => a + b);
const kernel = tensor(Float32Array.from({ length: K * K }, (_, k) => (g[Math.floor(k / K)] * g[k % K]) / (gs * gs)), [1, K, K]);
for (const level of levels) {
  let psnr = 0, rms = 0;
  for (const [k, theta] of CASES.entries()) {
    const x = demoSpecimen(100 + k, n);
    // the haze: x blurred wide (reflecting its borders; the blur keeps the mean), `level` × the specimen
    const hazy = noGrad(() => tidy(() => {
      const t = tensor(x, [1, 1, n, n]);
      return t.add(blur(t, kernel, 'reflect').mul(level)).data();
    }));
    const { y, h } = observe(theta, 100 + k, size, { specimen: Float32Array.from(hazy) });
    const { psf } = identifyImage(model, y, size, size, { fc, thetaMax: 0.12 });
    psnr += noGrad(() => psnrPsf(psf.unsqueeze(0), h).item()) / CASES.length;
    rms += psfRmsRadius(psf.data(), 31) / CASES.length;
  }
  console.log(`haze ${level}× the specimen's mean: PSNR(ĥ) ${psnr.toFixed(2)} dB, RMS radius ${rms.toFixed(3)} px`);
}
