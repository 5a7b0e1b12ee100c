// Deconvolution benchmark: psfid's Richardson–Lucy against scikit-image's richardson_lucy (bench/python/deconv_ref.py,
// Debian python3-skimage), the same problem on the same machine in the same run, median milliseconds per iteration.
//   deconv.rl_1024  RL on a 1024 × 1024 float32 image (uniform in [0.1, 1.1)) with a 31 × 31 Gaussian PSF (σ = 31/8):
//                   a call of ITERATIONS iterations, divided by ITERATIONS. psfid: default boundary ('masked',
//                   the boundary-adapted RL on a 1080² FFT grid), setup (PSF spectrum, Aᵀ1, input checks) included;
//                   skimage: zero boundary ('same' convolutions, FFT via scipy, one thread).
// psfid uses all cores (PSFID_THREADS); device from PSFID_BENCH_DEVICE (default cpu). Target: ratio ≤ 0.2.
import { Generator, keep, resolveDevice, synchronize, tensor, tidy, uniform } from '../src/engine/index.js';
import { richardsonLucy } from '../src/deconv/index.js';
import type { BenchLine } from './types.js';
import { compare, pythonScript, runPython, sampleMs, type ReferenceSamples, type TimingOptions } from './util.js';

const SIZE = 1024;
const PSF_SIZE = 31;
const ITERATIONS = 10;
const TIMING: TimingOptions = { warmup: 1, repeats: 3 };

function gaussianPsf(s: number): Float32Array {
  const c = Math.floor(s / 2);
  const sigma = s / 8;
  const h = new Float64Array(s * s);
  let total = 0;
  for (let i = 0; i < s; i++) for (let j = 0; j < s; j++) total += h[i * s + j] = Math.exp(-((i - c) ** 2 + (j - c) ** 2) / (2 * sigma * sigma));
  return Float32Array.from(h, (v) => v / total);
}

function psfidSamples(device: string): number[] {
  const gen = new Generator(0);
  const image = keep(tidy(() => uniform(gen, [SIZE, SIZE], { low: 0.1, high: 1.1, device })));
  const psf = keep(tensor(gaussianPsf(PSF_SIZE), [PSF_SIZE, PSF_SIZE], { device }));
  try {
    return sampleMs(
      () =>
        tidy(() => {
          richardsonLucy(image, psf, { iterations: ITERATIONS });
          synchronize();
        }),
      TIMING,
    ).map((ms) => ms / ITERATIONS);
  } finally {
    image.free();
    psf.free();
    gen.dispose();
  }
}

export async function run(): Promise<BenchLine[]> {
  const device = resolveDevice(process.env.PSFID_BENCH_DEVICE ?? 'cpu');
  if (device !== 'cpu') process.stderr.write(`bench: deconv runs psfid on ${device} (skimage on the CPU)\n`);
  const args = ['rl', SIZE, PSF_SIZE, ITERATIONS, TIMING.warmup, TIMING.repeats].map(String);
  const line = await compare({
    name: 'deconv.rl_1024',
    unit: 'ms/iteration',
    psfid: () => psfidSamples(device),
    reference: async () => (await runPython<ReferenceSamples>(pythonScript('deconv_ref.py'), args, ['skimage', 'numpy'])).samples_ms,
  });
  return line ? [line] : [];
}
