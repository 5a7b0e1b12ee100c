// Training synthesis: auto-exposure scales each crop so that its noise-free blurred image peaks where asked.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveTrainConfig } from '../../src/train/config.js';
import { makeSynthesizer } from '../../src/train/synthesize.js';
import { blur } from '../../src/acquisition/index.js';
import { psfFromZernike } from '../../src/optics/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTiff } from '../../src/io/index.js';

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

test("data.sizeFilter: 'perSide' draws each crop side from the images that reach it, 'largest' from those that reach the largest", () => {
  // Two images told apart by their level: a small one (40², values ≈ 0.25) and a large one (80², ≈ 0.75); the
  // tiny preset's 15² PSF makes the sides 24 → 38² and 48 → 62² sharp crops, so only the large image reaches 62.
  const dir = mkdtempSync(join(tmpdir(), 'psfid-sides-'));
  try {
    for (const [name, side, level] of [['small', 40, 0.25], ['large', 80, 0.75]] as const) {
      const px = new Uint16Array(side * side);
      for (let i = 0; i < px.length; i++) px[i] = Math.round((level + 0.04 * Math.sin(i / 7)) * 65535);
      writeTiff(join(dir, `${name}.tif`), { width: side, height: side, planes: [px] });
    }
    const base = {
      preset: 'tiny', batchSize: 8, cropSize: 24, cropSizes: [24, 48],
      data: { sources: [{ kind: 'folder', path: dir }], cropNormalization: 'none', minCropStd: 0 },
    };
    const levels = (sizeFilter: string, step: number): number[] => {
      const synth = makeSynthesizer(resolveTrainConfig({ ...base, data: { ...base.data, sizeFilter } }), 'cpu', '.');
      const b = synth.trainingBatch(step);
      const means = b.x.mean([1, 2, 3]).toArray();
      synth.dispose();
      return means;
    };
    const small = (means: number[]): number => means.filter((m) => m < 0.5).length;
    // 24² steps (even): 'perSide' uses both images (16 crops, each image picked with probability 1/2)…
    const perSideSmall = [0, 2].map((s) => small(levels('perSide', s))).reduce((a, b) => a + b, 0);
    assert.ok(perSideSmall >= 2 && perSideSmall <= 14, `${perSideSmall} of 16 crops from the small image`);
    // …'largest' only the image that reaches 62 px, and 48² steps (odd) never the small one.
    for (const s of [0, 2]) assert.equal(small(levels('largest', s)), 0);
    for (const s of [1, 3]) assert.equal(small(levels('perSide', s)), 0);
    // a side that no image of a source reaches is refused when the synthesizer is made, naming the source
    assert.throws(() => makeSynthesizer(resolveTrainConfig({ ...base, cropSizes: [24, 100] }), 'cpu', '.'), /no image reaches 114×114/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
