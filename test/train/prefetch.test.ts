// Crop prefetching: worker threads draw exactly the crops the inline synthesizer draws (step k's depend only on
// (seed, k)), real images are shared with the workers rather than copied, a worker's failure reaches the training
// loop as an error, and a training run with workers logs the same losses as one without.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeTiff } from '../../src/io/index.js';
import { Rng, stepSeed } from '../../src/data/rng.js';
import { drawCrops, resolveSources, sourcesForSide, type CropOptions, type Source } from '../../src/data/sources.js';
import { resolveWorkers, shareImages, startPrefetcher } from '../../src/train/prefetch.js';
import { resolveTrainConfig } from '../../src/train/config.js';
import { makeSynthesizer, resolveNoiseDraws } from '../../src/train/synthesize.js';
import { train } from '../../src/train/loop.js';

/** A folder of two uint16 TIFFs with a smooth pattern plus pseudo-random texture. */
function imageFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), 'psfid-prefetch-'));
  for (const [k, [w, h]] of [[70, 64], [64, 90]].entries()) {
    const px = new Uint16Array(w! * h!);
    let s = 12345 + k;
    for (let i = 0; i < px.length; i++) {
      s = (s * 1103515245 + 12345) % 2 ** 31;
      px[i] = Math.round(20000 + 15000 * Math.sin(i / 37) + (s % 20000));
    }
    writeTiff(join(dir, `img${k}.tif`), { width: w!, height: h!, planes: [px] });
  }
  return dir;
}

const CROP: CropOptions = { normalize: 'max', minStd: 0.05, exposure: [0.5, 1] };

