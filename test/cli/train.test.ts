// `psfid train` as a user runs it (a child process): a short run writes its run folder and a loadable model; a
// second run starts from the first one's weights with --init-from; bad input (an unknown config key, weights of
// another architecture, a missing file) is one line on stderr, a non-zero exit and no run folder; SIGTERM, even sent
// twice as coreutils' `timeout` does, stops the run with a checkpoint that --resume continues from.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadModel } from '../../src/model/store.js';
import { writeTiff } from '../../src/io/index.js';
import { assertError, assertOk, listDir, makeTempDir, psfid, removeDir, ROOT } from './helpers.js';

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

/** Every file of a run folder with its bytes: a refused command must leave it exactly as it was. */
function snapshot(runDir: string): Map<string, Buffer> {
  return new Map(listDir(runDir).map((f) => [f, readFileSync(join(runDir, f))]));
}

test('--out holding a run is refused without --resume (exit 2, nothing overwritten); an empty folder is fine', async () => {
  const run = join(dir, 'keep');
  assertOk(await psfid(['train', '--config', config, '--out', run], dir));
  const before = snapshot(run);
  for (const extra of [[], ['--steps', '2'], ['--init-from', join(run, 'model.safetensors')]]) {
    const r = await psfid(['train', '--config', config, '--out', run, ...extra], dir);
    assertError(r, 2, [`--out ${run}`, 'already holds a training run', 'checkpoint.safetensors', 'pass --resume to continue it', 'choose another folder']);
    assert.deepEqual(snapshot(run), before, `nothing rewritten (${extra.join(' ')})`);
  }
  // any one of the run's files is enough: a log (a run killed before its first checkpoint) or a model
  for (const file of ['log.jsonl', 'model.safetensors', 'checkpoint.safetensors']) {
    const partial = join(dir, `partial-${file}`);
    mkdirSync(partial);
    writeFileSync(join(partial, file), readFileSync(join(run, file)));
    assertError(await psfid(['train', '--config', config, '--out', partial], dir), 2, ['--out', partial, file, '--resume']);
    assert.deepEqual(listDir(partial), [file]);
    assert.deepEqual(readFileSync(join(partial, file)), readFileSync(join(run, file)));
  }
  // an --out that is a file
  assertError(await psfid(['train', '--config', config, '--out', config], dir), 2, [`--out ${config}`, 'not a run folder']);
  // an existing empty folder, or one holding other files, is a new run's
  const empty = join(dir, 'empty');
  mkdirSync(empty);
  writeFileSync(join(empty, 'notes.txt'), 'mine');
  assertOk(await psfid(['train', '--config', config, '--out', empty, '--steps', '1'], dir));
  assert.equal(readFileSync(join(empty, 'notes.txt'), 'utf8'), 'mine');
});

