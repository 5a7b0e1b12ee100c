// The blur operators behind deconvolution: true convolution (against naive loops), exact adjoints (⟨Ax, y⟩ =
// ⟨x, Aᵀy⟩) for every boundary model, uniform and spatially varying, and the geometry helpers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { tensor, tidy } from '../../src/engine/index.js';
import { blurOperator, fastFftSize, gridBlurOperator, hatWeights, BOUNDARIES, type BlurOperator, type PsfGridSpec } from '../../src/deconv/index.js';
import { PsfidError } from '../../src/errors.js';
import { convGridValid, convSame, convValid, gaussianNoise, gaussianPsf } from './helpers.js';

/** An asymmetric S × S PSF (sum 1) so that convolution and correlation differ. */
function lopsidedPsf(s: number, seed: number): Float64Array {
  const h = gaussianPsf(s, 1.2);
  const n = gaussianNoise(s * s, seed);
  let total = 0;
  for (let i = 0; i < h.length; i++) total += h[i] = h[i]! * (1 + 0.5 * Math.abs(n[i]!)) + (i === 1 ? 0.05 : 0);
  for (let i = 0; i < h.length; i++) h[i]! /= total;
  return h;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const S = 7;
const H = 19;
const W = 24;
const PSF = lopsidedPsf(S, 1);
const XS = [5, 18];
const YS = [4, 10, 16];
const GRID_PSFS = Array.from({ length: 6 }, (_, k) => lopsidedPsf(S, 10 + k));

function grid(): PsfGridSpec {
  const flat = new Float64Array(6 * S * S);
  GRID_PSFS.forEach((p, k) => flat.set(p, k * S * S));
  const centres: [number, number][] = [];
  for (const y of YS) for (const x of XS) centres.push([x, y]);
  return { psfs: tensor(flat, [6, S, S]), centres, tiles: [2, 3] };
}

/** Every operator joins this list and inherits the checks below. */
const OPERATORS: { name: string; make: () => BlurOperator }[] = [
  ...BOUNDARIES.map((boundary) => ({ name: `uniform ${boundary}`, make: () => blurOperator(tensor(PSF, [S, S]), [H, W], { boundary }) })),
  ...BOUNDARIES.map((boundary) => ({ name: `grid ${boundary}`, make: () => gridBlurOperator(grid(), [H, W], { boundary }) })),
];

describe('blur operators: adjoint', () => {
  for (const { name, make } of OPERATORS) {
    test(`⟨Ax, y⟩ = ⟨x, Aᵀy⟩ (${name}, float64)`, () =>
      tidy(() => {
        const op = make();
        try {
          const [oh, ow] = op.object;
          const [dh, dw] = op.data;
          const x = gaussianNoise(oh * ow, 3);
          const y = gaussianNoise(dh * dw, 4);
          const ax = op.forward(tensor(x, [1, 1, oh, ow])).toArray();
          const aty = op.adjoint(tensor(y, [1, 1, dh, dw])).toArray();
          let lhs = 0;
          let rhs = 0;
          for (let i = 0; i < ax.length; i++) lhs += ax[i]! * y[i]!;
          for (let i = 0; i < aty.length; i++) rhs += aty[i]! * x[i]!;
          assert.ok(Math.abs(lhs - rhs) <= 1e-12 * Math.max(1, Math.abs(lhs)), `${lhs} vs ${rhs}`);
        } finally {
          op.dispose();
        }
      }));
  }
});

describe('blur operators: true convolution against naive loops', () => {
  test('masked: the valid convolution of the extended scene (H + S − 1)²', () =>
    tidy(() => {
      const op = blurOperator(tensor(PSF, [S, S]), [H, W], { boundary: 'masked' });
      try {
        assert.deepEqual(op.object, [H + S - 1, W + S - 1]);
        assert.deepEqual(op.objectOrigin, [(S - 1) / 2, (S - 1) / 2]);
        const x = gaussianNoise((H + S - 1) * (W + S - 1), 5);
        const got = op.forward(tensor(x, [1, 1, H + S - 1, W + S - 1])).toArray();
        assert.ok(maxAbsDiff(got, convValid(x, H + S - 1, W + S - 1, PSF, S)) < 1e-12);
      } finally {
        op.dispose();
      }
    }));

  for (const mode of ['zero', 'circular'] as const) {
    test(`${mode}: same-size convolution, PSF centred at ⌊S/2⌋`, () =>
      tidy(() => {
        const op = blurOperator(tensor(PSF, [S, S]), [H, W], { boundary: mode });
        try {
          const x = gaussianNoise(H * W, 6);
          const got = op.forward(tensor(x, [1, 1, H, W])).toArray();
          assert.ok(maxAbsDiff(got, convSame(x, H, W, PSF, S, mode)) < 1e-12);
        } finally {
          op.dispose();
        }
      }));
  }

  test('a PSF whose mass sits right of centre moves the image right (convolution, not correlation)', () =>
    tidy(() => {
      const h = new Float64Array(S * S);
      h[3 * S + 5] = 1; // row ⌊S/2⌋, two columns right of the centre
      const op = blurOperator(tensor(h, [S, S]), [H, W], { boundary: 'circular' });
      try {
        const x = new Float64Array(H * W);
        x[9 * W + 10] = 1;
        const got = op.forward(tensor(x, [1, 1, H, W])).toArray();
        assert.equal(got.indexOf(Math.max(...got)), 9 * W + 12);
      } finally {
        op.dispose();
      }
    }));

  test('grid, masked: Σ_k h_k ⋆ (w_k · x) with bilinear weights, valid region', () =>
    tidy(() => {
      const op = gridBlurOperator(grid(), [H, W], { boundary: 'masked' });
      try {
        const [oh, ow] = op.object;
        const x = gaussianNoise(oh * ow, 7);
        const got = op.forward(tensor(x, [1, 1, oh, ow])).toArray();
        assert.ok(maxAbsDiff(got, convGridValid(x, oh, ow, GRID_PSFS, S, XS, YS)) < 1e-12);
      } finally {
        op.dispose();
      }
    }));

  test('a grid whose tiles share one PSF is the uniform operator', () =>
    tidy(() => {
      const flat = new Float64Array(6 * S * S);
      for (let k = 0; k < 6; k++) flat.set(PSF, k * S * S);
      const g: PsfGridSpec = { ...grid(), psfs: tensor(flat, [6, S, S]) };
      const a = gridBlurOperator(g, [H, W]);
      const b = blurOperator(tensor(PSF, [S, S]), [H, W]);
      try {
        const x = tensor(gaussianNoise(a.object[0] * a.object[1], 8), [1, 1, ...a.object]);
        assert.ok(maxAbsDiff(a.forward(x).toArray(), b.forward(x).toArray()) < 1e-12);
      } finally {
        a.dispose();
        b.dispose();
      }
    }));

  test('float32 batch [B, 1, H, W]: each image blurred alike', () =>
    tidy(() => {
      const op = blurOperator(tensor(Float32Array.from(PSF), [S, S]), [H, W], { boundary: 'zero' });
      try {
        const x1 = gaussianNoise(H * W, 9);
        const x2 = gaussianNoise(H * W, 10);
        const both = new Float32Array(2 * H * W);
        both.set(x1);
        both.set(x2, H * W);
        const got = op.forward(tensor(both, [2, 1, H, W])).toArray();
        assert.ok(maxAbsDiff(got.slice(0, H * W), convSame(x1, H, W, PSF, S, 'zero')) < 1e-5);
        assert.ok(maxAbsDiff(got.slice(H * W), convSame(x2, H, W, PSF, S, 'zero')) < 1e-5);
      } finally {
        op.dispose();
      }
    }));
});

describe('geometry helpers', () => {
  test('fastFftSize: smallest even 2·3·5·7-smooth size ≥ n', () => {
    assert.equal(fastFftSize(1054), 1080);
    assert.equal(fastFftSize(1024), 1024);
    assert.equal(fastFftSize(97), 98);
    assert.equal(fastFftSize(11), 12);
    for (let n = 2; n < 300; n++) {
      const m = fastFftSize(n);
      assert.ok(m >= n && m % 2 === 0);
    }
  });

  test('hatWeights: a partition of unity, 1 at its own centre, constant beyond the outer centres', () => {
    const cs = [10.5, 30.5, 42.5];
    const len = 60;
    const w = hatWeights(cs, len, 3);
    for (let j = 0; j < len; j++) {
      let s = 0;
      for (let k = 0; k < cs.length; k++) {
        assert.ok(w[k * len + j]! >= 0);
        s += w[k * len + j]!;
      }
      assert.ok(Math.abs(s - 1) < 1e-12);
    }
    // Object index j sits at image coordinate j − 3 + 0.5: centre 30.5 is j = 33.
    assert.equal(w[1 * len + 33], 1);
    assert.equal(w[0 * len + 0], 1);
    assert.equal(w[2 * len + 59], 1);
  });
});

describe('validation', () => {
  test('a PSF that does not sum to 1 is refused with the fix', () =>
    tidy(() => {
      const h = tensor(PSF.map((v) => 2 * v), [S, S]);
      assert.throws(() => blurOperator(h, [H, W]), (e: unknown) => e instanceof PsfidError && e.param === 'psf' && /sums to 2\.0.*Divide it by its sum/.test(e.message));
    }));

  test('grid centres off the lattice are refused', () =>
    tidy(() => {
      const g = grid();
      const centres = g.centres.map((c) => [...c] as [number, number]);
      centres[3] = [centres[3]![0] + 2, centres[3]![1]];
      assert.throws(() => gridBlurOperator({ ...g, centres }, [H, W]), (e: unknown) => e instanceof PsfidError && e.param === 'grid' && /lattice/.test(e.message));
    }));

  test("boundary 'circular' refuses a PSF larger than the image", () =>
    tidy(() => {
      assert.throws(() => blurOperator(tensor(PSF, [S, S]), [5, 40], { boundary: 'circular' }), (e: unknown) => e instanceof PsfidError && e.param === 'boundary');
    }));
});
