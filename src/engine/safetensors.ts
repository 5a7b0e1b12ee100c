// safetensors (https://github.com/huggingface/safetensors format): 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the raw little-endian
// bytes. Small enough to write ourselves; the tests check files that Python's PyTorch/safetensors wrote and read.
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { tensor, Tensor, type DType } from './tensor.js';
import { writeFileAtomic } from './atomic.js';

const TO_ST: Partial<Record<DType, string>> = {
  float64: 'F64', float32: 'F32', float16: 'F16', int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};
const FROM_ST: Record<string, DType> = Object.fromEntries(Object.entries(TO_ST).map(([k, v]) => [v, k as DType]));

export interface SafetensorsFile {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
}

/** Serialises tensors (copied to the CPU) and string metadata. */
export function encodeSafetensors(tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  const chunks: Buffer[] = [];
  let offset = 0;
  for (const name of [...tensors.keys()].sort()) {
    const t = tensors.get(name)!;
    const st = TO_ST[t.dtype];
    if (!st) throw new Error(`safetensors: cannot store dtype ${t.dtype} (${name})`);
    const d = t.data();
    const bytes = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
    header[name] = { dtype: st, shape: t.shape, data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8); // align the data to 8 bytes
  const head = Buffer.alloc(8);
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([head, Buffer.from(json, 'utf8'), ...chunks]);
}

/** The largest JSON header accepted (a guard against reading garbage as a length). */
const MAX_HEADER_BYTES = 100 << 20;

export function decodeSafetensors(buf: Buffer, source = 'safetensors'): SafetensorsFile {
  if (buf.length < 8) throw new Error(`${source}: too short to be a safetensors file`);
  const n = Number(buf.readBigUInt64LE(0));
  if (n > buf.length - 8 || n > MAX_HEADER_BYTES) throw new Error(`${source}: header length ${n} exceeds the file`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
  } catch {
    throw new Error(`${source}: corrupt safetensors header`);
  }
  const base = 8 + n;
  const tensors = new Map<string, Tensor>();
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = info as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = info as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const dt = FROM_ST[dtype];
    if (!dt) throw new Error(`${source}: unsupported dtype ${dtype} for ${name}`);
    const [b, e] = data_offsets;
    if (e > buf.length - base || b > e) throw new Error(`${source}: ${name} lies outside the file (truncated?)`);
    const bytes = new Uint8Array(e - b);
    bytes.set(buf.subarray(base + b, base + e)); // copy: aligned, owned
    const view = typedView(dt, bytes.buffer);
    tensors.set(name, tensor(view, shape, dt === 'bool' || dt === 'float16' ? { dtype: dt } : {}));
  }
  return { tensors, metadata };
}

function typedView(dt: DType, b: ArrayBuffer): ArrayBufferView {
  switch (dt) {
    case 'float64': return new Float64Array(b);
    case 'float32': return new Float32Array(b);
    case 'float16': return new Uint16Array(b);
    case 'int64': return new BigInt64Array(b);
    case 'int32': return new Int32Array(b);
    case 'int16': return new Int16Array(b);
    case 'int8': return new Int8Array(b);
    case 'uint8': case 'bool': return new Uint8Array(b);
    default: throw new Error(`safetensors: no view for ${dt}`);
  }
}

export function saveSafetensors(path: string, tensors: Map<string, Tensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string): SafetensorsFile {
  return decodeSafetensors(readFileSync(path), path);
}

/**
 * The metadata of a safetensors file, read from its header alone (the tensors are not loaded: a checkpoint of the
 * seed preset is ~700 MB). Null when the file is not there or its header is not readable.
 */
export function readSafetensorsMetadata(path: string): Record<string, string> | null {
  let fd: number | undefined;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) return null;
    const n = Number(head.readBigUInt64LE(0));
    if (n > statSync(path).size - 8 || n > MAX_HEADER_BYTES) return null;
    const json = Buffer.alloc(n);
    if (readSync(fd, json, 0, n, 8) !== n) return null;
    const header = JSON.parse(json.toString('utf8')) as { __metadata__?: Record<string, string> };
    return header.__metadata__ ?? {};
  } catch {
    return null;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
