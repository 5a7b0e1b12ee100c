// Memory: a long training loop with tidy per step must not grow: neither native tensors nor the process's RSS.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Adam, Generator, getNumThreads, l1Loss, liveTensors, nn, normal, setNumThreads, tidy } from '../../src/engine/index.js';

const STEPS = 2000;
const RSS_BOUND_MB = 50;

test(`${STEPS} Adam steps of a small conv net: RSS growth after step 200 < ${RSS_BOUND_MB} MB, no live tensors left`, (t) => {
  // One intra-op thread: these tensors are far too small to gain from more, and on a shared, oversubscribed machine
  // OpenMP's spinning workers made the loop ten times slower. Memory behaviour does not depend on it.
  const threads = getNumThreads();
  setNumThreads(1);
  t.after(() => setNumThreads(threads));
  const startTensors = liveTensors();
  const t0 = performance.now();
  const gen = new Generator(5);
  const net = new nn.Sequential(
    new nn.Conv2d(1, 8, 3, { padding: 1, gen }),
    nn.ReLU(),
    new nn.Conv2d(8, 8, 3, { padding: 1, gen }),
    nn.ReLU(),
    new nn.Conv2d(8, 1, 3, { padding: 1, gen }),
  );
  const opt = new Adam(net.parameters(), { lr: 1e-3 });
  // A fixed blur-like target: the net learns a smoothing of its input.
  const kernel = new nn.Conv2d(1, 1, 3, { padding: 1, bias: false, gen });
  let rss200 = 0;
  let firstLoss = 0;
  let lastLoss = 0;
  const perStepTensors: number[] = [];
  for (let step = 1; step <= STEPS; step++) {
    const before = liveTensors();
    const loss = tidy(() => {
      const x = normal(gen, [4, 1, 32, 32]);
      const y = kernel.forward(x).detach();
      opt.zeroGrad();
      const l = l1Loss(net.forward(x), y);
      l.backward();
      opt.step();
      return l.item();
    });
    perStepTensors.push(liveTensors() - before);
    if (step === 1) firstLoss = loss;
    if (step > STEPS - 50) lastLoss += loss / 50;
    if (step === 200) rss200 = process.memoryUsage().rss;
  }
  const rssEnd = process.memoryUsage().rss;
  const growthMb = (rssEnd - rss200) / 2 ** 20;
  // Adam's two moment buffers per parameter are created on the first step and then held; nothing else accumulates.
  assert.equal(perStepTensors[0], 2 * net.parameters().length, 'first step: the optimizer’s moment buffers only');
  assert.ok(perStepTensors.slice(1).every((d) => d === 0), 'every later step leaves the live-tensor count unchanged');
  assert.ok(growthMb < RSS_BOUND_MB, `RSS grew ${growthMb.toFixed(1)} MB between step 200 and step ${STEPS} (bound ${RSS_BOUND_MB} MB)`);
  assert.ok(lastLoss < firstLoss, `training made progress (${firstLoss} → ${lastLoss})`);
  opt.dispose();
  net.dispose();
  kernel.dispose();
  gen.dispose();
  assert.equal(liveTensors(), startTensors, 'live tensors back to the starting count');
  t.diagnostic(`${STEPS} steps in ${((performance.now() - t0) / 1000).toFixed(1)} s; RSS ${(rss200 / 2 ** 20).toFixed(0)} MB at step 200, growth ${growthMb.toFixed(1)} MB`);
});
