// Op values against plain-JavaScript reference computations written from the operators' definitions.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  avgPool2d, complex, conv2d, convTranspose2d, fft2, fftshift, Generator, groupNorm, ifft2, ifftshift, interpolate, irfft2, matmul, maxPool2d,
  rfft2, tensor, tidy, type Tensor,
} from '../../src/engine/index.js';
import { assertClose, randn } from './helpers.js';

const gen = new Generator(99);
const f64 = (t: Tensor): Float64Array => t.data() as Float64Array;

/** Row-major index helper for a 4-D shape. */
const idx4 = (s: number[]) => (a: number, b: number, c: number, d: number) => ((a * s[1]! + b) * s[2]! + c) * s[3]! + d;

describe('values vs naive JavaScript references', () => {
  test('matmul (2-D and batched) vs triple loop', () => {
    tidy(() => {
      const [B, M, K, N] = [3, 4, 5, 2];
      const a = randn(gen, [B, M, K]);
      const b = randn(gen, [K, N]);
      const A = f64(a);
      const Bv = f64(b);
      const ref = new Float64Array(B * M * N);
      for (let s = 0; s < B; s++)
        for (let i = 0; i < M; i++)
          for (let j = 0; j < N; j++) {
            let acc = 0;
            for (let k = 0; k < K; k++) acc += A[(s * M + i) * K + k]! * Bv[k * N + j]!;
            ref[(s * M + i) * N + j] = acc;
          }
      const out = matmul(a, b);
      assert.deepEqual(out.shape, [B, M, N]);
      assertClose(f64(out), ref, { rtol: 1e-12, atol: 1e-12 });
      // A fixed small case by hand: [[1,2],[3,4]]·[[5],[6]] = [[17],[39]].
      const p = tensor([1, 2, 3, 4], [2, 2], { dtype: 'float64' }).matmul(tensor([5, 6], [2, 1], { dtype: 'float64' }));
      assert.deepEqual(p.toArray(), [17, 39]);
    });
  });

  test('conv2d (stride, padding, dilation, groups, bias) vs a naive loop', () => {
    tidy(() => {
      const [N, C, H, W] = [2, 4, 9, 8];
      const [O, G, kh, kw] = [6, 2, 3, 2];
      const [sh, sw, ph, pw, dh, dw] = [2, 1, 1, 2, 1, 2];
      const x = randn(gen, [N, C, H, W]);
      const w = randn(gen, [O, C / G, kh, kw]);
      const b = randn(gen, [O]);
      const X = f64(x);
      const Wt = f64(w);
      const Bv = f64(b);
      const Ho = Math.floor((H + 2 * ph - dh * (kh - 1) - 1) / sh) + 1;
      const Wo = Math.floor((W + 2 * pw - dw * (kw - 1) - 1) / sw) + 1;
      const xi = idx4([N, C, H, W]);
      const wi = idx4([O, C / G, kh, kw]);
      const oi = idx4([N, O, Ho, Wo]);
      const ref = new Float64Array(N * O * Ho * Wo);
      for (let n = 0; n < N; n++)
        for (let o = 0; o < O; o++) {
          const g = Math.floor(o / (O / G));
          for (let y = 0; y < Ho; y++)
            for (let xx = 0; xx < Wo; xx++) {
              let acc = Bv[o]!;
              for (let c = 0; c < C / G; c++)
                for (let ky = 0; ky < kh; ky++)
                  for (let kx = 0; kx < kw; kx++) {
                    const iy = y * sh - ph + ky * dh;
                    const ix = xx * sw - pw + kx * dw;
                    if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                    acc += X[xi(n, g * (C / G) + c, iy, ix)]! * Wt[wi(o, c, ky, kx)]!;
                  }
              ref[oi(n, o, y, xx)] = acc;
            }
        }
      const out = conv2d(x, w, b, { stride: [sh, sw], padding: [ph, pw], dilation: [dh, dw], groups: G });
      assert.deepEqual(out.shape, [N, O, Ho, Wo]);
      assertClose(f64(out), ref, { rtol: 1e-12, atol: 1e-12 });
    });
  });

  test('conv_transpose2d (stride, padding, output padding, dilation, groups) vs a naive scatter', () => {
    tidy(() => {
      const [N, C, H, W] = [2, 4, 4, 5];
      const [G, Og, kh, kw] = [2, 3, 3, 2];
      const [sh, sw, ph, pw, oph, opw, dh, dw] = [2, 3, 1, 0, 1, 2, 1, 2];
      const O = Og * G;
      const x = randn(gen, [N, C, H, W]);
      const w = randn(gen, [C, Og, kh, kw]);
      const b = randn(gen, [O]);
      const X = f64(x);
      const Wt = f64(w);
      const Bv = f64(b);
      const Ho = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
      const Wo = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
      const xi = idx4([N, C, H, W]);
      const wi = idx4([C, Og, kh, kw]);
      const oi = idx4([N, O, Ho, Wo]);
      const ref = new Float64Array(N * O * Ho * Wo);
      for (let n = 0; n < N; n++) for (let o = 0; o < O; o++) for (let p = 0; p < Ho * Wo; p++) ref[oi(n, o, 0, 0) + p] = Bv[o]!;
      for (let n = 0; n < N; n++)
        for (let c = 0; c < C; c++) {
          const g = Math.floor(c / (C / G));
          for (let iy = 0; iy < H; iy++)
            for (let ix = 0; ix < W; ix++)
              for (let oc = 0; oc < Og; oc++)
                for (let ky = 0; ky < kh; ky++)
                  for (let kx = 0; kx < kw; kx++) {
                    const oy = iy * sh - ph + ky * dh;
                    const ox = ix * sw - pw + kx * dw;
                    if (oy < 0 || oy >= Ho || ox < 0 || ox >= Wo) continue;
                    ref[oi(n, g * Og + oc, oy, ox)]! += X[xi(n, c, iy, ix)]! * Wt[wi(c, oc, ky, kx)]!;
                  }
        }
      const out = convTranspose2d(x, w, b, { stride: [sh, sw], padding: [ph, pw], outputPadding: [oph, opw], dilation: [dh, dw], groups: G });
      assert.deepEqual(out.shape, [N, O, Ho, Wo]);
      assertClose(f64(out), ref, { rtol: 1e-12, atol: 1e-12 });
    });
  });

  /** Naive 2-D DFT of a complex (re, im interleaved) H×W array; sign −1 forward, +1 inverse (unnormalised). */
  function dft2(z: Float64Array, H: number, W: number, sign: number): Float64Array {
    const out = new Float64Array(2 * H * W);
    for (let k1 = 0; k1 < H; k1++)
      for (let k2 = 0; k2 < W; k2++) {
        let re = 0;
        let im = 0;
        for (let n1 = 0; n1 < H; n1++)
          for (let n2 = 0; n2 < W; n2++) {
            const th = sign * 2 * Math.PI * ((k1 * n1) / H + (k2 * n2) / W);
            const a = z[2 * (n1 * W + n2)]!;
            const b = z[2 * (n1 * W + n2) + 1]!;
            re += a * Math.cos(th) - b * Math.sin(th);
            im += a * Math.sin(th) + b * Math.cos(th);
          }
        out[2 * (k1 * W + k2)] = re;
        out[2 * (k1 * W + k2) + 1] = im;
      }
    return out;
  }

  test('fft2 / ifft2 vs a naive DFT with kernel exp(−2πi k·n/N), all norms', () => {
    tidy(() => {
      const [H, W] = [5, 6];
      const z = complex(randn(gen, [H, W]), randn(gen, [H, W]));
      const Z = f64(z);
      const fwd = dft2(Z, H, W, -1);
      const inv = dft2(Z, H, W, +1);
      assertClose(f64(fft2(z)), fwd, { rtol: 1e-10, atol: 1e-10 });
      assertClose(f64(fft2(z, null, 'ortho')), fwd.map((v) => v / Math.sqrt(H * W)), { rtol: 1e-10, atol: 1e-10 });
      assertClose(f64(fft2(z, null, 'forward')), fwd.map((v) => v / (H * W)), { rtol: 1e-10, atol: 1e-10 });
      assertClose(f64(ifft2(z)), inv.map((v) => v / (H * W)), { rtol: 1e-10, atol: 1e-10 });
      assertClose(f64(ifft2(z, null, 'forward')), inv, { rtol: 1e-10, atol: 1e-10 });
      // A unit impulse at (1, 2) has spectrum exp(−2πi(k1/5 + 2k2/6)): check one bin exactly.
      const d = new Float64Array(H * W);
      d[1 * W + 2] = 1;
      const D = f64(fft2(tensor(d, [H, W], { dtype: 'float64' })));
      const th = -2 * Math.PI * (3 / 5 + (2 * 4) / 6);
      assertClose([D[2 * (3 * W + 4)]!, D[2 * (3 * W + 4) + 1]!], [Math.cos(th), Math.sin(th)], { atol: 1e-14 });
    });
  });

  test('rfft2 is the non-negative-frequency half of the DFT; irfft2 inverts it for odd sizes', () => {
    tidy(() => {
      const [H, W] = [4, 7];
      const x = randn(gen, [H, W]);
      const X = f64(x);
      const zi = new Float64Array(2 * H * W);
      for (let i = 0; i < H * W; i++) zi[2 * i] = X[i]!;
      const full = dft2(zi, H, W, -1);
      const Wh = Math.floor(W / 2) + 1;
      const half = new Float64Array(2 * H * Wh);
      for (let r = 0; r < H; r++)
        for (let c = 0; c < Wh; c++) {
          half[2 * (r * Wh + c)] = full[2 * (r * W + c)]!;
          half[2 * (r * Wh + c) + 1] = full[2 * (r * W + c) + 1]!;
        }
      const R = rfft2(x);
      assert.deepEqual(R.shape, [H, Wh]);
      assertClose(f64(R), half, { rtol: 1e-10, atol: 1e-10 });
      assertClose(f64(irfft2(R, [H, W])), X, { rtol: 1e-10, atol: 1e-12 });
    });
  });

  test('Parseval: Σ|x|² = Σ|fft2(x)|² / (H·W), and equality with the ortho norm', () => {
    tidy(() => {
      const [H, W] = [16, 12];
      const z = complex(randn(gen, [2, H, W]), randn(gen, [2, H, W]));
      const energy = z.abs().square().sum().item();
      const spec = fft2(z).abs().square().sum().item();
      assert.ok(Math.abs(energy - spec / (H * W)) <= 1e-10 * energy, `${energy} vs ${spec / (H * W)}`);
      const ortho = fft2(z, null, 'ortho').abs().square().sum().item();
      assert.ok(Math.abs(energy - ortho) <= 1e-10 * energy);
    });
  });

  test('fftshift / ifftshift vs index formulas (odd and even sizes)', () => {
    tidy(() => {
      const [H, W] = [5, 6];
      const x = tensor(Array.from({ length: H * W }, (_, i) => i), [H, W], { dtype: 'float64' });
      const s = f64(fftshift(x));
      const u = f64(ifftshift(x));
      for (let r = 0; r < H; r++)
        for (let c = 0; c < W; c++) {
          // fftshift moves element i to (i + floor(n/2)) mod n; ifftshift undoes it.
          const rs = (r + Math.floor(H / 2)) % H;
          const cs = (c + Math.floor(W / 2)) % W;
          assert.equal(s[rs * W + cs], r * W + c);
          assert.equal(u[r * W + c], rs * W + cs);
        }
    });
  });

  test('softmax / log_softmax vs JS, with large logits', () => {
    tidy(() => {
      const v = [1, 2, 3, 1000, 1001, 999, -5, 0, 5];
      const x = tensor(v, [3, 3], { dtype: 'float64' });
      const ref: number[] = [];
      const lref: number[] = [];
      for (let r = 0; r < 3; r++) {
        const row = v.slice(3 * r, 3 * r + 3);
        const m = Math.max(...row);
        const s = row.reduce((a, b) => a + Math.exp(b - m), 0);
        for (const e of row) {
          ref.push(Math.exp(e - m) / s);
          lref.push(e - m - Math.log(s));
        }
      }
      assertClose(f64(x.softmax(1)), ref, { rtol: 1e-14, atol: 1e-15 });
      assertClose(f64(x.logSoftmax(1)), lref, { rtol: 1e-14, atol: 1e-14 });
    });
  });

  test('mean, var, std vs JS', () => {
    tidy(() => {
      const x = randn(gen, [4, 7]);
      const X = Array.from(f64(x));
      for (let r = 0; r < 4; r++) {
        const row = X.slice(7 * r, 7 * r + 7);
        const m = row.reduce((a, b) => a + b, 0) / 7;
        const ss = row.reduce((a, b) => a + (b - m) ** 2, 0);
        assertClose([x.mean(1).toArray()[r]!], [m], { atol: 1e-14 });
        assertClose([x.var(1).toArray()[r]!], [ss / 6], { rtol: 1e-13 });
        assertClose([x.var(1, { unbiased: false }).toArray()[r]!], [ss / 7], { rtol: 1e-13 });
        assertClose([x.std(1).toArray()[r]!], [Math.sqrt(ss / 6)], { rtol: 1e-13 });
      }
    });
  });

  test('pad modes vs index formulas', () => {
    tidy(() => {
      const [H, W] = [3, 4];
      const x = tensor(Array.from({ length: H * W }, (_, i) => i + 1), [1, 1, H, W], { dtype: 'float64' });
      const [l, r, t, b] = [2, 1, 1, 2];
      const ref = (mode: string, y: number, xx: number): number => {
        let sy = y - t;
        let sx = xx - l;
        if (mode === 'constant') return sy < 0 || sy >= H || sx < 0 || sx >= W ? -7 : sy * W + sx + 1;
        const fix = (i: number, n: number): number => {
          if (mode === 'replicate') return Math.min(n - 1, Math.max(0, i));
          if (mode === 'circular') return ((i % n) + n) % n;
          return i < 0 ? -i : i >= n ? 2 * (n - 1) - i : i; // reflect (edge not repeated)
        };
        sy = fix(sy, H);
        sx = fix(sx, W);
        return sy * W + sx + 1;
      };
      for (const mode of ['constant', 'reflect', 'replicate', 'circular'] as const) {
        const out = x.pad([l, r, t, b], mode, -7);
        assert.deepEqual(out.shape, [1, 1, H + t + b, W + l + r]);
        const expect: number[] = [];
        for (let y = 0; y < H + t + b; y++) for (let xx = 0; xx < W + l + r; xx++) expect.push(ref(mode, y, xx));
        assert.deepEqual(out.toArray(), expect, `pad ${mode}`);
      }
    });
  });

  test('max_pool2d (padding) and avg_pool2d (padding counted) vs JS', () => {
    tidy(() => {
      const [H, W, k, s, p] = [6, 7, 3, 2, 1];
      const x = randn(gen, [1, 1, H, W]);
      const X = f64(x);
      const Ho = Math.floor((H + 2 * p - k) / s) + 1;
      const Wo = Math.floor((W + 2 * p - k) / s) + 1;
      const mx: number[] = [];
      const av: number[] = [];
      for (let y = 0; y < Ho; y++)
        for (let xx = 0; xx < Wo; xx++) {
          let m = -Infinity;
          let acc = 0;
          for (let ky = 0; ky < k; ky++)
            for (let kx = 0; kx < k; kx++) {
              const iy = y * s - p + ky;
              const ix = xx * s - p + kx;
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
              m = Math.max(m, X[iy * W + ix]!);
              acc += X[iy * W + ix]!;
            }
          mx.push(m);
          av.push(acc / (k * k));
        }
      assertClose(f64(maxPool2d(x, k, s, p)), mx, { atol: 0, rtol: 0 });
      assertClose(f64(avgPool2d(x, k, s, p)), av, { rtol: 1e-14, atol: 1e-15 });
    });
  });

  test('bilinear interpolate (align_corners false and true) vs JS', () => {
    tidy(() => {
      const [H, W, Ho, Wo] = [4, 5, 7, 3];
      const x = randn(gen, [1, 1, H, W]);
      const X = f64(x);
      for (const align of [false, true]) {
        const src = (o: number, nIn: number, nOut: number): number => {
          if (align) return nOut > 1 ? (o * (nIn - 1)) / (nOut - 1) : 0;
          return Math.max(0, ((o + 0.5) * nIn) / nOut - 0.5);
        };
        const ref: number[] = [];
        for (let y = 0; y < Ho; y++)
          for (let xx = 0; xx < Wo; xx++) {
            const sy = src(y, H, Ho);
            const sx = src(xx, W, Wo);
            const y0 = Math.min(Math.floor(sy), H - 1);
            const x0 = Math.min(Math.floor(sx), W - 1);
            const y1 = Math.min(y0 + 1, H - 1);
            const x1 = Math.min(x0 + 1, W - 1);
            const fy = sy - y0;
            const fx = sx - x0;
            const at = (r: number, c: number) => X[r * W + c]!;
            ref.push((1 - fy) * ((1 - fx) * at(y0, x0) + fx * at(y0, x1)) + fy * ((1 - fx) * at(y1, x0) + fx * at(y1, x1)));
          }
        assertClose(f64(interpolate(x, [Ho, Wo], 'bilinear', align)), ref, { rtol: 1e-12, atol: 1e-12, what: `align_corners ${align}` });
      }
    });
  });

  test('group_norm vs JS (biased variance, eps, affine)', () => {
    tidy(() => {
      const [N, C, H, W, G] = [2, 4, 3, 2, 2];
      const x = randn(gen, [N, C, H, W]);
      const w = randn(gen, [C]);
      const b = randn(gen, [C]);
      const X = f64(x);
      const Wv = f64(w);
      const Bv = f64(b);
      const per = (C / G) * H * W;
      const ref = new Float64Array(X.length);
      for (let n = 0; n < N; n++)
        for (let g = 0; g < G; g++) {
          const off = (n * C + g * (C / G)) * H * W;
          let m = 0;
          for (let i = 0; i < per; i++) m += X[off + i]!;
          m /= per;
          let v = 0;
          for (let i = 0; i < per; i++) v += (X[off + i]! - m) ** 2;
          v /= per;
          for (let i = 0; i < per; i++) {
            const c = g * (C / G) + Math.floor(i / (H * W));
            ref[off + i] = ((X[off + i]! - m) / Math.sqrt(v + 1e-5)) * Wv[c]! + Bv[c]!;
          }
        }
      assertClose(f64(groupNorm(x, G, w, b)), ref, { rtol: 1e-12, atol: 1e-12 });
    });
  });

  test('dtypes: integer arithmetic stays integer, float32 round-trips, bool comparisons', () => {
    tidy(() => {
      const i = tensor([1, 2, 3], [3], { dtype: 'int64' });
      const j = i.add(2).mul(3);
      assert.equal(j.dtype, 'int64');
      assert.deepEqual(j.toArray(), [9, 12, 15]);
      const f = tensor(new Float32Array([0.1, -2.5, 3e-8]));
      assert.equal(f.dtype, 'float32');
      assert.deepEqual(Array.from(f.data() as Float32Array), Array.from(new Float32Array([0.1, -2.5, 3e-8])));
      const c = f.gt(0);
      assert.equal(c.dtype, 'bool');
      assert.deepEqual(c.toArray(), [1, 0, 1]);
      assert.equal(tensor([2.5], [], { dtype: 'float64' }).item(), 2.5);
    });
  });
});
