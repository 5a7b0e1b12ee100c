// Training benchmark: one training step of the `small` Identifier as src/train/loop.ts runs it, against the same
// network and synthesis written in PyTorch (bench/python/train_ref.py), in the same run, median milliseconds.
//   A step: synthesizeBatch (8 dead-leaves crops of 94² from src/data, sampleDegradation from the default prior,
//   acquire: per-sample-fc PSFs for Noll 4–11 by the matrix Fourier transform, valid rfft2 blur, Poisson, Gaussian,
//   quantization, salt-and-pepper) → Identifier.identify (spatial encoder + spectral branch; the small preset's
//   Zernike head computes ĥ by the same per-sample-fc MFT, differentiated) → seedLoss(λ = 0.1: PSF L1 + re-blur
//   data term) → backward → Adam (lr 1e-3) → zeroGrad → loss items. Both sides start from the same initial weights
//   (psfid's, passed to Python through a safetensors file) and keep training across rounds.
// Figures:
//   train.small_step          ms per step, 2 threads on both sides (PSF by MFT on both sides)
//   train.data_fraction       synthesis time / step time (median over steps); psfid's in "psfid", Python's in
//                             "reference", unit "fraction"
//   train.small_model_step    ms per step without the synthesis (forward, loss, backward, Adam): the engine
//                             comparison, free of how each side renders dead leaves (JS loop vs vectorised torch;
//                             both render on one thread)
//   train.small_step_1thread  ms per step, 1 thread on both sides (with train.data_fraction_1thread and
//                             train.small_model_step_1thread from the same steps: on a loaded 2-core machine the
//                             1-thread figures are the stable ones, 2-thread runs lose time in OpenMP barriers)
//   train.small_step_bf16_1thread  as train.small_step_1thread with the convolutions in bfloat16 on both sides
//                             (config convPrecision: 'bfloat16'; with its data_fraction and small_model_step)
//   train.small_step_fftpsf   psfid as train.small_step against PyTorch computing the synthesis' PSFs the naive way
//                             (full 256² FFT of the pupil, then the crop; the network's Zernike head stays MFT)
// The PyTorch port's parameter count is checked against psfid's (a mismatch fails the bench), and its PSFs against
// psfid's (stderr). Both sides run the encoder's convolutions channels-last on the CPU (src/model/identifier.ts
// convInput). PSFID_BENCH_ONLY=small_step,small_step_1thread,small_step_bf16_1thread,small_step_fftpsf picks figures (data_fraction
// and small_model_step come with the first two); PSFID_BENCH_VERBOSE=1 prints round medians and the synthesis split.
// Run: npm run bench -- train   (or: node dist/bench/run.js train)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Adam, getNumThreads, noGrad, saveSafetensors, setNumThreads, tensor, tidy } from '../src/engine/index.js';
import { Identifier, resolvePreset } from '../src/model/identifier.js';
import type { ConvPrecision } from '../src/model/precision.js';
import { makeSynthesizer, type Synthesizer } from '../src/train/synthesize.js';
import { seedLoss } from '../src/train/loss.js';
import { resolveTrainConfig } from '../src/train/config.js';
import { psfFromZernike, resolveOptics } from '../src/optics/index.js';
import { deadLeaves } from '../src/data/procedural.js';
import { Rng } from '../src/data/rng.js';
import type { BenchLine } from './types.js';
import { benchLine, median, PythonServer, pythonScript, ReferenceUnavailable, rounds, type ReferenceSamples } from './util.js';

const BATCH = 8;
const CROP = 64;
const LAMBDA = 0.1;
const LR = 1e-3;
/** Untimed steps before the first round, then per round: a short re-warm and the timed steps. */
const FIRST_WARMUP = 4;
const ROUND = { warmup: 1, repeats: 5 };

interface StepSamples {
  stepMs: number[];
  dataMs: number[];
}

/** psfid's side: the training loop's step (src/train/loop.ts), state kept across rounds. */
class PsfidTrainer {
  readonly model: Identifier;
  readonly #optimizer: Adam;
  readonly #synth: Synthesizer;
  #step = 0;

