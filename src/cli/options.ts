// Command-line flags shared by the commands that need an imaging system (psf, simulate, and later identify, grid,
// deconvolve): the pupil cut-off, the Zernike aberrations, the PSF and pupil grid sizes, and strict numeric
// parsing. Everything here turns strings into validated values and names the FLAG in every error (exit 2); the
// physics is checked by the library (resolveOptics), whose errors are re-labelled with the flag at fault.
//
// Units: wavelength and pixel size in nanometres (the pixel size in the sample plane: camera pixel ÷
// magnification); the cut-off fc in cycles/pixel, fc = NA · pixel / λ; Zernike amplitudes in waves.
import { Command, Option } from 'commander';
import type { Prior, PriorSpec } from '../acquisition/prior.js';
import { resolvePrior } from '../acquisition/prior.js';
import { noGrad, tensor, tidy } from '../engine/index.js';
import { CONV_PRECISION_REQUESTS } from '../model/precision.js';
import { cutoffLimitError, type CutoffOrigin } from '../identify/pipeline.js';
import { buildOpticsInfo } from '../io/index.js';
import { PsfidError, fmt, usageError } from '../errors.js';
import {
  DEFAULT_PSF_SIZE,
  DEFAULT_PUPIL_SIZE,
  DEFAULT_ZERNIKE_NOLL,
  defaultPupilSize,
  MAX_FC,
  MIN_PUPIL_RADIUS_SAMPLES,
  NYQUIST_FC,
  cutoffFromMicroscope,
  nollToAnsi,
  parseZernikeCoefficients,
  psfWindowEnergies,
  resolveOptics,
  zernikeName,
  type Optics,
  type ZernikeCoefficients,
} from '../optics/index.js';

// ---------------------------------------------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------------------------------------------

const NUMBER = /^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$/;

export interface NumberRule {
  /** Smallest accepted value (inclusive unless minExclusive). */
  min?: number;
  minExclusive?: boolean;
  /** Largest accepted value (inclusive unless maxExclusive). */
  max?: number;
  maxExclusive?: boolean;
  integer?: boolean;
  /** Appended to the range in messages, e.g. 'waves'. */
  unit?: string;
}

function describeRule(r: NumberRule): string {
  const kind = r.integer ? 'an integer' : 'a number';
  const unit = r.unit ? ` ${r.unit}` : '';
  if (r.min !== undefined && r.max !== undefined) {
    return `${kind} in ${r.minExclusive ? '(' : '['}${r.min}, ${r.max}${r.maxExclusive ? ')' : ']'}${unit}`;
  }
  if (r.min !== undefined) return `${kind} ${r.minExclusive ? '>' : '≥'} ${r.min}${unit}`;
  if (r.max !== undefined) return `${kind} ${r.maxExclusive ? '<' : '≤'} ${r.max}${unit}`;
  return `${kind}${unit ? ` (${r.unit})` : ''}`;
}

/**
 * Parses a flag's text as a finite decimal number (no hex, no empty string, no 'Infinity') and checks it against
 * `rule`. Throws a usage error naming `flag`, the value given and the accepted range.
 */
export function numberFlag(flag: string, text: string, rule: NumberRule = {}): number {
  const t = String(text).trim();
  const v = NUMBER.test(t) ? Number(t) : NaN;
  const ok =
    Number.isFinite(v) &&
    (!rule.integer || Number.isInteger(v)) &&
    (rule.min === undefined || (rule.minExclusive ? v > rule.min : v >= rule.min)) &&
    (rule.max === undefined || (rule.maxExclusive ? v < rule.max : v <= rule.max));
  if (!ok) throw usageError(flag, `${flag} must be ${describeRule(rule)}, got '${text}'`);
  return v;
}

/** numberFlag for an optional flag: undefined stays undefined. */
export function optionalNumberFlag(flag: string, text: string | undefined, rule: NumberRule = {}): number | undefined {
  return text === undefined ? undefined : numberFlag(flag, text, rule);
}

