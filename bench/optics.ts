// Optics benchmark: psfid's PSFs and acquisitions against PyTorch doing the same the naive way
// (bench/python/optics_ref.py), on the same machine in the same run, as milliseconds per item.
//   optics.psf           batch 64 of 31×31 PSFs from a 256² pupil, Noll 4–11, fc = 0.25, float32; psfid uses the
//                        matrix Fourier transform, the reference a full 256² FFT per PSF.
//   optics.psf_mixed_fc  the same with a per-sample fc ∈ [0.125, 0.25] (training's case) on psfid's side; the
//                        reference is still the fixed-fc full FFT (a naive per-sample basis would cost it more).
//   optics.acquire       batch 16 of 256² images, per-sample 31×31 PSFs: valid rfft blur, Poisson–Gaussian noise
//                        with per-sample gain and σ, 16-bit quantization.
// psfid uses all cores unless PSFID_THREADS says; the reference uses as many (each request carries psfid's engine
// thread count to torch.set_num_threads), so PSFID_THREADS=1 gives a one-thread figure on both sides.
// Run: npm run bench -- optics   (or: node dist/bench/run.js optics)
import { Generator, getNumThreads, keep, noGrad, tidy, uniform, type Tensor } from '../src/engine/index.js';
import { blur, gaussianNoise, poissonNoise, quantize } from '../src/acquisition/index.js';
import { psfFromZernike, randomTheta, resolveOptics } from '../src/optics/index.js';
import type { BenchLine } from './types.js';
import { compare, eachFigure, sampleMs, type Prepared, type ReferenceSamples, type TimingOptions } from './util.js';

function psfBatch(mixedFc: boolean): Prepared {
  const gen = new Generator(0);
  const optics = resolveOptics({ fc: 0.25, psfSize: 31, pupilSize: 256 });
  const theta = keep(randomTheta(gen, 64, 8, 0.15));
  const fc = keep(uniform(gen, [64], { low: 0.125, high: 0.25 }));
  const call = (): void => noGrad(() => tidy(() => void psfFromZernike(optics, theta, mixedFc ? { fc } : {})));
  return {
    sample: (t) => sampleMs(call, t),
    dispose: () => {
      theta.free();
      fc.free();
      gen.dispose();
    },
  };
}

function acquireBatch(): Prepared {
  const gen = new Generator(0);
  const x = keep(uniform(gen, [16, 1, 256, 256]));
  const psf = uniform(gen, [16, 31, 31]);
  const h = keep(psf.div(psf.sum([1, 2], true)));
  psf.dispose();
  const gain = keep(uniform(gen, [16], { low: 1e-3, high: 0.021 }));
  const sigma = keep(uniform(gen, [16], { high: 0.02 }));
  const call = (): void =>
    noGrad(() =>
      tidy(() => {
        const y0 = blur(x, h, 'valid');
        void quantize(gaussianNoise(gen, poissonNoise(gen, y0, gain), sigma), 16);
      }),
    );
  return {
    sample: (t) => sampleMs(call, t),
    dispose: () => {
      for (const t of [x, h, gain, sigma] as Tensor[]) t.free();
      gen.dispose();
    },
  };
}

interface Figure {
  name: string;
  /** The reference figure in optics_ref.py. */
  reference: string;
  /** Items per call, and their unit. */
  batch: number;
  unit: string;
  warmup: number;
  round: TimingOptions;
  prepare: () => Prepared;
}

const FIGURES: Figure[] = [
  { name: 'psf', reference: 'psf', batch: 64, unit: 'ms/PSF', warmup: 3, round: { warmup: 1, repeats: 8 }, prepare: () => psfBatch(false) },
  { name: 'psf_mixed_fc', reference: 'psf', batch: 64, unit: 'ms/PSF', warmup: 3, round: { warmup: 1, repeats: 8 }, prepare: () => psfBatch(true) },
  { name: 'acquire', reference: 'acquire', batch: 16, unit: 'ms/acquisition', warmup: 3, round: { warmup: 1, repeats: 8 }, prepare: acquireBatch },
];

export async function run(): Promise<BenchLine[]> {
  return eachFigure(
    'optics',
    'optics_ref.py',
    FIGURES,
    (server, f) => server.request({ figure: f.reference, warmup: f.warmup, repeats: 0, threads: getNumThreads() }),
    (f, ours, server) => {
      const perItem = (ms: number[]): number[] => ms.map((v) => v / f.batch);
      return compare({
        name: `optics.${f.name}`,
        unit: f.unit,
        psfid: () => perItem(ours.sample(f.round)),
        reference: async () => perItem((await server.request<ReferenceSamples>({ figure: f.reference, ...f.round, threads: getNumThreads() })).samples_ms),
      });
    },
  );
}
