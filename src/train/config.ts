// The training configuration: a JSON file validated against this schema (errors name the key), overridable by
// CLI flags. Every default is here, in one place.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { usageError } from '../errors.js';

const sourceSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('folder'),
    /** A folder searched recursively for TIFF/PNG/JPEG images. */
    path: z.string().min(1),
    weight: z.number().positive().default(1),
  }).strict(),
  z.object({
    kind: z.literal('manifest'),
    /** ../shared/data/MANIFEST.tsv-style table: path, domain, split, … (paths relative to the table's folder). */
    path: z.string().min(1),
    split: z.string().default('train'),
    domain: z.string().optional(),
    weight: z.number().positive().default(1),
  }).strict(),
  z.object({
    kind: z.literal('procedural'),
    generator: z.enum(['dead-leaves', 'filaments', 'spots', 'beads']),
    weight: z.number().positive().default(1),
  }).strict(),
]);
export type SourceConfig = z.infer<typeof sourceSchema>;

export const trainConfigSchema = z.object({
  /** Network preset: small (CPU, shipped), seed (~60 M, GPU), tiny (tests). */
  preset: z.enum(['small', 'seed', 'tiny']).default('small'),
  /** Seed of everything: initial weights, data, degradations. Step k's data depends only on (seed, k). */
  seed: z.number().int().nonnegative().default(0),
  device: z.string().default('auto'),
  steps: z.number().int().positive().default(20000),
  batchSize: z.number().int().positive().default(8),
  /** Side of the blurred image y the network sees (the valid region); x crops are cropSize + S − 1. */
  cropSize: z.number().int().min(16).default(64),
  /**
   * Crop sides cycled step by step (step k trains on cropSizes[k mod length]), e.g. [64, 256]: one model for small
   * patches and whole fields (a model trained on 256² crops alone loses 0.5–1.4 dB on 64², docs/model-history.md).
   * Absent: every step uses cropSize. Validation always uses cropSize.
   */
  cropSizes: z.array(z.number().int().min(16)).min(1).optional(),
  /** Weight λ of the data term ‖ĥ⋆x − y‖₁ (mean per pixel) against the PSF term ‖ĥ − h‖₁ (sum over the PSF). */
  lambda: z.number().nonnegative().default(0.1),
  /**
   * The PSF term: 'l1' (default; the seed's ‖ĥ − h‖₁) or 'log-mse' (per sample log of the mean squared error
   * against h, averaged over the batch: up to constants, minus the mean PSNR(ĥ) in nepers, i.e. the evaluation's own
   * measure; its optimum is the posterior mean PSF, where L1's is the pixelwise median).
   */
  psfLoss: z.enum(['l1', 'log-mse']).default('l1'),
  /**
   * Weight of an auxiliary coefficient term for the 'zernike' head (0 = the seed's loss alone): the mean squared error
   * of θ̂/θmax against the nearer of θ/θmax and its twin (even modes negated, the same PSF). Near θ̂ = 0 the PSF is
   * quadratic in the even modes, so the seed's loss alone has a flat saddle there; this term gives the head a
   * gradient out of it. `thetaLossUntil` (steps, 0 = always) fades it linearly to 0 so the run ends on the seed's loss.
   */
  thetaLoss: z.number().nonnegative().default(0),
  thetaLossUntil: z.number().int().nonnegative().default(0),
  /**
   * Arithmetic of the network's convolutions while training (src/model/precision.ts): 'float32' (default), or
   * 'bfloat16' (mixed precision: the weights, their gradients, the optimizer, pooling, head and loss stay float32;
   * the convolutions after the first of each stack get bfloat16 copies of their inputs and weights). On a CPU with
   * AMX a one-thread step of the small preset takes ≈ 90 ms instead of ≈ 180 ms (`npm run bench -- train`, README).
   */
  convPrecision: z.enum(['float32', 'bfloat16']).default('float32'),
  /**
   * Decay d of an exponential moving average of the weights (src/train/weight-average.ts; 0 = off, the default):
   * after each step avg ← d·avg + (1 − d)·w, with d warmed up as min(d, (1 + k)/(10 + k)). Validation, the checkpoint's
   * `average.*` tensors and the exported model use the average; 0.999 averages over about the last 1,000 steps.
   */
  emaDecay: z.number().min(0).lt(1).default(0),
  /**
   * Knowledge distillation (null = off, the default): a second, trained network (the teacher, a psfid model file or
   * shipped model name; relative paths against the working folder) identifies every training batch too, and the loss
   * adds weight · ‖ĥ − ĥ_teacher‖₁ (summed over the PSF, averaged over the batch, like the PSF term). Meant to hand a
   * small network what a larger one reads (session 15's 8.9 M network reads defocus, the shipped 0.95 M one hardly).
   */
  distill: z.object({
    teacher: z.string().min(1),
    weight: z.number().nonnegative(),
  }).strict().nullable().default(null),
  /** Overrides of the preset's architecture (src/model/identifier.ts IdentifierConfig), e.g. {"conditionHead": true}. */
  architecture: z.object({
    baseChannels: z.number().int().positive(),
    levels: z.number().int().min(2),
    decoderChannels: z.number().int().positive(),
    psfSize: z.number().int().positive(),
    slope: z.number().min(0),
    spectralChannels: z.number().int().nonnegative(),
    spectralTile: z.number().int().positive(),
    head: z.enum(['pixels', 'zernike']),
    conditionHead: z.boolean(),
    headLayers: z.number().int().min(1).max(4),
    init: z.enum(['torch', 'he']),
    inputNorm: z.enum(['std', 'range']),
    pool: z.enum(['mean', 'meanmax']),
    headNorm: z.boolean(),
    psfResidual: z.boolean(),
    psfResidualHidden: z.number().int().min(0).max(4096),
    psfMixture: z.number().int().min(1).max(16),
    evenModes: z.enum(['direct', 'outer']),
    fcRef: z.number().gt(0).lt(0.5),
    radialBins: z.number().int().min(0).max(256),
  }).partial().strict().default({}),
  optimizer: z.object({
    kind: z.enum(['adam', 'adamw', 'sgd']).default('adam'),
    lr: z.number().positive().default(1e-3),
    weightDecay: z.number().nonnegative().default(0),
    momentum: z.number().min(0).max(1).default(0.9),
  }).strict().default({ kind: 'adam', lr: 1e-3, weightDecay: 0, momentum: 0.9 }),
  schedule: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('constant') }).strict(),
    z.object({ kind: z.literal('cosine'), warmupSteps: z.number().int().nonnegative().default(200), minFactor: z.number().min(0).max(1).default(0.05) }).strict(),
    z.object({ kind: z.literal('step'), everySteps: z.number().int().positive(), gamma: z.number().positive() }).strict(),
  ]).default({ kind: 'cosine', warmupSteps: 200, minFactor: 0.05 }),
  /** Overrides of the default prior μ (src/acquisition), e.g. {"thetaMax": [0.02, 0.15]}. */
  prior: z.record(z.string(), z.unknown()).default({}),
  data: z.object({
    sources: z.array(sourceSchema).min(1).default([
      { kind: 'procedural', generator: 'dead-leaves', weight: 1 },
      { kind: 'procedural', generator: 'filaments', weight: 1 },
      { kind: 'procedural', generator: 'spots', weight: 1 },
    ]),
    /** Images smaller than the crop are skipped; each image's planes (z, t, channels) count as separate images. */
    maxImages: z.number().int().positive().default(2000),
    /**
     * With several crop sides (cropSizes): 'perSide' (default) draws each step's crops from the images that reach
     * that step's side, so small crops still see the small images; 'largest' uses only the images that reach the
     * largest side for every step (how session 8's stages 6–7 of the shipped model were trained).
     */
    sizeFilter: z.enum(['perSide', 'largest']).default('perSide'),
    /** Crops from real images divided by their maximum ('max') or kept on the dtype-range scale ('none'). */
    cropNormalization: z.enum(['max', 'none']).default('max'),
    /** Real-image crops flatter than this standard deviation (after normalisation) are redrawn. */
    minCropStd: z.number().min(0).max(0.5).default(0.05),
    /**
     * Auto-exposure [lo, hi] or null: each crop is scaled so that its noise-free blurred image peaks at U[lo, hi]
     * (src/data/sources.ts CropOptions.exposure). Needed for sparse scenes (beads, spots).
     */
    exposure: z.tuple([z.number().positive().max(1), z.number().positive().max(1)]).refine(([a, b]) => a <= b, 'must be [lo, hi] with lo ≤ hi').nullable().default(null),
    /**
     * Worker threads that draw the crops of the coming steps while the current one trains (src/train/prefetch.ts);
     * 0 draws them inline. 'auto': none on the CPU (libtorch's threads already use the cores), and on a GPU one per
     * core but two, at most 8 (there the crops took 85 % of the seed preset's step). The batches are the same either way.
     */
    workers: z.union([z.literal('auto'), z.number().int().min(0).max(64)]).default('auto'),
    /**
     * Where the training batches' noise is drawn (src/acquisition/acquire.ts noiseDraws): 'cpu' (the same batches on
     * every device), 'device' (torch's samplers on the training device, from a fork of the step's generator: on a GPU
     * the CPU draws were 94 % of the acquisition), or 'auto' (default: 'device' on a GPU, 'cpu' on the CPU, where the
     * two are the same). The validation set is always drawn on the CPU, so its figures compare across devices.
     */
    noiseDraws: z.enum(['auto', 'cpu', 'device']).default('auto'),
  }).strict().default({ sizeFilter: 'perSide', cropNormalization: 'max', minCropStd: 0.05, exposure: null, workers: 'auto', noiseDraws: 'auto', sources: [
    { kind: 'procedural', generator: 'dead-leaves', weight: 1 },
    { kind: 'procedural', generator: 'filaments', weight: 1 },
    { kind: 'procedural', generator: 'spots', weight: 1 },
  ], maxImages: 2000 }),
  validation: z.object({
    every: z.number().int().positive().default(500),
    size: z.number().int().positive().default(64),
    seed: z.number().int().nonnegative().default(20261125),
  }).strict().default({ every: 500, size: 64, seed: 20261125 }),
  checkpointEvery: z.number().int().positive().default(200),
  logEvery: z.number().int().positive().default(10),
}).strict();

