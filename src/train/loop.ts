// The seed's training loop: for each step, draw a minibatch of crops x, draw (fc, θmax, γ, σ, q, s) ~ μ and θ,
// synthesise y, minimise E‖ĥ − h(θ)‖₁ + λ E‖ĥ ⋆ x − y‖₁ (valid region), step the optimizer. Step k's data is a
// pure function of (seed, k), so resuming from a checkpoint repeats an uninterrupted run exactly.
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { Adam, AdamW, SGD, noGrad, resolveDevice, scheduledLr, stack, tidy, type Optimizer, type Tensor, writeFileAtomic } from '../engine/index.js';
import { Identifier, ZERNIKE_HEAD_NOLL, resolvePreset, twinSigns } from '../model/identifier.js';
import type { TrainConfig } from './config.js';
import { loadCheckpoint, loadInitialWeights, saveCheckpoint } from './checkpoint.js';
import { usageError } from '../errors.js';
import { loadModel, resolveModelPath } from '../model/store.js';
import { makeSynthesizer, type Synthesizer, type TrainingBatch } from './synthesize.js';
import { psfL1, seedLoss, twinThetaLoss } from './loss.js';
import { validate, type ValidationResult } from './validate.js';
import { writeCurves } from './curves.js';
import { WeightAverage } from './weight-average.js';
import { checkResume, existingRunFiles } from './resume.js';

export interface TrainEvents {
  onStart?(info: { startStep: number; steps: number; parameters: number; device: string; sources: string[]; workers: number; noiseDraws: 'cpu' | 'device' }): void;
  onStep?(info: { step: number; loss: number; psfTerm: number; dataTerm: number; lr: number; stepMs: number; dataMs: number }): void;
  onValidation?(info: { step: number } & ValidationResult): void;
  onCheckpoint?(info: { step: number; path: string }): void;
}

export interface TrainResult {
  step: number;
  stopped: boolean;
  lastValidation?: ValidationResult;
  /** The trained network: with config.emaDecay > 0, the moving average of its weights. */
  model: Identifier;
  /** The resolved prior μ the run trained under. */
  prior: unknown;
  /** Steps of this call recomputed in float32 because their bfloat16 gradients were not finite. */
  recomputedSteps: number;
}

export interface TrainOptions {
  outDir: string;
  /** Continue `outDir`'s checkpoint; its config must build the same network with the same optimizer kind. */
  resume?: boolean;
  /**
   * Start a new run in a folder that already holds one (checkpoint.safetensors, log.jsonl or model.safetensors),
   * replacing it. Without it (or `resume`), such a folder is refused: a new run would overwrite the old one's files.
   */
  overwrite?: boolean;
  /** Stop after this many steps in this call (for tests), even if `config.steps` is not reached. */
  maxStepsThisRun?: number;
  /** Folder that relative data paths are resolved against. */
  baseDir?: string;
  /**
   * Start from these weights (a psfid checkpoint or model file of the same architecture) instead of the seeded
   * initialisation, at step 0 with a fresh optimizer: a curriculum's next stage under a wider prior. Ignored when
   * `resume` finds a checkpoint to continue.
   */
  initFrom?: string;
  /** Checked after every step; when true the loop checkpoints and returns (SIGINT/SIGTERM). */
  shouldStop?: () => boolean;
  events?: TrainEvents;
}

function makeOptimizer(config: TrainConfig, params: Tensor[]): Optimizer {
  const o = config.optimizer;
  switch (o.kind) {
    case 'adam': return new Adam(params, { lr: o.lr, weightDecay: o.weightDecay });
    case 'adamw': return new AdamW(params, { lr: o.lr, weightDecay: o.weightDecay });
    case 'sgd': return new SGD(params, { lr: o.lr, momentum: o.momentum, weightDecay: o.weightDecay });
  }
}

export function checkpointPath(outDir: string): string {
  return join(outDir, 'checkpoint.safetensors');
}

/** Whether every parameter's gradient is finite (one reduction per parameter, read back once). */
function gradientsFinite(model: Identifier): boolean {
  return tidy(() => {
    const sums = model.parameters().flatMap((p) => (p.grad ? [p.grad.abs().sum().float()] : []));
    return sums.length === 0 || Number.isFinite(stack(sums).sum().item());
  });
}

/** Drops log lines after `step` (they belong to the part of an interrupted run that a resume repeats). */
function truncateLog(path: string, step: number): void {
  if (!existsSync(path)) return;
  const kept = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .filter((l) => {
      try {
        return (JSON.parse(l) as { step: number }).step <= step;
      } catch {
        return false;
      }
    });
  writeFileSync(path, kept.map((l) => l + '\n').join(''));
}

