// Checkpoints: one safetensors file holding the weights (`model.*`), the optimizer state (`optim.*`) and, in its
// metadata, the step, the config and the prior μ. Written atomically (temporary file, then rename), so an
// interruption while writing leaves the previous checkpoint intact. Randomness needs no saved state: step k's data
// is a pure function of (seed, k).
import { existsSync } from 'node:fs';
import { loadSafetensors, saveSafetensors, type Optimizer, type Tensor, nn } from '../engine/index.js';
import { inputError } from '../errors.js';
import { MODEL_FORMAT, resolveModelPath } from '../model/store.js';
import { PRESETS, type Identifier } from '../model/identifier.js';

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
 * An --init-from argument as a file: an existing file as given, else a shipped model's name (`small` →
 * <package>/models/psfid-small.safetensors), as `--model` takes elsewhere.
 */
export function resolveInitialWeightsPath(pathOrName: string): string {
  return resolveModelPath(pathOrName, { what: 'checkpoint or model file', runFile: 'checkpoint' });
}

/**
 * Which network a checkpoint's or model file's metadata describes, as the config keys that build it
 * (`the small preset with "architecture": {…}`); undefined when the metadata does not say.
 */
function describeFileNetwork(metadata: Record<string, string>): string | undefined {
  try {
    let preset: string | undefined;
    let overrides: Record<string, unknown> = {};
    if (metadata.format === CHECKPOINT_FORMAT) {
      const config = JSON.parse(metadata.config ?? '{}') as { preset?: string; architecture?: Record<string, unknown> };
      preset = config.preset;
      overrides = config.architecture ?? {};
    } else {
      // a model file stores its whole architecture: keep what differs from its preset
      preset = metadata.preset;
      const architecture = JSON.parse(metadata.architecture ?? '{}') as Record<string, unknown>;
      const base = (preset !== undefined ? (PRESETS as Record<string, object>)[preset] : undefined) as Record<string, unknown> | undefined;
      overrides = base ? Object.fromEntries(Object.entries(architecture).filter(([k, v]) => JSON.stringify(v) !== JSON.stringify(base[k]))) : architecture;
      if (!base) preset = undefined;
    }
    if (preset === undefined) return Object.keys(overrides).length ? `a network with "architecture": ${JSON.stringify(overrides)}` : undefined;
    return `the ${preset} preset${Object.keys(overrides).length ? ` with "architecture": ${JSON.stringify(overrides)}` : ''}`;
  } catch {
    return undefined;
  }
}

/**
 * Copies the weights of a checkpoint or of a model file (or a shipped model's name) into `model` (psfid train
 * --init-from); another format or another architecture is an input error naming the file, in one line: how many
 * tensors differ, the first two, and which network the file holds.
 */
export function loadInitialWeights(model: Identifier, pathOrName: string): void {
  const path = resolveInitialWeightsPath(pathOrName);
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
    const own = model.stateDict();
    const growable = new Set(model.growableParameters);
    const shape = (t: Tensor): string => t.shape.join('×');
    const reshaped = [...own].filter(([k, t]) => state.has(k) && shape(state.get(k)!) !== shape(t)).map(([k, t]) => `${k} is ${shape(t)} here, ${shape(state.get(k)!)} in the file`);
    const missing = [...own.keys()].filter((k) => !state.has(k) && !growable.has(k)).map((k) => `${k} is not in the file`);
    const unexpected = [...state.keys()].filter((k) => !own.has(k)).map((k) => `the file's ${k} is not in this network`);
    const differ = [...reshaped, ...missing, ...unexpected];
    if (differ.length > 0) {
      const total = new Set([...own.keys(), ...state.keys()]).size;
      const holds = describeFileNetwork(metadata);
      throw inputError(path, `${path}: its network is not this configuration's: ${differ.length} of ${total} tensors differ (e.g. ${differ.slice(0, 2).join('; ')})${holds ? `; the file holds ${holds}` : ''}`);
    }
    try {
      model.loadStateDict(state, false);
    } catch (e) {
      throw inputError(path, `${path}: its network is not this configuration's (${(e as Error).message.replace(/^loadStateDict: /, '')})`);
    }
  } finally {
    for (const t of file.tensors.values()) t.dispose();
  }
}
