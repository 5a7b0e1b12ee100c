// Optics: the validated, frozen description of an imaging system that every PSF function trusts.
//
// Units live in the names: `numericalAperture` (dimensionless), `wavelengthNm` and `pixelSizeNm` (nanometres, the
// pixel size measured in the sample plane), and the cut-off `fc` in cycles/pixel:
//   fc = NA · pixelSize / wavelength.
// The incoherent OTF extends to 2·fc, so Nyquist sampling needs fc ≤ 0.25: larger values are refused unless
// `allowUndersampling` is set, and fc ≥ 0.5 (the pupil no longer fits the sampled band) is always refused.
import { fmt, usageError } from '../errors.js';
import { nollToNM } from './zernike.js';

/** Raw options, e.g. from the CLI or a JSON file. Give `fc`, or all three of NA, wavelength and pixel size. */
export interface OpticsSpec {
  /** Pupil cut-off in cycles/pixel (0 < fc < 0.5; ≤ 0.25 unless allowUndersampling). */
  fc?: number;
  numericalAperture?: number;
  /** Emission wavelength in nm. */
  wavelengthNm?: number;
  /** Pixel size in the sample plane (camera pixel / magnification), in nm. */
  pixelSizeNm?: number;
  /** PSF side S in pixels: odd, the optical axis at index ⌊S/2⌋. Default 31. */
  psfSize?: number;
  /** Pupil grid side P in samples, P ≥ 4·S. Default defaultPupilSize(S): 256, or 4·S for S > 64. */
  pupilSize?: number;
  /** Active Zernike modes, Noll indices. Default 4–11 (defocus … primary spherical). */
  zernikeNoll?: readonly number[];
  /** Accept 0.25 < fc < 0.5 (aliased PSFs). Default false. */
  allowUndersampling?: boolean;
}

/** A resolved, validated imaging system (frozen). */
export interface Optics {
  /** Cut-off frequency in cycles/pixel. */
  readonly fc: number;
  readonly psfSize: number;
  readonly pupilSize: number;
  readonly zernikeNoll: readonly number[];
  readonly allowUndersampling: boolean;
  /** The microscope parameters fc came from, when it was not given directly. */
  readonly numericalAperture?: number;
  readonly wavelengthNm?: number;
  readonly pixelSizeNm?: number;
}

export const DEFAULT_PSF_SIZE = 31;
export const DEFAULT_PUPIL_SIZE = 256;
export const DEFAULT_ZERNIKE_NOLL: readonly number[] = Object.freeze([4, 5, 6, 7, 8, 9, 10, 11]);
/**
 * The pupil grid a PSF side S gets by default: DEFAULT_PUPIL_SIZE (256), or the smallest grid the window allows,
 * 4·S, once S > 64. The PSF is P-periodic (the pupil is sampled every 1/P cycles/pixel), and P ≥ 4·S keeps the
 * S × S window well inside one period; a larger P only samples the pupil more finely. So S ≤ 63 keeps exactly the
 * 256² grid (bit-identical PSFs), and a larger S no longer needs the grid raised by hand.
 */
export function defaultPupilSize(psfSize: number): number {
  return Math.max(DEFAULT_PUPIL_SIZE, 4 * psfSize);
}
/** Nyquist limit on fc (cycles/pixel): the OTF reaches 2·fc. */
export const NYQUIST_FC = 0.25;
/** Hard limit on fc (cycles/pixel): the pupil must fit in the sampled band. */
export const MAX_FC = 0.5;
/** Largest numerical aperture accepted: no immersion medium goes higher. */
export const MAX_NA = 1.7;
/** The pupil disk must span at least this many samples in radius (fc·P), or the PSF is too coarse to be useful. */
export const MIN_PUPIL_RADIUS_SAMPLES = 8;

const KNOWN_KEYS = new Set<string>(['fc', 'numericalAperture', 'wavelengthNm', 'pixelSizeNm', 'psfSize', 'pupilSize', 'zernikeNoll', 'allowUndersampling']);