  constructor() {
    const config = resolveTrainConfig({
      preset: 'small',
      seed: 1,
      batchSize: BATCH,
      cropSize: CROP,
      lambda: LAMBDA,
      optimizer: { kind: 'adam', lr: LR, weightDecay: 0, momentum: 0.9 },
      schedule: { kind: 'constant' },
      data: { sources: [{ kind: 'procedural', generator: 'dead-leaves', weight: 1 }], maxImages: 1 },
    });
    this.model = new Identifier(resolvePreset('small'), config.seed);
    this.model.train();
    this.#optimizer = new Adam(this.model.parameters(), { lr: LR, weightDecay: 0 });
    this.#synth = makeSynthesizer(config, 'cpu', '.');
  }

  /** One step exactly as train() runs it; returns [step ms, synthesis ms]. */
  step(): [number, number] {
    const t0 = performance.now();
    let dataMs = 0;
    tidy(() => {
      const td = performance.now();
      const batch = this.#synth.trainingBatch(this.#step);
      dataMs = performance.now() - td;
      const hHat = this.model.identify(batch.y, batch.fc, batch.thetaMax);
      const { loss, psfTerm, dataTerm } = seedLoss(hHat, batch, LAMBDA);
      loss.backward();
      this.#optimizer.step();
      this.#optimizer.zeroGrad();
      return [loss.item(), psfTerm.item(), dataTerm.item()];
    });
    this.#step++;
    return [performance.now() - t0, dataMs];
  }

  sample(o: { warmup: number; repeats: number }): StepSamples {
    for (let i = 0; i < o.warmup; i++) this.step();
    const out: StepSamples = { stepMs: [], dataMs: [] };
    for (let i = 0; i < o.repeats; i++) {
      const [s, d] = this.step();
      out.stepMs.push(s);
      out.dataMs.push(d);
    }
    return out;
  }

  dispose(): void {
    this.#optimizer.dispose();
    this.#synth.dispose();
    this.model.dispose();
  }
}

/** Runs `fn` with the engine on `threads` threads, restoring the previous setting. */
function withThreads<T>(threads: number, fn: () => T): T {
  const before = getNumThreads();
  setNumThreads(threads);
  try {
    return fn();
  } finally {
    setNumThreads(before);
  }
}

const fractions = (s: StepSamples): number[] => s.stepMs.map((ms, i) => s.dataMs[i]! / ms);
const modelMs = (s: StepSamples): number[] => s.stepMs.map((ms, i) => ms - s.dataMs[i]!);

/** Compares psfid's PSFs with the port's (MFT and FFT) on a few random (θ, fc); returns the largest differences. */
async function checkPsfs(server: PythonServer): Promise<{ mft: number; fft: number }> {
  const optics = resolveOptics({ fc: 0.25, psfSize: 31, pupilSize: 256 });
  const rng = new Rng(7);
  const theta = Array.from({ length: 4 * 8 }, () => rng.uniform(-0.15, 0.15));
  const fc = Array.from({ length: 4 }, () => rng.uniform(0.125, 0.25));
  const ours = noGrad(() => tidy(() => psfFromZernike(optics, tensor(theta, [4, 8]), { fc }).toArray()));
  const ref = await server.request<{ mft: number[]; fft: number[] }>({ figure: 'psf', theta, fc });
  const maxDiff = (xs: number[]): number => xs.reduce((m, v, i) => Math.max(m, Math.abs(v - ours[i]!)), 0);
  return { mft: maxDiff(ref.mft), fft: maxDiff(ref.fft) };
}

/** Milliseconds of psfid's dead-leaves crops for one batch (JS), median of a few. */
function cropMs(): number {
  const rng = new Rng(3);
  const n = CROP + 31 - 1;
  const t: number[] = [];
  for (let k = 0; k < 7; k++) {
    const t0 = performance.now();
    for (let b = 0; b < BATCH; b++) deadLeaves(rng, n);
    t.push(performance.now() - t0);
  }
  return median(t.slice(2));
}

interface Variant {
  name: string;
  threads: number;
  psf: 'mft' | 'fft';
  precision: ConvPrecision;
}

const VARIANTS: Variant[] = [
  { name: 'small_step', threads: 2, psf: 'mft', precision: 'float32' },
  { name: 'small_step_1thread', threads: 1, psf: 'mft', precision: 'float32' },
  { name: 'small_step_bf16_1thread', threads: 1, psf: 'mft', precision: 'bfloat16' },
  { name: 'small_step_fftpsf', threads: 2, psf: 'fft', precision: 'float32' },
];

