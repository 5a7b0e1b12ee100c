// Deconvolution: Richardson–Lucy (+ TV), Wiener, and spatially varying Richardson–Lucy from a PSF grid, with
// boundary models that do not ring (see operator.ts). Pure functions returning result objects; inputs are never
// mutated; outputs stay on the input's intensity scale and device.
import { noGrad, tidy, type Tensor } from '../engine/index.js';
import { BOUNDARIES, gridBlur, uniformBlur, type BlurOperator, type Boundary, type PsfGridSpec, type UniformBlurOperator } from './operator.js';
import { checkGrid, checkKeys, checkOneOf, checkPsf, workingDtype } from './validate.js';

export { richardsonLucy, deconvolveGrid } from './richardson-lucy.js';
export { ACCELERATIONS } from './richardson-lucy.js';
export type { Acceleration, RichardsonLucyOptions, RichardsonLucyResult, IterationRecord } from './richardson-lucy.js';
export { wiener } from './wiener.js';
export { DEFAULT_TILE_SIZE, defaultMargin, richardsonLucyTiled, tileLayout, wienerTiled } from './tiled.js';
export type { PlainImage, Rect, Tile, TileOptions, TiledResult, TiledRichardsonLucyOptions, TiledRichardsonLucyResult, TiledWienerOptions } from './tiled.js';
export type { WienerOptions, WienerResult, WienerBoundary } from './wiener.js';
export { BOUNDARIES, fastFftSize, hatWeights } from './operator.js';
export type { Boundary, BlurOperator, BlurGeometry, PsfGridSpec, UniformBlurOperator } from './operator.js';

/**
 * The blur operator that richardsonLucy uses for `psf` ([S, S], sum 1, centred at ⌊S/2⌋) on images of
 * `imageSize` = [H, W]: forward (true convolution), adjoint, and the maps between image, data and object domains.
 * Works in the PSF's dtype (float64 stays float64, else float32) on its device. Call dispose() when done.
 */
export function blurOperator(psf: Tensor, imageSize: [number, number], opts: { boundary?: Boundary } = {}): UniformBlurOperator {
  const fn = 'blurOperator';
  checkKeys(fn, opts, ['boundary']);
  const boundary = checkOneOf(fn, 'boundary', opts.boundary ?? 'masked', BOUNDARIES);
  return noGrad(() => tidy(() => uniformBlur(checkPsf(fn, psf, workingDtype(psf), psf.device, { nonNegative: false, batch: null }), imageSize, { boundary })));
}

/** The spatially varying operator that deconvolveGrid uses for `grid` (see PsfGridSpec). Call dispose() when done. */
export function gridBlurOperator(grid: PsfGridSpec, imageSize: [number, number], opts: { boundary?: Boundary } = {}): BlurOperator {
  const fn = 'gridBlurOperator';
  checkKeys(fn, opts, ['boundary']);
  const boundary = checkOneOf(fn, 'boundary', opts.boundary ?? 'masked', BOUNDARIES);
  return noGrad(() =>
    tidy(() => {
      const { psfs, lattice } = checkGrid(fn, grid, workingDtype(grid.psfs), grid.psfs.device, false);
      return gridBlur(psfs, lattice, imageSize, { boundary });
    }),
  );
}
