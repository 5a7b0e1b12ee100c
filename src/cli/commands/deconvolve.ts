// `psfid deconvolve`: Richardson–Lucy (optionally with total variation) or Wiener, with a known PSF, a PSF grid
// (spatially varying), or blindly (identify first). The image is deconvolved in overlapping tiles (--tile-size), so
// that memory is bounded by the tile size: the plane is held once as float32, and once more for the result.
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { tensor, noGrad, resolveDevice, tidy, type Tensor } from '../../engine/index.js';
import { readImageAsync, toFloat32Gray, writeTiff, type ImageStack } from '../../io/index.js';
import { DEFAULT_TILE_SIZE, richardsonLucyTiled, wienerTiled, type TiledResult } from '../../deconv/index.js';
import { checkPlaneFlag, identifyImage, identifyImageGrid, parseTiles, PLANE_HELP, resolvePlane } from '../../identify/pipeline.js';
import { fmt, inputError, usageError } from '../../errors.js';
import { progressBar, type Progress } from '../progress.js';
import { numberFlag, precisionOption } from '../options.js';
import type { ConvPrecisionRequest } from '../../model/precision.js';
import { addCutoffFlags, AUGMENT_HELP, FIELD_OF_FOCUS_HINT, parseIdentifyFlags, patchingOf, prepareIdentification, reportSaturation, sidecarPath } from './identify.js';

interface DeconvolveFlags {
  psf?: string;
  grid?: string;
  blind?: boolean;
  tiles?: string;
  method: string;
  iterations: string;
  accelerate?: boolean;
  tv: string;
  balance: string;
  offset: string;
  plane: string;
  tileSize: string;
  out: string;
  model?: string;
  thetaMax?: string;
  patchSize: string;
  maxPatches: string;
  augment: string;
  device: string;
  precision: ConvPrecisionRequest;
  fc?: string;
  na?: string;
  wavelengthNm?: string;
  pixelSizeNm?: string;
  allowUndersampling?: boolean;
}

/** A PSF file as a [S, S] tensor divided by its sum (PSFs from other tools are not always normalised). */
async function readPsfs(path: string): Promise<{ psfs: Tensor; size: number }> {
  const img = await readImageAsync(path);
  if (img.width !== img.height || img.width % 2 === 0) throw inputError(path, `${path}: a PSF must be square with an odd side (centre at ⌊S/2⌋), got ${img.width}×${img.height}`);
  const S = img.width;
  const planes = img.planes.map((_, k) => toFloat32Gray(img, k, { scale: 'none' }));
  const data = new Float32Array(planes.length * S * S);
  planes.forEach((p, k) => {
    let sum = 0;
    for (const v of p) {
      if (!Number.isFinite(v)) throw inputError(path, `${path}: the PSF has NaN/Inf values`);
      if (v < -1e-6 * Math.max(...p)) throw inputError(path, `${path}: the PSF has negative values (plane ${k})`);
      sum += Math.max(0, v);
    }
    if (!(sum > 0)) throw inputError(path, `${path}: the PSF (plane ${k}) sums to zero`);
    p.forEach((v, i) => (data[k * S * S + i] = Math.max(0, v) / sum));
  });
  return { psfs: tensor(data, [planes.length, S, S]), size: S };
}

/**
 * Plane `planeText` of the image as float32 in the file's units (not rescaled), with its size and pixel size. The
 * decoded file is not returned, so that it can be collected while the image is deconvolved; it is decoded on this
 * thread (readImageAsync), where its buffers are garbage-collected, rather than in readImage's long-lived worker thread.
 */
async function readPlane(path: string, planeText: string): Promise<{ raw: Float32Array; width: number; height: number; metadata: ImageStack['metadata']; planeNote: string }> {
  const image = await readImageAsync(path);
  const chosen = resolvePlane(image, planeText, path);
  const plane = chosen.value;
  const raw = toFloat32Gray(image, plane, { scale: 'none' });
  for (let i = 0; i < raw.length; i++) if (!Number.isFinite(raw[i]!)) throw inputError(path, `${path}: NaN/Inf pixels in plane ${plane}; clean them first`);
  // which plane, for the closing line: only worth saying for a stack
  const planeNote = image.planes.length > 1 ? `, plane ${plane} (${chosen.source})` : '';
  return { raw, width: image.width, height: image.height, metadata: image.metadata, planeNote };
}

