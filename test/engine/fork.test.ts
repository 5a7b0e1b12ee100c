// Generator.fork: a generator on a device seeded by one 64-bit draw of a CPU Generator. On the CPU: determinism, the
// parent's stream, independence and refusals; where a CUDA GPU is visible: draws on the GPU with the right moments.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cudaDeviceCount, Generator, normal, poisson, poissonExact, full, tidy, uniform } from '../../src/engine/index.js';

const hasCuda = cudaDeviceCount() > 0;
const NO_GPU = 'no CUDA GPU visible (cudaDeviceCount() = 0)';
const f64 = { dtype: 'float64' as const };

/** |mean − expected| and |variance − expected| within 5 standard errors (variance SE from the fourth moment). */
function assertMoments(v: number[], mean: number, variance: number, what: string): void {
  const n = v.length;
  const m = v.reduce((a, b) => a + b, 0) / n;
  let m2 = 0;
  let m4 = 0;
  for (const x of v) {
    m2 += (x - m) ** 2;
    m4 += (x - m) ** 4;
  }
  m2 /= n;
  m4 /= n;
  assert.ok(Math.abs(m - mean) <= 5 * Math.sqrt(m2 / n), `${what}: mean ${m} vs ${mean}`);
  assert.ok(Math.abs(m2 - variance) <= 5 * Math.sqrt((m4 - m2 * m2) / n), `${what}: variance ${m2} vs ${variance}`);
}

/** The fork's first draws and the parent's next draws after forking, from a fresh parent with `seed`. */
function forkAndDraw(seed: number, device: string, forkDraws: number): { fork: number[]; parent: number[] } {
  return tidy(() => {
    const parent = new Generator(seed);
    const fork = parent.fork(device);
    const out = { fork: normal(fork, [forkDraws], f64).toDevice('cpu').toArray(), parent: normal(parent, [8], f64).toArray() };
    fork.dispose();
    parent.dispose();
    return out;
  });
}

describe('Generator.fork on the CPU', () => {
  test('the same parent seed gives the same fork; the fork draws on the CPU', () => {
    assert.deepEqual(forkAndDraw(5, 'cpu', 64), forkAndDraw(5, 'cpu', 64));
    assert.notDeepEqual(forkAndDraw(5, 'cpu', 64).fork, forkAndDraw(6, 'cpu', 64).fork);
    const g = new Generator(1);
    const f = g.fork('cpu');
    assert.equal(f.device, 'cpu');
    assert.equal(g.device, 'cpu');
    f.dispose();
    g.dispose();
  });

  test('forking takes one draw of the parent, whatever the fork draws later; the fork is not the parent stream', () => {
    const few = forkAndDraw(7, 'cpu', 4);
    const many = forkAndDraw(7, 'cpu', 4096);
    assert.deepEqual(few.parent, many.parent);
    const plain = tidy(() => normal(new Generator(7), [8], f64).toArray());
    assert.notDeepEqual(few.parent, plain, 'the parent moved on by the fork');
    assert.notDeepEqual(few.fork, plain.slice(0, 4));
  });

  test("the fork's state round-trips like a Generator's, so a checkpointed fork resumes exactly", () => {
    tidy(() => {
      const f = new Generator(3).fork('cpu');
      uniform(f, [10]);
      const state = f.getState();
      const a = uniform(f, [20], f64).toArray();
      f.setState(state);
      assert.deepEqual(uniform(f, [20], f64).toArray(), a);
      f.dispose();
    });
  });

  test('a fork is not forked again; a bad device is refused', () => {
    const g = new Generator(2);
    assert.throws(() => g.fork('tpu'), Error);
    if (!hasCuda) assert.throws(() => g.fork('cuda'), /CUDA|cuda/);
    const f = g.fork('cpu');
    assert.doesNotThrow(() => f.fork('cpu'), 'a CPU fork is a CPU Generator and may be forked');
    f.dispose();
    g.dispose();
  });
});

describe('Generator.fork on a GPU', () => {
  test('draws land on the GPU, the same parent seed gives the same draws, and the moments are right', (t) => {
    if (!hasCuda) return t.skip(NO_GPU);
    assert.deepEqual(forkAndDraw(5, 'cuda', 4096), forkAndDraw(5, 'cuda', 4096));
    assert.deepEqual(forkAndDraw(5, 'cuda', 4).parent, forkAndDraw(5, 'cpu', 4).parent, 'the parent takes one draw either way');
    tidy(() => {
      const f = new Generator(9).fork('cuda');
      assert.match(f.device, /^cuda/);
      const z = normal(f, [200000], { dtype: 'float64', device: 'cuda' });
      assert.match(z.device, /^cuda/);
      assertMoments(z.toDevice('cpu').toArray(), 0, 1, 'normal on the GPU');
      const u = uniform(f, [200000], { dtype: 'float64', device: 'cuda' });
      assertMoments(u.toDevice('cpu').toArray(), 0.5, 1 / 12, 'uniform on the GPU');
      for (const rate of [0.3, 4, 60, 5000]) {
        const k = poisson(f, full([200000], rate, { dtype: 'float64', device: 'cuda' }));
        assert.match(k.device, /^cuda/);
        const v = k.toDevice('cpu').toArray();
        assert.ok(v.every((x) => Number.isInteger(x) && x >= 0), `Poisson(${rate}) samples are non-negative integers`);
        assertMoments(v, rate, rate, `Poisson(${rate}) on the GPU`);
      }
      assert.throws(() => poissonExact(f, full([4], 1)), /CPU Generator/);
      f.dispose();
    });
  });
});
