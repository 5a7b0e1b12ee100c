// The twin ambiguity that the auxiliary coefficient loss relies on, and the loss itself against a JS computation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tensor, noGrad, tidy } from '../../src/engine/index.js';
import { psfFromZernike, resolveOptics } from '../../src/optics/index.js';
import { Identifier, PRESETS, ZERNIKE_HEAD_NOLL, twinSigns } from '../../src/model/identifier.js';
import { twinThetaLoss } from '../../src/train/loss.js';
import { resolveTrainConfig } from '../../src/train/config.js';
import { thetaWeight } from '../../src/train/loop.js';

test('twinSigns negates exactly the even radial orders (Noll 4, 5, 6, 11 among 4–11)', () => {
  assert.deepEqual(twinSigns(ZERNIKE_HEAD_NOLL), [-1, -1, -1, 1, 1, 1, 1, -1]);
  assert.deepEqual(twinSigns([1, 2, 3, 22, 37]), [-1, 1, 1, -1, -1]);
});

test('h(twin(θ)) = h(θ), while negating every mode rotates the PSF by 180° (so the twin is the only ambiguity)', () => {
  const optics = resolveOptics({ fc: 0.2, psfSize: 31, zernikeNoll: ZERNIKE_HEAD_NOLL });
  const theta = [0.11, -0.07, 0.05, 0.09, -0.04, 0.06, 0.03, -0.08];
  const twin = theta.map((v, i) => v * twinSigns(ZERNIKE_HEAD_NOLL)[i]!);
  const [h, ht, hn] = [theta, twin, theta.map((v) => -v)].map((t) => psfFromZernike(optics, tensor(Float64Array.from(t), [1, 8], { dtype: 'float64' })).data() as Float64Array);
  let twinErr = 0;
  let rotErr = 0;
  let coma = 0;
  const S = 31;
  for (let r = 0; r < S; r++) {
    for (let c = 0; c < S; c++) {
      const i = r * S + c;
      twinErr = Math.max(twinErr, Math.abs(h![i]! - ht![i]!));
      rotErr = Math.max(rotErr, Math.abs(hn![i]! - h![(S - 1 - r) * S + (S - 1 - c)]!));
      coma = Math.max(coma, Math.abs(h![i]! - hn![i]!));
    }
  }
  assert.ok(twinErr < 1e-12, `twin differs by ${twinErr}`);
  assert.ok(rotErr < 1e-12, `−θ is not the 180° rotation (${rotErr})`);
  assert.ok(coma > 1e-3, 'with odd modes present, −θ must be a different PSF');
});

test('twinThetaLoss is the batch mean of the nearer of θ and its twin, scaled by θmax', () => {
  const B = 3;
  const K = 8;
  const s = twinSigns(ZERNIKE_HEAD_NOLL);
  const th = Array.from({ length: B * K }, (_, i) => Math.sin(i * 1.7) * 0.1);
  const hat = Array.from({ length: B * K }, (_, i) => Math.cos(i * 0.9) * 0.08);
  // Sample 1's estimate is exactly the twin: its term must be 0.
  for (let k = 0; k < K; k++) hat[K + k] = th[K + k]! * s[k]!;
  const tm = [0.05, 0.1, 0.15];
  let expected = 0;
  for (let b = 0; b < B; b++) {
    let d = 0;
    let t = 0;
    for (let k = 0; k < K; k++) {
      d += ((hat[b * K + k]! - th[b * K + k]!) / tm[b]!) ** 2 / K;
      t += ((hat[b * K + k]! - s[k]! * th[b * K + k]!) / tm[b]!) ** 2 / K;
    }
    if (b === 1) assert.equal(Math.min(d, t), 0);
    expected += Math.min(d, t) / B;
  }
  const got = twinThetaLoss(tensor(hat, [B, K]), tensor(th, [B, K]), tensor(tm, [B]), s).item();
  assert.ok(Math.abs(got - expected) < 1e-6 * expected, `${got} vs ${expected}`);
});

test('the coefficient weight fades linearly to 0 at thetaLossUntil', () => {
  const c = resolveTrainConfig({ thetaLoss: 2, thetaLossUntil: 100 });
  assert.deepEqual([0, 50, 100, 150].map((s) => thetaWeight(c, s)), [2, 1, 0, 0]);
  assert.equal(thetaWeight(resolveTrainConfig({ thetaLoss: 0.5 }), 10_000), 0.5);
  assert.equal(thetaWeight(resolveTrainConfig({}), 0), 0);
});

test('architecture overrides: a conditioned, deeper Zernike head returns θ̂ within ±θmax and a sum-1 PSF', () => {
  const model = new Identifier({ ...PRESETS.tiny, head: 'zernike', conditionHead: true, headLayers: 2 }, 4);
  tidy(() => {
    const y = tensor(Float32Array.from({ length: 2 * 32 * 32 }, (_, i) => Math.sin(i * 0.37) + 1), [2, 1, 32, 32]);
    const { psf, theta } = noGrad(() => model.identifyDetailed(y, tensor([0.15, 0.22], [2]), tensor([0.05, 0.12], [2])));
    assert.ok(theta);
    const t = theta.toArray();
    for (let k = 0; k < 8; k++) {
      assert.ok(Math.abs(t[k]!) <= 0.05 + 1e-7);
      assert.ok(Math.abs(t[8 + k]!) <= 0.12 + 1e-7);
    }
    const sums = psf.sum([1, 2]).toArray();
    for (const v of sums) assert.ok(Math.abs(v - 1) < 1e-5);
  });
  model.dispose();
  assert.throws(() => resolveTrainConfig({ architecture: { headLayers: 9 } }), /config\.architecture\.headLayers/);
  assert.throws(() => resolveTrainConfig({ architecture: { wings: 2 } }), /config\.architecture\.wings: unknown key/);
});

test('every shipped training config validates, and its preset + architecture build', async () => {
  const { readdirSync } = await import('node:fs');
  const { join, dirname } = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const { readTrainConfig } = await import('../../src/train/config.js');
  const { resolvePreset } = await import('../../src/model/identifier.js');
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
  const files = readdirSync(join(root, 'configs')).filter((f) => f.endsWith('.json'));
  assert.ok(files.includes('small.json') && files.includes('seed.json'), files.join(', '));
  for (const f of files) {
    const c = readTrainConfig(join(root, 'configs', f));
    const arch = resolvePreset(c.preset, c.architecture);
    assert.equal(typeof arch.baseChannels, 'number', f);
  }
});

test('identify does not depend on the image scale or offset, with either input normalisation and pooling', () => {
  for (const [inputNorm, pool, headNorm] of [['std', 'mean', false], ['range', 'mean', false], ['range', 'meanmax', true]] as const) {
    const model = new Identifier({ ...PRESETS.tiny, head: 'zernike', inputNorm, pool, headNorm, init: 'he' }, 2);
    tidy(() => {
      // a sparse scene: two bright points on a dim background (the case 'range' exists for)
      const data = new Float32Array(32 * 32).fill(0.02);
      data[5 * 32 + 7] = 1;
      data[20 * 32 + 25] = 0.6;
      const y = tensor(data, [1, 1, 32, 32]);
      const fc = tensor([0.2], [1]);
      const tm = tensor([0.1], [1]);
      const a = noGrad(() => model.identify(y, fc, tm));
      const b = noGrad(() => model.identify(y.mul(37).add(5), fc, tm));
      assert.ok(a.sub(b).abs().max().item() < 1e-5 * a.max().item(), `${inputNorm}, ${pool}`);
    });
    model.dispose();
  }
});
