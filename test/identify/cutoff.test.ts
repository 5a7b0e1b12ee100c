// A reference cut-off (architecture.fcRef, src/model/cutoff.ts): inputs resampled onto pixels fcRef/fc times their
// own, checked against the optics themselves (a point source imaged at one cut-off and resampled matches the same
// source imaged at the other), and an Identifier with fcRef against the same weights without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { full, noGrad, tensor, Tensor, tidy } from '../../src/engine/index.js';
import { fromReferenceCutoff, referenceSide, toReferenceCutoff } from '../../src/model/cutoff.js';
import { Identifier, PRESETS, type IdentifierConfig } from '../../src/model/identifier.js';
import { psfFromZernike, resolveOptics } from '../../src/optics/index.js';
import { PsfidError } from '../../src/errors.js';
import { ZERNIKE_TINY } from './tiny.js';

const optics = resolveOptics({ fc: 0.25, psfSize: 63, zernikeNoll: [4, 5, 6, 7, 8] });
const theta = tensor([0.06, -0.03, 0.02, 0.04, -0.02], [1, 5], { dtype: 'float64' });
/** The PSF of `theta` at cut-off fc on a 63² grid (sum 1), [1, 1, 63, 63]. */
const psfAt = (fc: number): Tensor => psfFromZernike(optics, theta, { fc: [fc] }).reshape([1, 1, 63, 63]);

/** Largest absolute difference relative to b's peak. */
const relMax = (a: Tensor, b: Tensor): number => a.sub(b).abs().max().item() / b.max().item();

test('a point source imaged at fc and resampled to fcRef is the same source imaged at fcRef (within 2–4 % of the peak)', () => {
  tidy(() => {
    for (const [fc, fcRef] of [[0.2, 0.15], [0.15, 0.2], [0.125, 0.1875], [0.25, 0.1875]] as const) {
      // The image of a point is the PSF; resampling keeps values (not sums), so compare shapes at equal peak scale:
      // a PSF of sum 1 has peak ∝ fc², so the resampled one is multiplied by (fcRef/fc)².
      const resampled = toReferenceCutoff(psfAt(fc), full([1], fc, { dtype: 'float64' }), fcRef).mul((fcRef / fc) ** 2);
      const direct = psfAt(fcRef);
      const err = relMax(resampled, direct);
      // Bicubic interpolation: ≈ 1 % where the PSF is oversampled, ≈ 4 % at fc = 0.25 (sampled at exactly Nyquist).
      assert.ok(err < (fc >= 0.25 ? 0.04 : 0.02), `fc ${fc} → ${fcRef}: ${err}`);
      // and it is not the unresampled PSF
      assert.ok(relMax(psfAt(fc).mul((fcRef / fc) ** 2), direct) > 0.1);
    }
  });
});

test('fromReferenceCutoff maps a density drawn at fcRef to the inputs’ grids, keeping its sum (the PSF itself as the case)', () => {
  tidy(() => {
    for (const [fc, fcRef] of [[0.2, 0.15], [0.15, 0.2]] as const) {
      const mapped = fromReferenceCutoff(psfAt(fcRef).reshape([1, 63, 63]), full([1], fc, { dtype: 'float64' }), fcRef);
      assert.ok(Math.abs(mapped.sum().item() - 1) < 0.01, `sum ${mapped.sum().item()}`);
      const err = relMax(mapped.reshape([1, 1, 63, 63]), psfAt(fc));
      assert.ok(err < 0.03, `fc ${fc} ← ${fcRef}: ${err}`);
    }
    // r = 1 is the identity, exactly
    const c = psfAt(0.2).reshape([1, 63, 63]);
    assert.equal(fromReferenceCutoff(c, full([1], 0.2, { dtype: 'float64' }), 0.2).sub(c).abs().max().item(), 0);
    assert.equal(toReferenceCutoff(psfAt(0.2), full([1], 0.2, { dtype: 'float64' }), 0.2).sub(psfAt(0.2)).abs().max().item(), 0);
  });
});

test('sized by referenceSide, the resampled input spans the input exactly: a linear ramp maps to (j + ½)·r − ½, no mirrored border', () => {
  tidy(() => {
    const H = 60;
    const ramp = tensor(Float64Array.from({ length: H * H }, (_, k) => k % H), [1, 1, H, H]);
    for (const fc of [0.125, 0.25]) {
      const r = 0.1875 / fc;
      const side = referenceSide(H, [fc], 0.1875);
      assert.equal(side, Math.round(H / r));
      const row = toReferenceCutoff(ramp, full([1], fc, { dtype: 'float64' }), 0.1875, [side, side]).select(2, Math.floor(side / 2)).reshape([side]).toArray();
      // Pixel centres: output j sits at input coordinate (j + ½)·(H/side)·… = (j + ½)·r' − ½ with r' = H/side ≈ r.
      const rr = H / side;
      row.forEach((v, j) => {
        const want = (j + 0.5) * rr - 0.5;
        const interior = want >= 2 && want <= H - 3; // bicubic reads 2 pixels each side
        // libtorch's bicubic kernel (Keys, a = −0.75) reproduces a ramp to ≈ 0.05 px, not exactly (a = −0.5 would);
        // a geometry error (half a pixel, a mirrored border) is ten times that.
        if (interior) assert.ok(Math.abs(v - want) < 0.06, `fc ${fc}, pixel ${j}: ${v} vs ${want}`);
      });
      for (let j = 1; j < side; j++) assert.ok(row[j]! > row[j - 1]!, `fc ${fc}: not increasing at ${j}`);
    }
    assert.equal(referenceSide(64, [0.125, 0.2], 0.1875, 64), 64, 'never below the smallest side the network takes');
  });
});

