// `psfid identify` and `psfid grid`: the PSF of a microscope image (or a grid of PSFs across the field).
import type { Command } from 'commander';
import { resolveDevice, type Tensor } from '../../engine/index.js';
import { buildOpticsInfo, encodePng, encodeTiff, paletteProblem, readImage, type ImageStack } from '../../io/index.js';
import { loadModel, defaultModelPath, resolveModelPath, SHIPPED_MODELS, type ModelInfo } from '../../model/store.js';
import type { Identifier } from '../../model/identifier.js';
import {
  grayPlane, identifyImage, identifyImageGrid, checkPlaneFlag, outsideTraining, parseRegion, parseTiles, PLANE_HELP, priorMeanOf, resolveCutoff, resolvePlane, zernikeReadout,
  type IdentifyImageOptions, type Resolved,
} from '../../identify/pipeline.js';
import { psfGridFigure } from '../../report/figures.js';
import { inspectPlane, type detectSaturation } from '../../identify/saturation.js';
import { fmt, inputError } from '../../errors.js';
import { checkAugment, type Augment } from '../../identify/identify.js';
import { cutoffFromFlags, numberFlag, optionalNumberFlag, opticsHelp, precisionOption, type OpticsFlags as RawOpticsFlags } from '../options.js';
import type { ConvPrecision, ConvPrecisionRequest } from '../../model/precision.js';
import { cutoffLimitError, type OpticsFlags } from '../../identify/pipeline.js';
import { checkOutputPaths, jsonBytes, pngPath, tiffPath, writeOutputs } from '../outputs.js';
import { lazyBar } from '../progress.js';

/** Adds the cut-off flags (fc, or NA, wavelength and pixel size; each falls back to the file's metadata). */
export function addCutoffFlags(cmd: Command): Command {
  return cmd
    .option('--fc <cycles/px>', 'pupil cut-off in cycles/pixel, fc = NA·pixel size/wavelength (≤ 0.25 for Nyquist sampling)')
    .option('--na <NA>', "numerical aperture of the objective (default: the file's metadata)")
    .option('--wavelength-nm <nm>', "emission wavelength in nanometres (default: the file's metadata)")
    .option('--pixel-size-nm <nm>', "pixel size in the sample plane in nanometres (default: the file's metadata)")
    .option('--allow-undersampling', 'accept 0.25 < fc < 0.5 (pixels larger than Nyquist; the PSF aliases)')
    .addHelpText(
      'after',
      opticsHelp({
        aberrations: false,
        cutoffRule: "Give --fc, or --na, --wavelength-nm and --pixel-size-nm: each of the three the file's metadata\n  can supply (a flag overrides the file), as can a psfid.fc line psfid wrote; --fc does not combine with them.",
      }),
    );
}

/** The flags as numbers; NA, wavelength and pixel size may each be missing (the file's metadata fills them). */
export function parseCutoffFlags(f: RawOpticsFlags): OpticsFlags {
  const base = { allowUndersampling: !!f.allowUndersampling };
  if (f.fc !== undefined) {
    const c = cutoffFromFlags(f); // refuses --fc together with the triple
    return { ...base, fc: c.source === 'fc' ? c.fc : undefined };
  }
  return {
    ...base,
    numericalAperture: optionalNumberFlag('--na', f.na, { min: 0, minExclusive: true }),
    wavelengthNm: optionalNumberFlag('--wavelength-nm', f.wavelengthNm, { min: 0, minExclusive: true }),
    pixelSizeNm: optionalNumberFlag('--pixel-size-nm', f.pixelSizeNm, { min: 0, minExclusive: true }),
  };
}

interface CommonFlags extends Omit<RawOpticsFlags, 'zernike'> {
  thetaMax?: string;
  plane: string;
  model?: string;
  patchSize: string;
  maxPatches: string;
  augment: string;
  device: string;
  precision: ConvPrecisionRequest;
  out: string;
  json?: boolean;
  readout: boolean;
}

