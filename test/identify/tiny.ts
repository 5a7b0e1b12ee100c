// The small Zernike-head network the head-architecture tests build on (residual, mixture, even-outer, cutoff), and
// the frame of their --init-from tests: a network saved as a checkpoint file in a temporary folder.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identifier, PRESETS, type IdentifierConfig } from '../../src/model/identifier.js';
import { saveCheckpoint } from '../../src/train/checkpoint.js';

export const ZERNIKE_TINY: IdentifierConfig = { ...PRESETS.tiny, head: 'zernike', conditionHead: true, init: 'he' };

/** Runs `fn` with a `config` network of `seed` (in eval mode) and the checkpoint file it was saved to; removes the file. */
export function withSavedNetwork(config: IdentifierConfig, seed: number, fn: (base: Identifier, file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'psfid-base-'));
  try {
    const base = new Identifier(config, seed);
    const file = join(dir, 'base.safetensors');
    saveCheckpoint(file, base, null, { step: 1, config: {}, prior: {} });
    base.eval();
    fn(base, file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
