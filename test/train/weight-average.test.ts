// The moving average of the weights (config.emaDecay): the recurrence against a closed form computed in doubles,
// the swap in and out for validation, what training saves and returns, and an exact resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad, nn, tensor, type Tensor } from '../../src/engine/index.js';
import { averageDecay, WeightAverage } from '../../src/train/weight-average.js';
import { resolveTrainConfig } from '../../src/train/config.js';
import { train } from '../../src/train/loop.js';
import { loadCheckpoint } from '../../src/train/checkpoint.js';

class Two extends nn.Module {
  constructor() {
    super();
    this.registerParameter('w', tensor([1, 2, 3], [3]));
    this.registerBuffer('count', tensor([5], [1], { dtype: 'int64' }));
  }
  forward(x: Tensor): Tensor {
    return x.mul(this.param('w'));
  }
}

test('averageDecay warms up as (1 + k)/(10 + k) and is capped at the decay', () => {
  assert.equal(averageDecay(0.999, 0), 0.1);
  assert.equal(averageDecay(0.999, 10), 11 / 20);
  assert.equal(averageDecay(0.5, 100), 0.5);
});

test('the average follows avg ← d·avg + (1 − d)·w (closed form in doubles); integer buffers are copied', () => {
  const m = new Two();
  const avg = new WeightAverage(m, 0.9);
  const want = [1, 2, 3];
  const w = m.stateDict().get('w')!;
  const count = m.stateDict().get('count')!;
  for (let k = 0; k < 40; k++) {
    const next = [Math.sin(k), k / 10, -k];
    noGrad(() => {
      w.copy_(tensor(next, [3]));
      count.copy_(tensor([k], [1], { dtype: 'int64' }));
    });
    avg.update(m, k);
    const d = Math.min(0.9, (1 + k) / (10 + k));
    for (let i = 0; i < 3; i++) want[i] = d * want[i]! + (1 - d) * next[i]!;
  }
  const got = avg.state().get('w')!.toArray() as number[];
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(got[i]! - want[i]!) < 1e-5, `${got[i]} vs ${want[i]}`);
  assert.deepEqual(avg.state().get('count')!.toArray().map(Number), [39]);
  // withAverage runs with the average in the module, then restores the trained weights exactly
  const inside = avg.withAverage(m, () => m.stateDict().get('w')!.toArray());
  assert.deepEqual(inside, got);
  assert.deepEqual(w.toArray(), [Math.sin(39), 3.9, -39].map((v) => Math.fround(v)));
  avg.dispose();
});

const tiny = (extra: object = {}) =>
  resolveTrainConfig({ preset: 'tiny', steps: 6, batchSize: 2, cropSize: 24, emaDecay: 0.8, validation: { every: 3, size: 2, seed: 1 }, checkpointEvery: 3, logEvery: 1, ...extra });

test('training with emaDecay returns and checkpoints the average; a resumed run ends on the same average', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'psfid-ema-'));
  try {
    const straight = await train(tiny(), { outDir: join(dir, 'a') });
    const ck = loadCheckpoint(join(dir, 'a', 'checkpoint.safetensors'));
    try {
      assert.equal(ck.average.size, ck.model.size);
      let differs = false;
      for (const [k, t] of straight.model.stateDict()) {
        assert.deepEqual(t.toArray(), ck.average.get(k)!.toArray(), k); // the returned network is the average
        if (JSON.stringify(t.toArray()) !== JSON.stringify(ck.model.get(k)!.toArray())) differs = true;
      }
      assert.ok(differs, 'the average equals the trained weights');
    } finally {
      ck.dispose();
    }
    await train(tiny(), { outDir: join(dir, 'b'), maxStepsThisRun: 3 });
    const resumed = await train(tiny(), { outDir: join(dir, 'b'), resume: true });
    const want = straight.model.stateDict();
    for (const [k, t] of resumed.model.stateDict()) assert.deepEqual(t.toArray(), want.get(k)!.toArray(), k);
    // and without it the run returns its trained weights (those of the checkpoint)
    const plain = await train(tiny({ emaDecay: 0 }), { outDir: join(dir, 'c') });
    const ckc = loadCheckpoint(join(dir, 'c', 'checkpoint.safetensors'));
    try {
      assert.equal(ckc.average.size, 0);
      for (const [k, t] of plain.model.stateDict()) assert.deepEqual(t.toArray(), ckc.model.get(k)!.toArray(), k);
    } finally {
      ckc.dispose();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
