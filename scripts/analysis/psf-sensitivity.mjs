// How precisely must θ be identified? PSNR(ĥ) of h(θ + δ) against h(θ) for uniform coefficient errors δ of a given
// RMS, and of the mean PSF h(0), over θ ~ U[−θmax, θmax]^8 (Noll 4–11), for a few (fc, θmax).
// Usage: node scripts/analysis/psf-sensitivity.mjs   (after npm run setup)
import { Generator, tensor, uniform } from '../../dist/src/engine/index.js';
import { resolveOptics, psfFromZernike } from '../../dist/src/optics/index.js';
import { psnrPsf } from '../../dist/src/evaluate/metrics.js';

const optics = resolveOptics({ fc: 0.25, psfSize: 31, zernikeNoll: [4, 5, 6, 7, 8, 9, 10, 11], allowUndersampling: true });
const gen = new Generator(1);
const B = 256;
const errorsRms = [0.002, 0.005, 0.01, 0.02];
console.log(['fc', 'θmax', 'mean PSF', ...errorsRms.map((e) => `δ ${e}`)].join('\t'));
for (const fc of [0.125, 0.1875, 0.25]) {
  for (const thetaMax of [0.02, 0.085, 0.15]) {
    const theta = uniform(gen, [B, 8], { low: -thetaMax, high: thetaMax });
    const fcs = Array(B).fill(fc);
    const h = psfFromZernike(optics, theta, { fc: fcs });
    const row = [fc, thetaMax, psnrPsf(psfFromZernike(optics, tensor(new Float32Array(B * 8), [B, 8]), { fc: fcs }), h).mean().item().toFixed(1)];
    for (const e of errorsRms) {
      const delta = uniform(gen, [B, 8], { low: -e * Math.sqrt(3), high: e * Math.sqrt(3) }); // RMS e per coefficient
      row.push(psnrPsf(psfFromZernike(optics, theta.add(delta), { fc: fcs }), h).mean().item().toFixed(1));
    }
    console.log(row.join('\t'));
  }
}
