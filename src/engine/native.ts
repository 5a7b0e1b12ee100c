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
  /** A new generator on a device, seeded with one 64-bit draw of a CPU generator; its handle. */
  forkGenerator(parent: number, device: string): number;
  /** The device a generator draws on ('cpu', 'cuda:0', …). */
  generatorDevice(h: number): string;
  generatorState(h: number): Buffer;
  setGeneratorState(h: number, state: Uint8Array): void;
  manualSeed(seed: number | bigint): void;
  /** Exact Poisson samples of a CPU float32/float64 tensor of rates (psfid's own sampler); a new tensor handle. */
  poissonExact(gen: number, rates: number): number;
  /** torch.fft.rfft2 over the last two dims, its 1-D passes split across the engine's threads on the CPU; a handle. */
  rfft2(x: number, norm: string): number;
  /** torch.fft.irfft2 over the last two dims to rows × cols, threaded likewise; a handle. */
  irfft2(x: number, rows: number, cols: number, norm: string): number;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  blasNumThreads(): number;
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

/**
 * The addon, loaded on first use: loading libtorch takes ~1.5 s, which `psfid --help`, usage errors and commands
 * that never touch a tensor should not pay. Until then every member is a stub that loads the addon and replaces
 * itself (and all others) with the real, bound functions, so later calls are plain property calls.
 */
export const native = {} as NativeTorch;

// Every function of the addon, as a record so that TypeScript refuses a NativeTorch method missing here.
const METHOD_SET: Record<Exclude<keyof NativeTorch, 'cudaBuild'>, true> = {
  op: true, opSchema: true, call: true, release: true, liveTensors: true, fromData: true, toData: true, shape: true,
  dtype: true, device: true, item: true, backward: true, grad: true, setGrad: true, setRequiresGrad: true,
  requiresGrad: true, setGradEnabled: true, isGradEnabled: true, newGenerator: true, releaseGenerator: true,
  forkGenerator: true, generatorDevice: true,
  generatorState: true, setGeneratorState: true, manualSeed: true, poissonExact: true, rfft2: true, irfft2: true, setNumThreads: true,
  getNumThreads: true, blasNumThreads: true, cudaDeviceCount: true, cudaSynchronize: true, version: true,
};
const METHODS = Object.keys(METHOD_SET) as Exclude<keyof NativeTorch, 'cudaBuild'>[];

function materialise(): void {
  const real = load();
  const target = native as unknown as Record<string, unknown>;
  for (const k of METHODS) target[k] = (real[k] as (...a: unknown[]) => unknown).bind(real);
  Object.defineProperty(native, 'cudaBuild', { value: real.cudaBuild, enumerable: true });
  // libtorch starts with half the hardware threads (1 on a 2-core machine); use them all unless PSFID_THREADS says.
  native.setNumThreads(Number(process.env.PSFID_THREADS) || availableParallelism());
}

for (const k of METHODS) {
  (native as unknown as Record<string, unknown>)[k] = (...args: unknown[]): unknown => {
    materialise();
    return (native[k] as (...a: unknown[]) => unknown)(...args);
  };
}
Object.defineProperty(native, 'cudaBuild', {
  configurable: true,
  enumerable: true,
  get(): boolean {
    materialise();
    return native.cudaBuild;
  },
});
