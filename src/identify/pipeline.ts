// From a microscope image to PSFs: resolve fc (flags, else the file's metadata, else a clear error) and θmax (flag,
// else the model's prior mean), take the grey plane, identify one PSF (or a grid), and read out Zernike coefficients.
import { noGrad, type Tensor } from '../engine/index.js';
import { fmt, usageError, inputError, type PsfidError } from '../errors.js';
import { findNonFinite, planeAxesStated, planeIndex, PSFID_FC_KEY, toFloat32Gray, type ImageStack } from '../io/index.js';
import { gradientEnergy } from '../evaluate/metrics.js';
import { cutoffFromMicroscope, DEFAULT_PSF_SIZE, DEFAULT_PUPIL_SIZE, MAX_FC, MAX_NA, MIN_PUPIL_RADIUS_SAMPLES, NYQUIST_FC, resolveOptics, ZERNIKE_NAMES, type Optics } from '../optics/index.js';
import type { Identifier } from '../model/identifier.js';
import type { ModelInfo } from '../model/store.js';
import { identifyGrid, identifyRegion, type IdentifyOptions, type PsfGrid, type Region } from './identify.js';
import { fitZernikeToPsf } from './fit.js';

export interface OpticsFlags {
  fc?: number;
  numericalAperture?: number;
  wavelengthNm?: number;
  pixelSizeNm?: number;
  allowUndersampling?: boolean;
}

export interface Resolved<T> {
  value: T;
  /** Where the value came from: 'flag', 'metadata', 'model prior mean', … */
  source: string;
}

/** The largest pixel (nm) keeping NA·pixel/λ ≤ fc, rounded down to 0.01 nm, for messages (also the CLI's). */
export function largestPixel(fc: number, na: number, wavelengthNm: number): string {
  return String(Math.floor(((fc * wavelengthNm) / na) * 100) / 100);
}

/** The smallest cut-off psfid models: the pupil disk must span MIN_PUPIL_RADIUS_SAMPLES of the default pupil grid. */
export const MIN_CUTOFF = MIN_PUPIL_RADIUS_SAMPLES / DEFAULT_PUPIL_SIZE;

/**
 * Refuses a cut-off below MIN_CUTOFF, `what` naming where it came from (`--fc 1e-9`, or the terms of NA·pixel/λ).
 * Checked here, before the model is loaded or any warning is printed, rather than deep in the optics, whose message
 * would name the pupil grid, which identify has no flag for.
 */
function checkSmallCutoff(fc: number, what: string, flag: string): void {
  if (fc >= MIN_CUTOFF) return;
  const ring = 0.61 / fc;
  // Microscope images, mosaics included, stay well below 10⁵ pixels a side.
  const wide = ring > 1e5 ? 'wider than any image' : `far wider than the ${DEFAULT_PSF_SIZE}×${DEFAULT_PSF_SIZE} PSF psfid identifies`;
  throw usageError(flag, `${what} is too small: the PSF's first dark ring would lie 0.61/fc = ${fmt(ring)} pixels from its centre, ${wide}. psfid needs fc ≥ ${MIN_CUTOFF} cycles/pixel (fc = NA·pixel/λ: 0.1–0.25 for a microscope sampled near Nyquist)`);
}

/**
 * Where a cut-off came from, as the refusal of one beyond the limits words it (cutoffLimitError):
 * - `fc`: the --fc flag;
 * - `recorded`: the `psfid.fc` a file's metadata records (io/imagej.ts), `path` naming the file;
 * - `microscope`: NA·pixel/λ, from the flags alone, or, with `file`, partly or wholly from the file's metadata
 *   (`from` says which term came from where, e.g. 'NA: flag, wavelength: metadata, pixel size: metadata').
 */
export type CutoffOrigin =
  | { readonly kind: 'fc'; readonly fc: number }
  | { readonly kind: 'recorded'; readonly fc: number; readonly path: string }
  | {
      readonly kind: 'microscope';
      readonly numericalAperture: number;
      readonly wavelengthNm: number;
      readonly pixelSizeNm: number;
      readonly file?: { readonly path: string; readonly from: string };
    };

/** The cut-off of `origin` in cycles/pixel. */
function cutoffOf(origin: CutoffOrigin): number {
  return origin.kind === 'microscope' ? cutoffFromMicroscope(origin.numericalAperture, origin.wavelengthNm, origin.pixelSizeNm) : origin.fc;
}

