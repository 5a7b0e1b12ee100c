// Devices: 'cpu', 'cuda' / 'cuda:N' (when the libtorch found has CUDA), and 'auto'.
import { native } from './native.js';
import { usageError } from '../errors.js';

export type DeviceSpec = 'cpu' | 'cuda' | 'auto' | `cuda:${number}`;

export function cudaAvailable(): boolean {
  return native.cudaDeviceCount() > 0;
}

export function cudaDeviceCount(): number {
  return native.cudaDeviceCount();
}

/** Resolves 'auto' to 'cuda' when a GPU is usable, else 'cpu'; refuses 'cuda' without one. */
export function resolveDevice(spec: string = 'auto'): string {
  if (spec === 'auto') return cudaAvailable() ? 'cuda' : 'cpu';
  if (spec === 'cpu') return 'cpu';
  if (/^cuda(:\d+)?$/.test(spec)) {
    if (!cudaAvailable()) {
      throw new Error(
        `device '${spec}' requested but ${native.cudaBuild ? 'no CUDA GPU is visible' : 'the libtorch psfid was built against has no CUDA'}; use --device cpu`,
      );
    }
    return spec;
  }
  throw usageError('--device', `--device: unknown device '${spec}' (expected cpu, cuda, cuda:N or auto)`);
}

/** Waits for queued GPU work (for timing); no-op on CPU. */
export function synchronize(): void {
  native.cudaSynchronize();
}