/** What identification needs besides the pixels: fc and θmax (each with where it came from), the model, the device. */
export interface Identification {
  fc: Resolved<number>;
  thetaMax: Resolved<number>;
  model: Identifier;
  info: ModelInfo;
  modelPath: string;
  device: string;
  /** The arithmetic the network's convolutions ran in. */
  precision: ConvPrecision;
  patchSize: number;
  maxPatches: number;
  augment: Augment;
  pixelSizeNm?: number;
  /**
   * How the PSFs identified here are written: the pixel size as the TIFF's calibration, and in ImageJ's Info the fc
   * they were identified at (`psfid.fc`) with the NA and emission wavelength where known (flags, else the image), so
   * that `psfid info` and psfid's other commands read a PSF file's optics back.
   */
  outputOptics: { pixelSizeNm?: number; info: string };
  /** Why the estimate extrapolates (fc or θmax outside the model's prior), also printed on stderr. */
  warnings: string[];
}

export interface Prepared extends Identification {
  image: ImageStack;
  gray: Float32Array;
  /** The plane used and how it was chosen (--plane). */
  plane: Resolved<number>;
}

/** The identification flags, validated (before any file is read, so that a typo fails fast). */
export interface IdentifyFlagValues {
  optics: OpticsFlags;
  thetaMax?: number;
  patchSize: number;
  maxPatches: number;
  augment: Augment;
  device: string;
  precision: ConvPrecisionRequest;
  model?: string;
}

/** --augment's help, shared by identify, grid and deconvolve --blind. */
export const AUGMENT_HELP =
  'dihedral: also show the network each patch flipped and transposed (the 8 symmetries of the pixel grid) and combine the 8 answers; ' +
  '≈ 7× the network time for +0.0 to +0.3 dB PSNR(ĥ) on held-out images with the shipped model (scripts/eval/augment.sh, README)';

export function parseIdentifyFlags(f: Omit<CommonFlags, 'plane' | 'out' | 'readout'>): IdentifyFlagValues {
  const optics = parseCutoffFlags(f);
  // checked before the file is read, in the words psf, simulate and resolveCutoff use
  const limit = optics.fc === undefined ? null : cutoffLimitError({ kind: 'fc', fc: optics.fc }, !!optics.allowUndersampling);
  if (limit) throw limit;
  const thetaMax = optionalNumberFlag('--theta-max', f.thetaMax, { min: 0, minExclusive: true, max: 1 });
  const patchSize = numberFlag('--patch-size', f.patchSize, { integer: true, min: 16 });
  const maxPatches = numberFlag('--max-patches', f.maxPatches, { integer: true, min: 1 });
  const augment = checkAugment(f.augment ?? 'none', '--augment');
  return { optics, thetaMax, patchSize, maxPatches, augment, device: resolveDevice(f.device), precision: f.precision ?? 'auto', model: f.model };
}

/** Resolves fc (flags, else the image's metadata) and θmax (flag, else the model's prior mean), and loads the model. */
export function prepareIdentification(path: string, v: IdentifyFlagValues, metadata: ImageStack['metadata']): Identification {
  const fc = resolveCutoff(v.optics, metadata, path);
  const modelPath = resolveModelPath(v.model ?? defaultModelPath());
  const { model, info } = loadModel(modelPath, v.device, v.precision);
  const mean = priorMeanOf(info);
  const thetaMax: Resolved<number> = v.thetaMax !== undefined ? { value: v.thetaMax, source: 'flag --theta-max' } : { value: mean.thetaMax, source: "the model's prior mean" };
  const warnings = outsideTraining(info, fc.value, thetaMax.value);
  for (const w of warnings) console.error(`warning: ${w}`);
  const pixelSizeNm = v.optics.pixelSizeNm ?? metadata.pixelSizeNm;
  const outputOptics = {
    ...(pixelSizeNm !== undefined && { pixelSizeNm }),
    info: buildOpticsInfo({ fc: fc.value, fcPixelSizeNm: pixelSizeNm, numericalAperture: v.optics.numericalAperture ?? metadata.numericalAperture, emissionWavelengthNm: v.optics.wavelengthNm ?? metadata.emissionWavelengthNm }),
  };
  return { fc, thetaMax, model, info, modelPath, device: v.device, precision: model.convPrecision, patchSize: v.patchSize, maxPatches: v.maxPatches, augment: v.augment, pixelSizeNm, outputOptics, warnings };
}

