// Plane access and conversions of an ImageStack.
import { ImageIOError } from './errors.js';
import type { DType, ImageStack, PixelArray } from './types.js';

/** Largest value of each integer dtype: the divisor `toFloat32Gray` uses by default. */
export const DTYPE_MAX: Readonly<Record<DType, number>> = {
  uint8: 255,
  uint16: 65535,
  uint32: 4294967295,
  int8: 127,
  int16: 32767,
  int32: 2147483647,
  float32: 1,
  float64: 1,
};

/** Luminance weights for RGB → grey (ITU-R BT.601, as MATLAB's rgb2gray and scikit-image's rgb2gray use). */
export const LUMA_WEIGHTS = [0.2989, 0.587, 0.114] as const;

/** Number of planes (TIFF pages) in the image. */
export function planeCount(image: ImageStack): number {
  return image.planes.length;
}

/** Plane `index` (0-based), as stored. Throws RangeError when out of range. */
export function getPlane(image: ImageStack, index: number): PixelArray {
  if (!Number.isInteger(index) || index < 0 || index >= image.planes.length) {
    throw new RangeError(`plane ${index} is out of range: the image has ${image.planes.length} plane(s)`);
  }
  return image.planes[index]!;
}

/** What the plane bookkeeping reads of a stack: its metadata and plane count (not the pixels). */
export type StackShape = { readonly metadata: ImageStack['metadata']; readonly planes: { readonly length: number } };

/**
 * Whether the file says what its planes are (`metadata.planeAxes`, set by the TIFF reader): always true for one
 * plane; for images built in memory without `planeAxes`, true when they give sizeZ. When false, sizeZ = planes is
 * the readers' convention, not a fact: the planes may be time points or channels.
 */
export function planeAxesStated(image: StackShape): boolean {
  const m = image.metadata;
  if (image.planes.length <= 1) return true;
  return m.planeAxes === undefined ? m.sizeZ !== undefined : m.planeAxes === 'stated';
}

/** The sizes of C, Z and T and their order in the file, fastest first (defaults: XYCZT, C = 1, Z = planes, T = 1). */
function stackAxes(image: StackShape): { sizes: Record<'C' | 'Z' | 'T', number>; order: ('C' | 'Z' | 'T')[] } {
  const m = image.metadata;
  return {
    sizes: { C: m.sizeC ?? 1, Z: m.sizeZ ?? image.planes.length, T: m.sizeT ?? 1 },
    order: (m.dimensionOrder ?? 'XYCZT').slice(2).split('') as ('C' | 'Z' | 'T')[],
  };
}

/**
 * Index in `image.planes` of channel `c`, z-slice `z`, time point `t` (all 0-based, default 0), following
 * `metadata.dimensionOrder` and `sizeC/sizeZ/sizeT` (defaults: XYCZT, C=1, Z=planes, T=1).
 */
export function planeIndex(image: ImageStack, at: { c?: number; z?: number; t?: number }): number {
  const { sizes, order } = stackAxes(image);
  const pos = { C: at.c ?? 0, Z: at.z ?? 0, T: at.t ?? 0 };
  for (const k of ['C', 'Z', 'T'] as const) {
    if (!Number.isInteger(pos[k]) || pos[k] < 0 || pos[k] >= sizes[k]) {
      throw new RangeError(`${k.toLowerCase()}=${pos[k]} is out of range 0..${sizes[k] - 1}`);
    }
  }
  let index = 0;
  let stride = 1;
  for (const k of order) {
    index += pos[k] * stride;
    stride *= sizes[k];
  }
  if (index >= image.planes.length) throw new RangeError(`plane ${index} is out of range`);
  return index;
}

/** The channel, z-slice and time point (0-based) of plane `index`: the inverse of planeIndex. */
export function planeCoordinates(image: StackShape, index: number): { c: number; z: number; t: number } {
  const { sizes, order } = stackAxes(image);
  const pos = { C: 0, Z: 0, T: 0 };
  let rest = index;
  for (const k of order) {
    pos[k] = rest % sizes[k];
    rest = Math.floor(rest / sizes[k]);
  }
  return { c: pos.C, z: pos.Z, t: pos.T };
}

