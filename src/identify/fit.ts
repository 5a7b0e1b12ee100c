// Zernike coefficients fitted through the differentiable optics: the Zernike readout of an estimated PSF, and the
// classical baselines of the evaluation (oracle fit with the sharp image known; blind alternating minimisation
// with a total-variation image prior).
//
// Sign rule (twin-image ambiguity): flipping every even-n coefficient (defocus, astigmatism, spherical…) leaves the
// PSF unchanged, so a PSF determines θ only up to that flip. We report the member of the pair whose defocus
// (Noll 4; or the first even-n mode in the active set) is ≥ 0.
import { Adam, Generator, noGrad, tensor, tidy, keep, uniform, type Tensor } from '../engine/index.js';
import { nollToNM, psfFromZernike, type Optics } from '../optics/index.js';
import { blur } from '../acquisition/index.js';

export interface FitOptions {
  /** Adam iterations per start. */
  iterations?: number;
  /** Adam learning rate (waves per step). */
  lr?: number;
  /** Random starts per sample (U[−start, start]); the best start per sample is kept. */
  starts?: number;
  startAmplitude?: number;
  seed?: number;
}

export interface FitResult {
  /** [B, K] waves, under the sign rule. */
  theta: Tensor;
  /** The fitted PSFs h(θ) [B, S, S]. */
  psf: Tensor;
  /** Final objective per sample. */
  loss: number[];
}

/** Applies the sign rule: rows whose reference even mode is negative get every even-n coefficient negated. */
export function applySignRule(optics: Optics, theta: Tensor): Tensor {
  const noll = optics.zernikeNoll;
  const even = noll.map((j) => nollToNM(j).n % 2 === 0);
  const ref = noll.indexOf(4) >= 0 ? noll.indexOf(4) : even.indexOf(true);
  if (ref < 0) return theta.clone();
  return tidy(() => {
    const flip = theta.select(1, ref).lt(0); // [B]
    const evenMask = tensor(even.map((e) => (e ? 1 : 0)), [1, noll.length], { dtype: theta.dtype, device: theta.device });
    const factor = evenMask.mul(flip.to({ dtype: theta.dtype }).unsqueeze(1)).mul(-2).add(1); // −1 on flipped even modes
    return theta.mul(factor);
  });
}

/**
 * Minimises a per-sample objective over θ [B, K] with Adam from several random starts, keeping each sample's best.
 * `objective(theta [B·starts, K], rows)` returns the loss per row [B·starts]; rows index the original samples.
 */
export function fitTheta(optics: Optics, batch: number, objective: (theta: Tensor, rows: number[]) => Tensor, opts: FitOptions = {}, device = 'cpu'): { theta: Tensor; loss: number[] } {
  const starts = opts.starts ?? 4;
  const iterations = opts.iterations ?? 150;
  const k = optics.zernikeNoll.length;
  const rows = Array.from({ length: batch * starts }, (_, i) => i % batch);
  const gen = new Generator(opts.seed ?? 0);
  const theta = keep(uniform(gen, [batch * starts, k], { low: -(opts.startAmplitude ?? 0.05), high: opts.startAmplitude ?? 0.05, device }));
  gen.dispose();
  theta.requiresGrad = true;
  const adam = new Adam([theta], { lr: opts.lr ?? 0.01 });
  for (let it = 0; it < iterations; it++) {
    tidy(() => {
      const loss = objective(theta, rows).sum();
      loss.backward();
      adam.step();
      adam.zeroGrad();
    });
  }
  const result = noGrad(() =>
    tidy(() => {
      const final = objective(theta, rows).toArray();
      const best: number[] = Array.from({ length: batch }, () => -1);
      final.forEach((l, i) => {
        const b = rows[i]!;
        if (best[b]! < 0 || l < final[best[b]!]!) best[b] = i;
      });
      const picked = theta.indexSelect(0, tensor(best, [batch], { dtype: 'int64', device }));
      return { theta: picked.detach(), loss: best.map((i) => final[i]!) };
    }),
  );
  adam.dispose();
  theta.dispose();
  return result;
}

const repeatRows = (t: Tensor, rows: number[]): Tensor => t.indexSelect(0, tensor(rows, [rows.length], { dtype: 'int64', device: t.device }));

/** The Noll coefficients whose PSF best explains `target` [B, S, S] (least squares on the PSF), sign rule applied. */
export function fitZernikeToPsf(optics: Optics, target: Tensor, fc: number[], opts: FitOptions = {}): FitResult {
  const batch = target.size(0);
  const scale = noGrad(() => target.amax([1, 2]).toArray()); // normalise so every sample weighs the same
  const { theta, loss } = fitTheta(
    optics,
    batch,
    (th, rows) => {
      const h = psfFromZernike(optics, th, { fc: rows.map((r) => fc[r]!) });
      const t = repeatRows(target, rows);
      const w = tensor(rows.map((r) => 1 / scale[r]! ** 2), [rows.length], { device: th.device });
      return h.sub(t).square().mean([1, 2]).mul(w);
    },
    opts,
    target.device,
  );
  return finish(optics, theta, fc, loss);
}