/** A seed: an integer 0 … 2^53 − 1. */
export function seedFlag(text: string, flag = '--seed'): number {
  return numberFlag(flag, text, { integer: true, min: 0, max: Number.MAX_SAFE_INTEGER });
}

// ---------------------------------------------------------------------------------------------------------------
// Optics flags
// ---------------------------------------------------------------------------------------------------------------

/** The optics flags as commander hands them over (strings, camelCased names). */
export interface OpticsFlags {
  fc?: string;
  na?: string;
  wavelengthNm?: string;
  pixelSizeNm?: string;
  allowUndersampling?: boolean;
  size?: string;
  pupilSize?: string;
  zernike?: string;
  zernikeAnsi?: string;
}

/** Library parameter → flag, for re-labelling errors of resolveOptics and friends. */
export const OPTICS_FLAG_NAMES: Readonly<Record<string, string>> = Object.freeze({
  fc: '--fc',
  numericalAperture: '--na',
  wavelengthNm: '--wavelength-nm',
  pixelSizeNm: '--pixel-size-nm',
  psfSize: '--size',
  pupilSize: '--pupil-size',
  allowUndersampling: '--allow-undersampling',
});

/**
 * The largest --size and --pupil-size accepted. Memory, not accuracy, sets them: the window-energy check (and its
 * search for a --size that would hold the PSF, windowEnergyReport) builds the PSF on a whole pupil grid of up to
 * MAX_PUPIL_SIZE² samples in float64 with its Zernike basis: `psfid psf` peaks at 0.65 GB of RSS there (0.35 GB on
 * today's default 256² grid), growing as P², so P = 4096 would need gigabytes. A 255-pixel window holds a PSF
 * defocused by 3 waves at fc 0.2 (181² holds 91 % of it), and its default grid, 4·255 = 1020, is within the limit.
 */
export const MAX_PSF_SIZE = 255;
export const MAX_PUPIL_SIZE = 1024;

/** An example microscope for the help text: the Nyquist pixel of NA 1.4 at 520 nm. */
const EXAMPLE = { na: 1.4, wavelengthNm: 520 };

function floorTo(v: number, digits: number): string {
  const f = 10 ** digits;
  return (Math.floor(v * f) / f).toFixed(digits);
}

/**
 * Adds the optics flags to `cmd`: --fc | --na --wavelength-nm --pixel-size-nm, --allow-undersampling, --size,
 * --pupil-size, and (unless `zernike: false`) --zernike / --zernike-ansi. Read them back with opticsFromFlags and
 * zernikeFromFlags.
 */
export function addOpticsOptions(cmd: Command, opts: { zernike?: boolean; pixelSizeNote?: string } = {}): Command {
  cmd
    .option('--fc <cycles/px>', `pupil cut-off fc in cycles/pixel: 0 < fc < ${MAX_FC}, and ≤ ${NYQUIST_FC} unless --allow-undersampling (see below)`)
    .option('--na <NA>', 'numerical aperture of the objective; with --wavelength-nm and --pixel-size-nm instead of --fc')
    .option('--wavelength-nm <nm>', 'emission wavelength in nanometres (with --na and --pixel-size-nm)')
    .option('--pixel-size-nm <nm>', `pixel size in the sample plane (camera pixel ÷ magnification) in nanometres (with --na and --wavelength-nm)${opts.pixelSizeNote ? `; ${opts.pixelSizeNote}` : ''}`)
    .option('--allow-undersampling', `accept ${NYQUIST_FC} < fc < ${MAX_FC}: the image is sampled below Nyquist and the PSF aliases`)
    .option('--size <px>', `PSF side S in pixels, odd, at most ${MAX_PSF_SIZE} (the optical axis sits at the centre pixel ⌊S/2⌋)`, String(DEFAULT_PSF_SIZE))
    .option('--pupil-size <samples>', `pupil grid side P in samples, 4·S ≤ P ≤ ${MAX_PUPIL_SIZE} (finer grid, more accurate PSF, slower) (default: ${DEFAULT_PUPIL_SIZE}, or 4·S when S > ${DEFAULT_PUPIL_SIZE / 4})`);
  if (opts.zernike !== false) {
    cmd
      .option('--zernike <list>', 'aberrations as Noll index:waves pairs, e.g. "4:0.1,7:-0.05" (defocus 0.1 waves, vertical coma −0.05 waves)')
      .option('--zernike-ansi <list>', 'the same with ANSI/OSA indices (j ≥ 0; e.g. "4:0.1" is defocus, ANSI 4 = Noll 4)');
  }
  return cmd;
}