export interface ToFloat32GrayOptions {
  /**
   * Divisor for integer data. 'dtype' (default): the dtype's largest value (uint8 255, uint16 65535, uint32
   * 4294967295, int8 127, int16 32767, int32 2147483647) — never the data's own maximum, so a 12-bit image in uint16
   * maps to 0..0.0625. 'none': keep raw values (e.g. camera counts). A number: divide by it. Floats are never scaled
   * unless a number is given.
   */
  scale?: 'dtype' | 'none' | number;
  /** Take this sample (0-based) of every pixel instead of combining colour samples. Required for `multi`. */
  sample?: number;
}

/**
 * Plane `plane` as float32 grey, row-major, width*height long. RGB(A) becomes luminance
 * 0.2989 R + 0.5870 G + 0.1140 B (computed in float64, before scaling); alpha is dropped. See `scale` for how
 * integers map to floats. float64 data is rounded to float32.
 */
export function toFloat32Gray(image: ImageStack, plane = 0, options: ToFloat32GrayOptions = {}): Float32Array {
  const data = getPlane(image, plane);
  const n = image.width * image.height;
  const spp = image.samplesPerPixel;
  const isFloat = image.dtype === 'float32' || image.dtype === 'float64';
  const scale = options.scale ?? 'dtype';
  const divisor = typeof scale === 'number' ? scale : scale === 'none' || isFloat ? 1 : DTYPE_MAX[image.dtype];
  if (!Number.isFinite(divisor) || divisor === 0) throw new RangeError(`toFloat32Gray: bad scale ${scale}`);
  const inv = 1 / divisor;
  const out = new Float32Array(n);
  if (data.length !== n * spp) {
    throw new ImageIOError('invalid-image', `plane ${plane} has ${data.length} samples, expected ${n * spp}`);
  }
  if (options.sample !== undefined) {
    const s = options.sample;
    if (!Number.isInteger(s) || s < 0 || s >= spp) throw new RangeError(`sample ${s} is out of range 0..${spp - 1}`);
    for (let i = 0; i < n; i++) out[i] = data[i * spp + s]! * inv;
    return out;
  }
  switch (image.colorModel) {
    case 'gray':
    case 'gray-alpha':
      for (let i = 0; i < n; i++) out[i] = data[i * spp]! * inv;
      return out;
    case 'rgb':
    case 'rgba': {
      const [wr, wg, wb] = LUMA_WEIGHTS;
      for (let i = 0; i < n; i++) {
        const k = i * spp;
        out[i] = (wr * data[k]! + wg * data[k + 1]! + wb * data[k + 2]!) * inv;
      }
      return out;
    }
    case 'multi':
      if (spp === 1) {
        for (let i = 0; i < n; i++) out[i] = data[i]! * inv;
        return out;
      }
      throw new ImageIOError(
        'invalid-image',
        `toFloat32Gray: the image has ${spp} samples per pixel with no colour meaning; pass { sample } to pick one`,
      );
  }
}

/** Number of NaN and ±Infinity samples over all planes (0 for integer images). Reading never rejects them. */
export function findNonFinite(image: ImageStack): number {
  if (image.dtype !== 'float32' && image.dtype !== 'float64') return 0;
  let count = 0;
  for (const p of image.planes) {
    for (let i = 0; i < p.length; i++) if (!Number.isFinite(p[i]!)) count++;
  }
  return count;
}

/**
 * Why a palette image's values are not intensities, or undefined when they are (or it is no palette image): its
 * stored values are colour-table indices, which read as intensities only when the table is a grey ramp, or when
 * ImageJ wrote the file (ImageJ saves every single-channel image with a LUT, "Fire" or "Green" included, as a palette
 * TIFF whose values are the data).
 */
export function paletteProblem(image: StackShape): string | undefined {
  const m = image.metadata;
  if (m.photometric !== 'palette' || m.imagej !== undefined || m.paletteGreyRamp === true) return undefined;
  return 'palette (indexed-colour) image whose colour table is not a grey ramp: its values are colour-table indices, not intensities; convert it to grey first';
}
