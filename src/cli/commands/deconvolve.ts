// `psfid deconvolve`: Richardson–Lucy (optionally with total variation) or Wiener, with a known PSF, a PSF grid
// (spatially varying), or blindly (identify first). The image is deconvolved in overlapping tiles (--tile-size), so
// that memory is bounded by the tile size: the plane is held once as float32, and once more for the result.
import type { Command } from 'commander';
import { existsSync, readFileSync } from 'node:fs';
import { tensor, noGrad, resolveDevice, tidy, type Tensor } from '../../engine/index.js';
import { buildOpticsInfo, encodeTiff, paletteProblem, planeAxesStated, planeCoordinates, readImageAsync, toFloat32Gray, type ImageStack, type StackShape } from '../../io/index.js';
import { DEFAULT_TILE_SIZE, defaultMargin, richardsonLucyTiled, wienerTiled, type TiledResult } from '../../deconv/index.js';
import { checkPlaneFlag, identifyImage, identifyImageGrid, parseTiles, PLANE_HELP, resolvePlane } from '../../identify/pipeline.js';
import { fmt, inputError, usageError } from '../../errors.js';
import { lazyBar } from '../progress.js';
import { numberFlag, precisionOption } from '../options.js';
import type { ConvPrecisionRequest } from '../../model/precision.js';
import { addCutoffFlags, AUGMENT_HELP, FIELD_OF_FOCUS_HINT, parseIdentifyFlags, patchingOf, prepareIdentification, reportSaturation, sidecarPath } from './identify.js';
import { canonicalPath, checkOutputPaths, tiffPath, writeOutputs } from '../outputs.js';

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

/**
 * A PSF file as [N, S, S] planes, each divided by its sum (PSFs from other tools are not always normalised), with
 * the pixel size its file states. Values below −10⁻⁶ of a plane's peak are refused; smaller ones (round-off) are 0.
 */
async function readPsfs(path: string): Promise<{ psfs: Tensor; size: number; pixelSizeNm?: number }> {
  const img = await readImageAsync(path);
  if (img.width !== img.height || img.width % 2 === 0) throw inputError(path, `${path}: a PSF must be square with an odd side (centre at ⌊S/2⌋), got ${img.width}×${img.height}`);
  const S = img.width;
  const planes = img.planes.map((_, k) => toFloat32Gray(img, k, { scale: 'none' }));
  const data = new Float32Array(planes.length * S * S);
  planes.forEach((p, k) => {
    let peak = -Infinity;
    for (const v of p) {
      if (!Number.isFinite(v)) throw inputError(path, `${path}: the PSF has NaN/Inf values`);
      if (v > peak) peak = v;
    }
    let sum = 0;
    for (const v of p) {
      if (v < -1e-6 * peak) throw inputError(path, `${path}: the PSF has negative values (plane ${k})`);
      sum += Math.max(0, v);
    }
    if (!(sum > 0)) throw inputError(path, `${path}: the PSF (plane ${k}) sums to zero`);
    p.forEach((v, i) => (data[k * S * S + i] = Math.max(0, v) / sum));
  });
  return { psfs: tensor(data, [planes.length, S, S]), size: S, pixelSizeNm: img.metadata.pixelSizeNm };
}

/**
 * Warns when tiles are so small that their margins (two PSF widths a side, deconvolved and discarded) make up most of
 * the work: a window of (t + 2m)² pixels per t² kept, e.g. 77× for 16 px tiles with a 31² PSF. The image's own border
 * clips the margins, so an image no larger than one tile never warns.
 */
function warnSmallTiles(tileSize: number, psfSize: number, width: number, height: number): void {
  const margin = defaultMargin(psfSize);
  if (tileSize >= 2 * margin || (width <= tileSize && height <= tileSize)) return;
  const cost = ((tileSize + 2 * margin) / tileSize) ** 2;
  const suggest = Math.ceil(margin / (Math.SQRT2 - 1)) * 2; // (t + 2m)/t ≤ √2, even
  console.error(
    `warning: --tile-size ${tileSize} is below twice the ${margin} px margin that each tile carries (two PSF widths): a tile deconvolves ` +
      `${tileSize + 2 * margin}² pixels to keep ${tileSize}², ${fmt(Math.round(cost * 10) / 10)}× the work; --tile-size ≥ ${suggest} keeps it under 2×`,
  );
}