/**
 * The one wording of the refusal of a cut-off beyond the limits (fc ≥ MAX_FC always; fc > NYQUIST_FC unless
 * undersampling is allowed), for every command: psf and simulate (cli/options.ts) and identify, grid, deconvolve
 * --blind and info (resolveCutoff). Says where fc came from, which limit it breaks and what would do: a pixel size
 * (flags), --allow-undersampling, or the flags that override a file. A usage error naming the flag to change (--fc for
 * a value read from a file: flags override it); null when fc is within the limits.
 */
export function cutoffLimitError(origin: CutoffOrigin, allowUndersampling: boolean): PsfidError | null {
  const fc = cutoffOf(origin);
  const hard = fc >= MAX_FC;
  if (!hard && (fc <= NYQUIST_FC || allowUndersampling)) return null;
  const limit = hard
    ? `not below ${MAX_FC}: the pupil does not fit the sampled band (the pixels are too coarse for this PSF), even with --allow-undersampling`
    : `above the Nyquist limit ${NYQUIST_FC}`;
  if (origin.kind === 'fc') {
    return usageError(
      '--fc',
      `--fc ${fmt(fc)} cycles/pixel is ${limit}` +
        (hard
          ? `. Sample more finely: a pixel under ${fmt(MAX_FC / fc)}× the current size (fc = NA·pixel/λ)`
          : `: a pixel ${fmt(NYQUIST_FC / fc)}× the current size would satisfy it (the OTF reaches 2·fc = ${fmt(2 * fc)} cycles/pixel); sample more finely or pass --allow-undersampling`),
    );
  }
  const overrides = 'Flags override the file: --fc, or --na, --wavelength-nm and --pixel-size-nm';
  const fromFile = (what: string): PsfidError => usageError('--fc', `${what}, ${limit}${hard ? `. ${overrides}` : `: pass --allow-undersampling to accept it. ${overrides}`}`);
  if (origin.kind === 'recorded') return fromFile(`${origin.path}: fc = ${fmt(fc)} cycles/pixel (${PSFID_FC_KEY} in the file's metadata)`);
  const { numericalAperture: na, wavelengthNm: wl, pixelSizeNm: px } = origin;
  if (origin.file) return fromFile(`${origin.file.path}: fc = NA·pixel/λ = ${fmt(na)}·${fmt(px)} nm/${fmt(wl)} nm = ${fmt(fc)} cycles/pixel (${origin.file.from})`);
  // All three from flags: the pixel that would do; far off, a wavelength in µm or a pixel on the camera is likelier.
  const gives = `--na ${fmt(na)}, --wavelength-nm ${fmt(wl)} and --pixel-size-nm ${fmt(px)} give fc = NA·pixel/λ = ${fmt(fc)} cycles/pixel, ${limit}`;
  return usageError(
    '--pixel-size-nm',
    hard
      ? `${gives}. At NA ${fmt(na)} and ${fmt(wl)} nm the pixel must be < ${largestPixel(MAX_FC, na, wl)} nm: check --pixel-size-nm (the pixel in the sample plane: camera pixel ÷ magnification) and --wavelength-nm (the emission wavelength, in nm)`
      : `${gives}: use --pixel-size-nm ≤ ${largestPixel(NYQUIST_FC, na, wl)} or pass --allow-undersampling`,
  );
}

/**
 * fc from the flags, else from the image's metadata, else an error naming the flags. The metadata's cut-off is, in
 * this order: the `psfid.fc` psfid recorded (a `psfid simulate` output whose fc was given or drawn: the cut-off the
 * simulation used), used only when no cut-off flag is given; else NA·pixel/λ, each term from its flag or the file.
 * Every refusal names the flags the user gave (or the file, for values read from it) and is a usage error (exit 2),
 * raised before anything else runs: NA above 1.7, fc beyond the Nyquist or the hard limit (cutoffLimitError), fc too
 * small.
 */
