// Loads the addon (native/psfid_torch.cc). Only src/engine/ imports this module.
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The addon's surface. Tensors and generators are integer handles into native tables. */
export interface NativeTorch {
  op(name: string, overload: string): number;
  opSchema(id: number): string;
  call(id: number, args: unknown[], discard?: boolean): unknown;
  release(h: number | Int32Array | number[]): void;
  liveTensors(): number;
  fromData(data: ArrayBufferView, shape: readonly number[], dtype: number): number;
  toData(h: number): ArrayBuffer;
  shape(h: number): number[];
  dtype(h: number): number;
  device(h: number): string;
  item(h: number): number | boolean;
  backward(outputs: number[], grads: number[] | null, retainGraph: boolean, createGraph: boolean): void;
  grad(h: number): number | null;
  setGrad(h: number, g: number | null): void;
  setRequiresGrad(h: number, on: boolean): void;
  requiresGrad(h: number): boolean;
  setGradEnabled(on: boolean): void;
  isGradEnabled(): boolean;
  newGenerator(seed: number | bigint): number;
  releaseGenerator(h: number): void;
  generatorState(h: number): Buffer;
  setGeneratorState(h: number, state: Uint8Array): void;
  manualSeed(seed: number | bigint): void;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  cudaDeviceCount(): number;
  cudaSynchronize(): void;
  version(): string;
  cudaBuild: boolean;
}

/** The package root: the nearest folder above this file that holds package.json and binding.gyp. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'binding.gyp')) && existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('psfid: cannot find the package root (binding.gyp) above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

function load(): NativeTorch {
  const path = join(packageRoot(), 'build', 'Release', 'psfid_torch.node');
  if (!existsSync(path)) {
    throw new Error(`psfid: the libtorch addon is not built (${path} is missing). Run \`npm run setup\`.`);
  }
  const require = createRequire(import.meta.url);
  return require(path) as NativeTorch;
}

export const native: NativeTorch = load();

// libtorch starts with half the hardware threads (1 on a 2-core machine); use them all unless PSFID_THREADS says.
native.setNumThreads(Number(process.env.PSFID_THREADS) || availableParallelism());
