// `psfid psf`: one PSF from a cut-off and Zernike coefficients (given, or drawn with a seed), written as a float32
// TIFF that sums to 1, with its optics in its ImageJ metadata (opticsTiffOptions): the pixel size, NA and wavelength
// when the flags give them, else the cut-off as `psfid.fc`.
import type { Command } from 'commander';
import { DEFAULT_PRIOR, sampleDegradation } from '../../acquisition/index.js';
import { Generator, noGrad, tensor, tidy } from '../../engine/index.js';
import { fmt, usageError } from '../../errors.js';
import { encodeTiff } from '../../io/index.js';
import { coefficientsToTheta, psfFromZernike, resolveOptics, zernikeName } from '../../optics/index.js';
import {
  activeZernike,
  addOpticsOptions,
  describeCoefficients,
  numberFlag,
  opticsFromFlags,
  opticsHelp,
  opticsTiffOptions,
  pinnedPrior,
  rangeText,
  seedFlag,
  WINDOW_ENERGY_WARNING,
  windowEnergyReport,
  withFlagNames,
  zernikeFromFlags,
  type OpticsFlags,
} from '../options.js';
import { checkOutputPaths, tiffPath, writeOutputs } from '../outputs.js';

interface PsfFlags extends OpticsFlags {
  random?: boolean;
  thetaMax?: string;
  seed?: string;
  out: string;
  json?: boolean;
}

export function register(program: Command): void {
  const cmd = program
    .command('psf')
    .description('compute a PSF from the optics and Zernike aberrations (given, or drawn with --random) and write it as a float32 TIFF')
    .usage('[--fc F | --na NA --wavelength-nm L --pixel-size-nm P] [--zernike "4:0.1,7:-0.05" | --random] --out psf.tif [options]');
  addOpticsOptions(cmd, { pixelSizeNote: 'also written into the TIFF as its calibration' });
  cmd
    .option('--random', `draw θ_k ~ U[−θmax, θmax] i.i.d. on the modes (and fc from the prior, ${rangeText(DEFAULT_PRIOR.fc, 'cycles/pixel')}, when not given)`)
    .option('--theta-max <waves>', `bound θmax of --random in waves (default: drawn from ${rangeText(DEFAULT_PRIOR.thetaMax)})`)
    .option('--seed <n>', 'seed of --random: the same seed gives the same PSF (default 0)')
    .requiredOption('--out <file.tif>', 'output: the PSF as a float32 TIFF, S × S, sum 1, optical axis at the centre pixel')
    .option('--json', "print fc (and where it came from), the size, the share of the PSF's energy inside the S × S window, every coefficient (Noll index, name, waves) and any warning as JSON")
    .addHelpText(
      'after',
      `${opticsHelp()}
Without --zernike or --random the PSF is diffraction-limited (all coefficients 0: the Airy pattern).
The S × S window is renormalised to sum 1; when it holds less than ${100 * WINDOW_ENERGY_WARNING} % of the PSF's energy (strong
defocus, a tilt that moves the spot out), a warning says so and which --size would hold it.
--random draws fc, θmax and θ as \`psfid simulate\` does: with the same seed and optics flags it gives the PSF
that simulate uses.
The TIFF records its optics as \`psfid simulate\`'s outputs do (see its --help, "Metadata").
Examples:
  psfid psf --na 1.4 --wavelength-nm 520 --pixel-size-nm 65 --zernike "4:0.1,11:0.05" --out psf.tif
  psfid psf --fc 0.2 --random --theta-max 0.1 --seed 3 --out psf.tif --json
`,
    )
    .action((f: PsfFlags) => runPsf(f));
}

