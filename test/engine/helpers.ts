// Shared helpers for the engine tests: finite-difference gradient checks, closeness assertions, and a bridge to
// the system Python's PyTorch (Debian python3-torch) for cross-checks against an independent implementation.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Generator, noGrad, normal, tensor, tidy, type Tensor } from '../../src/engine/index.js';

// ---------------------------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------------------------

/** Asserts |a[i] − b[i]| ≤ atol + rtol·|b[i]| elementwise; the message names the worst element. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, opts: { rtol?: number; atol?: number; what?: string } = {}): void {
  const rtol = opts.rtol ?? 1e-6;
  const atol = opts.atol ?? 1e-9;
  const what = opts.what ?? 'values';
  assert.equal(actual.length, expected.length, `${what}: length ${actual.length} ≠ ${expected.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const b = expected[i]!;
    const excess = Math.abs(a - b) - (atol + rtol * Math.abs(b));
    if (!(excess <= 0) && (worst < 0 || !(excess <= worstExcess))) {
      worst = i;
      worstExcess = excess;
    }
  }
  if (worst >= 0) {
    assert.fail(`${what}: element ${worst} is ${actual[worst]}, expected ${expected[worst]} (rtol ${rtol}, atol ${atol})`);
  }
}

/** float64 N(0, 1) samples of `shape` from `gen`, optionally on a device. */
export function randn(gen: Generator, shape: number[], device = 'cpu'): Tensor {
  return normal(gen, shape, { dtype: 'float64', device });
}

/** Values as a plain float array (complex: interleaved re, im). */
export function values(t: Tensor): number[] {
  return t.toArray();
}

// ---------------------------------------------------------------------------------------------------------------
// Gradient check
// ---------------------------------------------------------------------------------------------------------------

export interface GradcheckOptions {
  /** Central-difference step. */
  eps?: number;
  rtol?: number;
  atol?: number;
  /** Device to run on (inputs are copied there). */
  device?: string;
  /** Which inputs to differentiate (default: all). */
  wrt?: boolean[];
  /** Seed of the random projection. */
  seed?: number;
}

/**
 * Checks autograd against central finite differences in float64. `fn` maps the inputs to a real tensor y; the
 * scalar loss is L = Σ r ⊙ y for a fixed random r (a random projection of the Jacobian), so ∂L/∂x from `backward`
 * must equal (L(x + εe_j) − L(x − εe_j)) / 2ε for every element j of every checked input.
 */
