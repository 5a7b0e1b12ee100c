// Errors: libtorch failures become JavaScript Errors carrying libtorch's message (and the process goes on); use
// after dispose is refused; arguments of the wrong JavaScript type throw TypeError before reaching libtorch.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  cat, conv2d, Generator, isGradEnabled, liveTensors, matmul, noGrad, ones, tensor, tidy, uniform, zeros, type DType, type Tensor,
} from '../../src/engine/index.js';

describe('libtorch errors', () => {
  test('matmul 2×2 · 3×1 throws an Error with libtorch’s message, leaks nothing, and the engine keeps working', () => {
    tidy(() => {
      const a = tensor([1, 2, 3, 4], [2, 2]);
      const b = tensor([1, 2, 3], [3, 1]);
      const before = liveTensors();
      let caught: unknown;
      try {
        matmul(a, b);
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof Error, 'expected an Error');
      assert.ok(!(caught instanceof TypeError), 'a shape mismatch is not a TypeError');
      assert.match((caught as Error).message, /mat1 and mat2 shapes cannot be multiplied \(2x2 and 3x1\)/);
      assert.doesNotMatch((caught as Error).message, /Exception raised from|frame #/, 'no C++ backtrace in the message');
      assert.equal(liveTensors(), before, 'a failed call must not leave a tensor behind');
      // The process and the engine go on.
      const c = tensor([1, 1], [2, 1]);
      assert.deepEqual(matmul(a, c).toArray(), [3, 7]);
    });
  });

  test('conv2d with the wrong channel count reports the shapes', () => {
    tidy(() => {
      const x = zeros([1, 3, 8, 8]);
      const w = zeros([4, 2, 3, 3]);
      assert.throws(() => conv2d(x, w), (e: Error) => e instanceof Error && /expected input\[1, 3, 8, 8\] to have 2 channels/.test(e.message));
    });
  });

  test('backward through a tensor that does not require grad, and item() of many elements, throw Errors', () => {
    tidy(() => {
      const x = ones([3]);
      assert.throws(() => x.sum().backward(), /does not require grad/);
      assert.throws(() => x.item(), /3 elements/);
      const y = ones([2], { requiresGrad: true });
      const s = y.mul(y).sum();
      s.backward();
      assert.throws(() => s.backward(), /backward through the graph a second time/);
    });
  });

  test('a bad string option (pad mode) surfaces libtorch’s message', () => {
    tidy(() => {
      assert.throws(() => ones([1, 1, 3, 3]).pad([1, 1], 'bogus' as 'reflect'), /padding mode/i);
    });
  });

  test('an error inside noGrad restores gradient recording', () => {
    assert.equal(isGradEnabled(), true);
    assert.throws(() => noGrad(() => tidy(() => matmul(ones([2, 2]), ones([3, 1])))), /cannot be multiplied/);
    assert.equal(isGradEnabled(), true);
  });
});

describe('use after dispose', () => {
  test('a disposed tensor throws when used, as receiver or argument; dispose is idempotent', () => {
    const before = liveTensors();
    const t = ones([2, 2]);
    const u = ones([2, 2]);
    t.dispose();
    assert.equal(t.isDisposed, true);
    assert.equal(liveTensors(), before + 1);
    assert.throws(() => t.add(1), /used after dispose/);
    assert.throws(() => u.add(t), /used after dispose/);
    assert.throws(() => t.shape, /used after dispose/);
    assert.throws(() => t.data(), /used after dispose/);
    assert.throws(() => cat([u, t]), /used after dispose/);
    t.dispose();
    assert.equal(String(t), 'Tensor(disposed)');
    u.dispose();
    assert.equal(liveTensors(), before);
  });

  test('a disposed generator throws', () => {
    const g = new Generator(1);
    g.dispose();
    assert.throws(() => uniform(g, [2]), /Generator used after dispose/);
  });
});

describe('wrong argument types throw TypeError', () => {
  const cases: [string, (a: Tensor) => unknown][] = [
    ['a string where a tensor is expected (method)', (a) => a.matmul('x' as unknown as Tensor)],
    ['a string where a tensor is expected (function)', (a) => conv2d(a, 'w' as unknown as Tensor)],
    ['a number where a tensor is expected (would name a handle)', (a) => a.matmul(0 as unknown as Tensor)],
    ['a number where an optional tensor is expected', (a) => conv2d(a, a, 0 as unknown as Tensor)],
    ['numbers where a tensor list is expected', () => cat([1, 2] as unknown as Tensor[])],
    ['undefined for a required tensor', (a) => conv2d(a, undefined as unknown as Tensor)],
    ['null for a required tensor', (a) => a.matmul(null as unknown as Tensor)],
    ['a number where a shape list is expected', () => zeros(5 as unknown as number[])],
    ['a plain object where a tensor is expected', (a) => a.maximum({} as Tensor)],
    ['a number where a generator is expected', () => uniform(0 as unknown as Generator, [2])],
    ['a string where a number is expected', (a) => a.add('x' as unknown as number)],
    ['a non-integer shape (factory)', () => zeros([2.5])],
    ['a NaN shape', () => zeros([NaN])],
    ['a string in a shape', () => ones(['2' as unknown as number])],
    ['a non-integer shape (reshape)', (a) => a.reshape([2, 1.5, 1])],
    ['a non-integer shape (tensor())', () => tensor([1, 2], [2.5])],
    ['a negative shape (tensor())', () => tensor([1, 2], [-2])],
    ['a non-integer dim', (a) => a.sum(0.5)],
    ['a string for a boolean flag', (a) => a.sum(0, 'yes' as unknown as boolean)],
    ['values that are neither a typed array nor an array', () => tensor('abc' as unknown as number[])],
    ['an unknown dtype', () => zeros([2], { dtype: 'float128' as DType })],
    ['a non-integer generator seed', () => new Generator(1.5)],
    ['a negative generator seed', () => new Generator(-1)],
  ];
  for (const [name, f] of cases) {
    test(name, () => {
      tidy(() => {
        const a = tensor([1, 2, 3, 4], [1, 1, 2, 2]);
        const before = liveTensors();
        assert.throws(() => f(a), TypeError);
        assert.equal(liveTensors(), before, 'no tensor left behind');
      });
    });
  }
});
