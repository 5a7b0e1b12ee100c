// `psfid train` as a user runs it (a child process): a short run writes its run folder and a loadable model; a
// second run starts from the first one's weights with --init-from; bad input (an unknown config key, weights of
// another architecture, a missing file) is one line on stderr, a non-zero exit and no run folder; SIGTERM, even sent
// twice as coreutils' `timeout` does, stops the run with a checkpoint that --resume continues from.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModel } from '../../src/model/store.js';
import { writeTiff } from '../../src/io/index.js';
import { assertError, assertOk, makeTempDir, psfid, removeDir, ROOT } from './helpers.js';

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

test('emaDecay: the run exports the moving average; model export gives it by default and the trained weights on request', async () => {
  const cfg = join(dir, 'ema.json');
  writeFileSync(cfg, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), emaDecay: 0.5 }));
  assertOk(await psfid(['train', '--config', cfg, '--out', join(dir, 'e')], dir));
  const ck = join(dir, 'e', 'checkpoint.safetensors');
  const avg = await psfid(['model', 'export', '--checkpoint', ck, '--out', join(dir, 'e-avg.safetensors')], dir);
  assertOk(avg);
  assert.match(avg.stdout, /step 3, the moving average of the weights/);
  const raw = await psfid(['model', 'export', '--checkpoint', ck, '--out', join(dir, 'e-raw.safetensors'), '--trained-weights'], dir);
  assertOk(raw);
  assert.doesNotMatch(raw.stdout, /moving average/);
  const weights = (f: string): Map<string, number[]> => {
    const { model } = loadModel(f);
    const w = new Map([...model.stateDict()].map(([k, t]) => [k, t.toArray() as number[]]));
    model.dispose();
    return w;
  };
  const [run, exported, trained] = [join(dir, 'e', 'model.safetensors'), join(dir, 'e-avg.safetensors'), join(dir, 'e-raw.safetensors')].map(weights);
  assert.deepEqual(exported, run);
  assert.notDeepEqual(trained, run);
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
  const mixedCfg = join(dir, 'mixed.json');
  writeFileSync(mixedCfg, JSON.stringify({ ...JSON.parse(readFileSync(smallCfg, 'utf8')), cropSizes: [64, 48] }));
  assertError(await psfid(['train', '--config', mixedCfg, '--out', join(dir, 'x5')], dir), 2, ['cropSizes entry 48', '64×64']);
  assert.ok(!existsSync(join(dir, 'x5')));

  const missing = join(dir, 'nowhere.safetensors');
  assertError(await psfid(['train', '--config', config, '--out', join(dir, 'x3'), '--init-from', missing], dir), 1, [missing]);
  assert.ok(!existsSync(join(dir, 'x3')));

  const help = await psfid(['train', '--help'], dir);
  assertOk(help);
  for (const flag of ['--config', '--out', '--resume', '--init-from', '--device', '--steps']) assert.ok(help.stdout.includes(flag), flag);
});

/** The steps logged so far in a run folder's log.jsonl (none while it does not exist). */
function loggedSteps(runDir: string): number[] {
  const path = join(runDir, 'log.jsonl');
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((l) => l.kind === 'train').map((l) => l.step);
}

