// Blur: a true convolution for every boundary mode (against a naive loop), its adjoint, and its inputs.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Generator, tensor, tidy, uniform, zeros } from '../../src/engine/index.js';
import { PsfidError } from '../../src/errors.js';
import { blur, blurAdjoint, BOUNDARIES } from '../../src/acquisition/index.js';
import { naiveBlur } from './oracles.js';

const f64 = { dtype: 'float64' as const };

function throwsParam(fn: () => unknown, param: string): void {
  assert.throws(fn, (e: unknown) => e instanceof PsfidError && e.param === param);
}

describe('blur', () => {
  for (const boundary of BOUNDARIES) {
    for (const [kh, kw] of [[5, 5], [3, 7], [4, 6]] as const) {
      test(`${boundary}, ${kh}×${kw} kernel: equals a naive true convolution, one kernel per image`, () => {
        tidy(() => {
          const gen = new Generator(1);
          const [b, c, hgt, wid] = [2, 2, 9, 11];
          const x = uniform(gen, [b, c, hgt, wid], f64);
          const h = uniform(gen, [b, kh, kw], f64);
          const y = blur(x, h, boundary);
          const outH = boundary === 'valid' ? hgt - kh + 1 : hgt;
          const outW = boundary === 'valid' ? wid - kw + 1 : wid;
          assert.deepEqual(y.shape, [b, c, outH, outW]);
          for (let i = 0; i < b; i++) {
            for (let k = 0; k < c; k++) {
              const want = naiveBlur(x.select(0, i).select(0, k).data() as Float64Array, hgt, wid, h.select(0, i).data() as Float64Array, kh, kw, boundary);
              const got = y.select(0, i).select(0, k).toArray();
              got.forEach((v, n) => assert.ok(Math.abs(v - want[n]!) < 1e-12, `${boundary} [${i},${k}] pixel ${n}: ${v} vs ${want[n]}`));
            }
          }
        });
      });
    }
  }

  test('is a convolution, not a correlation: an off-centre delta kernel shifts the image the same way', () => {
    tidy(() => {
      // h = δ at (⌊S/2⌋, ⌊S/2⌋ + 1): y[i, j] = x[i, j − 1], the image moves one column RIGHT.
      const x = uniform(new Generator(2), [1, 1, 6, 6], f64);
      const h = zeros([1, 3, 3], f64);
      const d = new Float64Array(9);
      d[1 * 3 + 2] = 1;
      const y = blur(x, h.add(tensor(d, [1, 3, 3])), 'circular');
      assert.ok(y.sub(x.roll(1, 3)).abs().max().item() < 1e-12);
    });
  });

  test("'valid' is the centre of 'circular' and 'reflect' for odd kernels; a [1, S, S] kernel is shared by the batch", () => {
    tidy(() => {
      const gen = new Generator(3);
      const x = uniform(gen, [3, 1, 20, 17], f64);
      const h = uniform(gen, [1, 5, 5], f64);
      const valid = blur(x, h, 'valid');
      for (const b of ['circular', 'reflect'] as const) {
        const same = blur(x, h, b).narrow(2, 2, 16).narrow(3, 2, 13);
        assert.ok(same.sub(valid).abs().max().item() < 1e-12, b);
      }
      const perImage = blur(x, h.expand([3, 5, 5]).contiguous(), 'valid');
      assert.ok(perImage.sub(valid).abs().max().item() < 1e-12);
    });
  });

  for (const boundary of BOUNDARIES) {
    test(`adjoint: ⟨Ax, y⟩ = ⟨x, Aᵀy⟩ (${boundary})`, () => {
      tidy(() => {
        const gen = new Generator(4);
        for (const [kh, kw] of [[5, 5], [3, 4]]) {
          const x = uniform(gen, [2, 1, 12, 10], { ...f64, low: -1, high: 1 });
          const h = uniform(gen, [2, kh!, kw!], f64);
          const ax = blur(x, h, boundary);
          const y = uniform(gen, ax.shape, { ...f64, low: -1, high: 1 });
          const aty = blurAdjoint(y, h, boundary);
          assert.deepEqual(aty.shape, x.shape);
          const lhs = ax.mul(y).sum().item();
          const rhs = x.mul(aty).sum().item();
          assert.ok(Math.abs(lhs - rhs) < 1e-12 * Math.max(1, Math.abs(lhs)), `${lhs} vs ${rhs}`);
        }
      });
    });
  }

  test('is differentiable w.r.t. the image and the PSF', () => {
    tidy(() => {
      const gen = new Generator(5);
      const x = uniform(gen, [1, 1, 10, 10], f64).requiresGrad_();
      const h = uniform(gen, [1, 3, 3], f64).requiresGrad_();
      const y = blur(x, h, 'valid');
      y.sum().backward();
      // d(Σy)/dh[a, b] = Σ of the x window it multiplies; d(Σy)/dx is Aᵀ1.
      const gx = x.grad!;
      const want = blurAdjoint(y.detach().mul(0).add(1), h.detach(), 'valid');
      assert.ok(gx.sub(want).abs().max().item() < 1e-12);
      // d(Σy)/dh[a, b] = Σ_{i,j} x[i + 2 − a, j + 2 − b] over the 8 × 8 outputs (blur is in place on x's spectrum).
      const xs = x.detach().toArray();
      const gh = h.grad!.toArray();
      for (let a = 0; a < 3; a++) {
        for (let b = 0; b < 3; b++) {
          let want = 0;
          for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) want += xs[(i + 2 - a) * 10 + (j + 2 - b)]!;
          assert.ok(Math.abs(gh[a * 3 + b]! - want) < 1e-12, `dΣy/dh[${a}, ${b}] = ${gh[a * 3 + b]} vs ${want}`);
        }
      }
    });
  });

  test('bad boundaries, shapes and dtypes are refused naming the parameter', () => {
    tidy(() => {
      const x = zeros([2, 1, 8, 8]);
      throwsParam(() => blur(x, zeros([2, 3, 3]), 'same' as 'valid'), 'boundary');
      throwsParam(() => blur(x, zeros([3, 3, 3]), 'valid'), 'psf');
      throwsParam(() => blur(x, zeros([2, 9, 9]), 'valid'), 'psf');
      throwsParam(() => blur(x, zeros([2, 3, 3], f64), 'valid'), 'psf');
      throwsParam(() => blur(zeros([8, 8]), zeros([1, 3, 3]), 'valid'), 'x');
      throwsParam(() => blur(x, zeros([2, 19, 19]), 'reflect'), 'boundary');
    });
  });
});