export function resolveCutoff(flags: OpticsFlags, md: ImageStack['metadata'], path: string): Resolved<number> {
  const allow = flags.allowUndersampling === true;
  const refuse = (origin: CutoffOrigin): void => {
    const e = cutoffLimitError(origin, allow);
    if (e) throw e;
  };
  if (flags.fc !== undefined) {
    refuse({ kind: 'fc', fc: flags.fc });
    checkSmallCutoff(flags.fc, `--fc ${fmt(flags.fc)}`, '--fc');
    return { value: flags.fc, source: 'flag --fc' };
  }
  if (flags.numericalAperture !== undefined && flags.numericalAperture > MAX_NA) {
    throw usageError('--na', `--na must be ≤ ${MAX_NA} (no immersion medium goes higher), got ${fmt(flags.numericalAperture)}`);
  }
  const stated = (v: number | undefined): number | undefined => (v !== undefined && Number.isFinite(v) && v > 0 ? v : undefined);
  // fc is per pixel: a file resampled since psfid recorded it (new calibration, same Info) scales it, fc = NA·pixel/λ
  const recordedAsWritten = stated(md.fc);
  const [filePx, refPx] = [stated(md.pixelSizeNm), stated(md.fcPixelSizeNm)];
  const rescale = recordedAsWritten !== undefined && filePx !== undefined && refPx !== undefined && Math.abs(filePx / refPx - 1) > 1e-6 ? filePx / refPx : 1;
  const recorded = recordedAsWritten === undefined ? undefined : recordedAsWritten * rescale;
  // Any of --na, --wavelength-nm, --pixel-size-nm asks for NA·pixel/λ: a flag overrides what the file records.
  if (recorded !== undefined && flags.numericalAperture === undefined && flags.wavelengthNm === undefined && flags.pixelSizeNm === undefined) {
    refuse({ kind: 'recorded', fc: recorded, path });
    checkSmallCutoff(recorded, `${path}: fc = ${fmt(recorded)} cycles/pixel (${PSFID_FC_KEY} in the file's metadata)`, '--fc');
    const scaled = rescale === 1 ? '' : ` = ${fmt(recordedAsWritten!)} on ${fmt(refPx!)} nm pixels, scaled to the file's ${fmt(filePx!)} nm pixels`;
    return { value: recorded, source: `metadata: ${PSFID_FC_KEY}${scaled} (the cut-off psfid simulate or psf recorded)` };
  }
  const na = flags.numericalAperture ?? stated(md.numericalAperture);
  const wl = flags.wavelengthNm ?? stated(md.emissionWavelengthNm);
  const px = flags.pixelSizeNm ?? stated(md.pixelSizeNm);
  if (na !== undefined && wl !== undefined && px !== undefined) {
    if (na > MAX_NA) throw usageError('--na', `${path}: the file's metadata states NA ${fmt(na)}, above ${MAX_NA} (no immersion medium goes higher); give --na, or --fc`);
    const from = [
      flags.numericalAperture !== undefined ? 'NA: flag' : 'NA: metadata',
      flags.wavelengthNm !== undefined ? 'wavelength: flag' : 'wavelength: metadata',
      flags.pixelSizeNm !== undefined ? 'pixel size: flag' : 'pixel size: metadata',
    ].join(', ');
    const fromFile = flags.numericalAperture === undefined || flags.wavelengthNm === undefined || flags.pixelSizeNm === undefined;
    refuse({ kind: 'microscope', numericalAperture: na, wavelengthNm: wl, pixelSizeNm: px, ...(fromFile && { file: { path, from } }) });
    const fc = cutoffFromMicroscope(na, wl, px);
    const inFile = `${path}: fc = NA·pixel/λ = ${fmt(na)}·${fmt(px)} nm/${fmt(wl)} nm = ${fmt(fc)} cycles/pixel (${from})`;
    checkSmallCutoff(fc, fromFile ? inFile : `fc = NA·pixel/λ = ${fmt(fc)} cycles/pixel (--na ${fmt(na)}, --wavelength-nm ${fmt(wl)}, --pixel-size-nm ${fmt(px)})`, fromFile ? '--fc' : '--pixel-size-nm');
    return { value: fc, source: `NA·pixel/λ = ${fmt(na)}·${fmt(px)} nm/${fmt(wl)} nm (${from})` };
  }
  const missing = [
    na === undefined && '--na',
    wl === undefined && '--wavelength-nm',
    px === undefined && '--pixel-size-nm',
  ].filter(Boolean);
  const unused = recorded === undefined ? '' : `; the file's ${PSFID_FC_KEY} = ${fmt(recorded)} gives way to --na, --wavelength-nm and --pixel-size-nm: leave them out to use it`;
  throw usageError('--fc', `${path}: cannot tell the cut-off frequency: give --fc, or ${missing.join(', ')} (not in the file's metadata)${unused}`);
}

/**
 * Why an estimate at (fc, θmax) extrapolates beyond what the model was trained on: one line per value outside its
 * prior range (none when both are inside). The network still answers, but nothing has checked that answer.
 */