test('SIGTERM twice in a row (what `timeout` sends) still stops after the step with a checkpoint; --resume continues from it', async () => {
  const long = join(dir, 'long.json');
  writeFileSync(long, JSON.stringify({
    // Steps of a few hundred ms: both signals then land within one step, and reach the handlers together at its end.
    preset: 'tiny', steps: 100000, batchSize: 16, cropSize: 160, logEvery: 1, checkpointEvery: 100000,
    validation: { every: 100000, size: 1, seed: 1 },
    data: { sources: [{ kind: 'procedural', generator: 'spots' }] },
  }));
  const run = join(dir, 'signal');
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'psfid.js'), 'train', '--config', long, '--out', run], {
    cwd: dir, env: { ...process.env, CUDA_VISIBLE_DEVICES: '' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => { stdout += d; });
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 60_000;
  while (loggedSteps(run).length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  assert.ok(loggedSteps(run).length >= 2, `the run should have logged steps; stderr: ${stderr}`);
  // timeout(1) signals the child, then its own process group (the child again): two deliveries, not one merged
  // pending signal, as a short pause between the two reproduces.
  child.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 30));
  child.kill('SIGTERM');
  const code = await exited;
  assert.equal(code, 130, `stopped runs exit 130; stderr: ${stderr}`);
  const m = /stopped at step (\d+); model written/.exec(stdout);
  assert.ok(m, `expected the stop message; stdout: ${stdout} stderr: ${stderr}`);
  const stoppedAt = Number(m[1]);
  assert.equal(Math.max(...loggedSteps(run)), stoppedAt);
  for (const f of ['checkpoint.safetensors', 'model.safetensors']) assert.ok(existsSync(join(run, f)), `${f} written`);

  const resumed = await psfid(['train', '--config', long, '--out', run, '--resume', '--steps', String(stoppedAt + 2)], dir);
  assertOk(resumed);
  assert.match(resumed.stderr, new RegExp(`steps ${stoppedAt} → ${stoppedAt + 2}`));
  assert.deepEqual(loggedSteps(run).slice(-2), [stoppedAt + 1, stoppedAt + 2]);
});

test('session-18 walkthrough: a null config, a thetaLoss without the head modes, a folder or checkpoint as --model, --resume without a checkpoint, an unwritable export', async () => {
  const nullConfig = join(dir, 'null.json');
  writeFileSync(nullConfig, 'null');
  assertError(await psfid(['train', '--config', nullConfig, '--out', join(dir, 'n')], dir), 2, [nullConfig, 'JSON object', 'null']);
  assert.ok(!existsSync(join(dir, 'n')), 'no run folder (null used to start a 20,000-step default run)');
  const theta = join(dir, 'theta.json');
  writeFileSync(theta, JSON.stringify({ ...JSON.parse(readFileSync(config, 'utf8')), thetaLoss: 0.5, prior: { zernikeNoll: [4, 5] } }));
  assertError(await psfid(['train', '--config', theta, '--out', join(dir, 't')], dir), 2, ['thetaLoss', 'zernikeNoll']);
  assert.ok(!existsSync(join(dir, 't')), 'no run folder');
  // --resume into a folder without a checkpoint says that it starts afresh
  const fresh = await psfid(['train', '--config', config, '--out', join(dir, 'fresh'), '--steps', '1', '--resume'], dir);
  assertOk(fresh);
  assert.match(fresh.stderr, /--resume: no checkpoint in .*fresh; starting a fresh run/);
  // the run folder and its checkpoint are not models: each says what to give instead
  const img = join(dir, 'img.tif');
  writeTiff(img, { width: 64, height: 64, planes: [Float32Array.from({ length: 64 * 64 }, (_, i) => (i * 7919) % 101)] });
  assertError(await psfid(['identify', img, '--fc', '0.2', '--model', join(dir, 'fresh'), '--out', join(dir, 'p.tif')], dir), 1, ['is a folder', join(dir, 'fresh', 'model.safetensors')]);
  assertError(await psfid(['identify', img, '--fc', '0.2', '--model', join(dir, 'fresh', 'checkpoint.safetensors'), '--out', join(dir, 'p.tif')], dir), 1, ['not a psfid model', 'psfid model export']);
  const out = join(dir, 'missing', 'm.safetensors');
  assertError(await psfid(['model', 'export', '--checkpoint', join(dir, 'fresh', 'checkpoint.safetensors'), '--out', out], dir), 1, [out, 'the folder does not exist']);
});

test('eval refuses a crop below the model’s smallest input, and demo tiles too small for it, naming the flag', async () => {
  assertError(await psfid(['eval', '--images', dir, '--n', '1', '--crop-size', '16', '--baselines', 'none', '--out', join(dir, 'e.json')], dir), 2, ['--crop-size', '≥ 64']);
  assertError(await psfid(['demo', '--out', join(dir, 'demo'), '--size', '128', '--tiles', '8'], dir), 2, ['--tiles', '--size 128', 'use --tiles ≤ 3']);
  assert.ok(!existsSync(join(dir, 'demo')));
});
