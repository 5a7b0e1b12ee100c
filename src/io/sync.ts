// Synchronous TIFF decoding. geotiff only offers promises, and a promise cannot be waited for synchronously on
// the thread that must resolve it, so the decode runs in a worker thread while this thread blocks in
// Atomics.wait; the result comes back through a MessagePort read with receiveMessageOnPort. The worker is started
// on first use, kept for later calls, and unref'd so it never keeps the process alive.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { ImageIOError } from './errors.js';
import type { ImageStack } from './types.js';
import type { WorkerReply, WorkerRequest } from './tiff-worker.js';

interface Bridge {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
}

let bridge: Bridge | undefined;
let nextId = 1;

const WORKER_URL = new URL('./tiff-worker.js', import.meta.url);

function start(path?: string): Bridge {
  // A worker that cannot load would leave the caller waiting for the timeout: check the file is there first.
  if (!existsSync(WORKER_URL)) {
    throw new ImageIOError('unreadable', `cannot decode TIFF synchronously: ${fileURLToPath(WORKER_URL)} is missing (use readImageAsync)`, path);
  }
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(WORKER_URL, {
    workerData: { port: port1, flag },
    transferList: [port1],
  });
  worker.unref();
  port2.unref();
  const b: Bridge = { worker, port: port2, flag };
  worker.on('error', () => {
    if (bridge === b) bridge = undefined;
  });
  worker.on('exit', () => {
    if (bridge === b) bridge = undefined;
  });
  return b;
}

/** Longest wait for one decode: a minute plus a second per MB, far above any healthy decode. */
function timeoutMs(bytes: number): number {
  return 60_000 + bytes / 1000;
}

/**
 * Decodes a TIFF synchronously (see `decodeTiff`, which this runs in a worker thread). `bytes` is copied unless
 * `transfer` is true, in which case its buffer moves to the worker and becomes unusable here.
 */
export function decodeTiffSync(bytes: Uint8Array, path?: string, transfer = false): ImageStack {
  bridge ??= start(path);
  const b = bridge;
  const id = nextId++;
  if (nextId > 0x7fffffff) nextId = 1;
  const own =
    transfer && bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  const payload = own ? bytes : new Uint8Array(bytes); // a copy (Buffer#slice would share memory)
  const req: WorkerRequest = { id, bytes: payload, ...(path !== undefined ? { path } : {}) };
  Atomics.store(b.flag, 0, 0);
  b.worker.postMessage(req, [payload.buffer as ArrayBuffer]);
  const deadline = Date.now() + timeoutMs(bytes.byteLength);
  let msg: { message: WorkerReply } | undefined;
  for (;;) {
    msg = receiveMessageOnPort(b.port) as { message: WorkerReply } | undefined;
    if (msg && msg.message.id === id) break;
    if (msg) continue; // a stale reply from a call that timed out
    const left = deadline - Date.now();
    if (left <= 0) {
      void b.worker.terminate();
      if (bridge === b) bridge = undefined;
      throw new ImageIOError('corrupt', 'TIFF decoding did not finish (timed out)', path);
    }
    Atomics.wait(b.flag, 0, 0, Math.min(left, 1000));
    if (Atomics.load(b.flag, 0) !== 0 && Atomics.load(b.flag, 0) !== id) Atomics.store(b.flag, 0, 0);
  }
  const reply = msg.message;
  if (reply.ok) return reply.image;
  throw new ImageIOError(reply.code, reply.problem, reply.path);
}
