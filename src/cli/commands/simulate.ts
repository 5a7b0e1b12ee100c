// `psfid simulate`: one acquisition of an image through the seed's model (../shared/CONVENTIONS.md),
//   y = S_s(Q_q(P_γ(h ⋆ x) + ε_σ)),  x the input scaled to [0, 1],  h = h(θ, fc),
// with every parameter given by a flag or drawn from the default prior μ with the seed. Writes y (float32 TIFF),
// the true PSF (float32 TIFF) and a JSON sidecar recording every parameter, which were drawn, the seed, the input's
// scaling and the output size. Both TIFFs record the optics where identify reads them (opticsTiffOptions: the pixel
// size, NA and wavelength, or the cut-off as `psfid.fc`), so `psfid identify y.tif` needs no flags. Everything is
// computed before anything is written, and the three files are written together (cli/outputs.ts): a failure leaves
// none of them.
import type { Command } from 'commander';
import { BOUNDARIES, DEFAULT_PRIOR, acquire, sampleDegradation, type Boundary, type Degradation } from '../../acquisition/index.js';
import { Generator, noGrad, tensor, tidy } from '../../engine/index.js';
import { fmt, inputError, usageError } from '../../errors.js';
import { checkPlaneFlag, PLANE_HELP, resolvePlane } from '../../identify/pipeline.js';
import { DTYPE_MAX, LUMA_WEIGHTS, encodeTiff, paletteProblem, planeCount, readImage, toFloat32Gray, type ImageStack } from '../../io/index.js';
import { coefficientsToTheta, resolveOptics } from '../../optics/index.js';
import {
  activeZernike,
  addOpticsOptions,
  choiceOption,
  describeCoefficients,
  opticsFromFlags,
  opticsHelp,
  opticsTiffOptions,
  optionalNumberFlag,
  pinnedPrior,
  rangeText,
  seedFlag,
  WINDOW_ENERGY_WARNING,
  windowEnergyReport,
  withFlagNames,
  zernikeFromFlags,
  type OpticsFlags,
  type PinnedParameters,
} from '../options.js';
import { checkOutputPaths, tiffPath, writeOutputs } from '../outputs.js';

interface SimulateFlags extends OpticsFlags {
  out: string;
  psfOut?: string;
  thetaMax?: string;
  gain?: string;
  sigma?: string;
  bits?: string;
  saltPepper?: string;
  boundary: Boundary;
  seed?: string;
  plane: string;
}

const P = DEFAULT_PRIOR;

