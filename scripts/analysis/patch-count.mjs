// How many patches, and how large, does identify need? Mean PSNR(ĥ) over 12 synthetic 512² images (dead leaves and
// the demo specimen alternately, θ ~ U[−0.1, 0.1]⁸ waves, fc 0.2, read noise σ, 0.01 unless --sigma) for identify's
// default (every 128² patch of the lattice, 16) and for each setting given: N (--max-patches N) or PxN (--patch-size P
// --max-patches N), next to the mean PSF (θ = 0).
// Usage: node scripts/analysis/patch-count.mjs MODEL [--sigma S] [N | PxN …]   (default settings: 4 8)
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
const args = process.argv.slice(3);
const sigmaAt = args.indexOf('--sigma');
const sigma = sigmaAt >= 0 ? Number(args.splice(sigmaAt, 2)[1]) : 0.01;
const settings = [{}, ...(args.length ? args : ['4', '8']).map((a) => {
  const [p, n] = a.includes('x') ? a.split('x').map(Number) : [undefined, Number(a)];
  return p ? { patchSize: p, maxPatches: n } : { maxPatches: n };
})];
const size = 512, rng = new Rng(42), N = 12;
const score = settings.map(() => 0);
let base = 0;
for (let k = 0; k < N; k++) {
  const theta = Array.from({ length: 8 }, () => (rng.next() * 2 - 1) * 0.1);
  const specimen = k % 2 ? demoSpecimen(k, size + 30) : deadLeaves(new Rng(k), size + 30);
  const { y, h } = observe(theta, k, size, { specimen, sigma });
  settings.forEach((s, i) => {
    const { psf } = identifyRegion(model, y, size, size, { x: 0, y: 0, width: size, height: size }, { fc, thetaMax: 0.1, ...s });
    score[i] += noGrad(() => psnrPsf(psf.unsqueeze(0), h).item()) / N;
  });
  base += noGrad(() => psnrPsf(psfFromZernike(optics, zeros([1, 8])), h).item()) / N;
}
const label = (s) => `${s.maxPatches ?? 'all (16)'} patches of ${s.patchSize ?? 128}²`;
console.log(`σ ${sigma}: mean PSF ${base.toFixed(2)} dB; ` + settings.map((s, i) => `${label(s)} ${score[i].toFixed(2)} dB`).join(', '));
