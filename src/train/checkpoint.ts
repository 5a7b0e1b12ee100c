// Checkpoints: one safetensors file holding the weights (`model.*`), the optimizer state (`optim.*`) and, in its
// metadata, the step, the config and the prior μ. Written atomically (temporary file, then rename), so an
// interruption while writing leaves the previous checkpoint intact. Randomness needs no saved state: step k's data
// is a pure function of (seed, k).
import { existsSync } from 'node:fs';
import { loadSafetensors, saveSafetensors, type Optimizer, type Tensor, nn } from '../engine/index.js';
import { inputError } from '../errors.js';
import { MODEL_FORMAT } from '../model/store.js';
import type { Identifier } from '../model/identifier.js';

export const CHECKPOINT_FORMAT = 'psfid-checkpoint-1';

/** The entries of `tensors` whose names start with `prefix`, under their names without it. */
function withPrefix(tensors: Map<string, Tensor>, prefix: string): Map<string, Tensor> {
  return new Map([...tensors].filter(([k]) => k.startsWith(prefix)).map(([k, t]) => [k.slice(prefix.length), t]));
}

export interface CheckpointMeta {
  /** Steps completed. */
  step: number;
  config: unknown;
  prior: unknown;
  /** Free-form extras (e.g. best validation so far). */
  extra?: Record<string, unknown>;
}

/** `average`: the moving average of the weights (config.emaDecay), saved as `average.*`. */
export function saveCheckpoint(path: string, model: nn.Module, optimizer: Optimizer | null, meta: CheckpointMeta, average?: Map<string, Tensor>): void {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of model.stateDict()) tensors.set(`model.${k}`, t);
  for (const [k, t] of average ?? []) tensors.set(`average.${k}`, t);
  let optimizerStep = 0;
  if (optimizer) {
    const s = optimizer.state();
    optimizerStep = s.step;
    for (const [k, t] of s.slots) tensors.set(`optim.${k}`, t);
  }
  saveSafetensors(path, tensors, {
    format: CHECKPOINT_FORMAT,
    step: String(meta.step),
    optimizerStep: String(optimizerStep),
    config: JSON.stringify(meta.config),
    prior: JSON.stringify(meta.prior),
    extra: JSON.stringify(meta.extra ?? {}),
  });
}

export interface LoadedCheckpoint extends CheckpointMeta {
  optimizerStep: number;
  model: Map<string, Tensor>;
  optim: Map<string, Tensor>;
  /** The moving average of the weights, empty when the run kept none. */
  average: Map<string, Tensor>;
  dispose(): void;
}

export function loadCheckpoint(path: string): LoadedCheckpoint {
  if (!existsSync(path)) throw inputError(path, `${path}: no checkpoint there`);
  let file;
  try {
    file = loadSafetensors(path);
  } catch (e) {
    throw inputError(path, `${path}: unreadable checkpoint (${(e as Error).message})`);
  }
  const { tensors, metadata } = file;
  if (metadata.format !== CHECKPOINT_FORMAT) throw inputError(path, `${path}: not a psfid checkpoint`);
  const model = withPrefix(tensors, 'model.');
  const optim = withPrefix(tensors, 'optim.');
  return {
    step: Number(metadata.step),
    optimizerStep: Number(metadata.optimizerStep ?? 0),
    config: JSON.parse(metadata.config ?? '{}'),
    prior: JSON.parse(metadata.prior ?? '{}'),
    extra: JSON.parse(metadata.extra ?? '{}'),
    model,
    optim,
    average: withPrefix(tensors, 'average.'),
    dispose: () => {
      for (const t of tensors.values()) t.dispose();
    },
  };
}

/**
 * Copies the weights of a checkpoint or of a model file into `model` (psfid train --init-from); another format or
 * another architecture is an input error naming the file.
 */
export function loadInitialWeights(model: Identifier, path: string): void {
  if (!existsSync(path)) throw inputError(path, `${path}: no such checkpoint or model file`);
  let file;
  try {
    file = loadSafetensors(path);
  } catch (e) {
    throw inputError(path, `${path}: unreadable (${(e as Error).message})`);
  }
  try {
    const { tensors, metadata } = file;
    if (metadata.format !== CHECKPOINT_FORMAT && metadata.format !== MODEL_FORMAT) {
      throw inputError(path, `${path}: neither a psfid checkpoint nor a psfid model`);
    }
    const state = metadata.format === CHECKPOINT_FORMAT ? withPrefix(tensors, 'model.') : tensors;
    // The network's growable parameters (a pixel correction that starts at zero) may be missing from the file: the
    // next stage of a curriculum grows them from a model without them. Anything else missing or unexpected is refused.
    const own = new Set(model.stateDict().keys());
    const missing = [...own].filter((k) => !state.has(k));
    const growable = new Set(model.growableParameters);
    const grows = missing.length > 0 && missing.every((k) => growable.has(k)) && [...state.keys()].every((k) => own.has(k));
    try {
      model.loadStateDict(state, !grows);
    } catch (e) {
      throw inputError(path, `${path}: its network is not this configuration's (${(e as Error).message.replace(/^loadStateDict: /, '')})`);
    }
  } finally {
    for (const t of file.tensors.values()) t.dispose();
  }
}
