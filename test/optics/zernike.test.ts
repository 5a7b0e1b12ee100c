// Zernike polynomials: index conversions against the standard tables and each other, radial polynomials,
// orthonormality over the unit disk, the Cartesian (monomial) form, names and coefficient parsing.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PsfidError } from '../../src/errors.js';
import {
  ansiToNM, ansiToNoll, coefficientsToTheta, nmToAnsi, nmToNoll, nollToAnsi, nollToNM, parseZernikeCoefficients, radial,
  zernike, zernikeEvaluator, zernikeMonomials, zernikeName, ZERNIKE_NAMES,
} from '../../src/optics/index.js';
import { rng } from './oracles.js';

// Noll (1976), Table 1, and ANSI Z80.28 / OSA: the first 21 modes as (n, m), m < 0 the sine terms.
const NOLL_TABLE: [number, number][] = [
  [0, 0], [1, 1], [1, -1], [2, 0], [2, -2], [2, 2], [3, -1], [3, 1], [3, -3], [3, 3], [4, 0],
  [4, 2], [4, -2], [4, 4], [4, -4], [5, 1], [5, -1], [5, 3], [5, -3], [5, 5], [5, -5],
];
const ANSI_TABLE: [number, number][] = [
  [0, 0], [1, -1], [1, 1], [2, -2], [2, 0], [2, 2], [3, -3], [3, -1], [3, 1], [3, 3], [4, -4],
  [4, -2], [4, 0], [4, 2], [4, 4], [5, -5], [5, -3], [5, -1], [5, 1], [5, 3], [5, 5],
];

function throwsParam(fn: () => unknown, param: string | RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PsfidError, `expected PsfidError, got ${String(e)}`);
    if (typeof param === 'string') assert.equal(e.param, param);
    else assert.match(e.param ?? '', param);
    return true;
  });
}

describe('Zernike indices', () => {
  test('Noll 1–21 match the standard table, both ways', () => {
    NOLL_TABLE.forEach(([n, m], i) => {
      assert.deepEqual(nollToNM(i + 1), { n, m }, `Noll ${i + 1}`);
      assert.equal(nmToNoll(n, m), i + 1);
    });
  });

  test('ANSI 0–20 match the standard table, both ways', () => {
    ANSI_TABLE.forEach(([n, m], j) => {
      assert.deepEqual(ansiToNM(j), { n, m }, `ANSI ${j}`);
      assert.equal(nmToAnsi(n, m), j);
    });
  });

  test('round trips Noll → (n, m) → Noll, Noll → ANSI → Noll, ANSI → Noll → ANSI over every supported mode', () => {
    for (let j = 1; j <= 231; j++) {
      const { n, m } = nollToNM(j);
      assert.equal(nmToNoll(n, m), j);
      assert.equal(ansiToNoll(nollToAnsi(j)), j);
      // Noll's rule: for m ≠ 0, even j ↔ cosine (m > 0).
      if (m !== 0) assert.equal(j % 2 === 0, m > 0, `Noll ${j} = (${n}, ${m})`);
    }
    for (let j = 0; j < 231; j++) assert.equal(nollToAnsi(ansiToNoll(j)), j);
  });

  test('each radial order n holds Noll indices n(n+1)/2 + 1 … (n+1)(n+2)/2 with |m| non-decreasing', () => {
    for (let n = 0; n <= 12; n++) {
      let last = -1;
      for (let j = (n * (n + 1)) / 2 + 1; j <= ((n + 1) * (n + 2)) / 2; j++) {
        const t = nollToNM(j);
        assert.equal(t.n, n);
        assert.ok(Math.abs(t.m) >= last);
        last = Math.abs(t.m);
      }
    }
  });

  test('invalid indices throw PsfidError', () => {
    throwsParam(() => nollToNM(0), 'zernike');
    throwsParam(() => nollToNM(2.5), 'zernike');
    throwsParam(() => ansiToNM(-1), 'zernike');
    throwsParam(() => nmToNoll(2, 1), 'zernike');
    throwsParam(() => nmToNoll(1, 3), 'zernike');
    throwsParam(() => nollToNM(232), 'zernike'); // n = 21 > 20
  });
});

