// Exports a trained run: model.safetensors (weights + metadata) and model.json (the card's facts).
import { join } from 'node:path';
import { cpus } from 'node:os';
import { writeFileAtomic } from '../engine/index.js';
import type { Identifier } from '../model/identifier.js';
import { saveModel } from '../model/store.js';
import type { TrainConfig } from './config.js';
import type { ValidationResult } from './validate.js';

export function exportModel(outDir: string, model: Identifier, config: TrainConfig, result: { step: number; lastValidation?: ValidationResult }, prior?: unknown): string {
  const path = join(outDir, 'model.safetensors');
  const training = {
    steps: result.step,
    config,
    validation: result.lastValidation ?? null,
    hardware: `${cpus().length}× ${cpus()[0]?.model ?? 'CPU'}`,
    date: new Date().toISOString(),
  };
  saveModel(path, model, { preset: config.preset, architecture: model.config, prior: prior ?? config.prior, training });
  writeFileAtomic(join(outDir, 'model.json'), JSON.stringify({ preset: config.preset, parameters: model.numParameters(), ...training }, null, 2) + '\n');
  return path;
}
