// Zernike fits through the differentiable optics: the readout recovers the coefficients of a PSF made from known
// ones (up to the twin-image sign rule, applied to the truth independently here), and the blind fit starts where it
// is told to.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { noGrad, tensor, tidy } from '../../src/engine/index.js';
import { nollToNM, psfFromZernike, resolveOptics } from '../../src/optics/index.js';
import { fitBlind } from '../../src/identify/fit.js';
import { zernikeReadout } from '../../src/identify/pipeline.js';

const FC = 0.2;
const NOLL = [4, 5, 6, 7, 8, 9, 10, 11];
// Twin rule written out here: h(θ) = h(θ') where θ' negates every even-n mode; the reported member has defocus ≥ 0.
const signRuled = (theta: number[]): number[] => (theta[0]! >= 0 ? theta : theta.map((v, i) => (nollToNM(NOLL[i]!).n % 2 === 0 ? -v : v)));

test('zernikeReadout recovers known Noll 4–11 coefficients from their PSF, under the sign rule', () => {
  const optics = resolveOptics({ fc: FC, psfSize: 31, zernikeNoll: NOLL });
  const cases = [
    [0.06, -0.04, 0.03, 0.05, -0.02, 0.04, -0.03, 0.02],
    [-0.05, 0.03, 0.05, -0.04, 0.03, -0.02, 0.04, 0.03], // negative defocus: reported as its twin
  ];
  const psfs = noGrad(() => psfFromZernike(optics, tensor(cases.flat(), [cases.length, NOLL.length])));
  const readout = zernikeReadout(psfs, FC);
  psfs.dispose();
  readout.forEach((r, b) => {
    const want = signRuled(cases[b]!);
    assert.deepEqual(r.coefficients.map((c) => c.noll), NOLL);
    r.coefficients.forEach((c, i) => assert.ok(Math.abs(c.waves - want[i]!) < 0.005, `case ${b} Noll ${c.noll}: ${c.waves} vs ${want[i]}`));
    assert.ok(r.relativeMisfit < 0.01, `misfit ${r.relativeMisfit}`);
  });
});

test('fitBlind starts from `init` when given (no alternations: the start itself, sign rule applied)', () => {
  const optics = resolveOptics({ fc: FC, psfSize: 31, zernikeNoll: NOLL });
  const init = [-0.05, 0.02, 0.01, 0.03, -0.01, 0.02, 0, 0.01];
  tidy(() => {
    const y = tensor(new Float32Array(2 * 40 * 40).fill(0.5), [2, 1, 40, 40]);
    const start = tensor([...init, ...init.map((v) => -v)], [2, NOLL.length]);
    const r = fitBlind(optics, y, [FC, FC], { init: start, rounds: 0 });
    const got = r.theta.toArray();
    [init, init.map((v) => -v)].forEach((row, b) => signRuled(row).forEach((v, i) => assert.ok(Math.abs(got[b * NOLL.length + i]! - v) < 1e-6, `row ${b} Noll ${NOLL[i]}`)));
  });
});
