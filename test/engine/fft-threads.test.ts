// The threaded 2-D real FFTs (native/psfid_torch.cc, "Threaded 2-D real FFTs"): on the CPU with more than one
// engine thread, rfft2/irfft2 of grids of ≥ 2¹⁶ pixels split their 1-D passes across threads. They must be the
// transforms torch.fft.rfft2/irfft2 define: checked against the full complex DFT (fft2, libtorch's c2c path, one call),
// against the inverse, and against libtorch's own rfft2/irfft2 operators, for batches, odd sizes, every norm, and an
// irfft2 whose `s` crops or pads the column spectra. Thread count 2 is forced (OpenMP runs 2 threads on one core too).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { complex, fft2, Generator, getNumThreads, irfft2, rfft2, setNumThreads, tidy, type Tensor } from '../../src/engine/index.js';
import { call } from '../../src/engine/tensor.js';
import { assertClose, randn } from './helpers.js';

const gen = new Generator(7);
const f64 = (t: Tensor): Float64Array => t.contiguous().data() as Float64Array;
const maxAbs = (t: Tensor): number => t.abs().max().item();
type Norm = 'backward' | 'forward' | 'ortho';

describe('threaded rfft2/irfft2 (2 threads, grids ≥ 2¹⁶ pixels)', () => {
  let threads = 1;
  before(() => {
    threads = getNumThreads();
    setNumThreads(2);
  });
  after(() => setNumThreads(threads));

  for (const [shape, norm] of [
    [[2, 1, 270, 301], 'backward'],
    [[257, 512], 'ortho'],
    [[3, 256, 257], 'forward'],
  ] as [number[], Norm][]) {
    test(`rfft2 of ${shape.join('×')} (${norm}) is the non-negative-frequency half of the complex DFT`, () => {
      tidy(() => {
        const x = randn(gen, shape);
        const W = shape.at(-1)!;
        const R = rfft2(x, null, norm);
        assert.deepEqual(R.shape, [...shape.slice(0, -1), Math.floor(W / 2) + 1]);
        const full = fft2(complex(x, x.mul(0)), null, norm).narrow(-1, 0, Math.floor(W / 2) + 1);
        const ref = f64(full.viewAsReal());
        assertClose(f64(R.viewAsReal()), ref, { rtol: 1e-10, atol: 1e-10 * maxAbs(full) });
        // and libtorch's operator itself, which runs the same 1-D transforms on one thread
        assertClose(f64(R.viewAsReal()), f64(call('fft_rfft2', x, null, [-2, -1], norm).viewAsReal()), { rtol: 1e-12, atol: 1e-12 });
        // the inverse recovers x (odd sizes need s)
        assertClose(f64(irfft2(R, [shape.at(-2)!, W], norm)), f64(x), { rtol: 1e-10, atol: 1e-12 });
      });
    });
  }

  test('float32 agrees with float64 to float32 rounding; Parseval holds', () => {
    tidy(() => {
      const x = randn(gen, [512, 300]);
      const R32 = rfft2(x.float());
      assert.equal(R32.dtype, 'complex64');
      const R = rfft2(x);
      const scale = maxAbs(R);
      assertClose(f64(R32.viewAsReal().double()), f64(R.viewAsReal()), { atol: 1e-5 * scale });
      // Σx² = (|X₀|² + 2Σ_{0<k<W/2}|X_k|² + |X_{W/2}|²) / (H·W) for even W
      const p = R.abs().square();
      const half = p.narrow(-1, 0, 1).sum().item() + p.narrow(-1, 150, 1).sum().item() + 2 * p.narrow(-1, 1, 149).sum().item();
      const energy = x.square().sum().item();
      assert.ok(Math.abs(half / (512 * 300) - energy) <= 1e-10 * energy, `${half / (512 * 300)} vs ${energy}`);
    });
  });

  test('irfft2 with an `s` that crops or zero-pads the column spectra matches libtorch’s irfft2', () => {
    tidy(() => {
      const R = rfft2(randn(gen, [300, 300]));
      for (const s of [[256, 300], [320, 300], [300, 299], [300, 512]] as [number, number][]) {
        const mine = irfft2(R, s);
        const ref = call('fft_irfft2', R, s, [-2, -1], 'backward');
        assert.deepEqual(mine.shape, s);
        assertClose(f64(mine), f64(ref), { rtol: 1e-10, atol: 1e-12, what: `s = ${s.join('×')}` });
      }
    });
  });

  test('a tensor that records gradients takes libtorch’s operator, and its gradient is the adjoint', () => {
    tidy(() => {
      const x = randn(gen, [256, 260]).requiresGrad_();
      const y = randn(gen, [256, 260]);
      // ⟨irfft2(rfft2(x)·1), y⟩ = ⟨x, y⟩, so the gradient with respect to x is y
      irfft2(rfft2(x), [256, 260]).mul(y).sum().backward();
      assertClose(f64(x.grad!), f64(y), { rtol: 1e-10, atol: 1e-10 });
    });
  });
});
