// What a run folder already holds, and what a resumed run changes: `psfid train` refuses to start a new run over an
// existing one, and on --resume compares the config it is given with the one stored in the checkpoint.
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { resolvePreset } from '../model/identifier.js';
import { usageError } from '../errors.js';
import { trainConfigSchema, type TrainConfig } from './config.js';
import { readSafetensorsMetadata } from '../engine/index.js';
import { CHECKPOINT_FORMAT } from './checkpoint.js';

/** The files whose presence means a folder holds a training run (a new run would overwrite them). */
export const RUN_FILES = ['checkpoint.safetensors', 'log.jsonl', 'model.safetensors'] as const;

/** The run files in `outDir` (none when it does not exist or is empty). */
export function existingRunFiles(outDir: string): string[] {
  if (!existsSync(outDir) || !statSync(outDir).isDirectory()) return [];
  return RUN_FILES.filter((f) => existsSync(join(outDir, f)));
}

/** One key that differs between the stored and the new config; `before`/`after` undefined when the key is absent. */
export interface ConfigChange {
  key: string;
  before: unknown;
  after: unknown;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The keys (dotted, e.g. `optimizer.lr`) whose values differ; objects are compared key by key, arrays whole. */
export function configChanges(before: unknown, after: unknown, prefix = ''): ConfigChange[] {
  if (isPlainObject(before) && isPlainObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])];
    return keys.flatMap((k) => configChanges(before[k], after[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(before) === JSON.stringify(after) ? [] : [{ key: prefix, before, after }];
}

const show = (v: unknown): string => (v === undefined ? '(unset)' : typeof v === 'string' ? v : JSON.stringify(v));

/** `steps: 20000 → 30000; optimizer.lr: 0.001 → 0.0005` */
export function formatChanges(changes: readonly ConfigChange[]): string {
  return changes.map((c) => `${c.key}: ${show(c.before)} → ${show(c.after)}`).join('; ');
}

/**
 * The config stored in a checkpoint (its metadata; the tensors are not read), with the defaults of keys added since
 * it was written filled in. Null when the file holds no readable config.
 */
export function storedConfig(checkpoint: string): TrainConfig | null {
  const meta = readSafetensorsMetadata(checkpoint);
  if (!meta || meta.format !== CHECKPOINT_FORMAT || meta.config === undefined) return null;
  try {
    const r = trainConfigSchema.safeParse(JSON.parse(meta.config));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

/**
 * Of `changes`, those a resume cannot take: the network (preset, architecture), whose weights the checkpoint holds
 * (another network refuses them, or, for keys without weights such as `slope`, `inputNorm` or `fcRef`, silently computes
 * something else with them), and the optimizer kind, whose state it holds (Adam's moments are no SGD momentum; an SGD
 * state leaves Adam's moments at zero at a late step, whose bias correction then inflates the first updates ~3×).
 * A preset renamed to one that builds the same network changes nothing.
 */
export function resumeConflicts(changes: readonly ConfigChange[]): ConfigChange[] {
  const networkChanged = changes.some((c) => c.key.startsWith('architecture.'));
  return changes.filter((c) => (networkChanged && (c.key === 'preset' || c.key.startsWith('architecture.'))) || c.key === 'optimizer.kind');
}

/**
 * The changes from `before` to `after`, with `architecture` compared as the network each builds (the preset with its
 * overrides): `{}` and `{"baseChannels": 4}` are the same tiny network, and an override reads `slope: 0.1 → 0.2`.
 */
export function resumeChanges(before: TrainConfig, after: TrainConfig): ConfigChange[] {
  const network = (c: TrainConfig): TrainConfig => ({ ...c, architecture: resolvePreset(c.preset, c.architecture) });
  return configChanges(network(before), network(after));
}

/**
 * Checks a resumed run's config against the checkpoint's: returns the changes (empty when none, or when the
 * checkpoint holds no readable config), or throws a usage error naming the first key that cannot change. `flagOf`
 * names the CLI flag that set a key, if one did.
 */
export function checkResume(checkpoint: string, config: TrainConfig, flagOf: (key: string) => string | undefined = () => undefined): ConfigChange[] {
  const before = storedConfig(checkpoint);
  if (!before) return [];
  const changes = resumeChanges(before, config);
  const conflict = resumeConflicts(changes)[0];
  if (conflict) {
    const flag = flagOf(conflict.key);
    const head = `--resume: ${conflict.key} cannot change when resuming (${show(conflict.before)} → ${show(conflict.after)}${flag ? `, from ${flag}` : ''})`;
    throw usageError(flag ?? conflict.key, conflict.key === 'optimizer.kind'
      ? `${head}: ${checkpoint} holds the ${show(conflict.before)} optimizer's state; resume with the run's optimizer.kind, or start a new run from its weights (--init-from ${checkpoint}, another --out)`
      : `${head}: ${checkpoint} holds the weights of the run's network (${before.preset}${Object.keys(before.architecture).length ? ` with "architecture": ${JSON.stringify(before.architecture)}` : ''}); resume with the run's preset and architecture, or start a new run (another --out)`);
  }
  return changes;
}
