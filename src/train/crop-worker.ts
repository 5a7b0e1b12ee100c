// Worker thread of the crop prefetcher (src/train/prefetch.ts): draws step k's crops from Rng(stepSeed(seed, k, 0)),
// exactly as the inline synthesizer does, and sends the pixels back (transferred, not copied). Real images arrive as
// SharedArrayBuffer-backed arrays, so every worker reads the one copy the main thread loaded.
import { parentPort, workerData } from 'node:worker_threads';
import { sourcesBySide, type CropOptions, type Source } from '../data/sources.js';
import { stepCrops } from './crop-side.js';

export interface CropWorkerData {
  sources: Source[];
  crop: CropOptions;
  seed: number;
  batch: number;
  /** Crop side, or sides cycled per step (step k: n[k mod length]). */
  n: number | readonly number[];
  /** Each side draws from the images that reach it (sourcesForSide), as the inline synthesizer does. */
  perSide: boolean;
}

export type CropRequest = { step: number };
export type CropReply = { step: number; pixels: Float32Array; exposure: number[] | null } | { step: number; error: string };

const data = workerData as CropWorkerData;
const sourcesAt = sourcesBySide(data.sources, data.perSide);
parentPort!.on('message', ({ step }: CropRequest) => {
  try {
    const { pixels, exposure } = stepCrops(sourcesAt, data.seed, step, data.batch, data.n, data.crop);
    parentPort!.postMessage({ step, pixels, exposure } satisfies CropReply, [pixels.buffer as ArrayBuffer]); // drawCrops allocates a plain ArrayBuffer
  } catch (e) {
    parentPort!.postMessage({ step, error: e instanceof Error ? e.message : String(e) } satisfies CropReply);
  }
});
