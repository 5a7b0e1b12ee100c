// Training data synthesised on the fly: crops x from the configured sources, degradations (fc, θmax, θ, γ, σ, q, s)
// ~ μ, and y = S_s Q_q(P_γ(h ⋆ x) + ε_σ) on the valid region. Step k draws from Rng/Generator seeded by
// stepSeed(seed, k), so a step's batch never depends on what ran before it (exact resume, parallel prefetch: the
// crops of coming steps are drawn by worker threads, src/train/prefetch.ts, while the current step trains).
import { Generator, keep, tensor, tidy, type Tensor } from '../engine/index.js';
import { acquire, resolvePrior, sampleDegradation, type Prior, type PriorSpec } from '../acquisition/index.js';
import { resolveOptics, type Optics } from '../optics/index.js';
import { Rng, stepSeed } from '../data/rng.js';
import { DEFAULT_CROP_OPTIONS, drawCrops, resolveSources, sourcesBySide, type CropBatch, type CropOptions, type Source } from '../data/sources.js';
import { resolvePreset } from '../model/identifier.js';
import { trainingCropSizes, type TrainConfig } from './config.js';
import { stepCrops } from './crop-side.js';
import type { ValidationSet } from './validate.js';
import { resolveWorkers, startPrefetcher } from './prefetch.js';

export interface TrainingBatch {
  /** Sharp crops [B, 1, C + S − 1, C + S − 1] on [0, 1]. */
  x: Tensor;
  /** Observations [B, 1, C, C]. */
  y: Tensor;
  /** Noise-free blurred crops h ⋆ x [B, 1, C, C]. */
  y0: Tensor;
  /** True PSFs [B, S, S]. */
  h: Tensor;
  fc: Tensor;
  thetaMax: Tensor;
  /** True Zernike coefficients [B, K] in waves (over the prior's zernikeNoll). */
  theta: Tensor;
}

export interface Synthesizer {
  readonly prior: Prior;
  readonly optics: Optics;
  readonly sourceNames: string[];
  /** The batch of training step `step` (0-based), drawn inline. */
  trainingBatch(step: number): TrainingBatch;
  /** Step `step`'s crops: from the prefetching workers when there are any (config.data.workers), else drawn inline. */
  crops(step: number): Promise<CropBatch>;
  /** Step `step`'s batch from its crops: trainingBatch(step) is batchFromCrops(step, crops of step). */
  batchFromCrops(step: number, crops: CropBatch): TrainingBatch;
  /** Number of prefetching worker threads (0: inline). */
  readonly workers: number;
  /** Where the training batches' noise is drawn (config.data.noiseDraws resolved for the device). */
  readonly noiseDraws: 'cpu' | 'device';
  /** The fixed validation set (config.validation.size samples from config.validation.seed). */
  validationSet(): ValidationSet;
  dispose(): void;
}

/** data.noiseDraws for a run on `device`: 'auto' is 'device' on a GPU and 'cpu' on the CPU. */
export function resolveNoiseDraws(setting: TrainConfig['data']['noiseDraws'], device: string): 'cpu' | 'device' {
  return setting === 'auto' ? (device === 'cpu' ? 'cpu' : 'device') : setting;
}

/** The degradations from `gen` and the acquisition of drawn crops, on `device` (noise drawn as `noiseDraws` says). */
export function acquireCrops(crops: CropBatch, prior: Prior, optics: Optics, gen: Generator, device: string, noiseDraws: 'cpu' | 'device' = 'cpu'): TrainingBatch {
  const { batch, n } = crops;
  return tidy(() => {
    const params = sampleDegradation(gen, prior, batch, { device });
    const { x, y, y0, h } = acquire(gen, tensor(crops.pixels, [batch, 1, n, n], { device }), params, optics, { boundary: 'valid', peak: crops.exposure, noiseDraws });
    return { x, y, y0, h, fc: params.fc, thetaMax: params.thetaMax, theta: params.theta };
  });
}