export function register(program: Command): void {
  const cmd = program
    .command('simulate')
    .description('blur an image with a Zernike PSF and add noise (the acquisition model), drawing what is not given from the prior')
    .argument('<input>', 'image to degrade: TIFF, PNG or JPEG (see "Input" below)')
    .usage('INPUT --out y.tif [--psf-out h.tif] [optics flags] [noise flags] [--seed N] [options]')
    .requiredOption('--out <y.tif>', 'output: the observation y as a float32 TIFF; the parameters go to <y>.json beside it')
    .option('--psf-out <h.tif>', 'output: the true PSF as a float32 TIFF (default: <y>-psf.tif beside y)');
  addOpticsOptions(cmd, { pixelSizeNote: 'with --na and --wavelength-nm, taken from the input when it states one and this is left out; also written into the output TIFFs, with NA and wavelength (see "Metadata")' });
  cmd
    .option('--theta-max <waves>', `bound θmax of the drawn Zernike coefficients, θ_k ~ U[−θmax, θmax], in waves (default: drawn from ${rangeText(P.thetaMax)}; not with --zernike)`)
    .option('--gain <γ>', `Poisson gain γ: intensity units per photon on the [0, 1] scale (Var = γ·intensity), 0 = no photon noise (default: drawn from ${rangeText(P.gain)})`)
    .option('--sigma <σ>', `Gaussian read-noise standard deviation on the [0, 1] scale, 0 = none (default: drawn from ${rangeText(P.sigma)})`)
    .option('--bits <q>', `camera bit depth: round(clip(y, 0, 1)·(2^q − 1))/(2^q − 1), 0 = no quantization or clipping (default: drawn from {${P.bits.join(', ')}})`)
    .option('--salt-pepper <s>', `probability that a pixel is replaced by 0 or 1 (hot/dead pixels) (default: drawn from ${rangeText(P.saltPepper)})`)
    .addOption(choiceOption('--boundary <mode>', 'blur boundary: valid (y is (H−S+1)×(W−S+1): only pixels whose blur lies inside the image, no assumption beyond it), circular (periodic, H×W), reflect (mirrored edges, H×W)', BOUNDARIES, 'valid'))
    .option('--seed <n>', 'seed of every draw (parameters, then noise): the same seed and flags give the same y (default 0)')
    .option('--plane <k|sharpest[:c]|auto>', `plane of a stack to use (as identify's --plane): ${PLANE_HELP}`, '0')
    .addHelpText(
      'after',
      `
Input:
  Integer images are scaled to [0, 1] by their dtype's range, never by the data's maximum: uint8 ÷ 255,
  uint16 ÷ 65535 (a 12-bit camera image stored in uint16 spans 0…0.0625), uint32 ÷ 4294967295, int8 ÷ 127,
  int16 ÷ 32767, int32 ÷ 2147483647. Float images are used as they are when their values lie in [0, 1], else divided
  by their maximum (float data in camera units; the noise model works on [0, 1]; the sidecar records the divisor).
  RGB becomes luminance ${LUMA_WEIGHTS[0]} R + ${LUMA_WEIGHTS[1]} G + ${LUMA_WEIGHTS[2]} B; alpha is dropped. Stacks
  (z, channels, time): one plane, --plane. Images with NaN or infinite pixels, and images smaller than the PSF,
  are refused. y is on the same scale as the scaled input; the input's pixel size, when the file states one
  and --pixel-size-nm does not, is copied to y and the PSF.

Parameters:
  Every parameter not given by a flag is drawn from the default prior with the seed, in a fixed order (fc, θmax,
  θ, γ, σ, q, s, then the noise), so pinning one parameter leaves the others' draws unchanged. Without --fc or
  --na/--wavelength-nm/--pixel-size-nm, fc is drawn from ${rangeText(P.fc, 'cycles/pixel')}. Without --zernike or
  --zernike-ansi, θ is drawn on the modes listed below. The sidecar <y>.json records every value, given or drawn,
  and the share of the PSF's energy inside its S × S window (psfEnergyInWindow): below ${100 * WINDOW_ENERGY_WARNING} % a warning says
  the PSF (renormalised to sum 1) is truncated and which --size would hold it.

Metadata:
  y and the PSF record the optics where \`psfid identify\` (grid, deconvolve --blind, info) reads them, so that
  \`psfid identify y.tif\` uses the cut-off the simulation used. With --na/--wavelength-nm/--pixel-size-nm: the
  pixel size as the TIFF's ImageJ calibration, NA and wavelength as \`LensNA = …\` and \`EmissionWavelength = …\`
  lines of ImageJ's Info property (Fiji: Image ▸ Show Info). With --fc, or fc drawn: the cut-off itself as a
  \`psfid.fc = …\` Info line (cycles/pixel), and the input's pixel size, if it states one, as the calibration.
  Flags given to identify override all of it.
${opticsHelp({ cutoffRule: 'Give --fc, or --na and --wavelength-nm with --pixel-size-nm (or a pixel size the input states),\n  not both; with none, fc is drawn from the prior.' })}
Example:
  psfid simulate cells.tif --out y.tif --na 1.4 --wavelength-nm 520 --pixel-size-nm 65 --sigma 0.01 --seed 1
`,
    )
    .action((input: string, f: SimulateFlags) => runSimulate(input, f));
}

/** How the input's samples became [0, 1] intensities (recorded in the sidecar). */
function scalingOf(image: ImageStack, max: number): { divisor: number; rule: string } {
  const isFloat = image.dtype === 'float32' || image.dtype === 'float64';
  // Float data above 1 are in a camera's or a processing step's units (a float32 export of 16-bit counts): kept as
  // they are, --bits would clip everything above 1 and y would come out a two-level mask. Their maximum is the only
  // scale they carry.
  if (isFloat && max > 1) return { divisor: max, rule: `${image.dtype} values ÷ ${fmt(max)}, the data's maximum (float values above 1; the noise model works on [0, 1])` };
  if (isFloat) return { divisor: 1, rule: `${image.dtype} values kept as they are` };
  return { divisor: DTYPE_MAX[image.dtype], rule: `${image.dtype} values ÷ ${DTYPE_MAX[image.dtype]} (the dtype's maximum, not the data's)` };
}

