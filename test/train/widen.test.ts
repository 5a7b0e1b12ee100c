// scripts/train/widen.mjs doubles a model's encoder and spectral branch (Net2Net): the widened network must compute
// the same PSF as the original (copies of each channel, their readers' weights split w/2·(1 ± ε)), with twice the
// channels, and the split must be unequal (else training could never separate the copies).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad, packageRoot, tensor, uniform, Generator } from '../../src/engine/index.js';
import { Identifier, PRESETS, type IdentifierConfig } from '../../src/model/identifier.js';
import { loadModel, saveModel } from '../../src/model/store.js';

const config: IdentifierConfig = { ...PRESETS.tiny, head: 'zernike', conditionHead: true, headNorm: true, headLayers: 2, init: 'he', inputNorm: 'range', psfResidual: true };

test('widen.mjs: twice the channels, the same PSF, copies split unequally', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psfid-widen-'));
  try {
    const model = new Identifier(config, 3);
    const residual = model.namedParameters().find(([k]) => k === 'residual.weight')![1];
    noGrad(() => residual.copy_(uniform(new Generator(1), residual.shape, { low: -1, high: 1 })));
    const input = join(dir, 'in.safetensors');
    const output = join(dir, 'out.safetensors');
    saveModel(input, model, { architecture: config, preset: 'tiny', prior: {} }, { half: false });
    const r = spawnSync(process.execPath, [join(packageRoot(), 'scripts', 'train', 'widen.mjs'), input, output, '0.1'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const wide = loadModel(output, 'cpu', 'float32').model; // float32: the check is exact function preservation
    assert.equal(wide.config.baseChannels, 2 * config.baseChannels);
    assert.equal(wide.config.spectralChannels, 2 * config.spectralChannels);
    const shape = (m: Identifier, k: string) => m.namedParameters().find(([n]) => n === k)![1].shape;
    assert.deepEqual(shape(wide, 'enc1.conv2.weight'), shape(model, 'enc1.conv2.weight').map((v, i) => (i < 2 ? 2 * v : v)));
    model.eval();
    const y = noGrad(() => uniform(new Generator(2), [3, 1, 32, 32]));
    const fc = tensor([0.13, 0.2, 0.24]);
    const tm = tensor([0.03, 0.1, 0.15]);
    const [a, b] = noGrad(() => [model.identify(y, fc, tm), wide.identify(y, fc, tm)]);
    const peak = noGrad(() => a.max().item());
    const diff = noGrad(() => a.sub(b).abs().max().item());
    assert.ok(diff < 1e-5 * peak, `widened PSF differs by ${diff} (peak ${peak})`);
    // the two copies of enc0's first channel are read with different weights by enc0.conv2
    const w = wide.namedParameters().find(([k]) => k === 'enc0.conv2.weight')![1].toArray();
    const [, cin] = shape(wide, 'enc0.conv2.weight') as [number, number];
    const half = cin / 2;
    // output channel 0, the centre tap (index 4 of 3×3) of input channel 0 and of its copy, input channel half
    const ratio = w[4]! / w[half * 9 + 4]!;
    assert.ok(Math.abs(ratio - 1) > 1e-3, `copies split equally (ratio ${ratio})`);
    const orig = model.namedParameters().find(([k]) => k === 'enc0.conv2.weight')![1].toArray()[4]!;
    assert.ok(Math.abs(w[4]! + w[half * 9 + 4]! - orig) < 1e-6 * Math.max(1, Math.abs(orig)), 'the split weights must sum to the original');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
