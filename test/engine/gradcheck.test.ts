// Autograd vs central finite differences (float64) for every differentiable op family the engine exposes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator, liveTensors, tidy } from '../../src/engine/index.js';
import { gradcheck, randn } from './helpers.js';
import { gradcheckCases } from './gradcheck-cases.js';

describe('gradcheck: the checker itself', () => {
  const gen = new Generator(7);
  test('accepts a correct gradient', () => {
    const x = randn(gen, [5]);
    gradcheck((a) => a.mul(a).sin(), [x]);
    x.dispose();
  });
  test('rejects a wrong gradient (x·detach(x) has autograd gradient x, true gradient 2x)', () => {
    const x = randn(gen, [5]);
    assert.throws(() => gradcheck((a) => a.mul(a.detach()), [x]), /finite differences/);
    x.dispose();
  });
  test('rejects an output with no autograd path to the inputs', () => {
    const x = randn(gen, [3]);
    assert.throws(() => gradcheck((a) => a.detach().mul(2), [x]), /does not require grad/);
    x.dispose();
  });
});

describe('gradcheck: autograd vs finite differences (float64, CPU)', () => {
  const gen = new Generator(20240611);
  for (const c of gradcheckCases) {
    test(c.name, () => {
      const before = liveTensors();
      const inputs = tidy(() => c.inputs(gen, 'cpu'));
      gradcheck(c.fn, inputs, c.opts);
      for (const t of inputs) t.dispose();
      assert.equal(liveTensors(), before, 'gradcheck leaked tensors');
    });
  }
});
