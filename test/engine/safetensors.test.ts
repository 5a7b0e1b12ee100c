// safetensors: round trips in JS, files written by Python read here, files written here read by Python, and
// module state dicts moving between psfid and PyTorch.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  decodeSafetensors, encodeSafetensors, Generator, loadSafetensors, nn, noGrad, normal, saveSafetensors, tensor, tidy, uniform, type Tensor,
} from '../../src/engine/index.js';
import { assertClose, PY_SAFETENSORS, pythonHasTorch, runPython, tempDir } from './helpers.js';

const tmp = tempDir();
after(() => tmp.cleanup());

/** One tensor of every storable dtype, with awkward values and shapes (scalar, empty, 3-D). */
function sampleTensors(): Map<string, Tensor> {
  const gen = new Generator(11);
  const m = new Map<string, Tensor>([
    ['f64', normal(gen, [2, 3], { dtype: 'float64' })],
    ['f32', tensor(new Float32Array([0.1, -0, 1e-40, 3.4e38, -7.25, Infinity]), [3, 2])],
    ['f16', tensor([0.5, -2, 65504, 1e-3, 0.1, 3], [2, 3]).to({ dtype: 'float16' })],
    ['i64', tensor(new BigInt64Array([-(2n ** 62n), 0n, 2n ** 53n + 1n]), [3])],
    ['i32', tensor(new Int32Array([-2147483648, 2147483647, 5, 0]), [2, 2])],
    ['i16', tensor(new Int16Array([-32768, 32767, 1]), [3])],
    ['i8', tensor(new Int8Array([-128, 127]), [2])],
    ['u8', tensor(new Uint8Array([0, 255, 7]), [3])],
    ['bool', tensor(new Uint8Array([1, 0, 0, 1]), [2, 2], { dtype: 'bool' })],
    ['scalar', tensor([2.5], [], { dtype: 'float64' })],
    ['empty', tensor(new Float32Array(0), [0, 3])],
    ['deep.name.weight', uniform(gen, [2, 1, 2, 2])],
  ]);
  gen.dispose();
  return m;
}

const raw = (t: Tensor): unknown[] => {
  const d = t.data();
  return Array.from(d as ArrayLike<number | bigint>);
};

describe('safetensors in JS', () => {
  test('round trip: every dtype, scalar and empty shapes, metadata, exact bits', () => {
    tidy(() => {
      const src = sampleTensors();
      const buf = encodeSafetensors(src, { format: 'pt', note: 'ü ✓' });
      // Layout: u64 LE header length, JSON header, data aligned to 8 bytes.
      const n = Number(buf.readBigUInt64LE(0));
      assert.equal((8 + n) % 8, 0);
      const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8'));
      assert.deepEqual(header.__metadata__, { format: 'pt', note: 'ü ✓' });
      assert.deepEqual(header.f16, { dtype: 'F16', shape: [2, 3], data_offsets: header.f16.data_offsets });
      const back = decodeSafetensors(buf);
      assert.deepEqual(back.metadata, { format: 'pt', note: 'ü ✓' });
      assert.deepEqual([...back.tensors.keys()].sort(), [...src.keys()].sort());
      for (const [k, t] of src) {
        const u = back.tensors.get(k)!;
        assert.equal(u.dtype, t.dtype, k);
        assert.deepEqual(u.shape, t.shape, k);
        assert.deepEqual(raw(u), raw(t), k);
      }
      assert.deepEqual(back.tensors.get('f16')!.toArray(), [0.5, -2, 65504, 0.00100040435791015625, 0.0999755859375, 3]);
      // And through a file.
      const path = join(tmp.dir, 'roundtrip.safetensors');
      saveSafetensors(path, src, { a: 'b' });
      const file = loadSafetensors(path);
      assert.deepEqual(raw(file.tensors.get('i64')!), raw(src.get('i64')!));
      assert.deepEqual(file.metadata, { a: 'b' });
    });
  });

  test('damaged files are refused with a clear message', () => {
    tidy(() => {
      const buf = encodeSafetensors(new Map([['x', tensor([1, 2, 3, 4])]]));
      assert.throws(() => decodeSafetensors(buf.subarray(0, buf.length - 4), 'cut.safetensors'), /cut\.safetensors: x lies outside the file/);
      assert.throws(() => decodeSafetensors(buf.subarray(0, 5)), /too short/);
      const bad = Buffer.from(buf);
      bad.writeBigUInt64LE(10n ** 12n, 0);
      assert.throws(() => decodeSafetensors(bad), /header length/);
      const garbled = Buffer.from(buf);
      garbled[8] = 0x41;
      assert.throws(() => decodeSafetensors(garbled), /corrupt safetensors header/);
    });
  });

  test('module stateDict → file → fresh module gives identical outputs', () => {
    tidy(() => {
      const make = (seed: number) => {
        const gen = new Generator(seed);
        return new nn.Sequential(
          new nn.Conv2d(1, 4, 3, { padding: 1, gen }),
          new nn.BatchNorm2d(4),
          nn.LeakyReLU(0.1),
          new nn.Conv2d(4, 4, 3, { groups: 2, dilation: 2, padding: 2, gen }),
          new nn.GroupNorm(2, 4),
          new nn.ConvTranspose2d(4, 2, 4, { stride: 2, padding: 1, gen }),
          new nn.InstanceNorm2d(2),
        );
      };
      const a = make(1);
      const x = normal(new Generator(2), [2, 1, 12, 12]);
      a.forward(x); // training mode: BatchNorm running statistics move away from 0/1
      a.eval();
      const path = join(tmp.dir, 'module.safetensors');
      saveSafetensors(path, a.stateDict());
      const b = make(99);
      b.eval();
      const before = noGrad(() => b.forward(x)).toArray();
      const loaded = loadSafetensors(path);
      b.loadStateDict(loaded.tensors);
      const ya = noGrad(() => a.forward(x)).toArray();
      const yb = noGrad(() => b.forward(x)).toArray();
      assert.notDeepEqual(before, ya, 'the fresh module starts different');
      assert.deepEqual(yb, ya);
      assert.deepEqual(raw(b.stateDict().get('1.num_batches_tracked')!), [1n]);
      for (const t of loaded.tensors.values()) t.dispose();
      a.dispose();
      b.dispose();
    });
  });
});

