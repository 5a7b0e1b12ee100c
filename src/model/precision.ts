// Which arithmetic the identification network's convolutions use at inference.
import { readFileSync } from 'node:fs';

/** Arithmetic of the network's convolutions: float32, or bfloat16 (8-bit mantissa, float32's range). */
export type ConvPrecision = 'float32' | 'bfloat16';
/** What a user asks for: a precision, or 'auto' (bfloat16 where the CPU computes it natively, else float32). */
export type ConvPrecisionRequest = ConvPrecision | 'auto';
export const CONV_PRECISION_REQUESTS: readonly ConvPrecisionRequest[] = ['auto', 'float32', 'bfloat16'];

let nativeBf16: boolean | undefined;
/**
 * Whether this CPU has bfloat16 arithmetic units (Intel AMX or AVX-512 BF16), read from /proc/cpuinfo's flags.
 * Without them oneDNN emulates bfloat16, slower than float32, so 'auto' must not pick it there.
 */
export function cpuHasNativeBfloat16(): boolean {
  if (nativeBf16 === undefined) {
    let flags = '';
    try {
      flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
    } catch {
      // Not Linux, or no /proc: assume no native bfloat16 (float32 is always correct).
    }
    const set = new Set(flags.trim().split(/\s+/));
    nativeBf16 = set.has('amx_bf16') || set.has('avx512_bf16');
  }
  return nativeBf16;
}

/**
 * The precision inference runs at on `device`. 'auto' is bfloat16 on a CPU with native bfloat16 units: there
 * `identify` on 512² is ≈ 2× faster than in float32 (≈ 40 against ≈ 80 ms on one core, README) and its PSF stays
 * within 83–87 dB PSNR of the float32 one (test/identify/precision.test.ts), against the model's own error of
 * ≈ 33–38 dB. On a GPU and elsewhere 'auto' is float32.
 */
export function convPrecisionFor(device: string, request: ConvPrecisionRequest = 'auto'): ConvPrecision {
  if (request !== 'auto') return request;
  return device === 'cpu' && cpuHasNativeBfloat16() ? 'bfloat16' : 'float32';
}