interface GridSidecar {
  centres: [number, number][];
  tiles: [number, number];
  /** The size of the image the grid was identified on (sidecars before session 18: from the tile regions). */
  imageSize?: { width: number; height: number };
  /** The image file and the plane of it the grid was identified on, when the sidecar says. */
  image?: string;
  plane?: number;
}

/** A grid's JSON sidecar (written by `psfid grid`), checked: one line naming the file when it is not one. */
function readGridSidecar(side: string): GridSidecar {
  if (!existsSync(side)) throw inputError(side, `${side}: missing; a grid needs the JSON sidecar written by \`psfid grid\``);
  const bad = (why: string): never => {
    throw inputError(side, `${side}: not a grid sidecar written by \`psfid grid\` (${why})`);
  };
  let meta: Record<string, unknown>;
  try {
    meta = JSON.parse(readFileSync(side, 'utf8')) as Record<string, unknown>;
  } catch {
    return bad('not valid JSON');
  }
  const isPair = (v: unknown): v is [number, number] => Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number' && Number.isFinite(x));
  const { tiles, centres, imageSize, regions } = meta ?? {};
  if (!isPair(tiles) || !tiles.every((t) => Number.isInteger(t) && t >= 1)) return bad('no "tiles": [nx, ny]');
  if (!Array.isArray(centres) || centres.length !== tiles[0] * tiles[1] || !centres.every(isPair)) return bad(`"centres" must hold ${tiles[0] * tiles[1]} [x, y] pairs`);
  let size: GridSidecar['imageSize'];
  const is = imageSize as { width?: unknown; height?: unknown } | undefined;
  if (is && typeof is.width === 'number' && typeof is.height === 'number') size = { width: is.width, height: is.height };
  else if (Array.isArray(regions) && regions.length > 0) {
    // older sidecars: the tiles are clipped to the image and the last row and column reach its edges
    const rs = regions as { x: number; y: number; width: number; height: number }[];
    size = { width: Math.max(...rs.map((r) => r.x + r.width)), height: Math.max(...rs.map((r) => r.y + r.height)) };
  }
  const plane = (meta.plane as { value?: unknown } | undefined)?.value;
  return { tiles, centres, imageSize: size, ...(typeof meta.image === 'string' && { image: meta.image }), ...(Number.isInteger(plane) && { plane: plane as number }) };
}

/**
 * Warns when a grid identified on one plane of this very stack deconvolves another plane at another depth: the PSF
 * of a z-stack changes with depth (spherical aberration, the focus itself). Other time points or channels of the
 * same z are left alone (reusing a grid across a time-lapse is what one does), as are other files.
 */
function warnOtherPlane(grid: string, meta: GridSidecar, path: string, image: StackShape, plane: number): void {
  if (meta.plane === undefined || meta.image === undefined || meta.plane === plane || image.planes.length <= 1 || meta.plane >= image.planes.length) return;
  if (canonicalPath(meta.image) !== canonicalPath(path)) return;
  const stated = planeAxesStated(image);
  const [a, b] = [planeCoordinates(image, meta.plane), planeCoordinates(image, plane)];
  if (stated && a.z === b.z) return;
  const where = stated ? ` (z ${a.z}), and plane ${plane} (z ${b.z}) is deconvolved` : `, and plane ${plane} is deconvolved (the file does not say whether its planes are z, t or c)`;
  console.error(`warning: ${grid} was identified on plane ${meta.plane} of ${path}${where}: the PSF of a z-stack changes with depth; give --plane ${meta.plane}, or run \`psfid grid\` on plane ${plane}`);
}


/**
 * Richardson–Lucy models photon counts: negative pixels (after --offset) are taken as 0. Refuses a plane with no
 * positive pixel, and warns when more than 1 % are negative (background-subtracted data), naming the offset that
 * would keep them.
 */
function checkCounts(raw: Float32Array, path: string, offset: number): void {
  let negative = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const v of raw) {
    if (v < 0) negative++;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > 0)) {
    if (offset !== 0) throw usageError('--offset', `--offset ${fmt(offset)} is at or above every pixel of ${path} (max ${fmt(max + offset)}): nothing is left to deconvolve`);
    throw inputError(path, `${path}: no pixel is positive (max ${fmt(max)}); Richardson–Lucy needs counts ≥ 0: give --offset (the dark level) or use --method wiener`);
  }
  if (negative > 0.01 * raw.length) {
    console.error(
      `warning: ${negative} pixels (${fmt((100 * negative) / raw.length)} %) of ${path} are negative${offset !== 0 ? ' after --offset' : ''} (min ${fmt(min)}); ` +
        `Richardson–Lucy takes them as 0, which changes the intensity scale; for background-subtracted data give --offset ${fmt(offset + min)} (added back after)`,
    );
  }
}