/**
 * Help text on fc, units and (with `aberrations`, for the commands that take --zernike) Zernike indexing, for
 * `cmd.addHelpText('after', opticsHelp(…))`. `cutoffRule` says how this command's optics flags combine: commands
 * that read an image complete NA, wavelength and pixel size from its metadata, psf has no file to complete them.
 */
export function opticsHelp(opts: { cutoffRule?: string; aberrations?: boolean } = {}): string {
  const pixel = floorTo(cutoffPixel(NYQUIST_FC, EXAMPLE.na, EXAMPLE.wavelengthNm), 2);
  const modes = DEFAULT_ZERNIKE_NOLL.map((j) => `${j} ${zernikeName(j)}`);
  const half = Math.ceil(modes.length / 2);
  const names = `${modes.slice(0, half).join(', ')},\n  ${modes.slice(half).join(', ')}`;
  return `
Optics:
  The pupil cut-off fc, in cycles/pixel, sets the size of the PSF: fc = NA · pixel size / wavelength (pixel size
  in the sample plane, both in nm). The incoherent OTF extends to 2·fc, so Nyquist sampling needs fc ≤ ${NYQUIST_FC}, that
  is pixel ≤ λ/(4·NA): e.g. ≤ ${pixel} nm for NA ${EXAMPLE.na} at ${EXAMPLE.wavelengthNm} nm. Larger fc is refused unless
  --allow-undersampling; fc ≥ ${MAX_FC} is always refused. The Airy pattern's first zero lies at 0.61/fc
  pixels. ${opts.cutoffRule ?? 'Give --fc, or all three of --na, --wavelength-nm and --pixel-size-nm, not both.'}
${opts.aberrations === false ? '' : `
Aberrations:
  Zernike coefficients are in waves (phase = 2π · waves · Z), Noll-normalised (RMS 1 over the pupil), indexed
  by Noll (j ≥ 1) with --zernike or by ANSI/OSA (j ≥ 0) with --zernike-ansi; other indices add to the default
  modes, Noll ${names}.
  An empty list is refused (leave the flag out for no aberrations), and so is piston (Noll 1, ANSI 0): a
  constant phase does not change an intensity PSF.
  Angles: ϑ = atan2(y, x) with x = columns (to the right), y = rows (downward).
`}`;
}

function cutoffPixel(fc: number, na: number, wavelengthNm: number): number {
  return (fc * wavelengthNm) / na;
}

/** Where fc came from. */
export type CutoffSource = 'fc' | 'microscope' | 'none';

/** The cut-off as the flags state it (numbers parsed, contradictions refused; limits are checked by opticsFromFlags). */
export type CutoffFlags =
  | { readonly source: 'fc'; readonly fc: number }
  | { readonly source: 'microscope'; readonly fc: number; readonly numericalAperture: number; readonly wavelengthNm: number; readonly pixelSizeNm: number }
  | { readonly source: 'none' };

/**
 * Reads --fc or the (--na, --wavelength-nm, --pixel-size-nm) triple. Refuses --fc together with any of the triple
 * and an incomplete triple, naming the flags (exit 2). Returns source 'none' when neither is given.
 */