describe('safetensors with PyTorch (python3-torch; files written with struct + json by hand)', () => {
  test('a file written by Python is read with identical values', (t) => {
    if (!pythonHasTorch()) return t.skip('/usr/bin/python3 has no torch');
    const path = join(tmp.dir, 'from-python.safetensors');
    const py = JSON.parse(
      runPython(
        PY_SAFETENSORS +
          String.raw`
torch.manual_seed(3)
ts = {
  'w': torch.randn(3, 4, dtype=torch.float64),
  'f': torch.randn(2, 2, 2),
  'h': torch.tensor([0.5, -1.25, 100.0], dtype=torch.float16),
  'i': torch.tensor([[-(2 ** 40), 7]], dtype=torch.int64),
  'i32': torch.tensor([-5, 6], dtype=torch.int32),
  'b': torch.tensor([True, False, True]),
  'u': torch.tensor([0, 200], dtype=torch.uint8),
  's': torch.tensor(3.0, dtype=torch.float64),
}
st_save(${JSON.stringify(path)}, ts, {'producer': 'torch ' + torch.__version__})
print(json.dumps({k: {'shape': list(v.shape), 'values': v.flatten().float().tolist() if v.dtype == torch.float16 else v.flatten().tolist()} for k, v in ts.items()}))
`,
      ),
    ) as Record<string, { shape: number[]; values: number[] }>;
    tidy(() => {
      const file = loadSafetensors(path);
      assert.match(file.metadata.producer!, /^torch 1\./);
      const dtypes: Record<string, string> = { w: 'float64', f: 'float32', h: 'float16', i: 'int64', i32: 'int32', b: 'bool', u: 'uint8', s: 'float64' };
      for (const [k, want] of Object.entries(py)) {
        const got = file.tensors.get(k)!;
        assert.equal(got.dtype, dtypes[k], k);
        assert.deepEqual(got.shape, want.shape, k);
        const vals = k === 'b' ? want.values.map(Number) : want.values;
        assert.deepEqual(got.toArray(), vals, k);
      }
    });
  });

  test('a file written here is read by Python with identical values', (t) => {
    if (!pythonHasTorch()) return t.skip('/usr/bin/python3 has no torch');
    tidy(() => {
      const src = sampleTensors();
      const path = join(tmp.dir, 'to-python.safetensors');
      saveSafetensors(path, src, { origin: 'psfid' });
      const py = JSON.parse(
        runPython(
          PY_SAFETENSORS +
            String.raw`
import sys
ts, meta = st_load(sys.stdin.read().strip())
def vals(v):
    if v.dtype == torch.float16: return v.flatten().float().tolist()
    if v.dtype in (torch.float32, torch.float64): return [repr(x) for x in v.flatten().tolist()]
    return [str(int(x)) for x in v.flatten().tolist()]
print(json.dumps({'meta': meta, 'tensors': {k: {'dtype': str(v.dtype), 'shape': list(v.shape), 'values': vals(v)} for k, v in ts.items()}}))
`,
          path,
        ),
      ) as { meta: Record<string, string>; tensors: Record<string, { dtype: string; shape: number[]; values: (string | number)[] }> };
      assert.deepEqual(py.meta, { origin: 'psfid' });
      assert.deepEqual(Object.keys(py.tensors).sort(), [...src.keys()].sort());
      for (const [k, tt] of src) {
        const p = py.tensors[k]!;
        assert.equal(p.dtype, `torch.${tt.dtype === 'bool' ? 'bool' : tt.dtype}`, k);
        assert.deepEqual(p.shape, tt.shape, k);
        let mine: (string | number)[];
        if (tt.dtype === 'float16') mine = tt.toArray();
        else if (tt.dtype === 'float32' || tt.dtype === 'float64') mine = tt.toArray().map(pyRepr);
        else mine = raw(tt).map((v) => String(typeof v === 'bigint' ? v : Number(v)));
        assert.deepEqual(p.values, mine, k);
      }
    });
  });

  test('torch.nn weights saved from Python load into our modules and give the same outputs (1e-5)', (t) => {
    if (!pythonHasTorch()) return t.skip('/usr/bin/python3 has no torch');
    const single = join(tmp.dir, 'torch-conv.safetensors');
    const seq = join(tmp.dir, 'torch-seq.safetensors');
    runPython(
      PY_SAFETENSORS +
        String.raw`
import torch.nn as nn
torch.manual_seed(0)
conv = nn.Conv2d(3, 5, 3, stride=2, padding=1)
x = torch.randn(2, 3, 17, 16)
with torch.no_grad(): y = conv(x)
st_save(${JSON.stringify(single)}, {**conv.state_dict(), 'x': x, 'y': y})
net = nn.Sequential(nn.Conv2d(2, 8, 3, padding=1), nn.BatchNorm2d(8), nn.LeakyReLU(0.1), nn.Conv2d(8, 4, 3, padding=2, dilation=2, groups=2),
                    nn.GroupNorm(2, 4), nn.ConvTranspose2d(4, 2, 4, stride=2, padding=1), nn.InstanceNorm2d(2, affine=True))
with torch.no_grad():
    for p in net.parameters(): p.add_(0.1 * torch.randn_like(p))  # norms' affine parameters away from 1/0
    net(torch.randn(4, 2, 10, 10) * 3 + 1)  # training mode: BatchNorm running statistics move
net.eval()
x2 = torch.randn(3, 2, 10, 10)
with torch.no_grad(): y2 = net(x2)
st_save(${JSON.stringify(seq)}, {**net.state_dict(), 'x': x2, 'y': y2})
`,
    );
    tidy(() => {
      const a = loadSafetensors(single).tensors;
      const conv = new nn.Conv2d(3, 5, 3, { stride: 2, padding: 1 });
      conv.loadStateDict(new Map([...a].filter(([k]) => k !== 'x' && k !== 'y')));
      const y = noGrad(() => conv.forward(a.get('x')!));
      assert.deepEqual(y.shape, a.get('y')!.shape);
      assertClose(y.toArray(), a.get('y')!.toArray(), { atol: 1e-5, rtol: 1e-5, what: 'Conv2d output' });

      const b = loadSafetensors(seq).tensors;
      const net = new nn.Sequential(
        new nn.Conv2d(2, 8, 3, { padding: 1 }),
        new nn.BatchNorm2d(8),
        nn.LeakyReLU(0.1),
        new nn.Conv2d(8, 4, 3, { padding: 2, dilation: 2, groups: 2 }),
        new nn.GroupNorm(2, 4),
        new nn.ConvTranspose2d(4, 2, 4, { stride: 2, padding: 1 }),
        new nn.InstanceNorm2d(2),
      );
      net.loadStateDict(new Map([...b].filter(([k]) => k !== 'x' && k !== 'y')));
      net.eval();
      const y2 = noGrad(() => net.forward(b.get('x')!));
      assert.deepEqual(y2.shape, b.get('y')!.shape);
      assertClose(y2.toArray(), b.get('y')!.toArray(), { atol: 1e-5, rtol: 1e-5, what: 'Sequential output' });
      conv.dispose();
      net.dispose();
    });
  });
});

/** Python's repr of a float (shortest round-trip; integers get ".0", as Python prints them). */
function pyRepr(v: number): string {
  if (Number.isNaN(v)) return 'nan';
  if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
  if (Object.is(v, -0)) return '-0.0';
  if (Number.isInteger(v) && Math.abs(v) < 1e16) return v.toFixed(1);
  return String(v); // both languages print the shortest round-trip digits, with the same exponent style here
}