export function gradcheck(fn: (...xs: Tensor[]) => Tensor, inputs: Tensor[], opts: GradcheckOptions = {}): void {
  const eps = opts.eps ?? 1e-6;
  const rtol = opts.rtol ?? 1e-5;
  const atol = opts.atol ?? 1e-7;
  const device = opts.device ?? 'cpu';
  const wrt = opts.wrt ?? inputs.map(() => true);
  for (const x of inputs) assert.equal(x.dtype, 'float64', 'gradcheck wants float64 inputs');
  const base = inputs.map((x) => Float64Array.from(x.data() as Float64Array));
  const shapes = inputs.map((x) => x.shape);
  const make = (vals: Float64Array[], grad: boolean): Tensor[] =>
    vals.map((v, i) => {
      const t = tensor(v, shapes[i], { dtype: 'float64', device });
      if (grad && wrt[i]) t.requiresGrad = true;
      return t;
    });

  tidy(() => {
    const gen = new Generator(opts.seed ?? 1234);
    // Analytic gradient of the projected loss.
    const xs = make(base, true);
    const y = fn(...xs);
    assert.ok(y.dtype === 'float64', `gradcheck: fn must return a float64 tensor, got ${y.dtype}`);
    assert.equal(y.device.split(':')[0], device.split(':')[0], 'gradcheck: output on the wrong device');
    const r = normal(gen, y.shape, { dtype: 'float64', device });
    gen.dispose();
    const rVals = Float64Array.from(r.data() as Float64Array);
    const loss = y.mul(r).sum();
    assert.ok(loss.requiresGrad, 'gradcheck: the output does not require grad (no autograd path to the inputs)');
    loss.backward();
    const analytic = xs.map((x, i) => {
      if (!wrt[i]) return null;
      const g = x.grad;
      return g ? Float64Array.from(g.data() as Float64Array) : new Float64Array(base[i]!.length);
    });

    // Numeric gradient, one element at a time, with recording off.
    const lossAt = (vals: Float64Array[]): number =>
      noGrad(() =>
        tidy(() => {
          const out = fn(...make(vals, false));
          const rr = tensor(rVals, out.shape, { dtype: 'float64', device });
          return out.mul(rr).sum().item();
        }),
      );
    const vals = base.map((v) => Float64Array.from(v));
    for (let i = 0; i < inputs.length; i++) {
      if (!wrt[i]) continue;
      const v = vals[i]!;
      const numeric = new Float64Array(v.length);
      for (let j = 0; j < v.length; j++) {
        const x0 = v[j]!;
        v[j] = x0 + eps;
        const fp = lossAt(vals);
        v[j] = x0 - eps;
        const fm = lossAt(vals);
        v[j] = x0;
        numeric[j] = (fp - fm) / (2 * eps);
      }
      assertClose(analytic[i]!, numeric, { rtol, atol, what: `gradient of input ${i} (autograd vs finite differences)` });
    }
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Python (PyTorch) bridge
// ---------------------------------------------------------------------------------------------------------------

export const PYTHON = '/usr/bin/python3';
let torchChecked: boolean | undefined;

/** Whether /usr/bin/python3 can import torch. */
export function pythonHasTorch(): boolean {
  if (torchChecked === undefined) {
    const r = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    torchChecked = r.status === 0;
  }
  return torchChecked;
}

/** Runs a Python snippet with `input` on stdin; returns stdout, throwing with stderr when it fails. */
export function runPython(code: string, input = ''): string {
  const r = spawnSync(PYTHON, ['-c', code], { encoding: 'utf8', input, timeout: 120_000, maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`python failed (status ${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** A temporary folder, removed by the returned cleanup function. */
export function tempDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'psfid-engine-test-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Python source: helpers that write and read safetensors files by hand (struct + json), for a Python without the
 * safetensors package. `st_save(path, {name: tensor})` and `st_load(path) -> {name: tensor}`.
 */
export const PY_SAFETENSORS = String.raw`
import json, struct, torch
_ST = {torch.float64: 'F64', torch.float32: 'F32', torch.float16: 'F16', torch.int64: 'I64', torch.int32: 'I32',
       torch.int16: 'I16', torch.int8: 'I8', torch.uint8: 'U8', torch.bool: 'BOOL'}
_TORCH = {v: k for k, v in _ST.items()}
def st_save(path, tensors, metadata=None):
    header, blobs, off = {}, [], 0
    if metadata: header['__metadata__'] = metadata
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        b = t.numpy().tobytes() if t.dtype != torch.bool else t.to(torch.uint8).numpy().tobytes()
        header[name] = {'dtype': _ST[t.dtype], 'shape': list(t.shape), 'data_offsets': [off, off + len(b)]}
        blobs.append(b); off += len(b)
    h = json.dumps(header).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h))); f.write(h)
        for b in blobs: f.write(b)
def st_load(path):
    with open(path, 'rb') as f: buf = f.read()
    (n,) = struct.unpack('<Q', buf[:8])
    header = json.loads(buf[8:8 + n].decode('utf8'))
    base = 8 + n
    out, meta, ends = {}, header.pop('__metadata__', {}), []
    for name, info in header.items():
        b, e = info['data_offsets']
        ends.append((b, e))
        dt = _TORCH[info['dtype']]
        raw = bytearray(buf[base + b: base + e])
        if dt == torch.bool:
            t = torch.frombuffer(raw, dtype=torch.uint8).to(torch.bool) if len(raw) else torch.zeros(0, dtype=torch.bool)
        else:
            t = torch.frombuffer(raw, dtype=dt) if len(raw) else torch.zeros(0, dtype=dt)
        out[name] = t.reshape(info['shape']).clone()
    ends.sort()
    pos = 0
    for b, e in ends:
        assert b == pos, 'safetensors data not contiguous'
        pos = e
    assert base + pos == len(buf), 'safetensors file has trailing bytes'
    return out, meta
`;