/**
 * Plane `planeText` of the image as float32 in the file's units (not rescaled), with its size and pixel size. The
 * decoded file is not returned, so that it can be collected while the image is deconvolved; it is decoded on this
 * thread (readImageAsync), where its buffers are garbage-collected, rather than in readImage's long-lived worker thread.
 */
async function readPlane(path: string, planeText: string): Promise<{ raw: Float32Array; width: number; height: number; metadata: ImageStack['metadata']; planeNote: string; stack: StackShape; plane: number }> {
  const image = await readImageAsync(path);
  const palette = paletteProblem(image);
  if (palette) throw inputError(path, `${path}: ${palette}`);
  const chosen = resolvePlane(image, planeText, path);
  const plane = chosen.value;
  const raw = toFloat32Gray(image, plane, { scale: 'none' });
  for (let i = 0; i < raw.length; i++) if (!Number.isFinite(raw[i]!)) throw inputError(path, `${path}: NaN/Inf pixels in plane ${plane}; clean them first`);
  // which plane, for the closing line: only worth saying for a stack
  const planeNote = image.planes.length > 1 ? `, plane ${plane} (${chosen.source})` : '';
  // the stack's shape, not the stack: the pixels of the other planes are not held through the deconvolution
  return { raw, width: image.width, height: image.height, metadata: image.metadata, planeNote, stack: { metadata: image.metadata, planes: { length: image.planes.length } }, plane };
}

/** Flags that only some modes read: given on the command line to a mode that ignores them, they are refused. */
const ONLY_WITH: readonly { key: keyof DeconvolveFlags; flag: string; applies: (f: DeconvolveFlags) => boolean; mode: string }[] = [
  { key: 'tv', flag: '--tv', applies: (f) => f.method === 'rl-tv', mode: '--method rl-tv' },
  { key: 'balance', flag: '--balance', applies: (f) => f.method === 'wiener', mode: '--method wiener' },
  { key: 'iterations', flag: '--iterations', applies: (f) => f.method !== 'wiener', mode: '--method rl or rl-tv' },
  ...(
    [
      ['fc', '--fc'], ['na', '--na'], ['wavelengthNm', '--wavelength-nm'], ['pixelSizeNm', '--pixel-size-nm'], ['allowUndersampling', '--allow-undersampling'],
      ['thetaMax', '--theta-max'], ['model', '--model'], ['patchSize', '--patch-size'], ['maxPatches', '--max-patches'], ['augment', '--augment'], ['precision', '--precision'],
    ] as const
  ).map(([key, flag]) => ({ key, flag, applies: (f: DeconvolveFlags) => !!f.blind, mode: '--blind' })),
];

