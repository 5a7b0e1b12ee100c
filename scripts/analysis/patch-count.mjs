// How many patches does identify need? Mean PSNR(ĥ) over 12 synthetic 512² images (dead leaves and the demo
// specimen alternately, θ ~ U[−0.1, 0.1]⁸ waves, fc 0.2, σ 0.01) for identify's default (every 128² patch of the
// lattice, 16) and for each --max-patches given, next to the mean PSF (θ = 0).
// Usage: node scripts/analysis/patch-count.mjs MODEL [N …]   (default N: 4 8)
import { loadModel } from '../../dist/src/model/store.js';
import { noGrad, zeros } from '../../dist/src/engine/index.js';
import { psfFromZernike } from '../../dist/src/optics/index.js';
import { identifyRegion } from '../../dist/src/identify/identify.js';
import { psnrPsf } from '../../dist/src/evaluate/metrics.js';
import { demoSpecimen } from '../../dist/src/demo/scene.js';
import { deadLeaves } from '../../dist/src/data/procedural.js';
import { Rng } from '../../dist/src/data/rng.js';
import { fc, observe, optics } from '../../dist/test/identify/helpers.js';
const { model } = loadModel(process.argv[2]);
const counts = process.argv.length > 3 ? process.argv.slice(3).map(Number) : [4, 8];
const settings = [{}, ...counts.map((maxPatches) => ({ maxPatches }))];
const size = 512, rng = new Rng(42), N = 12;
const score = settings.map(() => 0);
let base = 0;
for (let k = 0; k < N; k++) {
  const theta = Array.from({ length: 8 }, () => (rng.next() * 2 - 1) * 0.1);
  const specimen = k % 2 ? demoSpecimen(k, size + 30) : deadLeaves(new Rng(k), size + 30);
  const { y, h } = observe(theta, k, size, { specimen, sigma: 0.01 });
  settings.forEach((s, i) => {
    const { psf } = identifyRegion(model, y, size, size, { x: 0, y: 0, width: size, height: size }, { fc, thetaMax: 0.1, ...s });
    score[i] += noGrad(() => psnrPsf(psf.unsqueeze(0), h).item()) / N;
  });
  base += noGrad(() => psnrPsf(psfFromZernike(optics, zeros([1, 8])), h).item()) / N;
}
console.log(`mean PSF ${base.toFixed(2)} dB; ` + settings.map((s, i) => `${s.maxPatches ?? 'all (16)'} patches ${score[i].toFixed(2)} dB`).join(', '));