export function cutoffFromFlags(flags: OpticsFlags): CutoffFlags {
  const triple: [string, string | undefined][] = [
    ['--na', flags.na],
    ['--wavelength-nm', flags.wavelengthNm],
    ['--pixel-size-nm', flags.pixelSizeNm],
  ];
  const given = triple.filter(([, v]) => v !== undefined).map(([f]) => f);
  if (flags.fc !== undefined && given.length > 0) {
    throw usageError('--fc', `--fc contradicts ${given.join(', ')}: give the cut-off either directly (--fc) or from the microscope (--na, --wavelength-nm and --pixel-size-nm; fc = NA·pixel/λ), not both`);
  }
  if (flags.fc !== undefined) return { source: 'fc', fc: numberFlag('--fc', flags.fc, { min: 0, minExclusive: true, unit: 'cycles/pixel' }) };
  if (given.length === 0) return { source: 'none' };
  if (given.length < 3) {
    const missing = triple.filter(([, v]) => v === undefined).map(([f]) => f);
    throw usageError(missing[0]!, `${given.join(' and ')} ${given.length === 1 ? 'needs' : 'need'} ${missing.join(' and ')} too: fc = NA·pixel/λ takes all three of --na, --wavelength-nm and --pixel-size-nm (or give --fc alone)`);
  }
  const numericalAperture = numberFlag('--na', flags.na!, { min: 0, minExclusive: true });
  const wavelengthNm = numberFlag('--wavelength-nm', flags.wavelengthNm!, { min: 0, minExclusive: true, unit: 'nm' });
  const pixelSizeNm = numberFlag('--pixel-size-nm', flags.pixelSizeNm!, { min: 0, minExclusive: true, unit: 'nm' });
  return { source: 'microscope', fc: cutoffFromMicroscope(numericalAperture, wavelengthNm, pixelSizeNm), numericalAperture, wavelengthNm, pixelSizeNm };
}

/**
 * Runs `fn`, turning a PsfidError whose parameter is a library name (fc, pixelSizeNm, …, see `names`) into the same
 * error labelled with the flag: `pixelSizeNm must be ≤ 92.85 …` becomes `--pixel-size-nm must be ≤ 92.85 …`.
 */
export function withFlagNames<T>(fn: () => T, names: Readonly<Record<string, string>> = OPTICS_FLAG_NAMES): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof PsfidError && e.param !== undefined && names[e.param] !== undefined) {
      const flag = names[e.param]!;
      const message = e.message.replace(/^[A-Za-z]+: /, '');
      const text = message.startsWith(`${e.param} `) ? `${flag}${message.slice(e.param.length)}` : `${flag}: ${message}`;
      const relabelled = new PsfidError(text, flag, e.kind);
      (relabelled as { cause?: unknown }).cause = e;
      throw relabelled;
    }
    throw e;
  }
}

/**
 * --size and --pupil-size as integers within MAX_PSF_SIZE and MAX_PUPIL_SIZE (their physics is checked by
 * resolveOptics). Without --pupil-size, the grid follows the size: defaultPupilSize(S), 256 up to S = 63.
 */
export function gridFromFlags(flags: OpticsFlags): { psfSize: number; pupilSize: number } {
  const psfSize = numberFlag('--size', flags.size ?? String(DEFAULT_PSF_SIZE), { integer: true, min: 3, unit: 'pixels' });
  if (psfSize > MAX_PSF_SIZE) {
    throw usageError('--size', `--size must be ≤ ${MAX_PSF_SIZE} pixels, got ${psfSize}: its pupil grid needs at least 4·S samples a side, and one above ${MAX_PUPIL_SIZE} would not fit in memory`);
  }
  if (psfSize % 2 === 0) throw usageError('--size', `--size must be odd (the optical axis sits at the centre pixel), got ${psfSize}; use ${psfSize + 1}`);
  if (flags.pupilSize === undefined) return { psfSize, pupilSize: defaultPupilSize(psfSize) };
  const pupilSize = numberFlag('--pupil-size', flags.pupilSize, { integer: true, min: 1, unit: 'samples' });
  if (pupilSize > MAX_PUPIL_SIZE) {
    throw usageError('--pupil-size', `--pupil-size must be ≤ ${MAX_PUPIL_SIZE} samples, got ${pupilSize}: the PSF's share of energy inside its window is computed on the whole P × P grid, which would not fit in memory beyond it`);
  }
  if (pupilSize < 4 * psfSize) throw usageError('--pupil-size', `--pupil-size must be ≥ 4 × --size = ${4 * psfSize} samples, got ${pupilSize}`);
  return { psfSize, pupilSize };
}

