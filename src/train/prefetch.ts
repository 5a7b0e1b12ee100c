// Crop prefetching: worker threads draw the crops of the next steps while the current step trains. On a GPU the
// crops, drawn in JS on one core, took 85 % of the seed preset's step (199 of 236 ms, H200, batch 32 of 286²), and
// the GPU idled. Step k's crops depend only on (seed, k) (src/train/synthesize.ts), so which worker draws them, and
// when, changes nothing: a prefetched batch is bit-identical to an inline one.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CropBatch, CropOptions, Source } from '../data/sources.js';
import type { CropReply, CropWorkerData } from './crop-worker.js';
import { sideOfStep } from './crop-side.js';

/** Workers for `setting` ('auto' or a count) on `device`: 'auto' is 0 on the CPU, cores − 2 (1 to 8) on a GPU. */
export function resolveWorkers(setting: number | 'auto', device: string): number {
  if (setting !== 'auto') return setting;
  return device === 'cpu' ? 0 : Math.max(1, Math.min(8, availableParallelism() - 2));
}

/** Copies real images into SharedArrayBuffers (once), so that workers share them instead of each holding a copy. */
export function shareImages(sources: Source[]): Source[] {
  return sources.map((s) => {
    if (s.kind !== 'images') return s;
    const images = s.images.map((img) => {
      if (img.data.buffer instanceof SharedArrayBuffer) return img;
      const data = new Float32Array(new SharedArrayBuffer(img.data.byteLength));
      data.set(img.data);
      return { ...img, data };
    });
    return { ...s, images };
  });
}

export interface CropPrefetcher {
  /** Step `step`'s crops; asks for the following steps so that `depth` are in flight. */
  crops(step: number): Promise<CropBatch>;
  /** Ends the workers (pending requests are rejected). */
  close(): Promise<void>;
}

export function startPrefetcher(o: { sources: Source[]; crop: CropOptions; seed: number; batch: number; n: number | readonly number[]; perSide?: boolean; workers: number; depth?: number }): CropPrefetcher {
  const data: CropWorkerData = { sources: shareImages(o.sources), crop: o.crop, seed: o.seed, batch: o.batch, n: o.n, perSide: o.perSide ?? false };
  const depth = o.depth ?? 2 * o.workers;
  const pending = new Map<number, { promise: Promise<CropBatch>; resolve: (c: CropBatch) => void; reject: (e: Error) => void }>();
  let failure: Error | null = null;
  const fail = (e: Error): void => {
    failure ??= e;
    for (const p of pending.values()) p.reject(failure);
    pending.clear();
  };
  const workers = Array.from({ length: o.workers }, () => {
    const w = new Worker(new URL('./crop-worker.js', import.meta.url), { workerData: data });
    w.unref(); // an idle worker never keeps the process alive
    w.on('message', (m: CropReply) => {
      const p = pending.get(m.step);
      if (!p) return;
      if ('error' in m) p.reject(new Error(`drawing the crops of step ${m.step}: ${m.error}`));
      else p.resolve({ batch: o.batch, n: sideOfStep(o.n, m.step), pixels: m.pixels, exposure: m.exposure });
    });
    w.on('error', (e) => fail(e instanceof Error ? e : new Error(String(e))));
    w.on('exit', (code) => code !== 0 && fail(new Error(`a crop worker exited with code ${code}`)));
    return w;
  });
  const request = (step: number): void => {
    let resolve!: (c: CropBatch) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<CropBatch>((res, rej) => ((resolve = res), (reject = rej)));
    promise.catch(() => {}); // rejections are reported to whoever awaits the step
    pending.set(step, { promise, resolve, reject });
    workers[step % workers.length]!.postMessage({ step });
  };
  return {
    async crops(step: number): Promise<CropBatch> {
      if (failure) throw failure;
      for (const s of pending.keys()) if (s < step) pending.delete(s); // skipped steps: their replies are dropped
      for (let s = step; s < step + Math.max(1, depth); s++) if (!pending.has(s)) request(s);
      const p = pending.get(step)!;
      try {
        return await p.promise;
      } finally {
        pending.delete(step);
      }
    },
    async close(): Promise<void> {
      fail(new Error('crop prefetcher closed'));
      workers.forEach((w) => w.removeAllListeners('exit'));
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
