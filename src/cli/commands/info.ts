// `psfid info`: the engine psfid runs on and, given an image, what psfid reads from that file (the first thing to
// look at when identify refuses a file or picks an unexpected plane or cut-off).
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { blasThreads, cudaDeviceCount, getNumThreads, torchVersion } from '../../engine/index.js';
import { convPrecisionFor } from '../../model/precision.js';
import { paletteProblem, planeAxesStated, readImage } from '../../io/index.js';
import { grayPlane, priorMeanOf, resolveCutoff, resolvePlane, type Resolved } from '../../identify/pipeline.js';
import { inspectPlane, type detectSaturation } from '../../identify/saturation.js';
import { defaultModelPath, loadModelInfo, shippedModelPath, SHIPPED_MODELS } from '../../model/store.js';
import { fmt, PsfidError } from '../../errors.js';

/** What psfid reads from an image file: its shape, calibration and optics, the fc they give, the plane identify takes. */
interface ImageInfo {
  image: string;
  size: [number, number];
  dtype: string;
  /** C, Z and T as the file states them; null, with `axes: 'not stated'`, for a stack that does not say what its planes are. */
  planes: { count: number; axes: 'stated' | 'not stated'; channels: number | null; slices: number | null; frames: number | null; order: string | null };
  pixelSizeNm: number | null;
  numericalAperture: number | null;
  emissionWavelengthNm: number | null;
  /** The cut-off identify would use without flags, or why it has none (the refusal's message). */
  fc: Resolved<number> | { refused: string };
  shippedModelFcRange: [number, number] | null;
  shippedModelPriorMean: { fc: number; thetaMax: number } | null;
  planeAuto: Resolved<number>;
  saturation: ReturnType<typeof detectSaturation>;
  /** Why the values are colour-table indices, not intensities (a palette that is no grey ramp); else null. */
  palette: string | null;
  /** Distinct values of the plane, counted up to 3 (1: constant, 2: a mask or thresholded image; 3 means 3 or more). */
  greyLevels: number;
  /** Samples per pixel: 3 or 4 for RGB(A), which psfid reads as luminance. */
  samplesPerPixel: number;
}

function imageInfo(path: string): ImageInfo {
  const image = readImage(path);
  const md = image.metadata;
  let fc: ImageInfo['fc'];
  try {
    fc = resolveCutoff({}, md, path);
  } catch (e) {
    if (!(e instanceof PsfidError)) throw e;
    fc = { refused: e.message };
  }
  const plane = resolvePlane(image, 'auto', path);
  // the shipped model's range, when it is there (info on an image should not need a model)
  const info = existsSync(defaultModelPath()) ? loadModelInfo(defaultModelPath()) : null;
  return {
    image: path,
    size: [image.width, image.height],
    dtype: image.dtype,
    samplesPerPixel: image.samplesPerPixel,
    planes: planeAxesStated(image)
      ? { count: image.planes.length, axes: 'stated', channels: md.sizeC ?? 1, slices: md.sizeZ ?? image.planes.length, frames: md.sizeT ?? 1, order: md.dimensionOrder ?? 'XYCZT' }
      : { count: image.planes.length, axes: 'not stated', channels: null, slices: null, frames: null, order: null },
    pixelSizeNm: md.pixelSizeNm ?? null,
    numericalAperture: md.numericalAperture ?? null,
    emissionWavelengthNm: md.emissionWavelengthNm ?? null,
    fc,
    shippedModelFcRange: (info?.prior as { fc?: [number, number] } | undefined)?.fc ?? null,
    shippedModelPriorMean: info && priorMeanOf(info),
    planeAuto: plane,
    ...inspectPlane(grayPlane(image, path, plane.value), image.width),
    palette: paletteProblem(image) ?? null,
  };
}