/**
 * The Zernike coefficients of --zernike (Noll) or --zernike-ansi (ANSI/OSA, converted to Noll), or null when
 * neither is given. Both together are refused, and so are an empty list (a flag that says nothing: leave it out) and
 * piston (Noll 1, ANSI 0): a constant phase leaves the intensity |FFT(pupil)|² unchanged, so its value would be
 * ignored, and psfid refuses flags that would be ignored (as --theta-max without --random).
 */
export function zernikeFromFlags(flags: OpticsFlags): ZernikeCoefficients | null {
  if (flags.zernike !== undefined && flags.zernikeAnsi !== undefined) {
    throw usageError('--zernike', '--zernike contradicts --zernike-ansi: give the coefficients with one indexing (Noll or ANSI/OSA), not both');
  }
  const parse = (flag: string, text: string, indexing: 'noll' | 'ansi'): ZernikeCoefficients => {
    if (text.trim() === '') {
      throw usageError(flag, `${flag} is empty: give index:waves pairs, e.g. "4:0.1,7:-0.05" (leave ${flag} out for a diffraction-limited PSF)`);
    }
    const coefficients = withFlagNames(() => parseZernikeCoefficients(text, indexing), { zernike: flag });
    if (coefficients.noll.includes(1)) {
      throw usageError(flag, `${flag}: ${indexing === 'noll' ? 'Noll 1' : 'ANSI 0'} (piston) is a constant phase, which does not change an intensity PSF: leave it out`);
    }
    return coefficients;
  };
  if (flags.zernike !== undefined) return parse('--zernike', flags.zernike, 'noll');
  if (flags.zernikeAnsi !== undefined) return parse('--zernike-ansi', flags.zernikeAnsi, 'ansi');
  return null;
}

/** The active Noll modes: the default set (4–11) plus any other index the coefficients use, in increasing order. */
export function activeZernike(coefficients: ZernikeCoefficients | null): number[] {
  const set = new Set<number>(DEFAULT_ZERNIKE_NOLL);
  for (const j of coefficients?.noll ?? []) set.add(j);
  return [...set].sort((a, b) => a - b);
}

export interface OpticsFromFlags {
  readonly optics: Optics;
  readonly cutoff: CutoffFlags;
}

/**
 * Resolves the optics flags into a validated Optics (limits: Nyquist, pupil grid, PSF size), errors naming the
 * flag. When the flags give no cut-off, `fallbackFc` is used (e.g. a value drawn from the prior, or the prior's
 * smallest fc to validate the grid before drawing); without a fallback, the missing cut-off is a usage error
 * (`missingHint` is appended to its message, e.g. '(or --random to draw it)').
 */
export function opticsFromFlags(flags: OpticsFlags, opts: { zernikeNoll?: readonly number[]; fallbackFc?: number; missingHint?: string } = {}): OpticsFromFlags {
  const cutoff = cutoffFromFlags(flags);
  const { psfSize, pupilSize } = gridFromFlags(flags);
  const base = { psfSize, pupilSize, allowUndersampling: flags.allowUndersampling === true, ...(opts.zernikeNoll ? { zernikeNoll: opts.zernikeNoll } : {}) };
  const optics = withFlagNames(() => {
    try {
      if (cutoff.source === 'fc') return resolveOptics({ ...base, fc: cutoff.fc });
      if (cutoff.source === 'microscope') {
        return resolveOptics({ ...base, numericalAperture: cutoff.numericalAperture, wavelengthNm: cutoff.wavelengthNm, pixelSizeNm: cutoff.pixelSizeNm });
      }
    } catch (e) {
      // The library decides the limits; the CLI words its refusal in terms of the flags the user typed.
      if (e instanceof PsfidError && (e.param === 'fc' || e.param === 'pixelSizeNm')) throw (cutoff.source !== 'none' && cutoffLimitError(originOf(cutoff), base.allowUndersampling)) || e;
      if (e instanceof PsfidError && e.param === 'pupilSize') throw smallCutoffError(cutoff, pupilSize, psfSize) ?? e;
      throw e;
    }
    if (opts.fallbackFc === undefined) {
      throw usageError('--fc', `no pupil cut-off: give --fc, or --na with --wavelength-nm and --pixel-size-nm${opts.missingHint ? ` ${opts.missingHint}` : ''}`);
    }
    return resolveOptics({ ...base, fc: opts.fallbackFc });
  });
  return { optics, cutoff };
}