/** fc = NA · pixelSize / wavelength, in cycles/pixel. */
export function cutoffFromMicroscope(numericalAperture: number, wavelengthNm: number, pixelSizeNm: number): number {
  return (numericalAperture * pixelSizeNm) / wavelengthNm;
}

/** Largest pixel (nm) keeping fc at or below `limit`, rounded down to the displayed precision. */
function maxPixel(limit: number, na: number, wavelengthNm: number): string {
  const p = (limit * wavelengthNm) / na;
  const digits = p >= 100 ? 1 : p >= 10 ? 2 : 3;
  const f = 10 ** digits;
  return (Math.floor(p * f) / f).toFixed(digits).replace(/\.?0+$/, '');
}

function positiveFinite(param: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw usageError(param, `resolveOptics: ${param} must be a positive finite number, got ${String(v)}`);
  return v;
}

/** Validates raw options into a frozen Optics. Errors name the parameter and say what value would work. */
export function resolveOptics(spec: OpticsSpec): Optics {
  if (spec === null || typeof spec !== 'object') throw usageError('optics', 'resolveOptics: spec must be an object');
  for (const key of Object.keys(spec)) {
    if (!KNOWN_KEYS.has(key)) throw usageError(key, `resolveOptics: unknown option '${key}' (known: ${[...KNOWN_KEYS].join(', ')})`);
  }
  const allowUndersampling = spec.allowUndersampling ?? false;
  if (typeof allowUndersampling !== 'boolean') throw usageError('allowUndersampling', `resolveOptics: allowUndersampling must be a boolean, got ${String(allowUndersampling)}`);

  const micro = [spec.numericalAperture, spec.wavelengthNm, spec.pixelSizeNm].some((v) => v !== undefined);
  let fc: number;
  let na: number | undefined;
  let wavelengthNm: number | undefined;
  let pixelSizeNm: number | undefined;
  if (spec.fc !== undefined) {
    if (micro) throw usageError('fc', 'resolveOptics: give either fc or (numericalAperture, wavelengthNm, pixelSizeNm), not both');
    fc = positiveFinite('fc', spec.fc);
    if (fc >= MAX_FC) {
      throw usageError('fc', `resolveOptics: fc must be < ${MAX_FC} cycles/pixel (the pupil must fit in the sampled band), got ${fmt(fc)}: a pixel under ${fmt(MAX_FC / fc)}× the current size would satisfy it. Use a smaller pixel.`);
    }
    if (fc > NYQUIST_FC && !allowUndersampling) {
      throw usageError('fc', `resolveOptics: fc must be ≤ ${NYQUIST_FC} cycles/pixel (Nyquist), got ${fmt(fc)}: a pixel ${fmt(NYQUIST_FC / fc)}× the current size would satisfy it. Use a smaller pixel or pass --allow-undersampling.`);
    }
  } else {
    if (spec.numericalAperture === undefined) throw usageError('numericalAperture', 'resolveOptics: give fc, or numericalAperture with wavelengthNm and pixelSizeNm');
    if (spec.wavelengthNm === undefined) throw usageError('wavelengthNm', 'resolveOptics: wavelengthNm is needed with numericalAperture (or give fc)');
    if (spec.pixelSizeNm === undefined) throw usageError('pixelSizeNm', 'resolveOptics: pixelSizeNm is needed with numericalAperture (or give fc)');
    na = positiveFinite('numericalAperture', spec.numericalAperture);
    if (na > MAX_NA) throw usageError('numericalAperture', `resolveOptics: numericalAperture must be ≤ ${MAX_NA} (no immersion medium goes higher), got ${fmt(na)}`);
    wavelengthNm = positiveFinite('wavelengthNm', spec.wavelengthNm);
    pixelSizeNm = positiveFinite('pixelSizeNm', spec.pixelSizeNm);
    fc = cutoffFromMicroscope(na, wavelengthNm, pixelSizeNm);
    const at = `for NA ${fmt(na)} at ${fmt(wavelengthNm)} nm`;
    if (fc >= MAX_FC) {
      throw usageError('pixelSizeNm', `resolveOptics: pixelSizeNm must be < ${maxPixel(MAX_FC, na, wavelengthNm)} ${at} (fc = NA·pixel/λ must stay below ${MAX_FC} cycles/pixel), got ${fmt(pixelSizeNm)}. Use a smaller pixel.`);
    }
    if (fc > NYQUIST_FC && !allowUndersampling) {
      throw usageError('pixelSizeNm', `resolveOptics: pixelSizeNm must be ≤ ${maxPixel(NYQUIST_FC, na, wavelengthNm)} ${at} (Nyquist), got ${fmt(pixelSizeNm)}. Use a smaller pixel or pass --allow-undersampling.`);
    }
  }

  const psfSize = spec.psfSize ?? DEFAULT_PSF_SIZE;
  if (!Number.isInteger(psfSize) || psfSize < 3 || psfSize % 2 === 0) {
    throw usageError('psfSize', `resolveOptics: psfSize must be an odd integer ≥ 3 (the optical axis sits at index ⌊S/2⌋), got ${String(psfSize)}${Number.isInteger(psfSize) && psfSize >= 3 ? `; use ${psfSize + 1}` : ''}`);
  }
  const pupilSize = spec.pupilSize ?? defaultPupilSize(psfSize);
  if (!Number.isInteger(pupilSize) || pupilSize < 4 * psfSize) {
    throw usageError('pupilSize', `resolveOptics: pupilSize must be an integer ≥ 4·psfSize = ${4 * psfSize}, got ${String(pupilSize)}`);
  }
  if (fc * pupilSize < MIN_PUPIL_RADIUS_SAMPLES) {
    throw usageError('pupilSize', `resolveOptics: the pupil disk spans fc·pupilSize = ${fmt(fc * pupilSize)} samples in radius, fewer than ${MIN_PUPIL_RADIUS_SAMPLES}; use pupilSize ≥ ${Math.ceil(MIN_PUPIL_RADIUS_SAMPLES / fc)}`);
  }

  const noll = spec.zernikeNoll ?? DEFAULT_ZERNIKE_NOLL;
  if (!Array.isArray(noll) || noll.length === 0) throw usageError('zernikeNoll', 'resolveOptics: zernikeNoll must be a non-empty array of Noll indices');
  const seen = new Set<number>();
  for (const j of noll) {
    nollToNM(j); // validates (param 'zernike')
    if (seen.has(j)) throw usageError('zernikeNoll', `resolveOptics: Noll index ${j} appears twice in zernikeNoll`);
    seen.add(j);
  }

  const optics: Optics = {
    fc,
    psfSize,
    pupilSize,
    zernikeNoll: Object.freeze([...noll]),
    allowUndersampling,
    ...(na !== undefined ? { numericalAperture: na, wavelengthNm, pixelSizeNm } : {}),
  };
  return Object.freeze(optics);
}

/**
 * Checks one cut-off against an Optics' limits (used for per-sample fc). Throws a PsfidError naming `param`.
 */
export function checkCutoff(fc: number, optics: Optics, param = 'fc'): void {
  if (!Number.isFinite(fc) || fc <= 0) throw usageError(param, `${param} must be a positive finite number of cycles/pixel, got ${fc}`);
  if (fc >= MAX_FC) throw usageError(param, `${param} must be < ${MAX_FC} cycles/pixel, got ${fmt(fc)}`);
  if (fc > NYQUIST_FC && !optics.allowUndersampling) throw usageError(param, `${param} must be ≤ ${NYQUIST_FC} cycles/pixel (Nyquist), got ${fmt(fc)}; pass --allow-undersampling to accept it`);
  if (fc * optics.pupilSize < MIN_PUPIL_RADIUS_SAMPLES) {
    throw usageError(param, `${param} = ${fmt(fc)} gives a pupil of ${fmt(fc * optics.pupilSize)} samples in radius on a ${optics.pupilSize}² grid, fewer than ${MIN_PUPIL_RADIUS_SAMPLES}; use pupilSize ≥ ${Math.ceil(MIN_PUPIL_RADIUS_SAMPLES / fc)}`);
  }
}