function finish(optics: Optics, theta: Tensor, fc: number[], loss: number[]): FitResult {
  return noGrad(() => {
    const signed = applySignRule(optics, theta);
    theta.dispose();
    return { theta: signed, psf: psfFromZernike(optics, signed, { fc }), loss };
  });
}

/** Oracle baseline: θ fitted with the sharp crops x [B, 1, N, N] known, min ‖h(θ) ⋆ x − y‖² (valid region). */
export function fitOracle(optics: Optics, x: Tensor, y: Tensor, fc: number[], opts: FitOptions = {}): FitResult {
  const batch = x.size(0);
  const { theta, loss } = fitTheta(
    optics,
    batch,
    (th, rows) => {
      const h = psfFromZernike(optics, th, { fc: rows.map((r) => fc[r]!) });
      return blur(repeatRows(x, rows), h, 'valid').sub(repeatRows(y, rows)).square().mean([1, 2, 3]);
    },
    opts,
    x.device,
  );
  return finish(optics, theta, fc, loss);
}

export interface BlindFitOptions extends FitOptions {
  /** Outer alternations. */
  rounds?: number;
  /** Weight of the (smoothed) total variation of x. */
  tv?: number;
  /** Starting θ [B, K] (e.g. a network's estimate) instead of random starts; `starts` is then ignored. */
  init?: Tensor;
}

/** Smoothed isotropic total variation per sample of x [B, 1, H, W]. */
function totalVariation(x: Tensor): Tensor {
  const dx = x.narrow(3, 1, x.size(3) - 1).sub(x.narrow(3, 0, x.size(3) - 1)).narrow(2, 0, x.size(2) - 1);
  const dy = x.narrow(2, 1, x.size(2) - 1).sub(x.narrow(2, 0, x.size(2) - 1)).narrow(3, 0, x.size(3) - 1);
  return dx.square().add(dy.square()).add(1e-6).sqrt().mean([1, 2, 3]);
}

/**
 * Classical blind baseline: alternating minimisation of ‖h(θ) ⋆ x − y‖² + τ·TV(x) over the image x (initialised
 * by reflect-padding y) and θ, each block by Adam, from several θ starts. Uses no network and no training data.
 */
export function fitBlind(optics: Optics, y: Tensor, fc: number[], opts: BlindFitOptions = {}): FitResult {
  const batch = y.size(0);
  const starts = opts.init ? 1 : (opts.starts ?? 2);
  const rounds = opts.rounds ?? 30;
  const tau = opts.tv ?? 2e-4;
  const s = optics.psfSize;
  const half = Math.floor(s / 2);
  const rows = Array.from({ length: batch * starts }, (_, i) => i % batch);
  const yRep = keep(repeatRows(y, rows));
  const x = keep(noGrad(() => yRep.pad([half, s - 1 - half, half, s - 1 - half], 'replicate').clone()));
  x.requiresGrad = true;
  const gen = new Generator(opts.seed ?? 0);
  const theta = keep(opts.init ? opts.init.detach().clone() : uniform(gen, [rows.length, optics.zernikeNoll.length], { low: -0.05, high: 0.05, device: y.device }));
  gen.dispose();
  theta.requiresGrad = true;
  const fcRows = rows.map((r) => fc[r]!);
  const optX = new Adam([x], { lr: 0.01 });
  const optT = new Adam([theta], { lr: opts.lr ?? 0.01 });
  const objective = (): Tensor => {
    const h = psfFromZernike(optics, theta, { fc: fcRows });
    return blur(x, h, 'valid').sub(yRep).square().mean([1, 2, 3]).add(totalVariation(x).mul(tau));
  };
  for (let r = 0; r < rounds; r++) {
    for (const [opt, n] of [[optX, 5], [optT, 5]] as const) {
      for (let i = 0; i < n; i++) {
        tidy(() => {
          objective().sum().backward();
          opt.step();
          optX.zeroGrad();
          optT.zeroGrad();
        });
      }
    }
  }
  const result = noGrad(() =>
    tidy(() => {
      const final = objective().toArray();
      const best: number[] = Array.from({ length: batch }, () => -1);
      final.forEach((l, i) => {
        const b = rows[i]!;
        if (best[b]! < 0 || l < final[best[b]!]!) best[b] = i;
      });
      return { theta: theta.indexSelect(0, tensor(best, [batch], { dtype: 'int64', device: y.device })).detach(), loss: best.map((i) => final[i]!) };
    }),
  );
  for (const t of [x, theta, yRep]) t.dispose();
  optX.dispose();
  optT.dispose();
  return finish(optics, result.theta, fc, result.loss);
}