export function outsideTraining(info: ModelInfo, fc: number, thetaMax: number): string[] {
  const p = info.prior as { fc?: [number, number]; thetaMax?: [number, number] };
  const out: string[] = [];
  const check = (name: string, v: number, range: [number, number], unit: string): void => {
    if (v < range[0] || v > range[1]) out.push(`${name} ${fmt(v)} is outside the range the model was trained on (${range[0]}–${range[1]} ${unit}): the estimate extrapolates`);
  };
  check('fc', fc, p.fc ?? [0.125, 0.25], 'cycles/pixel');
  check('θmax', thetaMax, p.thetaMax ?? [0.02, 0.15], 'waves');
  return out;
}

export function priorMeanOf(info: ModelInfo): { fc: number; thetaMax: number } {
  const p = info.prior as { fc?: [number, number]; thetaMax?: [number, number] };
  const fc = p.fc ?? [0.125, 0.25];
  const tm = p.thetaMax ?? [0.02, 0.15];
  return { fc: (fc[0] + fc[1]) / 2, thetaMax: (tm[0] + tm[1]) / 2 };
}

/** What --plane accepts, for its help and errors. */
export const PLANE_HELP = 'a plane index in file order (z, t or channel), sharpest[:c], the z of channel c (default 0) with the largest gradient energy (the in-focus slice of a z-stack), or auto: sharpest for a file whose metadata states several z-slices, else plane 0 (also for a stack that does not say whether its planes are z, t or channels)';

/** Refuses a --plane value that is not an index, sharpest[:c] or auto (before any file is read). */
export function checkPlaneFlag(text: string): void {
  if (!/^(\d+|sharpest(:\d+)?|auto)$/.test(text.trim())) throw usageError('--plane', `--plane must be ${PLANE_HELP}; got '${text}'`);
}

/**
 * A --plane value: an index in file order; `sharpest[:c]`, the z (at t = 0) of channel c (default 0) whose plane
 * has the largest gradient energy (mean squared difference of neighbouring pixels, on the dtype-scaled plane), the
 * usual focus measure: the in-focus slice of a z-stack; or `auto` (the CLI's default), sharpest when the file's
 * metadata states several z-slices (the first slice of a z-stack is rarely in focus), else plane 0 — also when the
 * file does not say what its planes are (a bare multi-page TIFF: the sharpest time point or channel would be an
 * arbitrary pick). Returns the plane's index and how it was chosen.
 */
export function resolvePlane(image: ImageStack, text: string, path: string): Resolved<number> {
  checkPlaneFlag(text);
  const planes = image.planes.length;
  if (text.trim() === 'auto') {
    if (!planeAxesStated(image)) {
      return { value: 0, source: `auto → the first plane: the file does not say whether its ${planes} planes are z-slices, time points or channels; --plane sharpest picks the in-focus slice if it is a z-stack` };
    }
    if ((image.metadata.sizeZ ?? planes) > 1) {
      const sharpest = resolvePlane(image, 'sharpest', path);
      return { value: sharpest.value, source: `auto → ${sharpest.source}` };
    }
    return { value: 0, source: 'auto → the first plane: the file has one z-slice' };
  }
  if (/^\d+$/.test(text.trim())) {
    const k = Number(text);
    if (k >= planes) throw usageError('--plane', `--plane must be in 0…${planes - 1} for ${path} (${planes} plane(s)), got ${k}`);
    return { value: k, source: 'flag --plane' };
  }
  const c = Number(/^sharpest(?::(\d+))?$/.exec(text.trim())![1] ?? 0);
  const sizeC = image.metadata.sizeC ?? 1;
  const sizeZ = image.metadata.sizeZ ?? planes;
  if (c >= sizeC) throw usageError('--plane', `--plane ${text}: ${path} has ${sizeC} channel(s) (0…${sizeC - 1})`);
  let best = { z: 0, plane: planeIndex(image, { c, z: 0 }), energy: -Infinity };
  for (let z = 0; z < sizeZ; z++) {
    const plane = planeIndex(image, { c, z });
    const energy = gradientEnergy(toFloat32Gray(image, plane), image.width, image.height);
    if (energy > best.energy) best = { z, plane, energy };
  }
  return { value: best.plane, source: `sharpest: z ${best.z} of ${sizeZ} in channel ${c}, by gradient energy` };
}

/** The grey float32 plane the tools work on, refusing NaN/Inf; integers scaled by their dtype's range (documented). */
export function grayPlane(image: ImageStack, path: string, plane = 0): Float32Array {
  const planes = image.planes.length;
  if (!Number.isInteger(plane) || plane < 0 || plane >= planes) throw usageError('--plane', `--plane must be in 0…${planes - 1} for ${path}, got ${plane}`);
  const bad = findNonFinite({ ...image, planes: [image.planes[plane]!] });
  if (bad > 0) throw inputError(path, `${path}: ${bad} NaN/Inf pixels in plane ${plane}; clean them first`);
  return toFloat32Gray(image, plane);
}

