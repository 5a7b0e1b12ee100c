// acquire = camera ∘ noise ∘ blur: shapes, consistency with its parts, reproducibility, refusals.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cudaDeviceCount, Generator, liveTensors, tensor, tidy, uniform, type Tensor } from '../../src/engine/index.js';
import { PsfidError } from '../../src/errors.js';
import {
  acquire, blur, blurAdjoint, BOUNDARIES, gaussianNoise, poissonNoise, quantize, resolvePrior, saltPepper, sampleDegradation,
} from '../../src/acquisition/index.js';
import { psfFromZernike, resolveOptics } from '../../src/optics/index.js';

describe('acquire', () => {
  const optics = resolveOptics({ fc: 0.25, psfSize: 15, pupilSize: 64 });

  test('y0 = h ⋆ x (valid), h = PSF(θ, fc) per sample; y is y0 with noise and camera; same seed → same y', () => {
    tidy(() => {
      const prior = resolvePrior({ bits: [12] });
      const x = uniform(new Generator(31), [4, 1, 40, 36]);
      const params = sampleDegradation(new Generator(32), prior, 4);
      const a = acquire(new Generator(33), x, params, optics);
      const b = acquire(new Generator(33), x, params, optics);
      assert.deepEqual(a.y.shape, [4, 1, 26, 22]);
      assert.deepEqual(a.y0.shape, [4, 1, 26, 22]);
      assert.deepEqual(a.h.shape, [4, 15, 15]);
      assert.deepEqual(a.y.toArray(), b.y.toArray());
      const h = psfFromZernike(optics, params.theta, { fc: params.fc });
      assert.ok(a.h.sub(h).abs().max().item() < 1e-7);
      assert.ok(a.y0.sub(blur(x, h, 'valid')).abs().max().item() < 1e-6);
      // 12-bit camera: every value is a multiple of 1/4095 in [0, 1] (salt and pepper too).
      for (const v of a.y.toArray()) assert.ok(Math.abs(v * 4095 - Math.round(v * 4095)) < 2e-3 && v >= 0 && v <= 1);
      const c = acquire(new Generator(34), x, params, optics);
      assert.notDeepEqual(c.y.toArray(), a.y.toArray());
    });
  });

  test("noiseDraws: 'device' is 'cpu' on the CPU (same y); on a GPU it draws there, reproducibly; a bad value is refused", () => {
    tidy(() => {
      const x = uniform(new Generator(41), [3, 1, 30, 30]);
      const params = sampleDegradation(new Generator(42), resolvePrior(), 3);
      const cpu = acquire(new Generator(43), x, params, optics, { noiseDraws: 'cpu' }).y.toArray();
      assert.deepEqual(acquire(new Generator(43), x, params, optics, { noiseDraws: 'device' }).y.toArray(), cpu);
      assert.throws(() => acquire(new Generator(43), x, params, optics, { noiseDraws: 'gpu' as 'cpu' }), (e: unknown) => e instanceof PsfidError && e.param === 'noiseDraws');
      if (cudaDeviceCount() === 0) return;
      const xg = x.toDevice('cuda');
      const onGpu = (draws: 'cpu' | 'device'): Tensor => acquire(new Generator(43), xg, params, optics, { noiseDraws: draws }).y;
      const a = onGpu('device');
      assert.match(a.device, /^cuda/);
      assert.deepEqual(a.toDevice('cpu').toArray(), onGpu('device').toDevice('cpu').toArray());
      assert.notDeepEqual(a.toDevice('cpu').toArray(), cpu, 'GPU draws are not the CPU numbers');
      // 'cpu' on the GPU gives the CPU's y up to the GPU's PSF and blur arithmetic (quantization can flip a level).
      const viaCpu = onGpu('cpu').toDevice('cpu');
      const flips = viaCpu.sub(tensor(cpu, [3, 1, 16, 16])).abs().gt(1e-3).sum().item() as number;
      assert.ok(flips <= 8, `${flips} of 768 pixels differ between CPU draws on the GPU and on the CPU`);
    });
  });

  test('refuses params from another set of Zernike modes, a batch mismatch, and undersampled fc', () => {
    tidy(() => {
      const x = uniform(new Generator(35), [2, 1, 32, 32]);
      const other = sampleDegradation(new Generator(36), resolvePrior({ zernikeNoll: [4, 5, 6] }), 2);
      assert.throws(() => acquire(new Generator(0), x, other, optics), (e: unknown) => e instanceof PsfidError && e.param === 'zernikeNoll');
      const three = sampleDegradation(new Generator(37), resolvePrior(), 3);
      assert.throws(() => acquire(new Generator(0), x, three, optics), (e: unknown) => e instanceof PsfidError && e.param === 'params');
      const aliased = sampleDegradation(new Generator(38), resolvePrior({ fc: [0.3, 0.4] }), 2);
      assert.throws(() => acquire(new Generator(0), x, aliased, optics), (e: unknown) => e instanceof PsfidError && /^fc\[/.test(e.param ?? ''));
    });
  });

  test('no function leaves a tensor behind (outside any tidy scope, results disposed)', () => {
    const gen = new Generator(40);
    const x = uniform(gen, [2, 1, 24, 24]);
    const h = uniform(gen, [2, 5, 5]);
    const perSample = tensor([0.01, 0.02]);
    const bits = tensor([8, 0]);
    const prior = resolvePrior({ fc: [0.25, 0.25] }); // one band: the PSF caches do not grow
    const calls: (() => Tensor[])[] = [
      ...BOUNDARIES.map((b) => () => {
        const y = blur(x, h, b);
        return [y, blurAdjoint(y, h, b)];
      }),
      () => [poissonNoise(gen, x, perSample), poissonNoise(gen, x, 0.01)],
      () => [gaussianNoise(gen, x, perSample), gaussianNoise(gen, x, 0)],
      () => [quantize(x, bits), quantize(x, 12)],
      () => [saltPepper(gen, x, perSample), saltPepper(gen, x, 0.1)],
      () => {
        const p = sampleDegradation(gen, prior, 2);
        const a = acquire(gen, x, p, optics);
        return [p.fc, p.thetaMax, p.theta, p.gain, p.sigma, p.bits, p.saltPepper, a.y, a.y0, a.h];
      },
    ];
    for (const call of calls) for (const t of call()) t.dispose(); // warm the PSF caches
    const before = liveTensors();
    calls.forEach((call, i) => {
      for (const t of call()) t.dispose();
      assert.equal(liveTensors(), before, `call ${i} leaked`);
    });
    for (const t of [x, h, perSample, bits]) t.dispose();
    gen.dispose();
  });
});