/**
 * What psf and simulate write into their TIFFs about the optics, so that identify (grid, deconvolve --blind) finds
 * the cut-off again without flags: with the microscope flags, the pixel size as the calibration and NA and
 * wavelength in ImageJ's Info, as `LensNA` and `EmissionWavelength` (keys the reader already takes from Bio-Formats'
 * metadata); otherwise the cut-off itself (given by --fc or drawn) as `psfid.fc` in the Info (src/io/imagej.ts),
 * with `pixelSizeNm`, a pixel size known otherwise (the input's), as the calibration.
 */
export function opticsTiffOptions(cutoff: CutoffFlags, fc: number, pixelSizeNm?: number): { pixelSizeNm?: number; info: string } {
  if (cutoff.source === 'microscope') {
    return { pixelSizeNm: cutoff.pixelSizeNm, info: buildOpticsInfo({ numericalAperture: cutoff.numericalAperture, emissionWavelengthNm: cutoff.wavelengthNm }) };
  }
  return { ...(pixelSizeNm !== undefined && { pixelSizeNm }), info: buildOpticsInfo({ fc, fcPixelSizeNm: pixelSizeNm }) };
}

/** The cut-off of the flags as cutoffLimitError words it (src/identify/pipeline.ts: one wording for every command). */
function originOf(cutoff: Exclude<CutoffFlags, { source: 'none' }>): CutoffOrigin {
  return cutoff.source === 'fc'
    ? { kind: 'fc', fc: cutoff.fc }
    : { kind: 'microscope', numericalAperture: cutoff.numericalAperture, wavelengthNm: cutoff.wavelengthNm, pixelSizeNm: cutoff.pixelSizeNm };
}

/**
 * A cut-off too small for the pupil grid (its disk must span MIN_PUPIL_RADIUS_SAMPLES samples in radius), in the
 * flags' terms: the --pupil-size that would do, or, for an absurd fc, that the PSF would be wider than any image.
 */
function smallCutoffError(cutoff: CutoffFlags, pupilSize: number, psfSize: number): PsfidError | null {
  if (cutoff.source === 'none' || cutoff.fc * pupilSize >= MIN_PUPIL_RADIUS_SAMPLES) return null;
  const fc = cutoff.fc;
  const what = cutoff.source === 'fc' ? `--fc ${fmt(fc)}` : `fc = NA·pixel/λ = ${fmt(fc)} cycles/pixel (--na ${fmt(cutoff.numericalAperture)}, --wavelength-nm ${fmt(cutoff.wavelengthNm)}, --pixel-size-nm ${fmt(cutoff.pixelSizeNm)})`;
  const ring = 0.61 / fc; // the Airy pattern's first dark ring, in pixels
  const needed = Math.ceil(MIN_PUPIL_RADIUS_SAMPLES / fc);
  // Microscope images, mosaics included, stay well below 10⁵ pixels a side.
  if (ring > 1e5) {
    return usageError(cutoff.source === 'fc' ? '--fc' : '--pixel-size-nm', `${what} is too small: the PSF's first dark ring would lie 0.61/fc = ${fmt(ring)} pixels from its centre, wider than any image (fc = NA·pixel/λ: 0.1–0.25 for a microscope sampled near Nyquist)`);
  }
  if (needed > MAX_PUPIL_SIZE) {
    return usageError(cutoff.source === 'fc' ? '--fc' : '--pixel-size-nm', `${what} is too small: its pupil disk would need --pupil-size ≥ ${needed} to span ${MIN_PUPIL_RADIUS_SAMPLES} samples in radius, above the limit ${MAX_PUPIL_SIZE}; psfid models fc ≥ ${MIN_PUPIL_RADIUS_SAMPLES / MAX_PUPIL_SIZE} cycles/pixel (fc = NA·pixel/λ: 0.1–0.25 for a microscope sampled near Nyquist)`);
  }
  const beyond = ring > psfSize / 2 ? `; its first dark ring lies 0.61/fc = ${fmt(ring)} pixels from the centre, outside the --size ${psfSize} window` : '';
  return usageError('--pupil-size', `${what} needs --pupil-size ≥ ${needed}: the pupil disk must span at least ${MIN_PUPIL_RADIUS_SAMPLES} samples in radius, and fc·P = ${fmt(fc * pupilSize)} on --pupil-size ${pupilSize}${beyond}`);
}