// One crop side, and sides cycled per step (config.cropSizes: step k draws n[k mod 3]), with each side's sources
// filtered to the images that reach it (data.sizeFilter 'perSide') or not.
for (const [n, perSide] of [[40, false], [[40, 24, 33], false], [[40, 24, 33, 64], true]] as const) {
test(`prefetched crops are bit-identical to the inline draw, whichever worker draws them (n ${JSON.stringify(n)}, perSide ${perSide})`, async () => {
  const dir = imageFolder();
  try {
    const sources: Source[] = [
      ...resolveSources([{ kind: 'folder', path: dir, weight: 1 }], 24, 10),
      { kind: 'procedural', name: 'dead-leaves', weight: 1, generator: 'dead-leaves' },
      { kind: 'procedural', name: 'beads', weight: 1, generator: 'beads' },
    ];
    const pre = startPrefetcher({ sources, crop: CROP, seed: 7, batch: 5, n, perSide, workers: 3 });
    try {
      for (const step of [0, 1, 2, 3, 4, 5, 6, 7, 11, 12]) {
        const got = await pre.crops(step);
        const side = typeof n === 'number' ? n : n[step % n.length]!;
        const want = drawCrops(perSide ? sourcesForSide(sources, side) : sources, new Rng(stepSeed(7, step, 0)), 5, side, CROP);
        assert.equal(got.batch, 5);
        assert.equal(got.n, side);
        assert.equal(got.pixels.length, 5 * side * side);
        assert.deepEqual(got.exposure, want.exposure);
        assert.ok(Buffer.from(got.pixels.buffer).equals(Buffer.from(want.pixels.buffer)), `step ${step}: pixels differ`);
      }
    } finally {
      await pre.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
}

test('images are handed to the workers in shared memory, with their values', () => {
  const dir = imageFolder();
  try {
    const [src] = resolveSources([{ kind: 'folder', path: dir, weight: 1 }], 40, 10);
    const [shared] = shareImages([src!]);
    assert.equal(shared!.kind, 'images');
    if (shared!.kind !== 'images' || src!.kind !== 'images') return;
    for (const [i, img] of shared.images.entries()) {
      assert.ok(img.data.buffer instanceof SharedArrayBuffer);
      assert.deepEqual(Array.from(img.data), Array.from(src.images[i]!.data));
    }
    // already shared: not copied again
    const again = shareImages([shared])[0]!;
    assert.ok(again.kind === 'images' && again.images.every((img, i) => img.data === shared.images[i]!.data));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failure inside a worker rejects the step with the reason; closing rejects what is pending', async () => {
  const bad = [{ kind: 'procedural', name: 'nope', weight: 1, generator: 'nope' }] as unknown as Source[];
  const pre = startPrefetcher({ sources: bad, crop: CROP, seed: 1, batch: 2, n: 16, workers: 1 });
  await assert.rejects(pre.crops(0), /drawing the crops of step 0/);
  await pre.close();
  await assert.rejects(pre.crops(1), /closed/);
});

test("workers: 'auto' is none on the CPU and 1–8 on a GPU; a count is taken as given; bad values are refused", () => {
  assert.equal(resolveWorkers('auto', 'cpu'), 0);
  const gpu = resolveWorkers('auto', 'cuda');
  assert.ok(gpu >= 1 && gpu <= 8);
  assert.equal(resolveWorkers(3, 'cpu'), 3);
  assert.equal(resolveTrainConfig({}).data.workers, 'auto');
  for (const w of [-1, 1.5, 'many']) assert.throws(() => resolveTrainConfig({ data: { workers: w } }), /workers/);
});

test("data.noiseDraws: 'auto' is 'device' on a GPU and 'cpu' on the CPU, where 'device' gives the same batches; bad values refused", () => {
  assert.equal(resolveTrainConfig({}).data.noiseDraws, 'auto');
  assert.equal(resolveNoiseDraws('auto', 'cpu'), 'cpu');
  assert.equal(resolveNoiseDraws('auto', 'cuda'), 'device');
  assert.equal(resolveNoiseDraws('cpu', 'cuda'), 'cpu');
  assert.throws(() => resolveTrainConfig({ data: { noiseDraws: 'gpu' } }), /noiseDraws/);
  const base = { preset: 'tiny', batchSize: 2, cropSize: 24, data: { sources: [{ kind: 'procedural', generator: 'dead-leaves' }], workers: 0 } };
  const batches = (['cpu', 'device'] as const).map((noiseDraws) => {
    const synth = makeSynthesizer(resolveTrainConfig({ ...base, data: { ...base.data, noiseDraws } }), 'cpu', '.');
    assert.equal(synth.noiseDraws, noiseDraws);
    const b = synth.trainingBatch(3);
    const y = b.y.toArray();
    Object.values(b).forEach((t) => (t as { dispose(): void }).dispose());
    synth.dispose();
    return y;
  });
  assert.deepEqual(batches[1], batches[0]);
});

test('a training run with 2 crop workers logs the same losses and validation as one without', async () => {
  const base = {
    preset: 'tiny', steps: 4, batchSize: 2, cropSize: 24, validation: { every: 4, size: 2, seed: 1 }, checkpointEvery: 4, logEvery: 1,
    data: { sources: [{ kind: 'procedural', generator: 'dead-leaves' }, { kind: 'procedural', generator: 'spots' }], exposure: [0.5, 1] },
  };
  const logs: string[] = [];
  for (const workers of [0, 2]) {
    const out = mkdtempSync(join(tmpdir(), 'psfid-prefetch-train-'));
    try {
      const config = resolveTrainConfig({ ...base, data: { ...base.data, workers } });
      const synth = makeSynthesizer(config, 'cpu', '.');
      assert.equal(synth.workers, workers);
      synth.dispose();
      const r = await train(config, { outDir: out });
      r.model.dispose();
      // losses, terms and validation, without the timings
      logs.push(readFileSync(join(out, 'log.jsonl'), 'utf8').replace(/,"stepMs":\d+,"dataMs":\d+,"cropsMs":\d+/g, ''));
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }
  assert.ok(logs[0]!.includes('"kind":"val"'));
  assert.equal(logs[1], logs[0]);
});
