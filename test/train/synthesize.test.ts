// Training synthesis: auto-exposure scales each crop so that its noise-free blurred image peaks where asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTrainConfig } from '../../src/train/config.js';
import { makeSynthesizer } from '../../src/train/synthesize.js';
import { blur } from '../../src/acquisition/index.js';
import { psfFromZernike } from '../../src/optics/index.js';

test('auto-exposure: max(h ⋆ x) lies in the configured range, and y0, h, θ stay consistent with the scaled x', () => {
  const config = resolveTrainConfig({
    preset: 'tiny', batchSize: 6, cropSize: 24,
    data: { sources: [{ kind: 'procedural', generator: 'beads' }], exposure: [0.6, 0.9] },
  });
  const synth = makeSynthesizer(config, 'cpu', '.');
  const b = synth.trainingBatch(3);
  const peaks = b.y0.amax([1, 2, 3]).toArray();
  for (const p of peaks) assert.ok(p >= 0.6 - 1e-5 && p <= 0.9 + 1e-5, `peak ${p}`);
  // y0 is exactly the blur of the returned (scaled) x by the returned h, and h is h(θ, fc)
  assert.ok(blur(b.x, b.h, 'valid').sub(b.y0).abs().max().item() < 1e-6);
  assert.ok(psfFromZernike(synth.optics, b.theta, { fc: b.fc }).sub(b.h).abs().max().item() < 1e-7);
  // without exposure, beads stay dim after the blur (the reason the option exists)
  const dim = makeSynthesizer(resolveTrainConfig({ ...config, data: { ...config.data, exposure: null } }), 'cpu', '.').trainingBatch(3);
  assert.ok(Math.max(...dim.y0.amax([1, 2, 3]).toArray()) < 0.6);
  assert.throws(() => resolveTrainConfig({ data: { exposure: [0.9, 0.5] } }), /config\.data\.exposure/);
});

test('cropSizes: step k trains on cropSizes[k mod length]; the blur stays the valid one of an (n + S − 1)² crop', () => {
  const config = resolveTrainConfig({
    preset: 'tiny', batchSize: 2, cropSize: 24, cropSizes: [24, 40],
    data: { sources: [{ kind: 'procedural', generator: 'dead-leaves' }] },
  });
  const synth = makeSynthesizer(config, 'cpu', '.');
  const S = synth.optics.psfSize;
  for (const [step, side] of [[0, 24], [1, 40], [2, 24], [7, 40]] as const) {
    const b = synth.trainingBatch(step);
    assert.deepEqual(b.y.shape, [2, 1, side, side], `step ${step}`);
    assert.deepEqual(b.x.shape, [2, 1, side + S - 1, side + S - 1]);
    assert.ok(blur(b.x, b.h, 'valid').sub(b.y0).abs().max().item() < 1e-6);
  }
  // validation uses cropSize
  const val = synth.validationSet();
  assert.deepEqual(val.batches[0]!.y.shape.slice(2), [24, 24]);
  val.dispose();
  synth.dispose();
  assert.throws(() => resolveTrainConfig({ cropSizes: [] }), /config\.cropSizes/);
  assert.throws(() => resolveTrainConfig({ cropSizes: [64, 8] }), /config\.cropSizes\.1/);
});
