// PSFs from Zernike coefficients, checked against independent truths: the analytic Airy pattern, the shift
// theorem (tilts), the twin-image symmetry, the OTF's support, the direction of coma, the full-FFT path, finite
// differences; the share of the energy inside the window against the Airy pattern's and geometric optics.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { fft2, Generator, liveTensors, tensor, tidy, zeros, type Tensor } from '../../src/engine/index.js';
import { PsfidError } from '../../src/errors.js';
import { nollToNM, psfFromZernike, psfFullGrid, psfWindowEnergies, psfWindowEnergy, randomTheta, resolveOptics, type Optics } from '../../src/optics/index.js';
import { airyPattern, airyWindowShare, besselJ1, relL2 } from './oracles.js';

const f64 = { dtype: 'float64' as const };

function rel(a: Tensor, b: Tensor): number {
  return tidy(() => a.sub(b).norm().item() / b.norm().item());
}

function throwsParam(fn: () => unknown, param: string): void {
  assert.throws(fn, (e: unknown) => e instanceof PsfidError && e.param === param);
}

/** h[b] as a JS 2-D accessor. */
function grid(h: Tensor, b = 0): (y: number, x: number) => number {
  const s = h.size(-1);
  const d = h.select(0, b).data() as Float64Array;
  return (y, x) => d[y * s + x]!;
}

describe('PSF: the diffraction limit', () => {
  test('the Bessel oracle: J1(1) = 0.4400505857, first zero at 3.8317', () => {
    assert.ok(Math.abs(besselJ1(1) - 0.4400505857) < 1e-10);
    assert.ok(Math.abs(besselJ1(3.8317059702)) < 1e-9);
    assert.ok(besselJ1(3.8) > 0 && besselJ1(3.86) < 0);
    assert.ok(Math.abs(besselJ1(10) - 0.04347274617) < 1e-10);
  });

  for (const fc of [0.125, 0.2, 0.25]) {
    test(`θ = 0 gives the Airy pattern [2J1(v)/v]², v = 2π·fc·r, within 0.5 % (fc = ${fc})`, () => {
      const optics = resolveOptics({ fc });
      const h = tidy(() => psfFromZernike(optics, zeros([1, 8], f64)).data() as Float64Array);
      const err = relL2(h, airyPattern(fc, optics.psfSize));
      assert.ok(err < 0.005, `relative L2 error ${err}`);
      // The anti-aliased edge does much better than the 0.5 % requirement (a hard edge gives 0.1–0.27 %).
      assert.ok(err < 0.0015, `relative L2 error ${err} (anti-aliased aperture expected ≤ 0.15 %)`);
    });
  }

  test('every PSF sums to 1 and is non-negative, both methods, float32 and float64', () => {
    const optics = resolveOptics({ fc: 0.2 });
    const gen = new Generator(1);
    for (const dtype of ['float32', 'float64'] as const) {
      for (const method of ['mft', 'fft'] as const) {
        tidy(() => {
          const h = psfFromZernike(optics, randomTheta(gen, 3, 8, 0.15, { dtype }), { method });
          assert.equal(h.dtype, dtype);
          assert.deepEqual(h.shape, [3, 31, 31]);
          for (const s of h.sum([1, 2]).toArray()) assert.ok(Math.abs(s - 1) < (dtype === 'float32' ? 1e-5 : 1e-12));
          assert.ok(h.min().item() >= 0);
        });
      }
    }
  });
});