export function register(program: Command): void {
  const cmd = program
    .command('deconvolve <image>')
    .description('deconvolve an image with a PSF (--psf), a PSF grid (--grid, spatially varying) or blindly (--blind: identify, then deconvolve)')
    .option('--psf <psf.tif>', 'the PSF (TIFF; divided by its sum)')
    .option('--grid <grid.tif>', 'a PSF grid from `psfid grid` (its JSON sidecar gives the tile centres)')
    .option('--blind', 'identify the PSF with the network first (needs fc: the optics flags or the file\'s metadata)')
    .option('--tiles <nxm>', 'with --blind: identify a grid of PSFs (e.g. 3x3) and deconvolve with the spatially varying model')
    .option('--method <name>', 'rl (Richardson–Lucy), rl-tv (RL with total variation), wiener', 'rl')
    .option('--iterations <n>', 'RL iterations (more sharpen more, and amplify noise)', '30')
    .option('--accelerate', 'rl, rl-tv: Biggs–Andrews acceleration (as MATLAB\'s deconvlucy): the fit of plain RL in about half the iterations or fewer; give fewer --iterations with it')
    .option('--tv <weight>', 'rl-tv: total-variation weight in [0, 0.25) (relative to the image scale)', '0.002')
    .option('--balance <value>', 'wiener: regularisation (larger is smoother; ~0.01 at low noise, ~0.3 at 2 % noise)', '0.01')
    .option('--offset <value>', 'camera offset (dark level) subtracted before deconvolution and added back after, in the image\'s units', '0')
    .option('--plane <k|sharpest[:c]|auto>', `plane of a stack to deconvolve: ${PLANE_HELP}`, 'auto')
    .option(
      '--tile-size <px>',
      'deconvolve in tiles of at most this many pixels a side, each with a margin of two PSF widths that is discarded ' +
        '(no seams: tiled and untiled results agree to float32 round-off; with --accelerate each tile picks its own step size, ' +
        'within 0.4 % of the maximum at 48 px tiles); memory grows with its square, not the image size',
      String(DEFAULT_TILE_SIZE),
    )
    .option('--model <file|name>', `with --blind: the identification model, a file or a shipped name (default: small; ${FIELD_OF_FOCUS_HINT})`)
    .option('--theta-max <waves>', "with --blind: aberration bound θmax in waves (default: the model's prior mean)")
    .option('--patch-size <px>', 'with --blind: network patch size', '128')
    .option('--max-patches <n>', 'with --blind: at most this many patches (highest contrast) per image or tile', '256')
    .option('--augment <none|dihedral>', `with --blind: ${AUGMENT_HELP}`, 'none')
    .option('--device <device>', 'cpu, cuda or auto', 'auto')
    .addOption(precisionOption())
    .requiredOption('--out <x.tif>', 'the deconvolved image: float32 TIFF on the input\'s intensity scale (never clipped or rescaled)');
  addCutoffFlags(cmd);
  cmd.action(async (path: string, f: DeconvolveFlags) => {
    const sources = [f.psf && '--psf', f.grid && '--grid', f.blind && '--blind'].filter(Boolean);
    if (sources.length !== 1) throw usageError('--psf', `give exactly one of --psf, --grid or --blind (got ${sources.length ? sources.join(', ') : 'none'})`);
    if (f.tiles && !f.blind) throw usageError('--tiles', '--tiles goes with --blind (a grid file already has its tiles)');
    if (!['rl', 'rl-tv', 'wiener'].includes(f.method)) throw usageError('--method', `--method must be rl, rl-tv or wiener, got '${f.method}'`);
    const iterations = numberFlag('--iterations', f.iterations, { integer: true, min: 1 });
    const tv = f.method === 'rl-tv' ? numberFlag('--tv', f.tv, { min: 0, max: 0.25, maxExclusive: true }) : 0;
    if (f.accelerate && f.method === 'wiener') throw usageError('--accelerate', '--accelerate speeds up the iterative methods rl and rl-tv; wiener is closed-form');
    const balance = numberFlag('--balance', f.balance, { min: 0 });
    const offset = numberFlag('--offset', f.offset);
    const tileSize = numberFlag('--tile-size', f.tileSize, { integer: true, min: 16 });
    const device = resolveDevice(f.device);

    const blind = f.blind ? parseIdentifyFlags(f) : null;
    checkPlaneFlag(f.plane);

    const { raw, width: W, height: H, metadata, planeNote } = await readPlane(path, f.plane);
    const pixelSizeNm = metadata.pixelSizeNm;

    let psfs: Tensor;
    let grid: { centres: [number, number][]; tiles: [number, number] } | null = null;
    if (f.psf) {
      psfs = (await readPsfs(f.psf)).psfs;
      if (psfs.size(0) !== 1) throw inputError(f.psf, `${f.psf}: has ${psfs.size(0)} planes; use --grid for a PSF grid`);
    } else if (f.grid) {
      const side = sidecarPath(f.grid);
      if (!existsSync(side)) throw inputError(side, `${side}: missing; a grid needs the JSON sidecar written by \`psfid grid\``);
      const meta = JSON.parse(readFileSync(side, 'utf8')) as { centres: [number, number][]; tiles: [number, number] };
      psfs = (await readPsfs(f.grid)).psfs;
      if (psfs.size(0) !== meta.tiles[0] * meta.tiles[1]) throw inputError(f.grid, `${f.grid}: ${psfs.size(0)} PSFs but the sidecar says ${meta.tiles[0]}×${meta.tiles[1]} tiles`);
      grid = { centres: meta.centres, tiles: meta.tiles };
    } else {
      // The network standardises each patch, so it reads the plane in the file's units: no second decode or copy.
      const p = prepareIdentification(path, blind!, metadata);
      reportSaturation(raw, p.warnings);
      if (f.tiles) {
        const g = identifyImageGrid(p.model, raw, W, H, parseTiles(f.tiles), patchingOf(p));
        psfs = g.psfs;
        grid = { centres: g.centres, tiles: g.tiles };
      } else {
        psfs = identifyImage(p.model, raw, W, H, patchingOf(p)).psf.unsqueeze(0);
      }
      p.model.dispose();
      console.error(`psfid deconvolve: PSF identified (fc ${p.fc.value.toFixed(4)} from ${p.fc.source}, θmax ${fmt(p.thetaMax.value)} from ${p.thetaMax.source})`);
    }
    if (grid && f.method === 'wiener') throw usageError('--method', 'wiener needs one PSF; use rl or rl-tv with a grid');

    // raw is this command's own copy of the plane: the offset is subtracted in place, and the result overwrites it
    // tile by tile (output: raw), so that only one full-size float image is ever held.
    if (offset !== 0) for (let i = 0; i < raw.length; i++) raw[i]! -= offset;
    let bar: Progress | undefined;
    const onProgress = (_done: number, total: number): void => {
      bar ??= progressBar('deconvolve', total, { unit: f.method === 'wiener' ? 'tiles' : 'tile iterations' });
      bar.tick();
    };
    let result: TiledResult;
    try {
      result = noGrad(() =>
        tidy(() => {
          const input = { data: raw, width: W, height: H };
          const h = psfs.to({ device });
          if (f.method === 'wiener') return wienerTiled(input, h.select(0, 0), { balance, tileSize, onProgress, output: raw });
          const acceleration = f.accelerate ? ('biggs-andrews' as const) : ('none' as const);
          const rl = { iterations, tv, acceleration, negative: 'clamp' as const, tileSize, onProgress, output: raw };
          if (grid) return richardsonLucyTiled(input, { psfs: h, centres: grid.centres, tiles: grid.tiles }, rl);
          return richardsonLucyTiled(input, h.select(0, 0), rl);
        }),
      );
    } finally {
      bar?.stop();
    }
    const out = result.image;
    if (offset !== 0) for (let i = 0; i < out.length; i++) out[i]! += offset;
    writeTiff(f.out, { width: W, height: H, planes: [out] }, { pixelSizeNm });
    const how = f.method === 'wiener' ? '' : `, ${iterations}${f.accelerate ? ' accelerated' : ''} iterations`;
    const tiling = `${result.tiles.length} tile${result.tiles.length > 1 ? 's' : ''} of ≤ ${result.tileSize}² px, margin ${result.margin} px`;
    console.log(`psfid deconvolve: ${f.out} (${f.method}${how}${grid ? `, ${grid.tiles[0]}×${grid.tiles[1]} PSF grid` : ''}${planeNote}, ${tiling})`);
    psfs.dispose();
  });
}