/** The identification options a prepared run passes to identifyImage / identifyImageGrid. */
export function patchingOf(p: Identification): IdentifyImageOptions {
  return { fc: p.fc.value, thetaMax: p.thetaMax.value, device: p.device, patchSize: p.patchSize, maxPatches: p.maxPatches, augment: p.augment };
}

/** Where to point users whose field's focus varies (models/MODEL_CARD.md). */
export const FIELD_OF_FOCUS_HINT = 'small-fcref (models/psfid-small-fcref.safetensors) reads defocus better, for grids over fields whose focus varies';

/**
 * The checks of ../../identify/saturation.ts on the plane identify reads, as warnings (added to `warnings` and
 * printed): a two-level plane (a mask), or saturation, which is also returned for the JSON summary. Only reported:
 * leaving saturated patches out was tried (session 13) and helped or hurt by up to 1 dB depending on the threshold,
 * with no setting better across cases. A constant plane is refused later (nothing to identify).
 */
export function reportSaturation(plane: ArrayLike<number>, width: number, warnings: string[]): ReturnType<typeof detectSaturation> {
  const { greyLevels, saturation } = inspectPlane(plane, width);
  const text =
    greyLevels === 2
      ? 'the plane has only 2 grey levels (a mask or a thresholded image?): it shows no blur, so the PSF estimate means nothing; give the microscope image itself'
      : saturation &&
        `${saturation.pixels} pixels (${(100 * saturation.fraction).toPrecision(2)} %) sit at the plane's maximum: saturated; the blur model does not describe clipped plateaus, so the estimate may be off (clipping the brightest 5 % of the identify test's specimens costs 0.7 dB)`;
  if (text) {
    warnings.push(text);
    console.error(`warning: ${text}`);
  }
  return saturation;
}

/** The pixels of `region` of a row-major plane `width` pixels wide, row-major. */
function regionPixels(plane: Float32Array, width: number, region: { x: number; y: number; width: number; height: number }): Float32Array {
  const out = new Float32Array(region.width * region.height);
  for (let r = 0; r < region.height; r++) out.set(plane.subarray((region.y + r) * width + region.x, (region.y + r) * width + region.x + region.width), r * region.width);
  return out;
}

/** Reads the image and the model and resolves fc and θmax, each with where it came from. */
export function prepare(path: string, f: CommonFlags): Prepared {
  const v = parseIdentifyFlags(f);
  checkPlaneFlag(f.plane);
  const image = readImage(path);
  const palette = paletteProblem(image);
  if (palette) throw inputError(path, `${path}: ${palette}`);
  const plane = resolvePlane(image, f.plane, path);
  const gray = grayPlane(image, path, plane.value);
  return { image, gray, plane, ...prepareIdentification(path, v, image.metadata) };
}