/** Weight of the auxiliary coefficient term at `step` (linear fade to 0 at thetaLossUntil, when that is set). */
export function thetaWeight(config: TrainConfig, step: number): number {
  if (config.thetaLoss === 0) return 0;
  if (config.thetaLossUntil === 0) return config.thetaLoss;
  return config.thetaLoss * Math.max(0, 1 - step / config.thetaLossUntil);
}

function sameModes(noll: readonly number[]): boolean {
  return noll.length === ZERNIKE_HEAD_NOLL.length && noll.every((j, i) => j === ZERNIKE_HEAD_NOLL[i]);
}

/** The distillation teacher (config.distill): loaded for inference, its PSF side checked against the student's. */
function loadTeacher(pathOrName: string, student: Identifier, device: string, precision: TrainConfig['convPrecision']): Identifier {
  const { model: teacher } = loadModel(resolveModelPath(pathOrName), device, precision);
  if (teacher.config.psfSize !== student.config.psfSize) {
    teacher.dispose();
    throw usageError('distill.teacher', `distill.teacher ${pathOrName}: its PSFs are ${teacher.config.psfSize}² pixels, the network's ${student.config.psfSize}²`);
  }
  return teacher;
}

export async function train(config: TrainConfig, opts: TrainOptions): Promise<TrainResult> {
  const device = resolveDevice(config.device);
  const logPath = join(opts.outDir, 'log.jsonl');
  const ckptPath = checkpointPath(opts.outDir);
  const resuming = opts.resume === true && existsSync(ckptPath);
  const existing = existingRunFiles(opts.outDir);
  if (!opts.resume && !opts.overwrite && existing.length > 0) {
    throw usageError('outDir', `${opts.outDir} already holds a training run (${existing.join(', ')}); resume it, or pass overwrite to replace it`);
  }
  if (resuming) checkResume(ckptPath, config);

  // Everything that can fail on the user's input (weights to start from, data sources) runs before the run folder
  // is created, so that a refused run leaves nothing behind.
  const model = new Identifier(resolvePreset(config.preset, config.architecture), config.seed);
  model.to(device);
  model.convPrecision = config.convPrecision;
  const smallest = `the smallest input of the ${config.preset} network, ${model.minInputSize}×${model.minInputSize} px`;
  if (config.cropSize < model.minInputSize) throw usageError('cropSize', `cropSize ${config.cropSize} is below ${smallest}`);
  const tooSmall = config.cropSizes?.find((c) => c < model.minInputSize);
  if (tooSmall !== undefined) throw usageError('cropSizes', `cropSizes entry ${tooSmall} is below ${smallest}`);
  if (!resuming && opts.initFrom) loadInitialWeights(model, opts.initFrom);
  const teacher = config.distill ? loadTeacher(config.distill.teacher, model, device, config.convPrecision) : null;
  const distillWeight = config.distill?.weight ?? 0;
  let synth: Synthesizer;
  try {
    synth = makeSynthesizer(config, device, opts.baseDir ?? '.');
  } catch (e) {
    teacher?.dispose(); // a refused data source: nothing of the run is kept
    throw e;
  }
  if (config.thetaLoss > 0 && !sameModes(synth.prior.zernikeNoll)) {
    teacher?.dispose();
    throw usageError('thetaLoss', `config.thetaLoss needs the prior's zernikeNoll to be ${ZERNIKE_HEAD_NOLL.join(', ')}, got ${synth.prior.zernikeNoll.join(', ')}`);
  }
  const optimizer = makeOptimizer(config, model.parameters());
  mkdirSync(opts.outDir, { recursive: true });
  const thetaSigns = twinSigns(ZERNIKE_HEAD_NOLL);

  let startStep = 0;
  const average = config.emaDecay > 0 ? new WeightAverage(model, config.emaDecay) : null;
  if (resuming) {
    const ck = loadCheckpoint(ckptPath);
    try {
      model.loadStateDict(ck.model);
      optimizer.loadState({ step: ck.optimizerStep, slots: ck.optim });
      startStep = ck.step;
      // A checkpoint of a run without an average (or from before emaDecay existed) starts one at its weights.
      average?.load(ck.average.size > 0 ? ck.average : ck.model);
    } finally {
      ck.dispose();
    }
    truncateLog(logPath, startStep);
  } else {
    writeFileSync(logPath, '');
  }
  writeFileAtomic(join(opts.outDir, 'config.json'), JSON.stringify({ ...config, prior: synth.prior }, null, 2) + '\n');

  const validationSet = synth.validationSet();
  opts.events?.onStart?.({ startStep, steps: config.steps, parameters: model.numParameters(), device, sources: synth.sourceNames, workers: synth.workers, noiseDraws: synth.noiseDraws });

  const log = (entry: object): void => appendFileSync(logPath, JSON.stringify(entry) + '\n');
  const schedule = config.schedule.kind === 'cosine' ? { ...config.schedule, totalSteps: config.steps } : config.schedule;
  const endStep = Math.min(config.steps, startStep + (opts.maxStepsThisRun ?? Infinity));
  let step = startStep;
  let recomputed = 0;
  let lastValidation: ValidationResult | undefined;
  let stopped = false;
  const save = (): void => {
    saveCheckpoint(ckptPath, model, optimizer, { step, config, prior: synth.prior, extra: { lastValidation } }, average?.state());
    opts.events?.onCheckpoint?.({ step, path: ckptPath });
  };

  try {
    model.train();
    while (step < endStep) {
      const t0 = performance.now();
      optimizer.lr = scheduledLr(schedule, config.optimizer.lr, step);
      const crops = await synth.crops(step);
      // The wait for the step's crops (worker threads, or drawn inline) apart from the rest of the data time (upload,
      // PSFs, blur, noise): tells which part of the data path a step waits on.
      const cropsMs = performance.now() - t0;
      let dataMs = 0;
      const terms = tidy(() => {
        const batch: TrainingBatch = synth.batchFromCrops(step, crops);
        dataMs = performance.now() - t0;
        // The teacher's forward only when its term counts (a weight of 0 still loads and checks the teacher).
        const hTeacher = teacher && distillWeight > 0 ? noGrad(() => teacher.identify(batch.y, batch.fc, batch.thetaMax)) : null;
        const forwardBackward = (): [number, number, number] =>
          tidy(() => {
            const { psf: hHat, theta: thetaHat } = model.identifyDetailed(batch.y, batch.fc, batch.thetaMax);
            const terms = seedLoss(hHat, batch, config.lambda, config.psfLoss);
            const { psfTerm, dataTerm } = terms;
            let loss = terms.loss;
            const w = thetaWeight(config, step);
            if (w > 0 && thetaHat) loss = loss.add(twinThetaLoss(thetaHat, batch.theta, batch.thetaMax, thetaSigns).mul(w));
            if (hTeacher) loss = loss.add(psfL1(hHat, hTeacher).mul(distillWeight));
            loss.backward();
            return [loss.item(), psfTerm.item(), dataTerm.item()];
          });
        let values = forwardBackward();
        // libtorch's oneDNN bfloat16 convolution backward gives non-finite weight gradients at some input sides (in
        // session 12 on this VM: 226, 245, 288 and 304 px among others, while 64–272 in steps of 16 were fine; the
        // forward is always finite): such a step is recomputed with float32 convolutions, not applied.
        if (model.convPrecision === 'bfloat16' && Number.isFinite(values[0]) && !gradientsFinite(model)) {
          optimizer.zeroGrad();
          model.convPrecision = 'float32';
          try {
            values = forwardBackward();
          } finally {
            model.convPrecision = 'bfloat16';
          }
          recomputed++;
          log({ kind: 'recomputed', step: step + 1, reason: 'non-finite bfloat16 gradients', finite: gradientsFinite(model) });
        }
        optimizer.step();
        optimizer.zeroGrad();
        average?.update(model, step);
        return values;
      });
      step++;
      const stepMs = performance.now() - t0;
      const [loss, psfTerm, dataTerm] = terms as [number, number, number];
      if (!Number.isFinite(loss)) throw new Error(`training diverged at step ${step} (loss ${loss}); lower optimizer.lr`);
      if (step % config.logEvery === 0 || step === endStep) {
        log({ kind: 'train', step, loss, psfTerm, dataTerm, lr: optimizer.lr, stepMs: Math.round(stepMs), dataMs: Math.round(dataMs), cropsMs: Math.round(cropsMs) });
      }
      opts.events?.onStep?.({ step, loss, psfTerm, dataTerm, lr: optimizer.lr, stepMs, dataMs });
      if (step % config.validation.every === 0 || step === config.steps) {
        lastValidation = noGrad(() => (average ? average.withAverage(model, () => validate(model, validationSet)) : validate(model, validationSet)));
        model.train();
        log({ kind: 'val', step, ...lastValidation });
        opts.events?.onValidation?.({ step, ...lastValidation });
        writeCurves(logPath, join(opts.outDir, 'curves.png'));
      }
      if (step % config.checkpointEvery === 0) save();
      await yieldToEventLoop(); // lets SIGINT/SIGTERM handlers run
      if (opts.shouldStop?.()) {
        stopped = true;
        break;
      }
    }
  } finally {
    synth.dispose(); // ends the crop workers, also when a step throws
    teacher?.dispose();
  }
  save();
  validationSet.dispose();
  optimizer.dispose();
  // The returned (and exported) network is the average; the checkpoint keeps both for --resume.
  if (average) {
    average.copyInto(model);
    average.dispose();
  }
  return { step, stopped, lastValidation, model, prior: synth.prior, recomputedSteps: recomputed };
}
