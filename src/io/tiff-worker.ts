// Worker thread behind the synchronous TIFF reader (see sync.ts): decodes with geotiff, which is async, and hands
// the result back through a MessagePort, then wakes the waiting main thread through a shared Int32 flag.
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { ImageIOError, describeThrown } from './errors.js';
import { decodeTiff } from './tiff-read.js';
import type { ImageStack } from './types.js';

export interface WorkerRequest {
  id: number;
  bytes: Uint8Array;
  path?: string;
}

export type WorkerReply =
  | { id: number; ok: true; image: ImageStack }
  | { id: number; ok: false; code: ImageIOError['code']; problem: string; path?: string };

const { port, flag } = workerData as { port: MessagePort; flag: Int32Array };

parentPort!.on('message', (req: WorkerRequest) => {
  void (async () => {
    let reply: WorkerReply;
    const transfer: ArrayBuffer[] = [];
    try {
      const image = await decodeTiff(req.bytes, req.path);
      const seen = new Set<ArrayBufferLike>();
      for (const p of image.planes) {
        if (!seen.has(p.buffer) && p.buffer instanceof ArrayBuffer) transfer.push(p.buffer);
        seen.add(p.buffer);
      }
      reply = { id: req.id, ok: true, image };
    } catch (e) {
      const err = e instanceof ImageIOError ? e : new ImageIOError('corrupt', `corrupt TIFF (${describeThrown(e)})`, req.path);
      reply = { id: req.id, ok: false, code: err.code, problem: err.problem, ...(req.path !== undefined ? { path: req.path } : {}) };
    }
    try {
      port.postMessage(reply, transfer);
    } catch (e) {
      port.postMessage({ id: req.id, ok: false, code: 'corrupt', problem: `cannot return the decoded TIFF (${describeThrown(e)})` });
    }
    Atomics.store(flag, 0, req.id);
    Atomics.notify(flag, 0);
  })();
});