describe('PSF: the matrix Fourier transform', () => {
  test('MFT == full FFT + crop (float64 to 1e-10, float32 to 2e-6 relative)', () => {
    const gen = new Generator(2);
    for (const fc of [0.125, 0.2, 0.25]) {
      const optics = resolveOptics({ fc, psfSize: 31, zernikeNoll: [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] });
      tidy(() => {
        const th = randomTheta(gen, 4, 14, 0.2, f64);
        assert.ok(rel(psfFromZernike(optics, th), psfFromZernike(optics, th, { method: 'fft' })) < 1e-10);
        const th32 = th.float();
        const e32 = rel(psfFromZernike(optics, th32), psfFromZernike(optics, th32, { method: 'fft' }));
        assert.ok(e32 < 2e-6, `float32 MFT vs FFT ${e32}`);
      });
    }
  });

  test('odd pupil grids, small PSFs and undersampled cut-offs agree too', () => {
    const gen = new Generator(3);
    for (const spec of [{ fc: 0.2, psfSize: 7, pupilSize: 101 }, { fc: 0.4, psfSize: 15, pupilSize: 64, allowUndersampling: true }, { fc: 0.49, psfSize: 9, pupilSize: 63, allowUndersampling: true }]) {
      const optics = resolveOptics(spec);
      tidy(() => {
        const th = randomTheta(gen, 2, 8, 0.2, f64);
        assert.ok(rel(psfFromZernike(optics, th), psfFromZernike(optics, th, { method: 'fft' })) < 1e-10, JSON.stringify(spec));
      });
    }
  });

  test('per-sample cut-offs: equal fc reproduces the fixed path; a mixed batch equals one call per fc', () => {
    const gen = new Generator(4);
    const optics = resolveOptics({ fc: 0.25 });
    tidy(() => {
      const th = randomTheta(gen, 3, 8, 0.15, f64);
      assert.ok(rel(psfFromZernike(optics, th, { fc: [0.25, 0.25, 0.25] }), psfFromZernike(optics, th)) < 1e-10);
      const fcs = [0.125, 0.19, 0.25];
      const mixed = psfFromZernike(optics, th, { fc: tensor(fcs, [3], f64) });
      const mixedFft = psfFromZernike(optics, th, { fc: fcs, method: 'fft' });
      fcs.forEach((fc, i) => {
        const one = psfFromZernike(resolveOptics({ fc }), th.narrow(0, i, 1));
        assert.ok(rel(mixed.narrow(0, i, 1), one) < 1e-10, `sample ${i}`);
        assert.ok(rel(mixedFft.narrow(0, i, 1), one) < 1e-10, `sample ${i} (fft)`);
      });
      // float32: the monomial phases stay accurate when the batch spans fc 0.125–0.25.
      const m32 = psfFromZernike(optics, th.float(), { fc: fcs });
      assert.ok(rel(m32, mixed.float()) < 1e-5, `float32 per-sample ${rel(m32, mixed.float())}`);
    });
  });
});

