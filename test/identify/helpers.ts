// The synthetic identification cases shared by identify.test.ts and scripts/analysis/gain-over-mean.mjs (which
// measures any model file the way the test measures the shipped one).
import { Generator, noGrad, tensor, tidy, zeros } from '../../src/engine/index.js';
import { blur, gaussianNoise } from '../../src/acquisition/index.js';
import { psfFromZernike, resolveOptics } from '../../src/optics/index.js';
import { psnrPsf } from '../../src/evaluate/metrics.js';
import { identifyImage, identifyImageGrid } from '../../src/identify/pipeline.js';
import type { IdentifyOptions } from '../../src/identify/identify.js';
import { gridBlurOperator } from '../../src/deconv/index.js';
import type { Identifier } from '../../src/model/identifier.js';
import { demoSpecimen } from '../../src/demo/scene.js';

export const fc = 0.2;
export const optics = resolveOptics({ fc, psfSize: 31 });

/**
 * A size² observation: the specimen ((size + 30)², default the demo specimen of `seed`) blurred by h(θ) (valid
 * region) with Gaussian noise σ (default 0.002, a little) drawn from `seed`.
 */
export function observe(
  theta: number[],
  seed: number,
  size = 256,
  opts: { specimen?: Float32Array; sigma?: number } = {},
): { y: Float32Array; h: ReturnType<typeof psfFromZernike> } {
  return noGrad(() => {
    const h = psfFromZernike(optics, tensor(theta, [1, 8]));
    const y = tidy(() => {
      const x = tensor(opts.specimen ?? demoSpecimen(seed, size + 30), [1, 1, size + 30, size + 30]);
      const gen = new Generator(seed);
      const out = gaussianNoise(gen, blur(x, h, 'valid'), opts.sigma ?? 0.002).data() as Float32Array;
      gen.dispose();
      return out;
    });
    return { y, h };
  });
}

/** Three known aberrations (Noll 4–11, waves), identified at θmax = 0.12. */
export const CASES = [
  [0.12, 0.03, -0.06, 0.02, 0.04, 0, 0.02, 0.03],
  [-0.1, -0.05, 0.08, -0.04, 0.0, 0.03, 0, -0.02],
  [0.06, 0.08, 0.0, 0.05, -0.05, -0.02, 0.03, 0.04],
];

/** identify's patching options (its defaults when empty): what the analysis scripts vary. */
export type Patching = Pick<IdentifyOptions, 'patchSize' | 'maxPatches' | 'patchOverlap' | 'augment'>;

/** Mean PSNR(ĥ) gain of `identify` with `model` over the mean PSF (θ = 0) on CASES; each case is reported. */
export function gainOverMeanPsf(model: Identifier, report: (msg: string) => void, patching: Patching = {}): number {
  let gain = 0;
  for (const [k, theta] of CASES.entries()) {
    const { y, h } = observe(theta, 100 + k);
    const { psf } = identifyImage(model, y, 256, 256, { fc, thetaMax: 0.12, ...patching });
    const mean = noGrad(() => psfFromZernike(optics, zeros([1, 8])));
    const [net, base] = noGrad(() => [psnrPsf(psf.unsqueeze(0), h).item(), psnrPsf(mean, h).item()]);
    report(`case ${k}: network ${net.toFixed(2)} dB, mean PSF ${base.toFixed(2)} dB`);
    gain += (net - base) / CASES.length;
  }
  return gain;
}

/**
 * Known spatially varying fields on 2 × 2 tiles (Noll 4–11 in waves for the left and the right column; the grid
 * operator blends neighbouring tiles' PSFs). OFF_AXIS: astigmatism and coma whose orientation changes across the
 * field, as off-axis aberrations of an objective do. DEFOCUS: strong defocus on the left, nearly none on the right
 * (field curvature).
 */
export const GRID_FIELDS = {
  offAxis: { left: [0.06, 0, 0.1, 0, 0.06, 0, 0, 0], right: [0.06, 0.1, 0, 0.06, 0, 0, 0, 0] },
  defocus: { left: [0.14, 0, 0, 0, 0, 0, 0, 0], right: [0.01, 0, 0, 0, 0, 0, 0, 0] },
};

/**
 * A field of GRID_FIELDS on a 384² demo specimen with a little noise (σ 0.002): mean PSNR(ĥ) over the four tiles
 * of a 2 × 2 grid and of one global PSF.
 */
export function gridAgainstGlobal(model: Identifier, field: { left: number[]; right: number[] }, patching: Patching = {}): { grid: number; global: number } {
  const size = 384;
  const thetas = [...field.left, ...field.right, ...field.left, ...field.right];
  const centres: [number, number][] = [[96, 96], [288, 96], [96, 288], [288, 288]];
  const { y, truth } = noGrad(() => {
    const psfs = psfFromZernike(optics, tensor(thetas, [4, 8]));
    const op = gridBlurOperator({ psfs, centres, tiles: [2, 2] }, [size, size]);
    const y = tidy(() => {
      const x = tensor(demoSpecimen(5, size + 30), [1, 1, size + 30, size + 30]);
      const gen = new Generator(5);
      const out = gaussianNoise(gen, op.forward(x), 0.002).data() as Float32Array;
      gen.dispose();
      return out;
    });
    op.dispose();
    return { y, truth: psfs };
  });
  const grid = identifyImageGrid(model, y, size, size, [2, 2], { fc, thetaMax: 0.12, overlap: 0, ...patching });
  const global = identifyImage(model, y, size, size, { fc, thetaMax: 0.12, ...patching }).psf;
  return noGrad(() => ({
    grid: psnrPsf(grid.psfs, truth).mean().item(),
    global: psnrPsf(global.unsqueeze(0).expand([4, 31, 31]).contiguous(), truth).mean().item(),
  }));
}