export type TrainConfig = z.infer<typeof trainConfigSchema>;

/** The crop sides training cycles through (config.cropSizes, else [config.cropSize]). */
export function trainingCropSizes(config: Pick<TrainConfig, 'cropSize' | 'cropSizes'>): number[] {
  return config.cropSizes ?? [config.cropSize];
}

/** A config key set by a CLI flag: its errors name the flag and the value as typed, not the schema path. */
export interface FlagSource {
  flag: string;
  given: string;
}

/**
 * Validates a parsed config; throws a usage error naming the first bad key, e.g. `config.optimizer.lr: …`. `flags`
 * maps the dotted keys that CLI flags set (`optimizer.lr`) to those flags, so that a bad flag value reads
 * `--lr must be > 0, got '0'` instead of naming a key the user never typed.
 */
export function resolveTrainConfig(raw: unknown, source = 'config', flags: Record<string, FlagSource> = {}): TrainConfig {
  const r = trainConfigSchema.safeParse(raw ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const fromFlag = flags[issue.path.map(String).join('.')];
    if (fromFlag && issue.code !== 'unrecognized_keys') {
      throw usageError(fromFlag.flag, `${fromFlag.flag} must be ${mustBe(issue)}, got '${fromFlag.given}'`);
    }
    const path = [source, ...issue.path.map(String)];
    if (issue.code === 'unrecognized_keys') {
      const key = [...path, issue.keys[0]].join('.');
      throw usageError(key, `${key}: unknown key (allowed: ${Object.keys(allowedKeys(issue.path)).join(', ')})`);
    }
    const key = path.join('.');
    throw usageError(key, `${key}: ${issue.message}`);
  }
  return r.data;
}