/** One Zernike coefficient for reports: Noll and ANSI indices, the mode's name, the amplitude in waves. */
export interface CoefficientReport {
  noll: number;
  ansi: number;
  name: string;
  waves: number;
}

/** θ (aligned with `noll`) as a list of named coefficients. */
export function describeCoefficients(noll: readonly number[], theta: readonly number[]): CoefficientReport[] {
  return noll.map((j, i) => ({ noll: j, ansi: nollToAnsi(j), name: zernikeName(j), waves: theta[i]! }));
}

/**
 * Below this share of its energy inside the S × S window, `psf` and `simulate` warn that the PSF they write is
 * truncated (the crop is renormalised to sum 1, which hides the loss). Not 95 %: the Airy pattern at the prior's
 * smallest fc (0.125) keeps 96 % of its energy in 31², and over a quarter of the default prior's draws keep less than
 * 95 % (a tenth less than 92 %): the training data live with that truncation, so warning there would be noise.
 */
export const WINDOW_ENERGY_WARNING = 0.9;

export interface WindowEnergyReport {
  /** Share of the PSF's energy on the P × P grid that falls inside the written S × S window, before renormalising. */
  energyInWindow: number;
  /** Set when energyInWindow < WINDOW_ENERGY_WARNING: what is lost and the --size that would hold enough. */
  warning?: string;
}

/**
 * The --pupil-size to suggest with --size `side`, where the grid is `p` for the side `s`: none when `p` is the
 * default for `s` (the default follows --size) or already ≥ 4·side, else 4·side.
 */
function pupilFlagFor(side: number, s: number, p: number): string {
  return p === defaultPupilSize(s) || 4 * side <= p ? '' : ` --pupil-size ${4 * side}`;
}

/**
 * The share of a PSF's energy inside its S × S window (optics.psfSize; θ one row in waves, aligned with
 * optics.zernikeNoll) and, when too small, a warning naming the --size that would hold enough.
 */
