// Checkpoints: one safetensors file holding the weights (`model.*`), the optimizer state (`optim.*`) and, in its
// metadata, the step, the config and the prior μ. Written atomically (temporary file, then rename), so an
// interruption while writing leaves the previous checkpoint intact. Randomness needs no saved state: step k's data
// is a pure function of (seed, k).
import { existsSync } from 'node:fs';
import { loadSafetensors, saveSafetensors, type Optimizer, type Tensor, nn } from '../engine/index.js';
import { inputError } from '../errors.js';

export interface CheckpointMeta {
  /** Steps completed. */
  step: number;
  config: unknown;
  prior: unknown;
  /** Free-form extras (e.g. best validation so far). */
  extra?: Record<string, unknown>;
}

export function saveCheckpoint(path: string, model: nn.Module, optimizer: Optimizer | null, meta: CheckpointMeta): void {
  const tensors = new Map<string, Tensor>();
  for (const [k, t] of model.stateDict()) tensors.set(`model.${k}`, t);
  let optimizerStep = 0;
  if (optimizer) {
    const s = optimizer.state();
    optimizerStep = s.step;
    for (const [k, t] of s.slots) tensors.set(`optim.${k}`, t);
  }
  saveSafetensors(path, tensors, {
    format: 'psfid-checkpoint-1',
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
  if (metadata.format !== 'psfid-checkpoint-1') throw inputError(path, `${path}: not a psfid checkpoint`);
  const model = new Map<string, Tensor>();
  const optim = new Map<string, Tensor>();
  for (const [k, t] of tensors) {
    if (k.startsWith('model.')) model.set(k.slice(6), t);
    else if (k.startsWith('optim.')) optim.set(k.slice(6), t);
  }
  return {
    step: Number(metadata.step),
    optimizerStep: Number(metadata.optimizerStep ?? 0),
    config: JSON.parse(metadata.config ?? '{}'),
    prior: JSON.parse(metadata.prior ?? '{}'),
    extra: JSON.parse(metadata.extra ?? '{}'),
    model,
    optim,
    dispose: () => {
      for (const t of tensors.values()) t.dispose();
    },
  };
}