/** Builds one batch from its own random streams. */
export function synthesizeBatch(sources: Source[], prior: Prior, optics: Optics, rng: Rng, gen: Generator, batch: number, cropSize: number, device: string, crop: CropOptions = DEFAULT_CROP_OPTIONS): TrainingBatch {
  const n = cropSize + optics.psfSize - 1;
  return acquireCrops(drawCrops(sources, rng, batch, n, crop), prior, optics, gen, device);
}

export function makeSynthesizer(config: TrainConfig, device: string, baseDir: string): Synthesizer {
  const prior = resolvePrior(config.prior as PriorSpec);
  const arch = resolvePreset(config.preset, config.architecture);
  // The optics' own fc is a placeholder: every sample carries its own fc from μ.
  const optics = resolveOptics({ fc: prior.fc[1], psfSize: arch.psfSize, zernikeNoll: prior.zernikeNoll });
  // x crops are the crop side + S − 1. With several sides (config.cropSizes) the images are loaded once, down to the
  // smallest side, and each side draws from those that reach it (data.sizeFilter 'perSide'), or every side from
  // those that reach the largest ('largest').
  const ns = trainingCropSizes(config).map((c) => c + optics.psfSize - 1);
  const validationN = config.cropSize + optics.psfSize - 1;
  const perSide = config.data.sizeFilter === 'perSide';
  const loadSide = perSide ? Math.min(...ns, validationN) : Math.max(...ns, validationN);
  const sources = resolveSources(config.data.sources, loadSide, config.data.maxImages, baseDir);
  const sourcesAt = sourcesBySide(sources, perSide);
  for (const n of [...ns, validationN]) sourcesAt(n); // a side that no image of a source reaches fails here, not mid-run
  const crop: CropOptions = { normalize: config.data.cropNormalization, minStd: config.data.minCropStd, exposure: config.data.exposure };
  const workers = resolveWorkers(config.data.workers, device);
  const prefetcher = workers > 0 ? startPrefetcher({ sources, crop, seed: config.seed, batch: config.batchSize, n: ns, perSide, workers }) : null;
  const inlineCrops = (step: number): CropBatch => stepCrops(sourcesAt, config.seed, step, config.batchSize, ns, crop);
  const noiseDraws = resolveNoiseDraws(config.data.noiseDraws, device);
  const batchFromCrops = (step: number, crops: CropBatch): TrainingBatch => {
    const gen = new Generator(stepSeed(config.seed, step, 1));
    try {
      return acquireCrops(crops, prior, optics, gen, device, noiseDraws);
    } finally {
      gen.dispose();
    }
  };
  return {
    prior,
    optics,
    workers,
    noiseDraws,
    sourceNames: sources.map((s) => (s.kind === 'images' ? `${s.name} (${s.images.length} images)` : s.name)),
    trainingBatch: (step) => batchFromCrops(step, inlineCrops(step)),
    crops: async (step) => (prefetcher ? prefetcher.crops(step) : inlineCrops(step)),
    batchFromCrops,
    validationSet(): ValidationSet {
      const { size, seed } = config.validation;
      const batches: ValidationSet['batches'] = [];
      const per = Math.min(16, size);
      for (let k = 0; k * per < size; k++) {
        const gen = new Generator(stepSeed(seed, k, 3));
        const b = synthesizeBatch(sourcesAt(validationN), prior, optics, new Rng(stepSeed(seed, k, 2)), gen, Math.min(per, size - k * per), config.cropSize, device, crop);
        gen.dispose();
        for (const t of Object.values(b)) keep(t as Tensor);
        batches.push(b);
      }
      return {
        batches,
        dispose: () => batches.forEach((b) => Object.values(b).forEach((t) => (t as Tensor).dispose())),
      };
    },
    dispose: () => void prefetcher?.close(),
  };
}