describe('Zernike polynomials', () => {
  test('radial polynomials match their closed forms', () => {
    for (const rho of [0, 0.3, 0.71, 1]) {
      assert.ok(Math.abs(radial(2, 0, rho) - (2 * rho ** 2 - 1)) < 1e-14);
      assert.ok(Math.abs(radial(3, 1, rho) - (3 * rho ** 3 - 2 * rho)) < 1e-14);
      assert.ok(Math.abs(radial(4, 0, rho) - (6 * rho ** 4 - 6 * rho ** 2 + 1)) < 1e-14);
      assert.ok(Math.abs(radial(4, 2, rho) - (4 * rho ** 4 - 3 * rho ** 2)) < 1e-14);
      assert.ok(Math.abs(radial(6, 0, rho) - (20 * rho ** 6 - 30 * rho ** 4 + 12 * rho ** 2 - 1)) < 1e-13);
    }
    for (let n = 0; n <= 12; n++) for (let m = n % 2; m <= n; m += 2) assert.ok(Math.abs(radial(n, m, 1) - 1) < 1e-12, `R_${n}^${m}(1) = 1`);
  });

  test('axes: tilt x (Noll 2) grows to the right (x = column), tilt y (Noll 3) grows downward (y = row)', () => {
    const at = (j: number, x: number, y: number): number => zernike(j, Math.hypot(x, y), Math.atan2(y, x));
    assert.ok(Math.abs(at(2, 0.5, 0) - 1) < 1e-15); // Z2 = 2ρ cos ϑ = 2x
    assert.ok(Math.abs(at(3, 0, 0.5) - 1) < 1e-15); // Z3 = 2ρ sin ϑ = 2y
    assert.ok(Math.abs(at(2, 0, 0.5)) < 1e-15);
    // Z8 horizontal coma = √8 (3ρ² − 2) x: odd in x, even in y.
    assert.ok(Math.abs(at(8, 0.4, 0.3) + at(8, -0.4, 0.3)) < 1e-15);
    assert.ok(Math.abs(at(8, 0.4, 0.3) - at(8, 0.4, -0.3)) < 1e-15);
  });

  test('Noll 1–21 are orthonormal over the unit disk (Gram matrix ≈ identity)', () => {
    // Area-uniform midpoint rule: s = ρ² in 600 cells, ϑ on 96 points (exact for trigonometric degree < 96).
    const ns = 600;
    const nt = 96;
    const count = 21;
    const gram = Array.from({ length: count }, () => new Float64Array(count));
    const vals = new Float64Array(count);
    const modes = Array.from({ length: count }, (_, j) => {
      const { n, m } = nollToNM(j + 1);
      return zernikeEvaluator(n, m);
    });
    for (let a = 0; a < ns; a++) {
      const rho = Math.sqrt((a + 0.5) / ns);
      for (let b = 0; b < nt; b++) {
        const th = (2 * Math.PI * (b + 0.5)) / nt;
        for (let j = 0; j < count; j++) vals[j] = modes[j]!(rho, th);
        for (let i = 0; i < count; i++) for (let j = 0; j < count; j++) gram[i]![j]! += (vals[i]! * vals[j]!) / (ns * nt);
      }
    }
    let worst = 0;
    for (let i = 0; i < count; i++) for (let j = 0; j < count; j++) worst = Math.max(worst, Math.abs(gram[i]![j]! - (i === j ? 1 : 0)));
    assert.ok(worst < 1e-4, `max |G − I| = ${worst}`);
  });

  test('the Cartesian (monomial) form equals the polar evaluation, Noll 1–36', () => {
    const r = rng(7);
    for (let j = 1; j <= 36; j++) {
      const terms = zernikeMonomials(j);
      for (let k = 0; k < 20; k++) {
        const x = 2.4 * r() - 1.2;
        const y = 2.4 * r() - 1.2;
        const polar = zernike(j, Math.hypot(x, y), Math.atan2(y, x));
        const cart = terms.reduce((s, t) => s + t.c * x ** t.a * y ** t.b, 0);
        assert.ok(Math.abs(polar - cart) < 1e-9 * Math.max(1, Math.abs(polar)), `Noll ${j} at (${x}, ${y}): ${polar} vs ${cart}`);
      }
    }
  });

  test('names of Noll 1–11 follow the conventions table', () => {
    assert.equal(ZERNIKE_NAMES[4], 'defocus');
    assert.equal(zernikeName(2), 'tilt x');
    assert.equal(zernikeName(5), 'oblique astigmatism');
    assert.equal(zernikeName(6), 'vertical astigmatism');
    assert.equal(zernikeName(7), 'vertical coma');
    assert.equal(zernikeName(8), 'horizontal coma');
    assert.equal(zernikeName(11), 'primary spherical');
    assert.equal(zernikeName(12), 'Z(4,2)');
    assert.ok(Object.isFrozen(ZERNIKE_NAMES));
  });
});

describe('Zernike coefficient lists', () => {
  test('"4:0.1,7:-0.05" parses as Noll:waves', () => {
    assert.deepEqual(parseZernikeCoefficients('4:0.1,7:-0.05'), { noll: [4, 7], waves: [0.1, -0.05] });
    assert.deepEqual(parseZernikeCoefficients(' 11 : 2e-2 , 5:.03 '), { noll: [11, 5], waves: [0.02, 0.03] });
    assert.deepEqual(parseZernikeCoefficients(''), { noll: [], waves: [] });
  });

  test('the ANSI variant converts to Noll', () => {
    // ANSI 4 = (2, 0) = Noll 4; ANSI 3 = (2, −2) = Noll 5; ANSI 8 = (3, 1) = Noll 8; ANSI 7 = (3, −1) = Noll 7.
    assert.deepEqual(parseZernikeCoefficients('4:0.1,3:0.2,8:-0.1,7:0.05', 'ansi'), { noll: [4, 5, 8, 7], waves: [0.1, 0.2, -0.1, 0.05] });
  });

  test('malformed terms, duplicates and bad indices are refused', () => {
    throwsParam(() => parseZernikeCoefficients('4=0.1'), 'zernike');
    throwsParam(() => parseZernikeCoefficients('4:0.1,4:0.2'), 'zernike');
    throwsParam(() => parseZernikeCoefficients('0:0.1'), 'zernike');
    throwsParam(() => parseZernikeCoefficients('4:abc'), 'zernike');
    throwsParam(() => parseZernikeCoefficients('4:0.1', 'zemax' as 'noll'), 'zernikeIndexing');
  });

  test('coefficientsToTheta aligns with the active indices and refuses inactive ones', () => {
    const active = [4, 5, 6, 7, 8];
    assert.deepEqual(coefficientsToTheta(active, parseZernikeCoefficients('8:0.1,4:-0.2')), [-0.2, 0, 0, 0, 0.1]);
    throwsParam(() => coefficientsToTheta(active, parseZernikeCoefficients('11:0.1')), 'zernike');
  });
});
