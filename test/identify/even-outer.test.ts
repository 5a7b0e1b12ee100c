// The twin-invariant even modes of the Zernike head (architecture.evenModes 'outer'): the even modes are read off
// M = t_e t_eᵀ + C, checked against the same reading done by hand; with C = 0 it is the 'direct' head up to the
// twin (the same PSF), so a grown model starts as the file it grew from; the twin of t gives the same output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noGrad, tensor, uniform, Generator } from '../../src/engine/index.js';
import { evenModesFromOuter, Identifier, PRESETS, twinSigns, ZERNIKE_HEAD_NOLL, type IdentifierConfig } from '../../src/model/identifier.js';
import { loadInitialWeights } from '../../src/train/checkpoint.js';
import { withSavedNetwork, ZERNIKE_TINY } from './tiny.js';

const zernikeTiny: IdentifierConfig = { ...ZERNIKE_TINY, psfResidual: true };
const EVEN = twinSigns(ZERNIKE_HEAD_NOLL).flatMap((s, k) => (s < 0 ? [k] : []));

/** The reading by hand: build M, take the column of its largest diagonal entry over that entry's square root. */
function byHand(t: number[], c: number[]): number[] {
  const te = EVEN.map((k) => t[k]!);
  const m = te.length;
  const M = te.map((a) => te.map((b) => a * b));
  let p = 0;
  for (let i = 0; i < m; i++) for (let j = i; j < m; j++, p++) {
    M[i]![j]! += c[p]!;
    if (i !== j) M[j]![i]! += c[p]!;
  }
  const diag = M.map((row, i) => row[i]!);
  const k = diag.indexOf(Math.max(...diag));
  const scale = Math.sqrt(Math.max(diag[k]!, 0) + 1e-8);
  const out = t.slice();
  EVEN.forEach((pos, i) => (out[pos] = Math.min(1, Math.max(-1, M[i]![k]! / scale))));
  return out;
}

test('evenModesFromOuter: the even modes are read off t_e t_eᵀ + C as by hand; odd modes pass through', () => {
  assert.deepEqual(EVEN, [0, 1, 2, 7], 'defocus, the two astigmatisms and spherical');
  const gen = new Generator(11);
  const t = noGrad(() => uniform(gen, [5, 8], { low: -0.9, high: 0.9 }));
  const c = noGrad(() => uniform(gen, [5, 10], { low: -0.05, high: 0.05 }));
  const got = noGrad(() => evenModesFromOuter(t, c)).toArray();
  const [tv, cv] = [t.toArray(), c.toArray()];
  for (let b = 0; b < 5; b++) {
    const want = byHand(tv.slice(b * 8, b * 8 + 8), cv.slice(b * 10, b * 10 + 10));
    want.forEach((v, k) => assert.ok(Math.abs(got[b * 8 + k]! - v) < 1e-5, `sample ${b} mode ${ZERNIKE_HEAD_NOLL[k]}: ${got[b * 8 + k]} vs ${v}`));
  }
  // C = 0: ±t (the sign of t's largest even entry), so the twin of t gives the same output
  const zero = noGrad(() => tensor(new Float32Array(50), [5, 10]));
  const plain = noGrad(() => evenModesFromOuter(t, zero)).toArray();
  const twin = noGrad(() => evenModesFromOuter(t.mul(tensor(twinSigns(ZERNIKE_HEAD_NOLL), [1, 8])), zero)).toArray();
  for (let b = 0; b < 5; b++) {
    const row = tv.slice(b * 8, b * 8 + 8);
    const big = EVEN.reduce((a, k) => (Math.abs(row[k]!) > Math.abs(row[a]!) ? k : a), EVEN[0]!);
    const s = Math.sign(row[big]!);
    row.forEach((v, k) => {
      const want = EVEN.includes(k) ? s * v : v;
      assert.ok(Math.abs(plain[b * 8 + k]! - want) < 1e-5, `sample ${b} mode ${k}`);
      assert.ok(Math.abs(twin[b * 8 + k]! - plain[b * 8 + k]!) < 1e-5, `twin, sample ${b} mode ${k}`);
    });
  }
});

test("an evenModes 'outer' model grown --init-from a 'direct' one gives its PSFs; the option needs the Zernike head", () => {
  withSavedNetwork(zernikeTiny, 3, (base, file) => {
    const grown = new Identifier({ ...zernikeTiny, evenModes: 'outer' }, 8);
    loadInitialWeights(grown, file);
    grown.eval();
    assert.equal(grown.numParameters(), base.numParameters() + grown.evenOuter!.numParameters());
    const y = noGrad(() => uniform(new Generator(2), [4, 1, 32, 32]));
    const fc = tensor([0.13, 0.2, 0.24, 0.18]);
    const tm = tensor([0.03, 0.1, 0.15, 0.12]);
    const [a, b] = noGrad(() => [base.identify(y, fc, tm), grown.identify(y, fc, tm)]);
    const peak = noGrad(() => a.max().item());
    const diff = noGrad(() => a.sub(b).abs().max().item());
    assert.ok(diff < 1e-5 * peak, `grown PSF differs by ${diff} (peak ${peak})`);
    assert.throws(() => new Identifier({ ...PRESETS.tiny, evenModes: 'outer' }), /evenModes 'outer' needs the 'zernike' head/);
  });
});