/** What a value must be, in words, from a schema issue ("≥ 16", "an integer", "one of small, seed, tiny"). */
function mustBe(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'too_small': return `${issue.inclusive ? '≥' : '>'} ${String(issue.minimum)}`;
    case 'too_big': return `${issue.inclusive ? '≤' : '<'} ${String(issue.maximum)}`;
    case 'invalid_value': return `one of ${issue.values.map(String).join(', ')}`;
    case 'invalid_type': return issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`;
    default: return `valid (${issue.message})`;
  }
}

/**
 * The offset at which `text` stops being JSON (-1 when it is JSON): V8's messages give it for some mistakes ("at
 * position 8") but not for an unexpected token, so a small recursive-descent scan of the grammar finds it.
 */
function jsonErrorOffset(text: string): number {
  let i = 0;
  const fail = (): never => {
    throw i;
  };
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i]!)) i++;
  };
  const word = (w: string): void => {
    for (const c of w) {
      if (text[i] !== c) fail();
      i++;
    }
  };
  const string = (): void => {
    i++; // the opening quote
    for (;;) {
      const c = text[i];
      if (c === undefined || c < ' ') fail();
      i++;
      if (c === '"') return;
      if (c !== '\\') continue;
      if ('"\\/bfnrt'.includes(text[i] ?? 'x')) i++;
      else if (text[i] === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) i += 5;
      else fail();
    }
  };
  const members = (close: string, member: () => void): void => {
    i++; // the opening bracket
    ws();
    if (text[i] === close) {
      i++;
      return;
    }
    for (;;) {
      member();
      ws();
      if (text[i] === close) {
        i++;
        return;
      }
      if (text[i] !== ',') fail();
      i++;
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      members('}', () => {
        ws();
        if (text[i] !== '"') fail();
        string();
        ws();
        if (text[i] !== ':') fail();
        i++;
        value();
      });
    } else if (c === '[') members(']', value);
    else if (c === '"') string();
    else if (c === 't') word('true');
    else if (c === 'f') word('false');
    else if (c === 'n') word('null');
    else {
      const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
      if (!m) fail();
      i += m![0].length;
    }
  };
  try {
    value();
    ws();
    if (i < text.length) fail();
    return -1;
  } catch (e) {
    if (typeof e === 'number') return e;
    throw e;
  }
}

/** Why `text` is not JSON, in one line: the parser's reason, where (position, line, column). */
function jsonFailure(text: string, e: unknown): string {
  if (text.trim() === '') return 'the file is empty';
  const message = (e as Error).message;
  const at = jsonErrorOffset(text);
  if (at < 0) return message;
  // V8 quotes the text for an unexpected token ("Unexpected token '}', "{…}" is not valid JSON"): keep the token
  const token = /^Unexpected token '(.+?)', /s.exec(message);
  const reason = token ? `unexpected '${token[1]}'` : message.replace(/ (in JSON )?at position \d+.*$/s, '');
  const before = text.slice(0, at).split('\n');
  return `${reason} at position ${at}, line ${before.length} column ${before.at(-1)!.length + 1}`;
}

/** Why a file could not be read, in a user's words. */
function readFailureReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? (e as Error).message;
}

/**
 * Reads and validates a config file. A file that cannot be read or is not JSON is a usage error (the user named a
 * wrong file, as with a bad key) naming it as `label` (the CLI passes `--config FILE`).
 */
export function readTrainConfig(path: string, label = path): TrainConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw usageError(path, `${label}: cannot read (${readFailureReason(e)})`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw usageError(path, `${label}: not valid JSON (${jsonFailure(text, e)})`);
  }
  // JSON's null would otherwise read as "no keys": a full default run
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw usageError(path, `${label}: a training config is a JSON object ({ "key": value, … }), got ${raw === null ? 'null' : Array.isArray(raw) ? 'an array' : typeof raw}`);
  return resolveTrainConfig(raw, path);
}

/** The keys the schema allows at `path` (for "unknown key" messages). */
function allowedKeys(path: PropertyKey[]): Record<string, unknown> {
  let schema: z.ZodType = trainConfigSchema;
  for (const k of path) {
    let inner: unknown = schema;
    while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = (inner as z.ZodDefault<z.ZodType>).unwrap();
    if (inner instanceof z.ZodObject) schema = (inner.shape as Record<string, z.ZodType>)[String(k)]!;
    else return {};
  }
  let inner: unknown = schema;
  while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = (inner as z.ZodDefault<z.ZodType>).unwrap();
  return inner instanceof z.ZodObject ? (inner.shape as Record<string, unknown>) : {};
}