export function parseRegion(text: string, width: number, height: number): Region {
  const parts = text.split(',').map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((v) => !Number.isInteger(v))) throw usageError('--roi', `--roi must be x,y,w,h in whole pixels, got '${text}'`);
  const [x, y, w, h] = parts as [number, number, number, number];
  if (w <= 0 || h <= 0) throw usageError('--roi', `--roi ${text}: the width and height must be positive`);
  if (x < 0 || y < 0 || x + w > width || y + h > height) {
    const inside = x < width && y < height && x + w > 0 && y + h > 0;
    throw usageError('--roi', `--roi ${text} ${inside ? 'reaches beyond' : 'lies outside'} the ${width}×${height} image (columns ${x}…${x + w - 1}, rows ${y}…${y + h - 1})`);
  }
  return { x, y, width: w, height: h };
}

export interface ZernikeReadout {
  /** Noll index → waves (sign rule: defocus ≥ 0); atBound (when the readout was given θmax) when |waves| ≥ 0.95·θmax. */
  coefficients: { noll: number; name: string; waves: number; atBound?: boolean }[];
  /** Relative L2 misfit ‖h(θ) − ĥ‖ / ‖ĥ‖ of the fitted PSF. */
  relativeMisfit: number;
}

/**
 * The Noll coefficients that best explain each PSF [B, S, S]. With `thetaMax` (the bound the network was given), each
 * coefficient says whether it sits at that bound (|θ| ≥ 0.95·θmax): there the network's θmax·tanh output is
 * saturated, so the value says only "this much or more" (or that the output is stuck; the shipped model's defocus
 * is, see models/MODEL_CARD.md), not a measurement.
 */
export function zernikeReadout(psfs: Tensor, fc: number, opts: { pupilSize?: number; allowUndersampling?: boolean; thetaMax?: number } = {}): ZernikeReadout[] {
  const batch = psfs.size(0);
  const optics: Optics = resolveOptics({ fc, psfSize: psfs.size(1), allowUndersampling: opts.allowUndersampling });
  const fit = fitZernikeToPsf(optics, psfs, Array(batch).fill(fc), { starts: 6, iterations: 200 });
  const theta = fit.theta.toArray();
  const misfit = noGrad(() => fit.psf.sub(psfs).square().sum([1, 2]).sqrt().div(psfs.square().sum([1, 2]).sqrt()).toArray());
  fit.theta.dispose();
  fit.psf.dispose();
  const k = optics.zernikeNoll.length;
  return Array.from({ length: batch }, (_, b) => ({
    coefficients: optics.zernikeNoll.map((noll, i) => {
      const waves = theta[b * k + i]!;
      return { noll, name: ZERNIKE_NAMES[noll] ?? `Z${noll}`, waves, ...(opts.thetaMax !== undefined && { atBound: Math.abs(waves) >= 0.95 * opts.thetaMax }) };
    }),
    relativeMisfit: misfit[b]!,
  }));
}

export interface IdentifyImageOptions extends Pick<IdentifyOptions, 'fc' | 'thetaMax' | 'device' | 'patchSize' | 'maxPatches' | 'patchOverlap' | 'augment' | 'onPatches'> {
  region?: Region;
}

export function identifyImage(model: Identifier, gray: Float32Array, width: number, height: number, opts: IdentifyImageOptions): { psf: Tensor; patches: number } {
  const { region = { x: 0, y: 0, width, height }, ...patching } = opts;
  return identifyRegion(model, gray, width, height, region, patching);
}

export function identifyImageGrid(model: Identifier, gray: Float32Array, width: number, height: number, tiles: [number, number], opts: IdentifyImageOptions & { overlap?: number; onTile?: (done: number, total: number) => void }): PsfGrid {
  const { overlap, ...patching } = opts;
  return identifyGrid(model, gray, width, height, { ...patching, tiles, tileOverlap: overlap });
}

/** Parses "4x4" (columns × rows). */
export function parseTiles(text: string): [number, number] {
  const m = /^(\d+)x(\d+)$/i.exec(text.trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1 || Number(m[1]) > 64 || Number(m[2]) > 64) throw usageError('--tiles', `--tiles must look like 4x4 (columns x rows, 1–64 each), got '${text}'`);
  return [Number(m[1]), Number(m[2])];
}
