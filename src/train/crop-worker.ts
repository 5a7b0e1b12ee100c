// Worker thread of the crop prefetcher (src/train/prefetch.ts): draws step k's crops from Rng(stepSeed(seed, k, 0)),
// exactly as the inline synthesizer does, and sends the pixels back (transferred, not copied). Real images arrive as
// SharedArrayBuffer-backed arrays, so every worker reads the one copy the main thread loaded.
import { parentPort, workerData } from 'node:worker_threads';
import { Rng, stepSeed } from '../data/rng.js';
import { drawCrops, type CropOptions, type Source } from '../data/sources.js';
import { sideOfStep } from './crop-side.js';

export interface CropWorkerData {
  sources: Source[];
  crop: CropOptions;
  seed: number;
  batch: number;
  /** Crop side, or sides cycled per step (step k: n[k mod length]). */
  n: number | readonly number[];
}

export type CropRequest = { step: number };
export type CropReply = { step: number; pixels: Float32Array; exposure: number[] | null } | { step: number; error: string };

const data = workerData as CropWorkerData;
parentPort!.on('message', ({ step }: CropRequest) => {
  try {
    const { pixels, exposure } = drawCrops(data.sources, new Rng(stepSeed(data.seed, step, 0)), data.batch, sideOfStep(data.n, step), data.crop);
    parentPort!.postMessage({ step, pixels, exposure } satisfies CropReply, [pixels.buffer as ArrayBuffer]); // drawCrops allocates a plain ArrayBuffer
  } catch (e) {
    parentPort!.postMessage({ step, error: e instanceof Error ? e.message : String(e) } satisfies CropReply);
  }
});
