// tidy / keep scopes: deterministic freeing of native tensors, checked with the addon's live-tensor count.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator, keep, liveTensors, nn, normal, ones, tidy, uniform, zeros, type Tensor } from '../../src/engine/index.js';

describe('tidy and keep', () => {
  test('tidy frees everything created inside except the returned tensor', () => {
    const before = liveTensors();
    const inner: Tensor[] = [];
    const out = tidy(() => {
      const a = ones([4]);
      const b = a.mul(3);
      const c = b.add(a);
      inner.push(a, b);
      return c.mul(0.5);
    });
    assert.equal(liveTensors(), before + 1);
    assert.ok(inner.every((t) => t.isDisposed));
    assert.equal(out.isDisposed, false);
    assert.deepEqual(out.toArray(), [2, 2, 2, 2]);
    out.dispose();
    assert.equal(liveTensors(), before);
  });

  test('tidy keeps tensors inside returned arrays and plain objects, and passes other values through', () => {
    const before = liveTensors();
    const r = tidy(() => {
      const a = ones([2]);
      a.add(1);
      return { list: [a.mul(2), a.mul(3)], one: a, n: 5, s: 'x' };
    });
    assert.equal(liveTensors(), before + 3);
    assert.equal(r.n, 5);
    assert.equal(r.s, 'x');
    assert.deepEqual(r.list[1]!.toArray(), [3, 3]);
    for (const t of [...r.list, r.one]) t.dispose();
    assert.equal(tidy(() => ones([3]).sum().item()), 3);
    assert.equal(liveTensors(), before);
  });

  test('tidy leaves tensors created outside it alone', () => {
    const x = ones([2]);
    const before = liveTensors();
    tidy(() => {
      x.add(1);
    });
    assert.equal(x.isDisposed, false);
    assert.equal(liveTensors(), before);
    const same = tidy(() => x);
    assert.equal(same, x);
    assert.equal(x.isDisposed, false);
    x.dispose();
  });

  test('nested tidy: the inner result moves to the outer scope and is freed there unless returned', () => {
    const before = liveTensors();
    let innerResult: Tensor | undefined;
    let innerTemp: Tensor | undefined;
    const out = tidy(() => {
      innerResult = tidy(() => {
        innerTemp = ones([3]);
        return innerTemp.mul(2);
      });
      assert.equal(innerTemp!.isDisposed, true);
      assert.equal(innerResult.isDisposed, false);
      const kept = tidy(() => innerResult!.add(1));
      return kept;
    });
    assert.equal(innerResult!.isDisposed, true, 'the inner result belonged to the outer scope');
    assert.deepEqual(out.toArray(), [3, 3, 3]);
    assert.equal(liveTensors(), before + 1);
    out.dispose();
    assert.equal(liveTensors(), before);
  });

  test('keep() moves a tensor out of every scope; the caller frees it with dispose()', () => {
    const before = liveTensors();
    let k: Tensor | undefined;
    let temp: Tensor | undefined;
    tidy(() => {
      tidy(() => {
        temp = ones([2]);
        k = keep(temp.mul(5));
      });
    });
    assert.equal(temp!.isDisposed, true);
    assert.equal(k!.isDisposed, false);
    assert.equal(liveTensors(), before + 1);
    assert.deepEqual(k!.toArray(), [5, 5]);
    k!.dispose();
    assert.equal(k!.isDisposed, true);
    assert.equal(liveTensors(), before);
  });

  test('a kept tensor survives a tidy that throws', () => {
    const before = liveTensors();
    let k: Tensor | undefined;
    assert.throws(() =>
      tidy(() => {
        k = keep(ones([2]));
        throw new Error('after keep');
      }),
    );
    assert.equal(k!.isDisposed, false);
    k!.dispose();
    assert.equal(liveTensors(), before);
  });

  test('a throwing fn frees what it created, and the error propagates', () => {
    const before = liveTensors();
    assert.throws(
      () =>
        tidy(() => {
          ones([8]).mul(2);
          tidy(() => zeros([3]).add(1));
          throw new Error('boom');
        }),
      /boom/,
    );
    assert.equal(liveTensors(), before);
    // Scopes are balanced afterwards: a later tidy still frees.
    tidy(() => {
      ones([2]).add(1);
    });
    assert.equal(liveTensors(), before);
  });

  test('an async fn is refused (TypeError) without leaking', async () => {
    const before = liveTensors();
    assert.throws(() => tidy(() => Promise.resolve(ones([2]))), TypeError);
    assert.equal(liveTensors(), before);
  });

  test('gradients read inside tidy are freed; module parameters survive', () => {
    const m = new nn.Linear(3, 2);
    const before = liveTensors();
    tidy(() => {
      const y = m.forward(ones([4, 3])).sum();
      y.backward();
      for (const p of m.parameters()) assert.ok(p.grad!.abs().sum().item() > 0);
    });
    // The .grad tensors themselves are held by libtorch on the parameters, not by handles.
    assert.equal(liveTensors(), before);
    assert.ok(m.parameters().every((p) => !p.isDisposed));
    const n = m.parameters().length;
    m.dispose();
    assert.equal(liveTensors(), before - n);
  });

  test('factories and layers outside any scope create only the tensors they hand out', () => {
    const gen = new Generator(4);
    const before = liveTensors();
    const u = uniform(gen, [3], { low: -2, high: 2 });
    const n = normal(gen, [3], { mean: 1, std: 3, requiresGrad: true });
    assert.equal(liveTensors(), before + 2, 'no intermediate products left behind');
    assert.ok(n.requiresGrad, 'requiresGrad is honoured');
    assert.ok(u.toArray().every((v) => v >= -2 && v < 2));
    const conv = new nn.Conv2d(2, 3, 3, { gen });
    assert.equal(liveTensors(), before + 4, 'a Conv2d holds exactly its weight and bias');
    for (const t of [u, n]) t.dispose();
    conv.dispose();
    gen.dispose();
    assert.equal(liveTensors(), before);
  });

  test('Sequential frees its intermediates but not an identity layer’s output', () => {
    const net = new nn.Sequential(nn.ReLU(), new nn.Lambda('identity', (x) => x), nn.ReLU(), new nn.Lambda('identity', (x) => x));
    const x = ones([4]).mul(-1);
    const before = liveTensors();
    const y = net.forward(x);
    assert.deepEqual(y.toArray(), [0, 0, 0, 0]);
    assert.equal(liveTensors(), before + 1);
    y.dispose();
    x.dispose();
  });
});
