// The network's convolutions in bfloat16 (src/model/precision.ts): identify must give the float32 PSF up to a
// small fraction of the model's own error, and 'auto' must pick bfloat16 only on a CPU with bfloat16 units.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { defaultModelPath, loadModel } from '../../src/model/store.js';
import { convPrecisionFor, cpuHasNativeBfloat16 } from '../../src/model/precision.js';
import { identifyImage } from '../../src/identify/pipeline.js';
import { psnrPsf } from '../../src/evaluate/metrics.js';
import { noGrad, type Tensor } from '../../src/engine/index.js';
import { CASES, fc, observe } from './helpers.js';

test('precision requests: explicit ones are kept; auto is bfloat16 only on a CPU with bfloat16 units', () => {
  for (const device of ['cpu', 'cuda', 'cuda:1']) {
    assert.equal(convPrecisionFor(device, 'float32'), 'float32');
    assert.equal(convPrecisionFor(device, 'bfloat16'), 'bfloat16');
  }
  assert.equal(convPrecisionFor('cuda', 'auto'), 'float32');
  assert.equal(convPrecisionFor('cpu', 'auto'), cpuHasNativeBfloat16() ? 'bfloat16' : 'float32');
});

test('identify in bfloat16 gives the float32 PSF to ≥ 78 dB (the model itself is at ≈ 34–36 dB here; with the image rounded to bfloat16 at the first convolution: 66–75 dB)', (t) => {
  if (!existsSync(defaultModelPath())) return t.skip(`no shipped model at ${defaultModelPath()}`);
  const { model } = loadModel(defaultModelPath(), 'cpu', 'float32');
  assert.equal(model.convPrecision, 'float32');
  const psfOf = (y: Float32Array, precision: 'float32' | 'bfloat16'): Tensor => {
    model.convPrecision = precision;
    return identifyImage(model, y, 256, 256, { fc, thetaMax: 0.12 }).psf.unsqueeze(0);
  };
  for (const [k, theta] of CASES.entries()) {
    const { y, h } = observe(theta, 11 + k, 256);
    const [a, b] = [psfOf(y, 'float32'), psfOf(y, 'bfloat16')];
    // psnrPsf's peak is its second argument's: the float32 PSF for the comparison, the true PSF for the diagnostics.
    const [between, aTruth, bTruth] = noGrad(() => [psnrPsf(b, a), psnrPsf(a, h), psnrPsf(b, h)].map((v) => v.item()));
    t.diagnostic(`case ${k}: bfloat16 vs float32 ${between.toFixed(1)} dB; against the truth ${aTruth.toFixed(2)} dB (float32), ${bTruth.toFixed(2)} dB (bfloat16)`);
    assert.ok(between >= 78, `case ${k}: the bfloat16 PSF differs from the float32 one at ${between.toFixed(1)} dB`);
    for (const x of [a, b, h]) x.dispose();
  }
  model.dispose();
});