/** Refuses samples that are not intensities (a palette, several samples with no colour meaning). */
function checkSamples(input: string, image: ImageStack): void {
  // ImageJ's LUT images and grey-ramp palettes hold intensities; other palettes hold colour-table indices
  const palette = paletteProblem(image);
  if (palette) throw inputError(input, `${input}: ${palette}`);
  if (image.colorModel === 'multi' && image.samplesPerPixel > 1) {
    throw inputError(input, `${input}: ${image.samplesPerPixel} samples per pixel with no colour meaning (${image.metadata.photometric ?? 'multi-sample'}); save one channel as a grey image first`);
  }
}

/** The plane (an index resolvePlane checked) as float32 grey on [0, 1], refusing non-finite pixels. */
function loadPlane(input: string, image: ImageStack, plane: number): Float32Array {
  const x = toFloat32Gray(image, plane);
  let bad = 0;
  let first = -1;
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]!)) {
      if (bad === 0) first = i;
      bad++;
    }
  }
  if (bad > 0) {
    const where = `first at column ${first % image.width}, row ${Math.floor(first / image.width)}`;
    throw inputError(input, `${input}: plane ${plane} has ${bad} NaN or infinite pixel(s) (${where}); psfid needs finite pixel values`);
  }
  return x;
}

/** Refuses an image too small for the PSF under `boundary`. */
function checkSize(input: string, image: ImageStack, s: number, boundary: Boundary): void {
  const half = Math.floor(s / 2);
  const min = boundary === 'reflect' ? half + 1 : s;
  if (image.width < min || image.height < min) {
    const why = boundary === 'valid' ? `'valid' blur gives (H−S+1)×(W−S+1) pixels, so it needs at least ${s}×${s}` : `'${boundary}' blur needs at least ${min}×${min}`;
    throw inputError(input, `${input}: the image is ${image.width}×${image.height} pixels, too small for the ${s}×${s} PSF: ${why}. Use a larger image or a smaller --size`);
  }
}