const zernikeTiny: IdentifierConfig = { ...ZERNIKE_TINY, psfResidual: true };

test('an Identifier with fcRef reads θ̂ off the resampled input told fcRef, and draws the PSF at the input’s own fc', () => {
  const plain = new Identifier(zernikeTiny, 5);
  const withRef = new Identifier({ ...zernikeTiny, fcRef: 0.1875 }, 5);
  // Give the correction non-zero weights so that its mapping shows.
  noGrad(() => {
    for (const [name, t] of withRef.namedParameters()) if (name.startsWith('residualOut')) t.copy_(t.add(0.01));
    for (const [name, t] of plain.namedParameters()) if (name.startsWith('residualOut')) t.copy_(t.add(0.01));
  });
  tidy(() => {
    const y = psfFromZernike(resolveOptics({ fc: 0.25, psfSize: 31 }), tensor([0.05, 0.02, 0, 0, 0, 0, 0, 0], [1, 8]), { fc: [0.22] })
      .reshape([1, 1, 31, 31]).pad([1, 0, 1, 0]).repeat([3, 1, 1, 1]).mul(100); // three 32² "images"
    const fc = tensor([0.1875, 0.22, 0.14]);
    const tm = full([3], 0.1);
    const got = noGrad(() => withRef.identifyTheta(y, fc, tm)!);
    const side = referenceSide(32, fc.toArray(), 0.1875, plain.minInputSize);
    assert.equal(side, Math.round(32 / (0.1875 / 0.14)), 'sized by the coarsest reference pixels (fc 0.14)');
    const ref = noGrad(() => plain.identifyTheta(toReferenceCutoff(y, fc, 0.1875, [side, side]), full([3], 0.1875), tm)!);
    assert.ok(got.theta.sub(ref.theta).abs().max().item() < 1e-6, 'θ̂ = the plain model on the resampled input at fcRef');
    const mapped = fromReferenceCutoff(ref.residual!, fc, 0.1875);
    assert.ok(got.residual!.sub(mapped).abs().max().item() < 1e-7, 'the correction mapped back');
    // A batch at fcRef alone is not resampled: the plain model's output on y itself.
    const one = (m: Identifier): Tensor => noGrad(() => m.identifyDetailed(y.narrow(0, 0, 1), fc.narrow(0, 0, 1), tm.narrow(0, 0, 1)).psf);
    assert.ok(one(withRef).sub(one(plain)).abs().max().item() < 1e-7);
    const psf = noGrad(() => withRef.identifyDetailed(y, fc, tm).psf);
    // The PSF is h(θ̂) at the input's own cut-off (plus the mapped correction): sum 1, and a different width per fc.
    psf.sum([1, 2]).toArray().forEach((s) => assert.ok(Math.abs(s - 1) < 1e-5));
  });
});

test('fcRef: a gradient reaches every parameter through the resampling; refused outside (0, 0.5) and with the pixel head', () => {
  const model = new Identifier({ ...zernikeTiny, fcRef: 0.2 }, 6);
  const y = tidy(() => psfFromZernike(resolveOptics({ fc: 0.25, psfSize: 31 }), tensor([0.05, 0, 0, 0, 0, 0, 0, 0], [1, 8]), { fc: [0.15] })
    .reshape([1, 1, 31, 31]).pad([1, 0, 1, 0]).repeat([2, 1, 1, 1]).mul(100));
  const loss = model.identify(y, tensor([0.15, 0.24]), full([2], 0.1)).square().sum();
  loss.backward();
  const missing = model.namedParameters().filter(([, t]) => !t.grad || !Number.isFinite(t.grad.abs().sum().item())).map(([n]) => n);
  assert.deepEqual(missing, []);
  for (const fcRef of [0, 0.5, -0.1]) {
    assert.throws(() => new Identifier({ ...zernikeTiny, fcRef }), (e: unknown) => e instanceof PsfidError && e.param === 'fcRef');
  }
  assert.throws(() => new Identifier({ ...PRESETS.tiny, fcRef: 0.2 }), (e: unknown) => e instanceof PsfidError && e.param === 'fcRef');
});