describe('PSF: symmetries and the conventions', () => {
  test('twin image: flipping the sign of every even-n coefficient leaves h unchanged', () => {
    const noll = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 16];
    const optics = resolveOptics({ fc: 0.2, zernikeNoll: noll });
    const flip = tensor(noll.map((j) => (nollToNM(j).n % 2 === 0 ? -1 : 1)), [noll.length], f64);
    tidy(() => {
      const th = randomTheta(new Generator(5), 4, noll.length, 0.2, f64);
      const h = psfFromZernike(optics, th);
      assert.ok(rel(psfFromZernike(optics, th.mul(flip)), h) < 1e-12);
      // … while flipping every sign is not a symmetry (coma/trefoil mirror the PSF).
      assert.ok(rel(psfFromZernike(optics, th.neg()), h) > 1e-3);
    });
  });

  test('the OTF (|FFT| of h on the full P grid) vanishes beyond 2·fc (+ the anti-aliased edge’s √2 samples)', () => {
    for (const fc of [0.125, 0.2]) {
      const optics = resolveOptics({ fc });
      const p = optics.pupilSize;
      const otf = tidy(() => {
        const h = psfFullGrid(optics, randomTheta(new Generator(6), 1, 8, 0.15, f64));
        assert.ok(Math.abs(h.sum().item() - 1) < 1e-12);
        return fft2(h.select(0, 0)).abs().data() as Float64Array;
      });
      let outside = 0;
      let nearEdge = 0;
      for (let ky = 0; ky < p; ky++) {
        for (let kx = 0; kx < p; kx++) {
          const fy = ky < p / 2 ? ky : ky - p; // FFT order: offsets 0 … P/2−1, −P/2 … −1
          const fx = kx < p / 2 ? kx : kx - p;
          const r = Math.hypot(fx, fy);
          const v = otf[ky * p + kx]!;
          if (r > 2 * fc * p + Math.SQRT2) outside = Math.max(outside, v);
          if (r > 1.8 * fc * p && r < 1.9 * fc * p) nearEdge = Math.max(nearEdge, v);
        }
      }
      assert.ok(Math.abs(otf[0]! - 1) < 1e-12, 'OTF(0) = Σh = 1');
      assert.ok(outside < 1e-12, `OTF beyond 2fc: ${outside}`);
      assert.ok(nearEdge > 1e-4, `OTF just inside 2fc should not vanish: ${nearEdge}`);
    }
  });

  test('tilts move the PSF by the shift theorem: θ2 = fc/2 one column LEFT (−x), θ3 = fc/2 one row UP (−y)', () => {
    // Z2 = 2·fx/fc, so the pupil phase −2πi·θ2·Z2 = −2πi·fx·(2θ2/fc) shifts the amplitude by −2θ2/fc pixels in x.
    const fc = 0.2;
    const optics = resolveOptics({ fc, zernikeNoll: [2, 3] });
    tidy(() => {
      const h = psfFromZernike(optics, tensor([0, 0, fc / 2, 0, 0, fc / 2], [3, 2], f64));
      const s = optics.psfSize;
      const ratio = (a: (y: number, x: number) => number, b: (y: number, x: number) => number, dy: number, dx: number): number => {
        // a(y, x) vs b(y + dy, x + dx) on the common region, each renormalised on it.
        let sa = 0;
        let sb = 0;
        let err = 0;
        const ys = [...Array(s).keys()].filter((y) => y + dy >= 0 && y + dy < s);
        const xs = [...Array(s).keys()].filter((x) => x + dx >= 0 && x + dx < s);
        for (const y of ys) for (const x of xs) { sa += a(y, x); sb += b(y + dy, x + dx); }
        for (const y of ys) for (const x of xs) err = Math.max(err, Math.abs(a(y, x) / sa - b(y + dy, x + dx) / sb));
        return err;
      };
      const h0 = grid(h, 0);
      const c = Math.floor(s / 2);
      // Shifted left by one: h_tilt(y, x) = h0(y, x + 1); the peak sits at column c − 1.
      assert.ok(ratio(grid(h, 1), h0, 0, 1) < 1e-12);
      assert.ok(grid(h, 1)(c, c - 1) > grid(h, 1)(c, c + 1));
      assert.ok(ratio(grid(h, 2), h0, 1, 0) < 1e-12);
      assert.ok(grid(h, 2)(c - 1, c) > grid(h, 2)(c + 1, c));
    });
  });

  test('horizontal coma (Noll 8, θ > 0) throws its tail toward −x (left) and keeps the PSF symmetric in y', () => {
    // With pupil exp(−2πi·W(f)) and amplitude Σ_f p(f)·exp(−2πi f·x), stationary phase puts the ray from pupil point
    // f at x = −∇_f W = −(1/fc)·∇_u W (u = f/fc). For W = θ·√8·(3ρ² − 2)·u: ∂W/∂u = θ√8·(3ρ² + 6u² − 2), which is
    // −2θ√8 near the centre (paraxial rays land right of the axis) but θ√8·(1 + 6u²) > 0 on the rim (marginal rays
    // land LEFT, up to 7√8·θ/fc away): the comatic flare points to −x. Its mean over the disk is θ√8, so the
    // centroid sits at −√8·θ/fc (less inside a finite crop). Z8 is even in y, so h(x, y) = h(x, −y); and
    // Z8(−u, v) = −Z8(u, v), so θ → −θ mirrors h in x exactly.
    for (const fc of [0.125, 0.25]) {
      const optics = resolveOptics({ fc, zernikeNoll: [8] });
      const s = optics.psfSize;
      const c = Math.floor(s / 2);
      tidy(() => {
        const h = psfFromZernike(optics, tensor([0.1, -0.1], [2, 1], f64));
        const a = grid(h, 0);
        const b = grid(h, 1);
        let cx = 0;
        let cy = 0;
        let left = 0;
        let right = 0;
        let asymY = 0;
        let mirror = 0;
        for (let y = 0; y < s; y++) {
          for (let x = 0; x < s; x++) {
            cx += (x - c) * a(y, x);
            cy += (y - c) * a(y, x);
            if (x < c) left += a(y, x);
            if (x > c) right += a(y, x);
            asymY = Math.max(asymY, Math.abs(a(y, x) - a(s - 1 - y, x)));
            mirror = Math.max(mirror, Math.abs(a(y, x) - b(y, s - 1 - x)));
          }
        }
        const predicted = (-Math.sqrt(8) * 0.1) / fc;
        assert.ok(cx < 0 && cx > predicted, `centroid x ${cx} should lie in (${predicted}, 0)`);
        assert.ok(left > 1.2 * right, `left ${left} vs right ${right}`);
        assert.ok(Math.abs(cy) < 1e-12 && asymY < 1e-12);
        assert.ok(mirror < 1e-12, 'θ8 → −θ8 mirrors the PSF in x');
      });
    }
  });
});

