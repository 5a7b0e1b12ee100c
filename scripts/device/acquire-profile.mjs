// Where a training step's data time goes on a device: times each stage of the acquisition that
// src/train/synthesize.ts runs per step (upload of the crops, degradation draw, PSFs, blur with auto-exposure,
// Poisson, Gaussian, quantization, salt-and-pepper), with a device synchronisation after each, median of R repeats.
// On the GPU machine the step log showed 88 of 104 ms of a 256² batch of 32 spent here (docs/gpu.md, session 8);
// this says which stage (session 12, H200: Poisson 78, Gaussian 15, salt-and-pepper 14 of 114 ms, all drawn on the
// CPU and copied). Prints one JSON line per stage: {"stage","device","batch","crop","noiseDraws","ms"}, for the noise
// drawn on the CPU ('cpu', acquire's default) and then from a fork of the generator on the device ('device').
// Usage (after `npm run build`, or the device scripts' build): node scripts/device/acquire-profile.mjs [DEVICE] [BATCH] [CROP] [REPEATS]
//   defaults: cuda if available else cpu, 32, 256, 10. PSFID_THREADS bounds libtorch's CPU threads as usual.
import { Generator, resolveDevice, synchronize, tensor, tidy } from '../../dist/src/engine/index.js';
import { blur, gaussianNoise, poissonNoise, quantize, resolvePrior, saltPepper, sampleDegradation } from '../../dist/src/acquisition/index.js';
import { psfFromZernike, resolveOptics } from '../../dist/src/optics/index.js';
import { deadLeaves } from '../../dist/src/data/procedural.js';
import { Rng } from '../../dist/src/data/rng.js';

const [deviceArg = 'auto', batchArg = '32', cropArg = '256', repeatsArg = '10'] = process.argv.slice(2);
const device = resolveDevice(deviceArg);
const batch = Number(batchArg);
const crop = Number(cropArg);
const repeats = Number(repeatsArg);
if (![batch, crop, repeats].every((v) => Number.isInteger(v) && v > 0)) {
  console.error('usage: node scripts/device/acquire-profile.mjs [DEVICE] [BATCH] [CROP] [REPEATS] (positive integers)');
  process.exit(2);
}
const prior = resolvePrior({});
const optics = resolveOptics({ fc: prior.fc[1], psfSize: 31, zernikeNoll: prior.zernikeNoll });
const n = crop + optics.psfSize - 1;
const rng = new Rng(1);
const pixels = new Float32Array(batch * n * n);
for (let b = 0; b < batch; b++) pixels.set(deadLeaves(rng, n), b * n * n);
const gen = new Generator(1);

const stages = ['upload', 'degradation', 'psf', 'blur+exposure', 'poisson', 'gaussian', 'quantize', 'saltPepper', 'total'];
const median = (v) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
for (const noiseDraws of ['cpu', 'device']) {
  const samples = Object.fromEntries(stages.map((s) => [s, []]));
  for (let r = 0; r <= repeats; r++) {
    tidy(() => {
      const times = {};
      let t = performance.now();
      const lap = (stage) => {
        synchronize();
        const now = performance.now();
        times[stage] = now - t;
        t = now;
      };
      const t0 = t;
      const x = tensor(pixels, [batch, 1, n, n], { device });
      lap('upload');
      const params = sampleDegradation(gen, prior, batch, { device });
      lap('degradation');
      const h = psfFromZernike(optics, params.theta.toDevice(device), { fc: params.fc, method: 'mft' });
      lap('psf');
      let y0 = blur(x, h, 'valid');
      const max = y0.amax([1, 2, 3]).toArray(); // auto-exposure reads the peaks back, as acquire() does
      y0 = y0.mul(tensor(max.map((m) => (m > 0 ? 0.75 / m : 1)), [batch, 1, 1, 1], { device }));
      lap('blur+exposure');
      // As acquire({ noiseDraws }) does: a fork on the device (counted in the Poisson stage) or the CPU generator.
      const noiseGen = noiseDraws === 'device' && device !== 'cpu' ? gen.fork(device) : gen;
      let y = poissonNoise(noiseGen, y0, params.gain.toDevice(device));
      lap('poisson');
      y = gaussianNoise(noiseGen, y, params.sigma.toDevice(device));
      lap('gaussian');
      y = quantize(y, params.bits.toDevice(device));
      lap('quantize');
      saltPepper(noiseGen, y, params.saltPepper.toDevice(device));
      lap('saltPepper');
      times.total = performance.now() - t0;
      if (noiseGen !== gen) noiseGen.dispose();
      if (r > 0) for (const s of stages) samples[s].push(times[s]); // r = 0 warms up
    });
  }
  for (const s of stages) console.log(JSON.stringify({ stage: s, device, batch, crop, noiseDraws, ms: Number(median(samples[s]).toFixed(2)) }));
}
gen.dispose();