test('--resume lists what changed from the run’s stored config in one line, and refuses a change of network or optimizer', async () => {
  const run = join(dir, 'resume');
  assertOk(await psfid(['train', '--config', config, '--out', run], dir));
  const changed = await psfid(['train', '--config', config, '--out', run, '--resume', '--steps', '5', '--lr', '0.002'], dir);
  assertOk(changed);
  const lines = changed.stderr.split('\n').filter((l) => l.includes('config changed'));
  assert.deepEqual(lines, ['psfid train: --resume: config changed from the run\'s: steps: 3 → 5; optimizer.lr: 0.001 → 0.002']);
  assert.match(changed.stderr, /steps 3 → 5/);
  // the same config again: nothing to say
  const same = await psfid(['train', '--config', config, '--out', run, '--resume', '--steps', '5', '--lr', '0.002'], dir);
  assertOk(same);
  assert.doesNotMatch(same.stderr, /config changed/);

  // what the checkpoint's weights or optimizer state cannot follow: refused before anything is touched
  const before = snapshot(run);
  const base = JSON.parse(readFileSync(config, 'utf8'));
  const slope = join(dir, 'resume-slope.json');
  writeFileSync(slope, JSON.stringify({ ...base, steps: 5, optimizer: { lr: 0.002 }, architecture: { slope: 0.2 } }));
  const sgd = join(dir, 'resume-sgd.json');
  writeFileSync(sgd, JSON.stringify({ ...base, steps: 5, optimizer: { kind: 'sgd', lr: 0.002 } }));
  const cases: [string[], string[]][] = [
    [['--config', config, '--steps', '6', '--preset', 'small'], ['--resume', 'preset cannot change', 'tiny → small', 'from --preset', 'checkpoint.safetensors']],
    [['--config', slope], ['architecture.slope cannot change', '0.1 → 0.2']],
    [['--config', sgd], ['optimizer.kind cannot change', 'adam → sgd', '--init-from']],
  ];
  for (const [args, mentions] of cases) {
    assertError(await psfid(['train', ...args, '--out', run, '--resume'], dir), 2, mentions);
    assert.deepEqual(snapshot(run), before, args.join(' '));
  }
  // an override equal to the preset's own value builds the same network: resumed
  const sameNet = join(dir, 'resume-same.json');
  writeFileSync(sameNet, JSON.stringify({ ...base, steps: 6, optimizer: { lr: 0.002 }, architecture: { baseChannels: 4 } }));
  const ok = await psfid(['train', '--config', sameNet, '--out', run, '--resume'], dir);
  assertOk(ok);
  assert.match(ok.stderr, /config changed from the run's: steps: 5 → 6\n/);
});

test('a bad flag value names the flag as typed, not the schema key', async () => {
  const cases: [string[], string][] = [
    [['--crop-size', '8'], "--crop-size must be ≥ 16, got '8'"],
    [['--preset', 'huge'], "--preset must be one of small, seed, tiny, got 'huge'"],
    [['--lr', '0'], "--lr must be > 0, got '0'"],
    [['--seed', '1.5'], "--seed must be an integer, got '1.5'"],
    [['--steps', ''], "--steps must be a positive integer, got ''"],
    // the loop's check of the network's smallest input, for a crop side that came from the flag
    [['--crop-size', '32', '--preset', 'small'], '--crop-size: cropSize 32 is below'],
  ];
  for (const [args, message] of cases) {
    const out = join(dir, 'flag');
    const r = await psfid(['train', '--config', config, '--out', out, ...args], dir);
    assertError(r, 2, [message]);
    assert.doesNotMatch(r.stderr, /flags\./, 'no schema path');
    assert.ok(!existsSync(out), 'no run folder');
  }
});

test('a config file that is not JSON, or cannot be read, is a usage error naming --config and the file', async () => {
  const bad = join(dir, 'not-json.json');
  writeFileSync(bad, '{\n  "preset": "tiny",\n  "steps": }\n');
  assertError(await psfid(['train', '--config', bad, '--out', join(dir, 'j1')], dir), 2, [`--config ${bad}: not valid JSON`, "unexpected '}'", 'position 33', 'line 3 column 12']);
  const comma = join(dir, 'comma.json');
  writeFileSync(comma, '{"preset": "tiny", "steps": 3,}');
  assertError(await psfid(['train', '--config', comma, '--out', join(dir, 'j2')], dir), 2, [`--config ${comma}: not valid JSON`, 'position 30']);
  const empty = join(dir, 'empty.json');
  writeFileSync(empty, '');
  assertError(await psfid(['train', '--config', empty, '--out', join(dir, 'j3')], dir), 2, [`--config ${empty}: not valid JSON (the file is empty)`]);
  const missing = join(dir, 'no-such-config.json');
  assertError(await psfid(['train', '--config', missing, '--out', join(dir, 'j4')], dir), 2, [`--config ${missing}: cannot read (no such file)`]);
  assertError(await psfid(['train', '--config', dir, '--out', join(dir, 'j5')], dir), 2, [`--config ${dir}: cannot read`, 'folder']);
  for (const j of ['j1', 'j2', 'j3', 'j4', 'j5']) assert.ok(!existsSync(join(dir, j)), `no run folder ${j}`);
});

test('--init-from another architecture says it in one short line (count, two examples, the file’s preset); it takes shipped model names', async () => {
  const shipped = join(ROOT, 'models', 'psfid-small.safetensors');
  for (const from of [shipped, 'small']) {
    const r = await psfid(['train', '--config', config, '--out', join(dir, 'i1'), '--init-from', from], dir);
    assertError(r, 1, [shipped, 'not this configuration', 'tensors differ', 'e.g. enc0.conv1.weight is 4×3×3×3 here, 16×3×3×3 in the file', 'the file holds the small preset with "architecture": {"baseChannels":16']);
    assert.ok(r.stderr.length < 500, `short: ${r.stderr.length} characters`);
    assert.ok(!existsSync(join(dir, 'i1')));
  }
  // a checkpoint of another preset: the same one line, the checkpoint's preset from its config
  const other = join(dir, 'other-preset');
  const smallCfg = join(dir, 'small-init.json');
  writeFileSync(smallCfg, JSON.stringify({ preset: 'small', steps: 1, batchSize: 1, cropSize: 64, validation: { every: 1, size: 1, seed: 1 }, data: { sources: [{ kind: 'procedural', generator: 'spots' }] } }));
  assertOk(await psfid(['train', '--config', smallCfg, '--out', other], dir));
  const wrong = join(other, 'checkpoint.safetensors');
  const r = await psfid(['train', '--config', config, '--out', join(dir, 'i2'), '--init-from', wrong], dir);
  assertError(r, 1, [wrong, 'not this configuration', 'tensors differ', 'the file holds the small preset']);
  assert.ok(r.stderr.length < 400, `short: ${r.stderr.length} characters`);

  // the shipped model's name, with the shipped model's architecture: it starts from those weights
  const { info } = loadModel('small');
  const overrides = { baseChannels: 16, spectralChannels: 16, conditionHead: true, headLayers: 2, init: 'he', inputNorm: 'range', headNorm: true, psfResidual: true };
  assert.deepEqual({ ...info.architecture, ...overrides }, info.architecture, 'the shipped model has these overrides');
  const match = join(dir, 'shipped-arch.json');
  writeFileSync(match, JSON.stringify({ ...JSON.parse(readFileSync(smallCfg, 'utf8')), architecture: overrides }));
  const ok = await psfid(['train', '--config', match, '--out', join(dir, 'i3'), '--init-from', 'small'], dir);
  assertOk(ok);
  assert.match(ok.stderr, /steps 0 → 1.*weights from small/);
  const weights = (f: string): Map<string, number[]> => {
    const { model } = loadModel(f);
    const w = new Map([...model.stateDict()].map(([k, t]) => [k, t.toArray()]));
    model.dispose();
    return w;
  };
  const [a, b] = [weights(shipped), weights(join(dir, 'i3', 'model.safetensors'))];
  // one warm-up step at lr ≈ 5e-6 moves no weight by more than 1e-3 (another initialisation differs by ~0.1)
  let worst = 0;
  for (const [k, v] of a) v.forEach((x, i) => { worst = Math.max(worst, Math.abs(x - b.get(k)![i]!)); });
  assert.ok(worst < 1e-3, `weights from the shipped model (max change ${worst})`);
});
