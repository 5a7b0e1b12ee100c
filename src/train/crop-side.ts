// The crops of a training step: its side when training cycles through several (config.cropSizes), and the draw
// itself, shared by the inline synthesizer (./synthesize.ts) and the crop worker (./crop-worker.ts, a thread entry
// point that must not load the engine), so that both give the same batch for a step.
import { Rng, stepSeed } from '../data/rng.js';
import { drawCrops, type CropBatch, type CropOptions, type Source } from '../data/sources.js';

/** The crop side of step `step` under `n`: one side, or sides cycled per step (step k: n[k mod length]). */
export function sideOfStep(n: number | readonly number[], step: number): number {
  return typeof n === 'number' ? n : n[step % n.length]!;
}

/** Step `step`'s crops: `batch` crops of its side, from the sources for that side, drawn from Rng(stepSeed(seed, step, 0)). */
export function stepCrops(sourcesAt: (n: number) => Source[], seed: number, step: number, batch: number, sides: number | readonly number[], crop: CropOptions): CropBatch {
  const n = sideOfStep(sides, step);
  return drawCrops(sourcesAt(n), new Rng(stepSeed(seed, step, 0)), batch, n, crop);
}
