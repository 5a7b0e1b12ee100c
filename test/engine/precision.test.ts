// bfloat16 tensors and the channels-last layout, which the identification network's convolutions use on CPUs
// (src/model/precision.ts): values against rounding written out in JavaScript and against the float32, row-major
// computation of the same operators.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { conv2d, Generator, nn, normal, tensor, tidy } from '../../src/engine/index.js';
import { assertClose } from './helpers.js';

/** Round-to-nearest-even of a float32 to bfloat16 (the top 16 bits), back as a number: IEEE's rule, by hand. */
function bfloat16Round(v: number): number {
  const f = new Float32Array([v]);
  const u = new Uint32Array(f.buffer);
  const bits = u[0]!;
  u[0] = ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) << 16;
  return f[0]!;
}

test('bfloat16: a cast rounds to nearest even on 8 mantissa bits, and reads back through toArray', () => {
  const values = [1, -2.5, 1 + 2 ** -8, 1 + 3 * 2 ** -9, 3.14159265, 1e-20, 65504, -1e30, 0.1];
  // 1 + 2^-8 is a tie between 1 and 1 + 2^-7: even mantissa, 1. 1 + 3·2^-9 rounds up to 1 + 2^-7.
  assert.equal(bfloat16Round(1 + 2 ** -8), 1);
  assert.equal(bfloat16Round(1 + 3 * 2 ** -9), 1 + 2 ** -7);
  tidy(() => {
    const b = tensor(Float32Array.from(values)).to({ dtype: 'bfloat16' });
    assert.equal(b.dtype, 'bfloat16');
    assert.deepEqual(b.toArray(), values.map(bfloat16Round));
    assert.deepEqual(b.float().toArray(), values.map(bfloat16Round));
  });
});

test('channels-last: same shape and values; a convolution gives the row-major result', () => {
  const gen = new Generator(5);
  tidy(() => {
    const x = normal(gen, [2, 3, 9, 11]);
    const w = normal(gen, [4, 3, 3, 3]);
    const cl = x.contiguous('channelsLast');
    assert.deepEqual(cl.shape, [2, 3, 9, 11]);
    assert.deepEqual(cl.toArray(), x.toArray());
    // reshape is logical: the flattened vector is the row-major one whatever the memory layout.
    assert.deepEqual(cl.reshape([2, -1]).toArray(), x.reshape([2, -1]).toArray());
    assertClose(conv2d(cl, w, null, { padding: 1 }).toArray(), conv2d(x, w, null, { padding: 1 }).toArray(), { rtol: 1e-5, atol: 1e-5, what: 'conv2d' });
  });
});

test('nn.Conv2d on a bfloat16 input: bfloat16 output near the float32 one, gradients reach the float32 weights', () => {
  const gen = new Generator(6);
  const layer = new nn.Conv2d(8, 16, 3, { padding: 1, gen });
  const [weight, bias] = [layer.namedParameters()[0]![1], layer.namedParameters()[1]![1]];
  tidy(() => {
    const x = normal(gen, [2, 8, 12, 12]);
    const target = normal(gen, [2, 16, 12, 12]);
    // float32 reference: output and the gradient of a fixed linear functional of it
    const y32 = layer.forward(x);
    y32.mul(target).sum().backward();
    const [g32, gb32] = [weight.grad!.toArray(), bias.grad!.toArray()];
    weight.grad = null;
    bias.grad = null;
    const y16 = layer.forward(x.contiguous('channelsLast').to({ dtype: 'bfloat16' }));
    assert.equal(y16.dtype, 'bfloat16');
    // Inputs and weights rounded to 8 bits (relative 2^-9 each) over 72-term sums of N(0, 1/72)-sized terms.
    const ref = y32.toArray();
    const scale = Math.sqrt(ref.reduce((a, v) => a + v * v, 0) / ref.length);
    assertClose(y16.toArray(), ref, { rtol: 0, atol: 0.02 * scale, what: 'bfloat16 conv' });
    y16.float().mul(target).sum().backward();
    assert.equal(weight.grad!.dtype, 'float32');
    const g = weight.grad!.toArray();
    const gScale = Math.sqrt(g32.reduce((a, v) => a + v * v, 0) / g32.length);
    assertClose(g, g32, { rtol: 0, atol: 0.02 * gScale, what: 'weight gradient' });
    const gbScale = Math.sqrt(gb32.reduce((a, v) => a + v * v, 0) / gb32.length);
    assertClose(bias.grad!.toArray(), gb32, { rtol: 0, atol: 0.02 * gbScale, what: 'bias gradient' });
  });
  weight.grad = null;
  bias.grad = null;
});
