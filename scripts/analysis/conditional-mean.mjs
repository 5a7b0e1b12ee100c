// What does the image add, linearly? Draws N training samples (configs/small.json's mixture and μ, 64² crops),
// writes features and true PSFs to a folder, and runs conditional_mean.py (numpy, a development tool) which fits the
// PSF by least squares on (a) a cubic polynomial in (fc, θmax) only — the conditional mean, no image — and (b) that
// plus the 16×16-binned log power spectrum of y (and its products with fc and θmax), and prints held-out PSNR(ĥ).
// Usage: node scripts/analysis/conditional-mean.mjs [batches=80] [procedural-generator]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { tidy, fft2, fftshift, tensor } from '../../dist/src/engine/index.js';
import { readTrainConfig } from '../../dist/src/train/config.js';
import { makeSynthesizer } from '../../dist/src/train/synthesize.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const batches = Number(process.argv[2] ?? 80);
const config = readTrainConfig(join(root, 'configs', 'small.json'));
if (process.argv[3]) config.data.sources = [{ kind: 'procedural', generator: process.argv[3], weight: 1 }];
const B = 50;
config.batchSize = B;
const synth = makeSynthesizer(config, 'cpu', root);
const n = config.cropSize;
const w1 = Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n));
const window = tensor(Float32Array.from({ length: n * n }, (_, k) => w1[Math.floor(k / n)] * w1[k % n]), [1, 1, n, n]);
const features = [];
const psfs = [];
const cond = [];
for (let s = 0; s < batches; s++) {
  tidy(() => {
    const b = synth.trainingBatch(100000 + s); // steps far from any training run's
    const yn = b.y.sub(b.y.mean([2, 3], true)).div(b.y.std([2, 3], { keepdim: true, unbiased: false }).add(1e-6));
    const logSpec = fftshift(fft2(yn.mul(window)).abs().square().div(n * n).add(1e-3).log());
    features.push(...logSpec.reshape([B, 16, n / 16, 16, n / 16]).mean([2, 4]).reshape([B * 256]).toArray());
    psfs.push(...b.h.reshape([-1]).toArray());
    const fc = b.fc.toArray();
    const tm = b.thetaMax.toArray();
    for (let i = 0; i < B; i++) cond.push(fc[i], tm[i]);
  });
}
const dir = mkdtempSync(join(tmpdir(), 'psfid-condmean-'));
writeFileSync(join(dir, 'features.f32'), Buffer.from(Float32Array.from(features).buffer));
writeFileSync(join(dir, 'psfs.f32'), Buffer.from(Float32Array.from(psfs).buffer));
writeFileSync(join(dir, 'cond.f32'), Buffer.from(Float32Array.from(cond).buffer));
const r = spawnSync('/usr/bin/python3', [join(here, 'conditional_mean.py'), dir], { stdio: 'inherit' });
process.exit(r.status ?? 1);
