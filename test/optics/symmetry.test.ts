// The grid symmetries' action on Zernike coefficients (optics/symmetry.ts), checked against the optics itself: the
// PSF of the mapped coefficients must equal the flipped/transposed PSF pixel for pixel. The optics evaluates Z_j on
// its pupil grid with its own code (pupil.ts), so this is an independent check of the trigonometry.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator, tensor, tidy } from '../../src/engine/index.js';
import { applySymmetry, GRID_SYMMETRIES, psfFromZernike, randomTheta, resolveOptics, thetaFromSymmetric, thetaUnderSymmetry, undoSymmetry } from '../../src/optics/index.js';

const f64 = { dtype: 'float64' as const };
const NOLL = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];

describe('grid symmetries', () => {
  test('eight distinct symmetries, the identity first', () => {
    assert.equal(GRID_SYMMETRIES.length, 8);
    assert.equal(new Set(GRID_SYMMETRIES.map((s) => JSON.stringify(s))).size, 8);
    assert.deepEqual({ ...GRID_SYMMETRIES[0] }, { flipX: false, flipY: false, transpose: false });
  });

  test('h(thetaUnderSymmetry(θ)) = applySymmetry(h(θ)) for every symmetry, Noll 2–15, two cut-offs', () => {
    for (const fc of [0.125, 0.22]) {
      const optics = resolveOptics({ fc, psfSize: 31, zernikeNoll: NOLL });
      const theta = randomTheta(new Generator(11), 3, NOLL.length, 0.12, f64);
      const rows = theta.toArray();
      tidy(() => {
        const h = psfFromZernike(optics, theta);
        for (const s of GRID_SYMMETRIES) {
          const mapped = [0, 1, 2].flatMap((b) => thetaUnderSymmetry(rows.slice(b * NOLL.length, (b + 1) * NOLL.length), NOLL, s));
          const hs = psfFromZernike(optics, tensor(mapped, [3, NOLL.length], f64));
          const err = applySymmetry(h, s).sub(hs).norm().item() / h.norm().item();
          assert.ok(err < 1e-10, `${JSON.stringify(s)} at fc ${fc}: relative error ${err}`);
        }
      });
      theta.dispose();
    }
  });

  test('the maps are not trivial: every non-identity symmetry changes some aberrated PSF', () => {
    const optics = resolveOptics({ fc: 0.2, psfSize: 31, zernikeNoll: NOLL });
    const theta = randomTheta(new Generator(12), 1, NOLL.length, 0.12, f64);
    tidy(() => {
      const h = psfFromZernike(optics, theta);
      for (const s of GRID_SYMMETRIES.slice(1)) assert.ok(applySymmetry(h, s).sub(h).norm().item() / h.norm().item() > 1e-2, JSON.stringify(s));
    });
    theta.dispose();
  });

  test('the inverses undo: coefficients and pixels', () => {
    const theta = [0.01, -0.02, 0.03, 0.04, -0.05, 0.06, 0.07, -0.08, 0.09, 0.1, -0.11, 0.12, 0.13, -0.14];
    for (const s of GRID_SYMMETRIES) {
      const back = thetaFromSymmetric(thetaUnderSymmetry(theta, NOLL, s), NOLL, s);
      back.forEach((v, i) => assert.ok(Math.abs(v - theta[i]!) < 1e-15, JSON.stringify(s)));
      tidy(() => {
        const img = tensor(Array.from({ length: 2 * 5 * 5 }, (_, i) => i), [2, 5, 5], f64);
        assert.deepEqual(undoSymmetry(applySymmetry(img, s), s).toArray(), img.toArray());
      });
    }
  });

  test('a mode set without a partner is refused', () => {
    // The transpose swaps the two comas (x ↔ y), so coma alone is not closed under it.
    assert.throws(() => thetaUnderSymmetry([0.1], [7], GRID_SYMMETRIES[4]!), /Noll 7 maps to Noll 8/);
  });
});