function commonFlags(cmd: Command): Command {
  addCutoffFlags(cmd);
  return cmd
    .option('--theta-max <waves>', "aberration amplitude bound θmax in waves (default: the mean of the model's prior)")
    .option('--plane <k|sharpest[:c]|auto>', `plane of a stack to use: ${PLANE_HELP}`, 'auto')
    .option('--model <file|name>', `identification model: a .safetensors file or a shipped model's name (${SHIPPED_MODELS.join(', ')}); default: small (models/psfid-small.safetensors); ${FIELD_OF_FOCUS_HINT}`)
    .option('--patch-size <px>', 'side of the square patches the network looks at (estimates are combined, weighted by contrast)', '128')
    .option('--max-patches <n>', 'look at no more than this many patches per image or tile, those of highest contrast (time grows with the count)', '256')
    .option('--augment <none|dihedral>', AUGMENT_HELP, 'none')
    .option('--device <device>', 'cpu, cuda or auto', 'auto')
    .addOption(precisionOption())
    .option('--no-readout', 'skip the Zernike readout (a fit of Noll 4–11 to each estimated PSF)')
    .option('--json', 'print a JSON summary: the plane, fc and θmax used and where each came from, warnings (fc or θmax outside the model’s training range), patches, the Zernike readout (atBound marks coefficients at ±θmax: a saturated output, not a measurement)');
}

/** A PSF stack [N, S, S] as N row-major planes (for TIFF stacks and figures). */
export function planesOf(t: Tensor): Float32Array[] {
  const [n, s] = [t.size(0), t.size(1)];
  const d = t.data() as Float32Array;
  return Array.from({ length: n }, (_, k) => d.slice(k * s * s, (k + 1) * s * s));
}