function runSimulate(input: string, f: SimulateFlags): void {
  // 1. Flags (exit 2), before touching the input.
  const coefficients = zernikeFromFlags(f);
  if (coefficients !== null && f.thetaMax !== undefined) {
    throw usageError('--theta-max', `--theta-max contradicts ${f.zernike !== undefined ? '--zernike' : '--zernike-ansi'}: θmax bounds drawn coefficients; given ones are used as they are`);
  }
  const noll = activeZernike(coefficients);
  const pinned: PinnedParameters = {
    thetaMax: optionalNumberFlag('--theta-max', f.thetaMax, { min: 0, max: 1, unit: 'waves' }),
    gain: optionalNumberFlag('--gain', f.gain, { min: 0, max: 1 }),
    sigma: optionalNumberFlag('--sigma', f.sigma, { min: 0, max: 1 }),
    bits: optionalNumberFlag('--bits', f.bits, { integer: true, min: 0, max: 32, unit: 'bits' }),
    saltPepper: optionalNumberFlag('--salt-pepper', f.saltPepper, { min: 0, max: 1 }),
  };
  const seed = seedFlag(f.seed ?? '0');
  checkPlaneFlag(f.plane);
  const boundary = f.boundary;
  const { stem, ext } = tiffPath('--out', f.out);
  const psfOut = f.psfOut ?? `${stem}-psf${ext}`;
  tiffPath('--psf-out', psfOut);
  const sidecarPath = `${stem}.json`;
  // --na and --wavelength-nm describe the simulated objective; the pixel is the specimen's sampling, which the input
  // may state: it completes the three, as identify completes them from a file (then the input is read here, once).
  let early: ImageStack | undefined;
  let pixelFromInput = false;
  if (f.fc === undefined && f.na !== undefined && f.wavelengthNm !== undefined && f.pixelSizeNm === undefined) {
    early = readImage(input);
    if (early.metadata.pixelSizeNm !== undefined) {
      f = { ...f, pixelSizeNm: String(early.metadata.pixelSizeNm) };
      pixelFromInput = true;
    }
  }
  // The grid (and, without a cut-off, the pupil sampling at the prior's smallest fc) is checked now.
  const first = opticsFromFlags(f, { zernikeNoll: noll, fallbackFc: P.fc[0] });
  const theta = coefficients === null ? null : withFlagNames(() => coefficientsToTheta(noll, coefficients), { zernike: f.zernike !== undefined ? '--zernike' : '--zernike-ansi' });
  const outputs = [
    { path: f.out, flag: '--out' },
    { path: psfOut, flag: f.psfOut !== undefined ? '--psf-out' : '--out (its PSF, <y>-psf.tif)' },
    { path: sidecarPath, flag: '--out (its sidecar, <y>.json)' },
  ];
  checkOutputPaths(outputs, [input]);

  // 2. The input (exit 1 on bad data).
  const image = early ?? readImage(input);
  checkSamples(input, image);
  const chosen = resolvePlane(image, f.plane, input);
  const plane = chosen.value;
  const x = loadPlane(input, image, plane);
  const s = first.optics.psfSize;
  checkSize(input, image, s, boundary);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < x.length; i++) {
    lo = Math.min(lo, x[i]!);
    hi = Math.max(hi, x[i]!);
  }
  const scaling = scalingOf(image, hi);
  // integers were divided by toFloat32Gray already; a float plane above 1 is divided here
  if (image.dtype.startsWith('float') && scaling.divisor !== 1) for (let i = 0; i < x.length; i++) x[i]! /= scaling.divisor;
  if (lo < 0) {
    console.error(`warning: ${input} holds negative values (down to ${fmt(lo)}); the noise model assumes intensities ≥ 0 and --bits clips to [0, 1]`);
  }

  // 3. Parameters: pinned by flags or drawn, in the prior's order; then the acquisition, drawing the noise from the
  //    same generator. Computed in float64, written as float32.
  const cutoff = first.cutoff;
  const prior = pinnedPrior(P, { ...pinned, ...(cutoff.source !== 'none' && { fc: first.optics.fc }) }, noll);
  const result = noGrad(() =>
    tidy(() => {
      const gen = new Generator(seed);
      let params: Degradation = sampleDegradation(gen, prior, 1, { dtype: 'float64' });
      if (theta !== null) params = { ...params, theta: tensor(Float64Array.from(theta), [1, noll.length], { dtype: 'float64' }) };
      const fc = params.fc.item();
      const optics = cutoff.source === 'none' ? withFlagNames(() => resolveOptics({ fc, psfSize: s, pupilSize: first.optics.pupilSize, zernikeNoll: noll, allowUndersampling: first.optics.allowUndersampling })) : first.optics;
      const xt = tensor(Float64Array.from(x), [1, 1, image.height, image.width], { dtype: 'float64' });
      const a = acquire(gen, xt, params, optics, { boundary });
      gen.dispose();
      return {
        energy: windowEnergyReport(optics, params.theta.toArray()),
        fc,
        thetaMax: params.thetaMax.item(),
        theta: params.theta.toArray(),
        gain: params.gain.item(),
        sigma: params.sigma.item(),
        bits: params.bits.item(),
        saltPepper: params.saltPepper.item(),
        y: Float32Array.from(a.y.data() as Float64Array),
        height: a.y.size(2),
        width: a.y.size(3),
        h: Float32Array.from(a.h.data() as Float64Array),
      };
    }),
  );

  // 4. The three outputs, encoded in memory, then written together.
  const tiffOptions = opticsTiffOptions(cutoff, result.fc, image.metadata.pixelSizeNm);
  const pixelSizeNm = tiffOptions.pixelSizeNm;
  const given = (name: keyof PinnedParameters): boolean => pinned[name] !== undefined;
  const drawn = [
    ...(cutoff.source === 'none' ? ['fc'] : []),
    ...(theta === null ? [...(given('thetaMax') ? [] : ['thetaMax']), 'zernike'] : []),
    ...(['gain', 'sigma', 'bits', 'saltPepper'] as const).filter((k) => !given(k)),
  ];
  const sidecar = {
    command: 'psfid simulate',
    model: 'y = S_s(Q_q(P_γ(h ⋆ x) + ε_σ)), x = the input scaled to [0, 1], h = h(θ, fc) (see CONVENTIONS.md)',
    seed,
    input: {
      path: input,
      format: image.format,
      width: image.width,
      height: image.height,
      dtype: image.dtype,
      bitsPerSample: image.bitsPerSample,
      colorModel: image.colorModel,
      planes: planeCount(image),
      plane,
      planeChoice: chosen.source,
      scaling: {
        divisor: scaling.divisor,
        rule: scaling.rule,
        ...(image.colorModel === 'rgb' || image.colorModel === 'rgba' ? { colour: `luminance ${LUMA_WEIGHTS[0]} R + ${LUMA_WEIGHTS[1]} G + ${LUMA_WEIGHTS[2]} B` } : {}),
        range: [lo, hi],
      },
      ...(image.metadata.pixelSizeNm !== undefined && { pixelSizeNm: image.metadata.pixelSizeNm }),
    },
    outputs: { y: f.out, psf: psfOut, sidecar: sidecarPath },
    output: {
      width: result.width,
      height: result.height,
      dtype: 'float32',
      boundary,
      scale: 'the scaled input\'s: [0, 1] intensity',
      ...(pixelSizeNm !== undefined && { pixelSizeNm }),
      // What the TIFFs state about the optics, in ImageJ's Info property (see --help, "Metadata").
      imagejInfo: tiffOptions.info,
    },
    optics: {
      fc: result.fc,
      fcUnit: 'cycles/pixel',
      fcSource: cutoff.source === 'fc' ? '--fc' : cutoff.source === 'microscope' ? 'NA·pixel/λ' : 'drawn',
      ...(cutoff.source === 'microscope' && { numericalAperture: cutoff.numericalAperture, wavelengthNm: cutoff.wavelengthNm, pixelSizeNm: cutoff.pixelSizeNm, pixelSizeSource: pixelFromInput ? 'the input\'s metadata' : '--pixel-size-nm' }),
      psfSize: s,
      pupilSize: first.optics.pupilSize,
      allowUndersampling: first.optics.allowUndersampling,
      psfEnergyInWindow: result.energy.energyInWindow,
    },
    parameters: {
      fc: result.fc,
      thetaMax: theta === null ? result.thetaMax : null,
      zernike: describeCoefficients(noll, result.theta),
      gain: result.gain,
      sigma: result.sigma,
      bits: result.bits,
      saltPepper: result.saltPepper,
    },
    units: { fc: 'cycles/pixel', thetaMax: 'waves', zernike: 'waves (Noll-normalised)', gain: 'intensity units per photon', sigma: 'intensity ([0, 1] scale)', bits: 'bits (0 = no quantization)', saltPepper: 'probability per pixel' },
    drawn,
    given: ['fc', 'thetaMax', 'zernike', 'gain', 'sigma', 'bits', 'saltPepper'].filter((k) => !drawn.includes(k) && !(k === 'thetaMax' && theta !== null)),
    prior: P,
    warnings: result.energy.warning ? [result.energy.warning] : [],
  };
  writeOutputs([
    { path: f.out, flag: '--out', bytes: encodeTiff({ width: result.width, height: result.height, planes: [result.y] }, tiffOptions, f.out) },
    { path: psfOut, flag: outputs[1]!.flag, bytes: encodeTiff({ width: s, height: s, planes: [result.h] }, tiffOptions, psfOut) },
    { path: sidecarPath, flag: outputs[2]!.flag, bytes: new TextEncoder().encode(JSON.stringify(sidecar, null, 1) + '\n') },
  ]);
  if (result.energy.warning) console.error(`warning: ${result.energy.warning}`);
  console.log(
    `${f.out}: ${result.width}×${result.height} float32 (${boundary} blur of ${input}${planeCount(image) > 1 ? ` plane ${plane}${chosen.source === 'flag --plane' ? '' : ` (${chosen.source})`}` : ''}), ` +
      `fc ${fmt(result.fc)} cycles/pixel, γ ${fmt(result.gain)}, σ ${fmt(result.sigma)}, ${result.bits === 0 ? 'no quantization' : `${result.bits} bits`}, s ${fmt(result.saltPepper)}; ` +
      `PSF ${psfOut}, parameters ${sidecarPath} (seed ${seed}${drawn.length ? `; drawn: ${drawn.join(', ')}` : ''})`,
  );
}
