// `psfid train` as a user runs it (a child process): a short run writes its run folder and a loadable model; a
// second run starts from the first one's weights with --init-from; bad input (an unknown config key, weights of
// another architecture, a missing file) is one line on stderr, a non-zero exit and no run folder.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModel } from '../../src/model/store.js';
import { assertError, assertOk, makeTempDir, psfid, removeDir } from './helpers.js';

let dir = '';
let config = '';

before(() => {
  dir = makeTempDir('train');
  config = join(dir, 'tiny.json');
  writeFileSync(config, JSON.stringify({
    preset: 'tiny', steps: 3, batchSize: 2, cropSize: 24, logEvery: 1, checkpointEvery: 3,
    validation: { every: 3, size: 2, seed: 1 },
    data: { sources: [{ kind: 'procedural', generator: 'spots' }] },
  }));
});
after(() => removeDir(dir));

test('a short run writes log, curves, checkpoint and a model that loads; --init-from starts a second run from it', async () => {
  const a = await psfid(['train', '--config', config, '--out', join(dir, 'a')], dir);
  assertOk(a);
  assert.match(a.stdout, /finished at step 3; model written to .*model\.safetensors/);
  for (const f of ['log.jsonl', 'curves.png', 'checkpoint.safetensors', 'model.safetensors', 'model.json', 'config.json']) {
    assert.ok(existsSync(join(dir, 'a', f)), `${f} written`);
  }
  const log = readFileSync(join(dir, 'a', 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(log.filter((l) => l.kind === 'train').map((l) => l.step), [1, 2, 3]);
  const { model, info } = loadModel(join(dir, 'a', 'model.safetensors'));
  assert.equal(info.preset, 'tiny');
  model.dispose();

  const b = await psfid(['train', '--config', config, '--out', join(dir, 'b'), '--steps', '2', '--init-from', join(dir, 'a', 'model.safetensors')], dir);
  assertOk(b);
  assert.match(b.stderr, /steps 0 → 2.*weights from .*model\.safetensors/);
  assert.match(b.stdout, /finished at step 2/);
});

test('bad input: one line naming the problem, a non-zero exit, no run folder', async () => {
  const badKey = join(dir, 'bad.json');
  writeFileSync(badKey, JSON.stringify({ preset: 'tiny', stepz: 3 }));
  assertError(await psfid(['train', '--config', badKey, '--out', join(dir, 'x1')], dir), 2, ['stepz']);
  assert.ok(!existsSync(join(dir, 'x1')));

  // weights of another architecture (the small preset) into the tiny one
  const smallCfg = join(dir, 'small.json');
  writeFileSync(smallCfg, JSON.stringify({ preset: 'small', steps: 1, batchSize: 1, cropSize: 64, validation: { every: 1, size: 1, seed: 1 }, data: { sources: [{ kind: 'procedural', generator: 'spots' }] } }));
  assertOk(await psfid(['train', '--config', smallCfg, '--out', join(dir, 's')], dir));
  const wrong = join(dir, 's', 'checkpoint.safetensors');
  assertError(await psfid(['train', '--config', config, '--out', join(dir, 'x2'), '--init-from', wrong], dir), 1, [wrong, 'not this configuration']);
  assert.ok(!existsSync(join(dir, 'x2')));

  // crops smaller than the network's input (the small preset's spectral tiles are 64²)
  assertError(await psfid(['train', '--config', smallCfg, '--out', join(dir, 'x4'), '--crop-size', '32'], dir), 2, ['cropSize 32', '64×64']);
  assert.ok(!existsSync(join(dir, 'x4')));

  const missing = join(dir, 'nowhere.safetensors');
  assertError(await psfid(['train', '--config', config, '--out', join(dir, 'x3'), '--init-from', missing], dir), 1, [missing]);
  assert.ok(!existsSync(join(dir, 'x3')));

  const help = await psfid(['train', '--help'], dir);
  assertOk(help);
  for (const flag of ['--config', '--out', '--resume', '--init-from', '--device', '--steps']) assert.ok(help.stdout.includes(flag), flag);
});