export function register(program: Command): void {
  commonFlags(
    program
      .command('identify <image>')
      .description('estimate the PSF of a microscope image (TIFF/PNG/JPEG) with the identification network')
      .option('--roi <x,y,w,h>', 'use only this region (pixels; x along columns)')
      .requiredOption('--out <psf.tif>', 'output PSF: float32 TIFF, S×S, sum 1, optical axis at ⌊S/2⌋'),
  ).action((path: string, f: CommonFlags & { roi?: string }) => {
    tiffPath('--out', f.out);
    checkOutputPaths([{ path: f.out, flag: '--out' }], [path]);
    const p = prepare(path, f);
    const region = f.roi ? parseRegion(f.roi, p.image.width, p.image.height) : undefined;
    // what the network reads: the region, not the plane (a clipped cell elsewhere says nothing about it)
    const saturation = region ? reportSaturation(regionPixels(p.gray, p.image.width, region), region.width, p.warnings) : reportSaturation(p.gray, p.image.width, p.warnings);
    const progress = lazyBar('identify', 'patches');
    let found: ReturnType<typeof identifyImage>;
    try {
      found = identifyImage(p.model, p.gray, p.image.width, p.image.height, { ...patchingOf(p), region, onPatches: progress.onProgress });
    } finally {
      progress.stop();
    }
    const { psf, patches } = found;
    const readout = f.readout ? zernikeReadout(psf.unsqueeze(0), p.fc.value, { allowUndersampling: !!f.allowUndersampling, thetaMax: p.thetaMax.value })[0]! : undefined;
    const S = psf.size(0);
    writeOutputs([{ path: f.out, flag: '--out', bytes: encodeTiff({ width: S, height: S, planes: [psf.data() as Float32Array] }, p.outputOptics, f.out) }]);
    const summary = {
      image: path, out: f.out, model: p.modelPath, precision: p.precision, psfSize: S, patches, augment: p.augment,
      region: region ?? { x: 0, y: 0, width: p.image.width, height: p.image.height },
      plane: p.plane, fc: p.fc, thetaMax: p.thetaMax, saturation, warnings: p.warnings,
      zernike: readout && { signRule: 'defocus (Noll 4) ≥ 0 (twin-image ambiguity)', ...readout },
    };
    if (f.json) console.log(JSON.stringify(summary, null, 2));
    else console.log(`psfid identify: ${f.out} (${S}×${S}${p.image.planes.length === 1 ? '' : `, plane ${p.plane.value} (${p.plane.source})`}, fc ${p.fc.value.toFixed(4)} from ${p.fc.source}, θmax ${fmt(p.thetaMax.value)} from ${p.thetaMax.source}, ${patches} patch${patches === 1 ? '' : 'es'})`);
    psf.dispose();
    p.model.dispose();
  });

  commonFlags(
    program
      .command('grid <image>')
      .description('estimate one PSF per tile of a grid across the field (spatially varying blur)')
      .requiredOption('--tiles <nxm>', 'tiles along x (columns) × y (rows), e.g. 4x4')
      .option('--overlap <fraction>', 'each tile is enlarged by this fraction of the tile pitch (0 ≤ overlap < 1)', '0.5')
      .option('--figure <png>', 'draw the image with each tile\'s PSF at its centre (contrast-stretched)')
      .requiredOption('--out <grid.tif>', 'output: float32 TIFF stack, one S×S PSF per tile (row-major: y, then x), with a JSON sidecar <grid>.json giving the tile centres'),
  ).action((path: string, f: CommonFlags & { tiles: string; overlap: string; figure?: string }) => {
    const tiles = parseTiles(f.tiles);
    const overlap = numberFlag('--overlap', f.overlap, { min: 0, max: 1, maxExclusive: true });
    tiffPath('--out', f.out);
    if (f.figure !== undefined) pngPath('--figure', f.figure);
    const outputs = [
      { path: f.out, flag: '--out' },
      { path: sidecarPath(f.out), flag: '--out (its sidecar, <grid>.json)' },
      ...(f.figure !== undefined ? [{ path: f.figure, flag: '--figure' }] : []),
    ];
    checkOutputPaths(outputs, [path]);
    const p = prepare(path, f);
    const saturation = reportSaturation(p.gray, p.image.width, p.warnings);
    const progress = lazyBar('grid', 'tiles');
    let grid: ReturnType<typeof identifyImageGrid>;
    try {
      grid = identifyImageGrid(p.model, p.gray, p.image.width, p.image.height, tiles, { ...patchingOf(p), overlap, onTile: progress.onProgress });
    } finally {
      progress.stop();
    }
    const planes = planesOf(grid.psfs);
    const S = grid.psfs.size(1);
    const readout = f.readout ? zernikeReadout(grid.psfs, p.fc.value, { allowUndersampling: !!f.allowUndersampling, thetaMax: p.thetaMax.value }) : undefined;
    const sidecar = {
      image: path, imageSize: { width: p.image.width, height: p.image.height }, grid: f.out, model: p.modelPath, precision: p.precision, psfSize: S, augment: p.augment, tiles: grid.tiles, order: 'row-major: index = ty·nx + tx',
      centres: grid.centres, regions: grid.regions, plane: p.plane, fc: p.fc, thetaMax: p.thetaMax, saturation, warnings: p.warnings,
      zernike: readout && { signRule: 'defocus (Noll 4) ≥ 0 (twin-image ambiguity)', tiles: readout },
    };
    const figure = f.figure !== undefined && psfGridFigure(p.gray, p.image.width, p.image.height, planes, S, grid.centres);
    // all or nothing: the stack, its sidecar and the figure
    const bytes = [
      encodeTiff({ width: S, height: S, planes }, p.outputOptics, f.out),
      jsonBytes(sidecar),
      ...(figure ? [encodePng({ width: figure.width, height: figure.height, channels: 3, data: figure.data }, f.figure)] : []),
    ];
    writeOutputs(outputs.map((o, i) => ({ ...o, bytes: bytes[i]! })));
    if (f.json) console.log(JSON.stringify(sidecar, null, 2));
    else console.log(`psfid grid: ${f.out} (${tiles[0]}×${tiles[1]} PSFs of ${S}×${S}, fc ${p.fc.value.toFixed(4)} from ${p.fc.source}); centres in ${sidecarPath(f.out)}`);
    grid.psfs.dispose();
    p.model.dispose();
  });
}

/** The JSON sidecar of a grid TIFF: grid.tif → grid.json. */
export function sidecarPath(gridPath: string): string {
  return gridPath.replace(/\.tiff?$/i, '') + '.json';
}