describe('PSF: gradients', () => {
  const cases: { name: string; fc?: number[]; method?: 'mft' | 'fft' }[] = [
    { name: 'mft, fixed fc' },
    { name: 'mft, per-sample fc', fc: [0.14, 0.23] },
    { name: 'fft', method: 'fft' },
  ];
  for (const c of cases) {
    test(`dL/dθ by autograd matches central finite differences (float64, ${c.name})`, () => {
      const optics = resolveOptics({ fc: 0.2, psfSize: 15, pupilSize: 64 });
      tidy(() => {
        const gen = new Generator(8);
        const th0 = randomTheta(gen, 2, 8, 0.15, f64);
        const w = randomTheta(gen, 2, 15 * 15, 1, f64).reshape([2, 15, 15]);
        const loss = (th: Tensor): Tensor => psfFromZernike(optics, th, { fc: c.fc, method: c.method }).mul(w).sum();
        const th = th0.clone().requiresGrad_();
        loss(th).backward();
        const grad = th.grad!.data() as Float64Array;
        const base = th0.data() as Float64Array;
        const eps = 1e-6;
        let worst = 0;
        for (let k = 0; k < base.length; k++) {
          const plus = Float64Array.from(base);
          const minus = Float64Array.from(base);
          plus[k]! += eps;
          minus[k]! -= eps;
          const fd = (loss(tensor(plus, [2, 8])).item() - loss(tensor(minus, [2, 8])).item()) / (2 * eps);
          worst = Math.max(worst, Math.abs(fd - grad[k]!) / Math.max(1e-3, Math.abs(fd)));
        }
        assert.ok(worst < 1e-6, `worst relative gradient error ${worst}`);
      });
    });
  }
});