/** The text form of imageInfo. */
function imageInfoText(r: ImageInfo): string {
  const stated = (v: number | null, unit = ''): string => (v === null ? 'not stated' : `${fmt(v)}${unit}`);
  const range = r.shippedModelFcRange;
  const fc = 'refused' in r.fc
    ? `  fc: ${r.fc.refused.replace(/^[^:]*: /, '')}`
    : `  fc ${fmt(r.fc.value)} cycles/pixel from ${r.fc.source}${range && (r.fc.value < range[0] || r.fc.value > range[1]) ? ` — outside the shipped model's range ${range[0]}–${range[1]}` : ''}`;
  return [
    `${r.image}: ${r.size[0]}×${r.size[1]} ${r.dtype}${r.samplesPerPixel > 1 ? ` ${r.samplesPerPixel === 4 ? 'RGBA' : 'RGB'} (read as luminance 0.299 R + 0.587 G + 0.114 B)` : ''}, ` +
      (r.planes.axes === 'stated' ? `${r.planes.count} plane(s) (C ${r.planes.channels}, Z ${r.planes.slices}, T ${r.planes.frames})` : `${r.planes.count} planes, axis not stated (z, t or channels)`),
    `  pixel size ${stated(r.pixelSizeNm, ' nm')}; NA ${stated(r.numericalAperture)}; emission ${stated(r.emissionWavelengthNm, ' nm')}`,
    fc,
    `  --plane auto: plane ${r.planeAuto.value} (${r.planeAuto.source})`,
    ...(r.palette ? [`  ${r.palette} (identify, grid, deconvolve and simulate refuse it)`] : []),
    r.greyLevels < 3
      ? `  grey levels: ${r.greyLevels} (${r.greyLevels === 1 ? 'a constant plane' : 'a mask or a thresholded image'}: no blur to identify)`
      : `  saturation: ${r.saturation ? `${r.saturation.pixels} pixels (${(100 * r.saturation.fraction).toPrecision(2)} %) at the plane's maximum` : 'none found'}`,
  ].join('\n');
}

/** The shipped models present in this package (`--model NAME`), with the file and its reference cut-off if any. */
function shippedModels(): { name: string; path: string; fcRef?: number }[] {
  return SHIPPED_MODELS.flatMap((name) => {
    const path = shippedModelPath(name);
    if (!existsSync(path)) return [];
    const { fcRef } = loadModelInfo(path).architecture;
    return [{ name, path, ...(fcRef === undefined ? {} : { fcRef }) }];
  });
}

export function register(program: Command): void {
  program
    .command('info [image]')
    .description('print the engine: libtorch version, threads (PSFID_THREADS), CUDA devices, the precision --precision auto picks on the CPU, and the shipped models (--model NAME); given an image, what psfid reads from it: size, planes, pixel size, NA and wavelength, the fc they give (or why none), the plane --plane auto takes, saturation')
    .option('--json', 'print JSON')
    .action((image: string | undefined, opts: { json?: boolean }) => {
      if (image !== undefined) {
        const r = imageInfo(image);
        console.log(opts.json ? JSON.stringify(r, null, 2) : imageInfoText(r));
        return;
      }
      const info = {
        libtorch: torchVersion(), threads: getNumThreads(), openblasThreads: blasThreads(), cudaDevices: cudaDeviceCount(), cpuAutoPrecision: convPrecisionFor('cpu', 'auto'),
        models: shippedModels(),
      };
      if (opts.json) console.log(JSON.stringify(info));
      else {
        const blas = info.openblasThreads === null ? '' : ` (OpenBLAS ${info.openblasThreads})`;
        console.log(`libtorch ${info.libtorch}, ${info.threads} CPU threads${blas}, ${info.cudaDevices} CUDA device(s); --precision auto on the CPU: ${info.cpuAutoPrecision}`);
        for (const m of info.models) console.log(`model ${m.name}${m.name === 'small' ? ' (the default)' : ''}: ${m.path}${m.fcRef === undefined ? '' : `, inputs resampled to fc ${m.fcRef}: for fields whose focus varies`}`);
      }
    });
}
