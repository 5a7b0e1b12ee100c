// The network's convolutions in bfloat16 (src/model/precision.ts): identify must give the float32 PSF up to a
// small fraction of the model's own error, and 'auto' must pick bfloat16 only on a CPU with bfloat16 units.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { defaultModelPath, loadModel } from '../../src/model/store.js';
import { convPrecisionFor, cpuHasNativeBfloat16 } from '../../src/model/precision.js';
import { identifyImage } from '../../src/identify/pipeline.js';
import { CASES, fc, observe } from './helpers.js';

test('precision requests: explicit ones are kept; auto is bfloat16 only on a CPU with bfloat16 units', () => {
  for (const device of ['cpu', 'cuda', 'cuda:1']) {
    assert.equal(convPrecisionFor(device, 'float32'), 'float32');
    assert.equal(convPrecisionFor(device, 'bfloat16'), 'bfloat16');
  }
  assert.equal(convPrecisionFor('cuda', 'auto'), 'float32');
  assert.equal(convPrecisionFor('cpu', 'auto'), cpuHasNativeBfloat16() ? 'bfloat16' : 'float32');
});

test('identify in bfloat16 gives the float32 PSF to ≥ 78 dB (the model itself is at ≈ 35–38 dB here; with the image rounded to bfloat16 at the first convolution: 66–75 dB)', (t) => {
  if (!existsSync(defaultModelPath())) return t.skip(`no shipped model at ${defaultModelPath()}`);
  const { model } = loadModel(defaultModelPath(), 'cpu', 'float32');
  assert.equal(model.convPrecision, 'float32');
  const psfOf = (y: Float32Array, size: number): Float32Array => {
    const { psf } = identifyImage(model, y, size, size, { fc, thetaMax: 0.12 });
    const d = psf.data() as Float32Array;
    psf.dispose();
    return d;
  };
  for (const [k, theta] of CASES.entries()) {
    const { y, h } = observe(theta, 11 + k, 256);
    const truth = h.data() as Float32Array;
    h.dispose();
    model.convPrecision = 'float32';
    const a = psfOf(y, 256);
    model.convPrecision = 'bfloat16';
    const b = psfOf(y, 256);
    const peak = a.reduce((m, v) => Math.max(m, v), 0);
    const psnr = (u: Float32Array, v: Float32Array): number => 10 * Math.log10(peak ** 2 / (u.reduce((s, x, i) => s + (x - v[i]!) ** 2, 0) / u.length));
    const between = psnr(b, a);
    t.diagnostic(`case ${k}: bfloat16 vs float32 ${between.toFixed(1)} dB; against the truth ${psnr(a, truth).toFixed(2)} dB (float32), ${psnr(b, truth).toFixed(2)} dB (bfloat16)`);
    assert.ok(between >= 78, `case ${k}: the bfloat16 PSF differs from the float32 one at ${between.toFixed(1)} dB`);
  }
  model.dispose();
});
