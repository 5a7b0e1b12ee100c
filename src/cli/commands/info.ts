// `psfid info`: the engine psfid runs on and, given an image, what psfid reads from that file (the first thing to
// look at when identify refuses a file or picks an unexpected plane or cut-off).
import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { blasThreads, cudaDeviceCount, getNumThreads, torchVersion } from '../../engine/index.js';
import { convPrecisionFor } from '../../model/precision.js';
import { readImage } from '../../io/index.js';
import { grayPlane, priorMeanOf, resolveCutoff, resolvePlane } from '../../identify/pipeline.js';
import { detectSaturation } from '../../identify/saturation.js';
import { defaultModelPath, loadModel } from '../../model/store.js';
import { PsfidError } from '../../errors.js';

/** What psfid reads from an image file: its shape, calibration and optics, the fc they give, the plane identify takes. */
function imageInfo(path: string): Record<string, unknown> {
  const image = readImage(path);
  const md = image.metadata;
  let fc: { value: number; source: string } | { refused: string };
  try {
    fc = resolveCutoff({}, md, path);
  } catch (e) {
    if (!(e instanceof PsfidError)) throw e;
    fc = { refused: e.message };
  }
  const plane = resolvePlane(image, 'auto', path);
  const saturated = detectSaturation(grayPlane(image, path, plane.value));
  // the shipped model's range, when it is there (info on an image should not need a model)
  const info = existsSync(defaultModelPath()) ? loadModel(defaultModelPath()).info : null;
  const prior = (info?.prior ?? {}) as { fc?: [number, number] };
  return {
    image: path,
    size: [image.width, image.height],
    dtype: image.dtype,
    planes: { count: image.planes.length, channels: md.sizeC ?? 1, slices: md.sizeZ ?? image.planes.length, frames: md.sizeT ?? 1, order: md.dimensionOrder ?? 'XYCZT' },
    pixelSizeNm: md.pixelSizeNm ?? null,
    numericalAperture: md.numericalAperture ?? null,
    emissionWavelengthNm: md.emissionWavelengthNm ?? null,
    fc,
    shippedModelFcRange: prior.fc ?? null,
    shippedModelPriorMean: info && priorMeanOf(info),
    planeAuto: plane,
    saturation: saturated && { level: saturated.level, pixels: saturated.pixels, fraction: saturated.pixels / (image.width * image.height) },
  };
}

function fmt(v: number): string {
  return String(Number(v.toPrecision(4)));
}

export function register(program: Command): void {
  program
    .command('info [image]')
    .description('print the engine: libtorch version, threads (PSFID_THREADS), CUDA devices, and the precision --precision auto picks on the CPU; given an image, what psfid reads from it: size, planes, pixel size, NA and wavelength, the fc they give (or why none), the plane --plane auto takes, saturation')
    .option('--json', 'print JSON')
    .action((image: string | undefined, opts: { json?: boolean }) => {
      if (image !== undefined) {
        const r = imageInfo(image);
        if (opts.json) {
          console.log(JSON.stringify(r, null, 2));
          return;
        }
        const planes = r.planes as { count: number; channels: number; slices: number; frames: number };
        const size = r.size as [number, number];
        const fc = r.fc as { value?: number; source?: string; refused?: string };
        const range = r.shippedModelFcRange as [number, number] | null;
        const sat = r.saturation as { pixels: number; fraction: number } | null;
        const plane = r.planeAuto as { value: number; source: string };
        const lines = [
          `${image}: ${size[0]}×${size[1]} ${r.dtype}, ${planes.count} plane(s) (C ${planes.channels}, Z ${planes.slices}, T ${planes.frames})`,
          `  pixel size ${r.pixelSizeNm === null ? 'not stated' : `${fmt(r.pixelSizeNm as number)} nm`}; NA ${r.numericalAperture === null ? 'not stated' : fmt(r.numericalAperture as number)}; emission ${r.emissionWavelengthNm === null ? 'not stated' : `${fmt(r.emissionWavelengthNm as number)} nm`}`,
          fc.refused !== undefined
            ? `  fc: ${fc.refused.replace(/^[^:]*: /, '')}`
            : `  fc ${fmt(fc.value!)} cycles/pixel from ${fc.source}${range && (fc.value! < range[0] || fc.value! > range[1]) ? ` — outside the shipped model's range ${range[0]}–${range[1]}` : ''}`,
          `  --plane auto: plane ${plane.value} (${plane.source})`,
          `  saturation: ${sat ? `${sat.pixels} pixels (${(100 * sat.fraction).toPrecision(2)} %) at the plane's maximum` : 'none found'}`,
        ];
        console.log(lines.join('\n'));
        return;
      }
      const info = { libtorch: torchVersion(), threads: getNumThreads(), openblasThreads: blasThreads(), cudaDevices: cudaDeviceCount(), cpuAutoPrecision: convPrecisionFor('cpu', 'auto') };
      if (opts.json) console.log(JSON.stringify(info));
      else {
        const blas = info.openblasThreads === null ? '' : ` (OpenBLAS ${info.openblasThreads})`;
        console.log(`libtorch ${info.libtorch}, ${info.threads} CPU threads${blas}, ${info.cudaDevices} CUDA device(s); --precision auto on the CPU: ${info.cpuAutoPrecision}`);
      }
    });
}