function runPsf(f: PsfFlags): void {
  // 1. Flags: contradictions first, then values.
  if (f.random && (f.zernike !== undefined || f.zernikeAnsi !== undefined)) {
    const flag = f.zernike !== undefined ? '--zernike' : '--zernike-ansi';
    throw usageError('--random', `--random contradicts ${flag}: either give the coefficients or draw them, not both`);
  }
  if (!f.random) {
    for (const [flag, v] of [['--theta-max', f.thetaMax], ['--seed', f.seed]] as const) {
      if (v !== undefined) throw usageError(flag, `${flag} only applies with --random (it sets how the coefficients are drawn)`);
    }
  }
  const coefficients = zernikeFromFlags(f);
  const noll = activeZernike(coefficients);
  const thetaMax = f.thetaMax === undefined ? undefined : numberFlag('--theta-max', f.thetaMax, { min: 0, max: 1, unit: 'waves' });
  const seed = f.random ? seedFlag(f.seed ?? '0') : undefined;
  tiffPath('--out', f.out);
  // Validates every optics flag now; with --random and no cut-off, the grid is checked at the prior's smallest fc.
  const first = opticsFromFlags(f, { zernikeNoll: noll, missingHint: '(or --random to draw it from the prior)', ...(f.random ? { fallbackFc: DEFAULT_PRIOR.fc[0] } : {}) });
  checkOutputPaths([{ path: f.out, flag: '--out' }]);

  // 2. Coefficients (and fc) given or drawn.
  let theta: number[];
  let optics = first.optics;
  let drawnThetaMax: number | undefined;
  if (f.random) {
    const prior = pinnedPrior(DEFAULT_PRIOR, { ...(first.cutoff.source !== 'none' && { fc: first.optics.fc }), ...(thetaMax !== undefined && { thetaMax }) }, noll);
    const drawn = tidy(() => {
      const gen = new Generator(seed!);
      const p = sampleDegradation(gen, prior, 1, { dtype: 'float64' });
      gen.dispose();
      return { fc: p.fc.item(), thetaMax: p.thetaMax.item(), theta: p.theta.toArray() };
    });
    theta = drawn.theta;
    drawnThetaMax = drawn.thetaMax;
    if (first.cutoff.source === 'none') {
      optics = withFlagNames(() => resolveOptics({ fc: drawn.fc, psfSize: first.optics.psfSize, pupilSize: first.optics.pupilSize, zernikeNoll: noll, allowUndersampling: first.optics.allowUndersampling }));
    }
  } else {
    theta = coefficients === null ? noll.map(() => 0) : withFlagNames(() => coefficientsToTheta(noll, coefficients), { zernike: f.zernike !== undefined ? '--zernike' : '--zernike-ansi' });
  }
  const fcSource = first.cutoff.source === 'fc' ? '--fc' : first.cutoff.source === 'microscope' ? 'NA·pixel/λ' : `drawn from the prior ${rangeText(DEFAULT_PRIOR.fc)}`;

  // 3. The PSF (float64, written as float32) and its file.
  const s = optics.psfSize;
  const h = noGrad(() => tidy(() => Float32Array.from(psfFromZernike(optics, tensor(Float64Array.from(theta), [1, noll.length], { dtype: 'float64' })).data() as Float64Array)));
  // The crop renormalised to sum 1 hides what falls outside it: measure that (before renormalising), warn when large.
  const energy = windowEnergyReport(optics, theta);
  const bytes = encodeTiff({ width: s, height: s, planes: [h] }, opticsTiffOptions(first.cutoff, optics.fc), f.out);
  writeOutputs([{ path: f.out, flag: '--out', bytes }]);
  if (energy.warning) console.error(`warning: ${energy.warning}`);

  // 4. Report.
  const report = {
    out: f.out,
    fc: optics.fc,
    fcUnit: 'cycles/pixel',
    fcSource,
    ...(first.cutoff.source === 'microscope' && { numericalAperture: first.cutoff.numericalAperture, wavelengthNm: first.cutoff.wavelengthNm, pixelSizeNm: first.cutoff.pixelSizeNm }),
    allowUndersampling: optics.allowUndersampling,
    size: s,
    pupilSize: optics.pupilSize,
    energyInWindow: energy.energyInWindow,
    coefficients: describeCoefficients(noll, theta),
    coefficientsSource: f.random ? 'drawn' : coefficients === null ? 'none (diffraction-limited)' : f.zernike !== undefined ? '--zernike' : '--zernike-ansi',
    ...(f.random && { seed, thetaMax: drawnThetaMax, thetaMaxSource: thetaMax === undefined ? `drawn from the prior ${rangeText(DEFAULT_PRIOR.thetaMax)}` : '--theta-max' }),
    warnings: energy.warning ? [energy.warning] : [],
  };
  if (f.json) {
    console.log(JSON.stringify(report, null, 1));
    return;
  }
  const terms = noll.map((j, i) => ({ j, w: theta[i]! })).filter((t) => t.w !== 0);
  const aberrations = terms.length === 0 ? 'no aberrations (Airy pattern)' : terms.map((t) => `${zernikeName(t.j)} ${t.w >= 0 ? '+' : ''}${fmt(t.w)}`).join(', ') + ' waves';
  console.log(`${f.out}: ${s}×${s} PSF (float32, sum 1), fc ${fmt(optics.fc)} cycles/pixel (${fcSource}); ${aberrations}${f.random ? ` (seed ${seed})` : ''}`);
}
