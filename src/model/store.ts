// Trained models on disk: model.safetensors (weights; metadata: preset architecture, prior μ, training summary)
// with a JSON model card beside it. Nothing is ever downloaded: the shipped model lives in models/.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors, packageRoot, type Tensor } from '../engine/index.js';
import { inputError } from '../errors.js';
import { Identifier, type IdentifierConfig } from './identifier.js';
import { convPrecisionFor, type ConvPrecisionRequest } from './precision.js';

/** The `format` metadata of psfid model files. */
export const MODEL_FORMAT = 'psfid-model-1';

export interface ModelInfo {
  architecture: IdentifierConfig;
  preset: string;
  /** The prior μ the model was trained under (its mean is the default θmax and fc). */
  prior: unknown;
  training?: Record<string, unknown>;
}

/**
 * Writes the weights (float16 by default: half the size, and far below the network's own error; they are loaded
 * back into float32) with the metadata.
 */
export function saveModel(path: string, model: Identifier, info: ModelInfo, opts: { half?: boolean } = {}): void {
  const half = opts.half ?? true;
  const state = new Map([...model.stateDict()].map(([k, t]) => [k, half && t.dtype === 'float32' ? t.to({ dtype: 'float16' }) : t] as const));
  try {
    saveWeights(path, state, info);
  } finally {
    if (half) for (const [k, t] of state) if (t !== model.stateDict().get(k)) t.dispose();
  }
}

function saveWeights(path: string, state: Map<string, Tensor>, info: ModelInfo): void {
  saveSafetensors(path, state, {
    format: MODEL_FORMAT,
    preset: info.preset,
    architecture: JSON.stringify(info.architecture),
    prior: JSON.stringify(info.prior),
    training: JSON.stringify(info.training ?? {}),
  });
}

/** A model file's weights and metadata, checked (the caller disposes the tensors). */
function readModelFile(pathOrName: string): { tensors: Map<string, Tensor>; info: ModelInfo } {
  const path = resolveModelPath(pathOrName);
  let file;
  try {
    file = loadSafetensors(path);
  } catch (e) {
    throw inputError(path, `${path}: unreadable model (${(e as Error).message})`);
  }
  const { tensors, metadata } = file;
  try {
    if (metadata.format !== MODEL_FORMAT) {
      const hint = metadata.step !== undefined || /checkpoint/i.test(path) ? '; a training checkpoint becomes a model with `psfid model export --checkpoint FILE --out model.safetensors` (or use the run folder\'s model.safetensors)' : '';
      throw inputError(path, `${path}: not a psfid model (no psfid-model-1 metadata)${hint}`);
    }
    const info: ModelInfo = {
      preset: metadata.preset ?? 'custom',
      architecture: JSON.parse(metadata.architecture!),
      prior: JSON.parse(metadata.prior ?? '{}'),
      training: JSON.parse(metadata.training ?? '{}'),
    };
    return { tensors, info };
  } catch (e) {
    for (const t of tensors.values()) t.dispose();
    throw e;
  }
}

/** A model file's metadata (architecture, prior μ, training summary), without building its network. */
export function loadModelInfo(pathOrName: string): ModelInfo {
  const { tensors, info } = readModelFile(pathOrName);
  for (const t of tensors.values()) t.dispose();
  return info;
}

/**
 * Loads a model for inference on `device`; `precision` picks its convolutions' arithmetic ('auto': bfloat16 on a CPU
 * with bfloat16 units, else float32; src/model/precision.ts).
 */
export function loadModel(pathOrName: string, device = 'cpu', precision: ConvPrecisionRequest = 'auto'): { model: Identifier; info: ModelInfo } {
  const { tensors, info } = readModelFile(pathOrName);
  try {
    const model = new Identifier(info.architecture);
    model.loadStateDict(tensors);
    model.to(device).eval();
    model.convPrecision = convPrecisionFor(device, precision);
    return { model, info };
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
}

/** The model that ships with psfid (models/psfid-small.safetensors). */
export function defaultModelPath(): string {
  return shippedModelPath('small');
}

/** The models shipped in the package's models/ folder, by name: `small` (the default) and `small-fcref`. */
export const SHIPPED_MODELS = ['small', 'small-fcref'] as const;

/** Where the shipped model `name` lives: <package>/models/psfid-<name>.safetensors. */
export function shippedModelPath(name: string): string {
  return join(packageRoot(), 'models', `psfid-${name}.safetensors`);
}

/**
 * A model argument as a file: an existing path as given, else a shipped model's name (`small-fcref` →
 * <package>/models/psfid-small-fcref.safetensors), so that `--model small-fcref` works from any folder. Refuses
 * anything else in one line that lists the shipped names. `accepts` words what the caller takes and which file of a
 * run folder to point to (train --init-from: a checkpoint or model file, the run's checkpoint).
 */
export function resolveModelPath(pathOrName: string, accepts: { what: string; runFile: 'model' | 'checkpoint' } = { what: 'model file', runFile: 'model' }): string {
  if (existsSync(pathOrName)) {
    if (statSync(pathOrName).isDirectory()) {
      const inRun = join(pathOrName, `${accepts.runFile}.safetensors`);
      throw inputError(pathOrName, `${pathOrName}: is a folder, not a ${accepts.what}${existsSync(inRun) ? `; a training run's ${accepts.runFile} is ${inRun}` : ''}`);
    }
    return pathOrName;
  }
  if ((SHIPPED_MODELS as readonly string[]).includes(pathOrName)) {
    const shipped = shippedModelPath(pathOrName);
    if (existsSync(shipped)) return shipped;
  }
  throw inputError(pathOrName, `${pathOrName}: no such ${accepts.what} (or shipped model name: ${SHIPPED_MODELS.join(', ')})`);
}