export async function run(): Promise<BenchLine[]> {
  const only = process.env.PSFID_BENCH_ONLY?.split(',');
  const verbose = Boolean(process.env.PSFID_BENCH_VERBOSE);
  const lines: BenchLine[] = [];
  let server: PythonServer;
  try {
    server = PythonServer.start(pythonScript('train_ref.py'));
  } catch (e) {
    if (!(e instanceof ReferenceUnavailable)) throw e;
    process.stderr.write(`bench: skipping train.*: ${e.message}\n`);
    return lines;
  }
  const dir = mkdtempSync(join(tmpdir(), 'psfid-bench-train-'));
  const ours = new PsfidTrainer();
  try {
    const ref = await server.request<{ parameters: number }>({ figure: 'params', preset: 'small' });
    const count = ours.model.numParameters();
    process.stderr.write(`bench: train: parameters psfid ${count.toLocaleString('en-US')}, PyTorch port ${ref.parameters.toLocaleString('en-US')}\n`);
    if (count !== ref.parameters) throw new Error(`the PyTorch port has ${ref.parameters} parameters, psfid's small Identifier ${count}`);
    const psf = await checkPsfs(server);
    process.stderr.write(`bench: train: PSFs, max |psfid − port|: MFT ${psf.mft.toExponential(2)}, full FFT ${psf.fft.toExponential(2)}\n`);
    // Same initial weights on both sides.
    const weights = join(dir, 'initial.safetensors');
    saveSafetensors(weights, ours.model.stateDict());

    const byThreads = (threads: number, o: { warmup: number; repeats: number }): StepSamples => withThreads(threads, () => ours.sample(o));
    const theirs = async (v: Variant, o: { warmup: number; repeats: number }): Promise<StepSamples> => {
      const r = await server.request<{ samples_ms: number[]; data_ms: number[] }>({ figure: 'train', psf: v.psf, threads: v.threads, precision: v.precision, weights, ...o });
      return { stepMs: r.samples_ms, dataMs: r.data_ms };
    };

    for (const v of VARIANTS) {
      if (only && !only.includes(v.name)) continue;
      ours.model.convPrecision = v.precision;
      byThreads(v.threads, { warmup: FIRST_WARMUP, repeats: 0 });
      await theirs(v, { warmup: FIRST_WARMUP, repeats: 0 });
      const a: StepSamples[] = [];
      const b: StepSamples[] = [];
      for (let r = 0; r < rounds(); r++) {
        // Alternate who goes first, so that neither always runs right after the other.
        if (r % 2 === 0) {
          a.push(byThreads(v.threads, ROUND));
          b.push(await theirs(v, ROUND));
        } else {
          b.push(await theirs(v, ROUND));
          a.push(byThreads(v.threads, ROUND));
        }
      }
      const roundMedians = (xs: StepSamples[], f: (s: StepSamples) => number[]): number[] => xs.map((s) => median(f(s)));
      const fig = (f: (s: StepSamples) => number[]): [number, number] => [median(roundMedians(a, f)), median(roundMedians(b, f))];
      const [stepA, stepB] = fig((s) => s.stepMs);
      lines.push(benchLine(`train.${v.name}`, stepA, stepB, 'ms'));
      if (v.psf === 'mft') {
        const suffix = v.name.replace('small_step', ''); // '', '_1thread', '_bf16_1thread'
        const [fa, fb] = fig(fractions);
        lines.push(benchLine(`train.data_fraction${suffix}`, fa, fb, 'fraction'));
        const [ma, mb] = fig(modelMs);
        lines.push(benchLine(`train.small_model_step${suffix}`, ma, mb, 'ms'));
      }
      if (verbose) {
        const f = (xs: number[]): string => xs.map((x) => x.toPrecision(4)).join(' ');
        process.stderr.write(`bench: train.${v.name} round medians (step ms): psfid ${f(roundMedians(a, (s) => s.stepMs))} | reference ${f(roundMedians(b, (s) => s.stepMs))}\n`);
        process.stderr.write(`bench: train.${v.name} round medians (synthesis ms): psfid ${f(roundMedians(a, (s) => s.dataMs))} | reference ${f(roundMedians(b, (s) => s.dataMs))}\n`);
      }
    }
    if (verbose) {
      const theirCrops = median((await server.request<ReferenceSamples>({ figure: 'crops', threads: 1, warmup: 2, repeats: 5 })).samples_ms);
      process.stderr.write(`bench: train: ${BATCH} dead-leaves crops alone, 1 thread: psfid (JS) ${cropMs().toPrecision(3)} ms, PyTorch port ${theirCrops.toPrecision(3)} ms\n`);
    }
  } finally {
    ours.dispose();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