function refuseUnused(cmd: Command, f: DeconvolveFlags): void {
  for (const o of ONLY_WITH) {
    if (cmd.getOptionValueSource(o.key) === 'cli' && !o.applies(f)) throw usageError(o.flag, `${o.flag} is only read with ${o.mode}; leave it out`);
  }
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

    if (f.method === 'wiener' && (f.grid || f.tiles)) throw usageError('--method', 'wiener needs one PSF; use rl or rl-tv with a grid');
    refuseUnused(cmd, f);
    const blind = f.blind ? parseIdentifyFlags(f) : null;
    checkPlaneFlag(f.plane);
    tiffPath('--out', f.out);
    checkOutputPaths([{ path: f.out, flag: '--out' }], [path, f.psf, f.grid, f.grid && sidecarPath(f.grid)]);

    const { raw, width: W, height: H, metadata, planeNote, stack, plane } = await readPlane(path, f.plane);
    const pixelSizeNm = metadata.pixelSizeNm;

    let psfs: Tensor;
    let grid: { centres: [number, number][]; tiles: [number, number] } | null = null;
    if (f.psf || f.grid) {
      const file = (f.psf ?? f.grid)!;
      const meta = f.grid ? readGridSidecar(sidecarPath(f.grid)) : null;
      const read = await readPsfs(file);
      psfs = read.psfs;
      if (f.psf && psfs.size(0) !== 1) throw inputError(file, `${file}: has ${psfs.size(0)} planes; use --grid for a PSF grid`);
      if (meta) {
        if (psfs.size(0) !== meta.tiles[0] * meta.tiles[1]) throw inputError(file, `${file}: ${psfs.size(0)} PSFs but the sidecar says ${meta.tiles[0]}×${meta.tiles[1]} tiles`);
        if (meta.imageSize && (meta.imageSize.width !== W || meta.imageSize.height !== H)) {
          throw inputError(file, `${file}: identified on a ${meta.imageSize.width}×${meta.imageSize.height} image, but ${path} is ${W}×${H}: its tile centres do not fit; run \`psfid grid\` on this image`);
        }
        grid = { centres: meta.centres, tiles: meta.tiles };
        warnOtherPlane(file, meta, path, stack, plane);
      }
      if (W < read.size || H < read.size) throw inputError(path, `${path}: the image (${W}×${H}) is smaller than the PSF (${read.size}×${read.size})`);
      // A PSF is applied per pixel: one sampled on other pixels is the wrong width here.
      if (read.pixelSizeNm !== undefined && pixelSizeNm !== undefined && Math.abs(read.pixelSizeNm / pixelSizeNm - 1) > 0.05) {
        console.error(`warning: ${file} is sampled on ${fmt(read.pixelSizeNm)} nm pixels, ${path} on ${fmt(pixelSizeNm)} nm: the PSF is applied pixel for pixel, so its width is off by a factor ${fmt(pixelSizeNm / read.pixelSizeNm)}; compute or identify it for this image's pixels`);
      }
    } else {
      // The network standardises each patch, so it reads the plane in the file's units: no second decode or copy.
      const p = prepareIdentification(path, blind!, metadata);
      reportSaturation(raw, W, p.warnings);
      const progress = lazyBar('identify', f.tiles ? 'tiles' : 'patches');
      try {
        if (f.tiles) {
          const g = identifyImageGrid(p.model, raw, W, H, parseTiles(f.tiles), { ...patchingOf(p), onTile: progress.onProgress });
          psfs = g.psfs;
          grid = { centres: g.centres, tiles: g.tiles };
        } else {
          psfs = identifyImage(p.model, raw, W, H, { ...patchingOf(p), onPatches: progress.onProgress }).psf.unsqueeze(0);
        }
      } finally {
        progress.stop();
      }
      p.model.dispose();
      const what = grid ? `PSF grid (${grid.tiles[0]}×${grid.tiles[1]} tiles)` : 'PSF';
      console.error(`psfid deconvolve: ${what} identified (fc ${p.fc.value.toFixed(4)} from ${p.fc.source}, θmax ${fmt(p.thetaMax.value)} from ${p.thetaMax.source})`);
    }

    // raw is this command's own copy of the plane: the offset is subtracted in place, and the result overwrites it
    // tile by tile (output: raw), so that only one full-size float image is ever held.
    if (offset !== 0) for (let i = 0; i < raw.length; i++) raw[i]! -= offset;
    if (f.method !== 'wiener') checkCounts(raw, path, offset);
    warnSmallTiles(tileSize, psfs.size(-1), W, H);
    const { onProgress, stop: stopBar } = lazyBar('deconvolve', f.method === 'wiener' ? 'tiles' : 'tile iterations');
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
      stopBar();
    }
    const out = result.image;
    if (offset !== 0) for (let i = 0; i < out.length; i++) out[i]! += offset;
    // the deconvolved image is the same field through the same objective: it keeps the optics the input stated
    const info = buildOpticsInfo({ fc: metadata.fc, fcPixelSizeNm: metadata.fcPixelSizeNm, numericalAperture: metadata.numericalAperture, emissionWavelengthNm: metadata.emissionWavelengthNm });
    writeOutputs([{ path: f.out, flag: '--out', bytes: encodeTiff({ width: W, height: H, planes: [out] }, { pixelSizeNm, info }, f.out) }]);
    const how = f.method === 'wiener' ? '' : `, ${iterations}${f.accelerate ? ' accelerated' : ''} iteration${iterations === 1 ? '' : 's'}`;
    const tiling = `${result.tiles.length} tile${result.tiles.length > 1 ? 's' : ''} of ≤ ${result.tileSize}² px, margin ${result.margin} px`;
    console.log(`psfid deconvolve: ${f.out} (${f.method}${how}${grid ? `, ${grid.tiles[0]}×${grid.tiles[1]} PSF grid` : ''}${planeNote}, ${tiling})`);
    psfs.dispose();
  });
}