describe('PSF: the share of the energy inside the S × S window', () => {
  const noll = [2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  const share = (fc: number, waves: Record<number, number>, pupilSize = 256): number =>
    tidy(() => psfWindowEnergy(resolveOptics({ fc, pupilSize, zernikeNoll: noll }), tensor(noll.map((j) => waves[j] ?? 0), [1, noll.length], f64)).item());

  test('θ = 0: the Airy pattern’s share of the 31² window (0.970 at fc 0.2), approached as the P-periodic grid widens', () => {
    const truth = airyWindowShare(0.2, 31);
    assert.ok(Math.abs(truth - 0.9704) < 1e-4, `oracle ${truth}`);
    // The P-pixel periodic grid holds the Airy tails only out to ~P/2 pixels: the share is a little larger, ~1/P.
    const coarse = share(0.2, {});
    const fine = share(0.2, {}, 1024);
    assert.ok(coarse > truth && coarse - truth < 0.01, `P = 256: ${coarse} vs ${truth}`);
    assert.ok(fine > truth && fine - truth < 2e-3, `P = 1024: ${fine} vs ${truth}`);
  });

  test('a tilt moves the Airy pattern 2θ/fc pixels: its share equals the analytic share of the shifted window', () => {
    for (const [j, waves] of [[2, 1.5], [3, -1.5], [2, 3]] as const) {
      const got = share(0.2, { [j]: waves });
      const truth = airyWindowShare(0.2, 31, (2 * Math.abs(waves)) / 0.2);
      assert.ok(Math.abs(got - truth) < 0.01, `Noll ${j} ${waves} waves: ${got} vs ${truth}`);
    }
  });

  test('strong defocus: the geometric-optics disk of radius 4√3·θ/fc pixels holds S²/(πR²) in the window', () => {
    for (const waves of [1, 2]) {
      const r = (4 * Math.sqrt(3) * waves) / 0.2;
      const truth = (31 * 31) / (Math.PI * r * r);
      const got = share(0.2, { 4: waves });
      assert.ok(Math.abs(got / truth - 1) < 0.08, `defocus ${waves} waves: ${got} vs ${truth}`);
    }
  });

  test('several sides at once: non-decreasing with the side, equal to one side at a time; bad sides refused', () => {
    tidy(() => {
      const optics = resolveOptics({ fc: 0.15, psfSize: 15, pupilSize: 128 });
      const th = tensor([0.3, 0.1, -0.1, 0.05, 0, 0, 0, 0.1, 0.2, -0.1, 0.05, 0, 0, 0.1, 0, 0], [2, 8], f64);
      const many = psfWindowEnergies(optics, th, [15, 31, 63, 127]).toArray() as number[];
      const one = psfWindowEnergy(optics, th).toArray() as number[];
      for (let b = 0; b < 2; b++) {
        assert.ok(Math.abs(many[b * 4]! - one[b]!) < 1e-12);
        for (let k = 1; k < 4; k++) assert.ok(many[b * 4 + k]! >= many[b * 4 + k - 1]!);
        assert.ok(many[b * 4 + 3]! > 0.99 && many[b * 4 + 3]! <= 1 + 1e-12);
      }
      throwsParam(() => psfWindowEnergies(optics, th, [16]), 'psfSize');
      throwsParam(() => psfWindowEnergies(optics, th, [129]), 'psfSize');
    });
  });
});

describe('PSF: inputs and resources', () => {
  const optics: Optics = resolveOptics({ fc: 0.2 });

  test('bad θ, per-sample fc and method are refused naming the parameter', () => {
    tidy(() => {
      throwsParam(() => psfFromZernike(optics, zeros([2, 7])), 'theta');
      throwsParam(() => psfFromZernike(optics, zeros([8])), 'theta');
      throwsParam(() => psfFromZernike(optics, zeros([2, 8], { dtype: 'int64' })), 'theta');
      throwsParam(() => psfFromZernike(optics, zeros([2, 8]), { fc: [0.2, 0.3] }), 'fc[1]');
      throwsParam(() => psfFromZernike(optics, zeros([2, 8]), { fc: [0.2] }), 'fc');
      throwsParam(() => psfFromZernike(optics, zeros([2, 8]), { method: 'dft' as 'fft' }), 'method');
      throwsParam(() => randomTheta(new Generator(0), 2, 8, -0.1), 'thetaMax');
      throwsParam(() => randomTheta(new Generator(0), 2, 8, [0.1]), 'thetaMax');
    });
  });

  test('randomTheta: U[−θmax, θmax] per row, reproducible from the seed', () => {
    tidy(() => {
      const a = randomTheta(new Generator(9), 4, 2000, [0.02, 0.05, 0.1, 0.15], f64);
      const b = randomTheta(new Generator(9), 4, 2000, tensor([0.02, 0.05, 0.1, 0.15], [4], f64), f64);
      assert.deepEqual(a.toArray(), b.toArray());
      const amax = a.abs().amax(1).toArray();
      [0.02, 0.05, 0.1, 0.15].forEach((m, i) => assert.ok(amax[i]! <= m && amax[i]! > 0.99 * m));
      assert.ok(Math.abs(a.mean().item()) < 0.005);
    });
  });

  test('repeated calls leak no tensors (bases are cached once)', () => {
    const gen = new Generator(10);
    const th = randomTheta(gen, 2, 8, 0.1);
    const run = (): void => {
      tidy(() => void psfFromZernike(optics, th));
      tidy(() => void psfFromZernike(optics, th, { fc: [0.2, 0.15] }));
      tidy(() => void psfFromZernike(optics, th, { method: 'fft' }));
    };
    run(); // warm the caches
    const before = liveTensors();
    for (let i = 0; i < 3; i++) run();
    assert.equal(liveTensors(), before);
    th.dispose();
  });
});