export function windowEnergyReport(optics: Optics, theta: readonly number[]): WindowEnergyReport {
  const s = optics.psfSize;
  const p = optics.pupilSize;
  const shares = (o: Optics, sizes: number[]): number[] =>
    noGrad(() => tidy(() => psfWindowEnergies(o, tensor(Float64Array.from(theta), [1, theta.length], { dtype: 'float64' }), sizes).toArray() as number[]));
  const energyInWindow = shares(optics, [s])[0]!;
  if (energyInWindow >= WINDOW_ENERGY_WARNING) return { energyInWindow };
  // A larger side needs --pupil-size ≥ 4·side, and a PSF wider than the grid wraps around it (P-periodic): look
  // for it on a grid G finer in frequency, where every side up to G/4 is valid: first 2P (sides up to P/2), never
  // coarser than P; then, if none of those holds enough, MAX_PUPIL_SIZE for the sides up to MAX_PSF_SIZE (memory
  // grows as G², so the large grid is built only when needed).
  const sizes: number[] = [];
  const larger: number[] = [];
  let k = -1;
  for (const g of [Math.max(p, Math.min(2 * p, MAX_PUPIL_SIZE)), MAX_PUPIL_SIZE]) {
    const from = (sizes.at(-1) ?? s) + 2;
    const to = Math.min(Math.floor(g / 4) - 1, MAX_PSF_SIZE);
    if (from > to) continue;
    const more = Array.from({ length: Math.floor((to - from) / 2) + 1 }, (_, i) => from + 2 * i);
    const fine = resolveOptics({ fc: optics.fc, psfSize: s, pupilSize: g, zernikeNoll: optics.zernikeNoll, allowUndersampling: optics.allowUndersampling });
    sizes.push(...more);
    larger.push(...shares(fine, more));
    k = larger.findIndex((v) => v >= WINDOW_ENERGY_WARNING);
    if (k >= 0) break;
  }
  const pct = (v: number): string => `${(100 * v).toPrecision(2)} %`;
  const fix =
    k < 0
      ? `no side up to ${sizes.at(-1) ?? s} pixels would hold ${pct(WINDOW_ENERGY_WARNING)}: check the coefficients (in waves)`
      : `--size ${sizes[k]}${pupilFlagFor(sizes[k]!, s, p)} would hold ${pct(larger[k]!)}`;
  return {
    energyInWindow,
    warning: `only ${pct(energyInWindow)} of the PSF's energy falls inside the ${s}×${s} window: the PSF written (renormalised to sum 1) is truncated; ${fix}`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Acquisition parameters drawn from the prior
// ---------------------------------------------------------------------------------------------------------------

/** Parameters fixed by flags; the others are drawn from the prior. */
export interface PinnedParameters {
  fc?: number;
  thetaMax?: number;
  gain?: number;
  sigma?: number;
  bits?: number;
  saltPepper?: number;
}

/**
 * A prior whose given parameters are pinned (a range [v, v], bits [q]) and whose others keep `base`'s ranges.
 * Sampling it draws every parameter in the usual order, so the same seed gives the same values for the free
 * parameters whichever others are pinned, and pinned ones come out exactly (float64).
 */
export function pinnedPrior(base: Prior, pinned: PinnedParameters, zernikeNoll: readonly number[]): Prior {
  const spec: PriorSpec = { ...base, zernikeNoll };
  const fix = (v: number | undefined): readonly [number, number] | undefined => (v === undefined ? undefined : ([v, v] as const));
  const names: Record<string, string> = {
    'prior.fc': '--fc',
    'prior.thetaMax': '--theta-max',
    'prior.gain': '--gain',
    'prior.sigma': '--sigma',
    'prior.bits': '--bits',
    'prior.saltPepper': '--salt-pepper',
  };
  return withFlagNames(
    () =>
      resolvePrior({
        ...spec,
        ...(pinned.fc !== undefined && { fc: fix(pinned.fc) }),
        ...(pinned.thetaMax !== undefined && { thetaMax: fix(pinned.thetaMax) }),
        ...(pinned.gain !== undefined && { gain: fix(pinned.gain) }),
        ...(pinned.sigma !== undefined && { sigma: fix(pinned.sigma) }),
        ...(pinned.bits !== undefined && { bits: [pinned.bits] }),
        ...(pinned.saltPepper !== undefined && { saltPepper: fix(pinned.saltPepper) }),
      }),
    names,
  );
}

/** "U[a, b]" for help texts. */
export function rangeText(r: readonly [number, number], unit = ''): string {
  return `U[${r[0]}, ${r[1]}]${unit ? ` ${unit}` : ''}`;
}

/** --precision: the arithmetic of the identification network's convolutions (src/model/precision.ts). */
export function precisionOption(): Option {
  return choiceOption(
    '--precision <p>',
    "arithmetic of the network's convolutions: auto = bfloat16 on CPUs with bfloat16 units (Intel AMX or AVX-512 BF16: 2–3× faster, the PSF within ~10⁻⁴ of its peak of float32's), else float32",
    CONV_PRECISION_REQUESTS,
    'auto',
  );
}

/** A commander Option with choices (for --boundary and the like). */
export function choiceOption(flags: string, description: string, choices: readonly string[], defaultValue: string): Option {
  return new Option(flags, description).choices([...choices]).default(defaultValue);
}
