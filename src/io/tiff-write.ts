// TIFF writing, in ImageJ's layout. Written here because no npm library fits: geotiff's writer emits one image with
// GeoTIFF keys and no multi-page or ImageJ support, utif2's encoder writes only 8-bit RGBA, and `tiff` (image-js)
// only decodes. The format is small: a header, one directory (IFD) per page, and the pixels.
//
// Layout: 8-byte little-endian classic TIFF header, then every page's IFD with its out-of-line values, then all
// pixel data as one contiguous block (page after page, one strip per page, uncompressed). Contiguous pixels are
// what ImageJ and tifffile expect of an ImageJ hyperstack. The calibration is ImageJ's: XResolution/YResolution in
// pixels per micron with ResolutionUnit 'none', and `unit=micron` (+ `spacing=` in microns) in the description.
import { endianness } from 'node:os';
import { writeFileAtomic } from './atomic.js';
import { ImageIOError } from './errors.js';
import { IJ_METADATA_BYTE_COUNTS_TAG, IJ_METADATA_TAG, buildImageJDescription, encodeImageJInfo } from './imagej.js';
import type { ImageMetadata, PixelArray } from './types.js';

/** What `encodeTiff` writes: one or more planes of one size. An ImageStack fits this shape. */
export interface TiffWriteImage {
  width: number;
  height: number;
  /** Uint8Array, Uint16Array or Float32Array planes, all the same type, each width*height*samplesPerPixel long. */
  planes: readonly PixelArray[];
  /** 1 (grey, the default) or 3 (RGB, uint8 only). */
  samplesPerPixel?: number;
  /** Used for defaults of the options below (pixel size, spacing, C/Z/T counts). */
  metadata?: ImageMetadata;
}

export interface TiffWriteOptions {
  /** Pixel size along x in nanometres. Default: `image.metadata.pixelSizeNm`. Omitted: no calibration is written. */
  pixelSizeNm?: number;
  /** Pixel size along y in nanometres. Default: `image.metadata.pixelSizeYNm`, else `pixelSizeNm`. */
  pixelSizeYNm?: number;
  /** z-spacing in nanometres (ImageJ `spacing`). Default: `image.metadata.zSpacingNm`. */
  zSpacingNm?: number;
  /**
   * Hyperstack shape, planes in ImageJ order (channel fastest, then slice, then frame). The product must equal the
   * number of planes. Defaults: from `image.metadata` when it is consistent and in ImageJ order, else slices = planes.
   */
  channels?: number;
  slices?: number;
  frames?: number;
  /** Time between frames in seconds (ImageJ `finterval`). */
  frameIntervalS?: number;
  /** Display range stored as ImageJ `min`/`max` (Fiji uses it for float images). */
  displayRange?: [number, number];
  /** Software tag. Default 'psfid'. */
  software?: string;
  /**
   * ImageJ's `Info` property (free text, e.g. `buildOpticsInfo`'s lines), written in ImageJ's binary metadata tags
   * on the first page, where Fiji (Image ▸ Show Info), tifffile and psfid's reader find it. Never taken from
   * `image.metadata`: a copied Info could state optics the new pixels no longer have. Empty or omitted: none.
   */
  info?: string;
}

type WritableDType = 'uint8' | 'uint16' | 'float32';

function dtypeOf(a: PixelArray): WritableDType | undefined {
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Uint16Array) return 'uint16';
  if (a instanceof Float32Array) return 'float32';
  return undefined;
}

const MAX_U32 = 0xffffffff;

/**
 * Best rational approximation num/den of a positive number with both terms fitting a TIFF RATIONAL (uint32),
 * from the continued-fraction convergents. 200/13 (pixels per micron for 65 nm) comes out exact.
 */
export function toRational(x: number): [number, number] {
  if (!Number.isFinite(x) || x <= 0) throw new RangeError(`toRational: ${x} is not a positive finite number`);
  if (x >= MAX_U32) return [MAX_U32, 1];
  let h0 = 0, h1 = 1, k0 = 1, k1 = 0; // convergents h/k
  let r = x;
  for (let i = 0; i < 64; i++) {
    const a = Math.floor(r);
    const h2 = a * h1 + h0;
    const k2 = a * k1 + k0;
    if (h2 > MAX_U32 || k2 > MAX_U32) {
      // Largest semiconvergent that still fits, if it beats the last convergent.
      const t = Math.min(Math.floor((MAX_U32 - h0) / h1), k1 === 0 ? Infinity : Math.floor((MAX_U32 - k0) / k1));
      const hs = t * h1 + h0;
      const ks = t * k1 + k0;
      if (t > 0 && ks > 0 && Math.abs(hs / ks - x) < Math.abs(h1 / k1 - x)) return [hs, ks];
      break;
    }
    h0 = h1; h1 = h2; k0 = k1; k1 = k2;
    const frac = r - a;
    if (frac < 1e-12 || h1 / k1 === x) break;
    r = 1 / frac;
  }
  if (h1 === 0) return [1, Math.min(MAX_U32, Math.round(1 / x))];
  return [h1, k1];
}

interface Entry {
  tag: number;
  type: 1 | 2 | 3 | 4 | 5; // BYTE, ASCII, SHORT, LONG, RATIONAL
  count: number;
  /** Inline or out-of-line value bytes (little-endian), or a number to patch in later. */
  bytes: Uint8Array;
}

const TYPE_SIZE = { 1: 1, 2: 1, 3: 2, 4: 4, 5: 8 } as const;

function shorts(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 2);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setUint16(i * 2, x, true));
  return b;
}
function longs(values: number[]): Uint8Array {
  const b = new Uint8Array(values.length * 4);
  const v = new DataView(b.buffer);
  values.forEach((x, i) => v.setUint32(i * 4, x, true));
  return b;
}
function asciiBytes(s: string): Uint8Array {
  return new Uint8Array([...Buffer.from(s, 'utf8'), 0]);
}

function positive(v: number | undefined, name: string, path?: string): number | undefined {
  if (v === undefined) return undefined;
  if (!Number.isFinite(v) || v <= 0) {
    throw new ImageIOError('invalid-image', `cannot write TIFF: ${name} must be a positive number, got ${v}`, path);
  }
  return v;
}

/** Resolves the hyperstack shape (C, Z, T) for `n` planes. */
function hyperstackShape(n: number, image: TiffWriteImage, o: TiffWriteOptions, path?: string): [number, number, number] {
  const given = [o.channels, o.slices, o.frames];
  for (const g of given) {
    if (g !== undefined && (!Number.isInteger(g) || g < 1)) {
      throw new ImageIOError('invalid-image', `cannot write TIFF: channels/slices/frames must be positive integers`, path);
    }
  }
  if (given.some((g) => g !== undefined)) {
    let [c, z, t] = given;
    const known = (c ?? 1) * (z ?? 1) * (t ?? 1);
    if (z === undefined && n % known === 0) z = n / known;
    c ??= 1; z ??= 1; t ??= 1;
    if (c * z * t !== n) {
      throw new ImageIOError('invalid-image', `cannot write TIFF: channels x slices x frames = ${c}x${z}x${t} does not match ${n} planes`, path);
    }
    return [c, z, t];
  }
  const m = image.metadata;
  if (m && m.sizeC !== undefined && m.sizeZ !== undefined && m.sizeT !== undefined && m.sizeC * m.sizeZ * m.sizeT === n) {
    const nonUnit = [m.sizeC, m.sizeZ, m.sizeT].filter((s) => s > 1).length;
    if (nonUnit <= 1 || (m.dimensionOrder ?? 'XYCZT') === 'XYCZT') return [m.sizeC, m.sizeZ, m.sizeT];
  }
  return [1, n, 1];
}

/**
 * Encodes planes as an uncompressed little-endian ImageJ TIFF (uint8, uint16 or float32; uint8 RGB too).
 * `path` only names the file in error messages. Throws ImageIOError('invalid-image') on inconsistent input.
 */
export function encodeTiff(image: TiffWriteImage, options: TiffWriteOptions = {}, path?: string): Uint8Array {
  const bad = (what: string) => new ImageIOError('invalid-image', `cannot write TIFF: ${what}`, path);
  const { width, height, planes } = image;
  const spp = image.samplesPerPixel ?? 1;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw bad(`bad size ${width}x${height}`);
  }
  if (planes.length === 0) throw bad('no planes');
  const dtype = dtypeOf(planes[0]!);
  if (dtype === undefined) {
    throw bad(`${planes[0]!.constructor.name} data; ImageJ TIFF holds uint8, uint16 or float32 (convert first)`);
  }
  if (spp !== 1 && !(spp === 3 && dtype === 'uint8')) {
    throw bad(`${spp} samples per pixel of ${dtype}; only grey, or RGB uint8, is supported`);
  }
  const planeLength = width * height * spp;
  planes.forEach((p, i) => {
    if (dtypeOf(p) !== dtype) throw bad(`plane ${i} is ${p.constructor.name}, plane 0 is ${planes[0]!.constructor.name}`);
    if (p.length !== planeLength) throw bad(`plane ${i} has ${p.length} samples, ${width}x${height}x${spp} needs ${planeLength}`);
  });

  const meta = image.metadata;
  const pixelSizeNm = positive(options.pixelSizeNm ?? meta?.pixelSizeNm, 'pixelSizeNm', path);
  const pixelSizeYNm = positive(
    options.pixelSizeYNm ?? (options.pixelSizeNm !== undefined ? undefined : meta?.pixelSizeYNm) ?? pixelSizeNm,
    'pixelSizeYNm',
    path,
  );
  const zSpacingNm = positive(options.zSpacingNm ?? meta?.zSpacingNm, 'zSpacingNm', path);
  const [c, z, t] = hyperstackShape(planes.length, image, options, path);

  const bytesPerSample = dtype === 'uint8' ? 1 : dtype === 'uint16' ? 2 : 4;
  const planeBytes = planeLength * bytesPerSample;
  const description = buildImageJDescription({
    images: planes.length,
    channels: c,
    slices: z,
    frames: t,
    ...(pixelSizeNm !== undefined || zSpacingNm !== undefined ? { unit: 'micron' } : {}),
    ...(zSpacingNm !== undefined ? { spacing: zSpacingNm / 1000 } : {}),
    ...(options.frameIntervalS !== undefined ? { finterval: options.frameIntervalS } : {}),
    ...(options.displayRange ? { min: options.displayRange[0], max: options.displayRange[1] } : {}),
  });
  const software = options.software ?? 'psfid';
  const ijInfo = options.info ? encodeImageJInfo(options.info) : undefined;
  const sampleFormat = dtype === 'float32' ? 3 : 1;

  // Build each page's entries; offsets to pixel data are patched once the layout is known.
  const pageEntries: Entry[][] = planes.map((_, i) => {
    const e: Entry[] = [
      { tag: 254, type: 4, count: 1, bytes: longs([0]) },
      { tag: 256, type: 4, count: 1, bytes: longs([width]) },
      { tag: 257, type: 4, count: 1, bytes: longs([height]) },
      { tag: 258, type: 3, count: spp, bytes: shorts(Array(spp).fill(bytesPerSample * 8)) },
      { tag: 259, type: 3, count: 1, bytes: shorts([1]) },
      { tag: 262, type: 3, count: 1, bytes: shorts([spp === 3 ? 2 : 1]) },
    ];
    if (i === 0) {
      const d = asciiBytes(description);
      e.push({ tag: 270, type: 2, count: d.length, bytes: d });
    }
    e.push(
      { tag: 273, type: 4, count: 1, bytes: longs([0]) }, // StripOffsets, patched below
      { tag: 277, type: 3, count: 1, bytes: shorts([spp]) },
      { tag: 278, type: 4, count: 1, bytes: longs([height]) },
      { tag: 279, type: 4, count: 1, bytes: longs([planeBytes]) },
    );
    if (pixelSizeNm !== undefined) {
      const [xn, xd] = toRational(1000 / pixelSizeNm);
      const [yn, yd] = toRational(1000 / pixelSizeYNm!);
      e.push({ tag: 282, type: 5, count: 1, bytes: longs([xn, xd]) }, { tag: 283, type: 5, count: 1, bytes: longs([yn, yd]) });
    }
    if (spp > 1) e.push({ tag: 284, type: 3, count: 1, bytes: shorts([1]) });
    if (pixelSizeNm !== undefined) e.push({ tag: 296, type: 3, count: 1, bytes: shorts([1]) });
    if (i === 0) {
      const s = asciiBytes(software);
      e.push({ tag: 305, type: 2, count: s.length, bytes: s });
    }
    e.push({ tag: 339, type: 3, count: spp, bytes: shorts(Array(spp).fill(sampleFormat)) });
    if (i === 0 && ijInfo) {
      e.push(
        { tag: IJ_METADATA_BYTE_COUNTS_TAG, type: 4, count: ijInfo.byteCounts.length, bytes: longs(ijInfo.byteCounts) },
        { tag: IJ_METADATA_TAG, type: 1, count: ijInfo.data.length, bytes: ijInfo.data },
      );
    }
    return e;
  });

  // Layout: header, then per page [IFD | out-of-line values], then pixels (aligned to 16 bytes).
  const even = (n: number) => n + (n & 1);
  let pos = 8;
  const ifdOffsets: number[] = [];
  for (const entries of pageEntries) {
    ifdOffsets.push(pos);
    pos += 2 + entries.length * 12 + 4;
    for (const e of entries) if (e.bytes.length > 4) pos = even(pos + e.bytes.length);
  }
  const dataStart = Math.ceil(pos / 16) * 16;
  const total = dataStart + planeBytes * planes.length;
  if (total > MAX_U32) {
    throw bad(`${total} bytes is over the 4 GiB limit of a classic TIFF (BigTIFF writing is not supported)`);
  }

  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set([0x49, 0x49, 42, 0]);
  view.setUint32(4, ifdOffsets[0]!, true);
  pageEntries.forEach((entries, i) => {
    const stripOffset = entries.find((e) => e.tag === 273)!;
    stripOffset.bytes = longs([dataStart + i * planeBytes]);
    let at = ifdOffsets[i]!;
    let extra = at + 2 + entries.length * 12 + 4;
    view.setUint16(at, entries.length, true);
    at += 2;
    for (const e of entries) {
      view.setUint16(at, e.tag, true);
      view.setUint16(at + 2, e.type, true);
      view.setUint32(at + 4, e.count, true);
      if (e.bytes.length !== e.count * TYPE_SIZE[e.type]) throw new Error(`tiff-write: tag ${e.tag} size mismatch`);
      if (e.bytes.length <= 4) {
        out.set(e.bytes, at + 8);
      } else {
        view.setUint32(at + 8, extra, true);
        out.set(e.bytes, extra);
        extra = even(extra + e.bytes.length);
      }
      at += 12;
    }
    view.setUint32(at, i + 1 < planes.length ? ifdOffsets[i + 1]! : 0, true);
  });

  const littleHost = endianness() === 'LE';
  planes.forEach((p, i) => {
    const at = dataStart + i * planeBytes;
    if (littleHost || bytesPerSample === 1) {
      out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), at);
    } else if (dtype === 'uint16') {
      for (let k = 0; k < p.length; k++) view.setUint16(at + 2 * k, p[k]!, true);
    } else {
      for (let k = 0; k < p.length; k++) view.setFloat32(at + 4 * k, p[k]!, true);
    }
  });
  return out;
}

/**
 * Writes an ImageJ TIFF atomically (temporary file in the same folder, then rename): single images and stacks of
 * uint8, uint16 or float32 (uint8 RGB too), uncompressed, little-endian, with the pixel size in ImageJ's form so Fiji
 * and tifffile read it back. Throws ImageIOError; on any error no file (and no temporary file) is left behind.
 */
export function writeTiff(path: string, image: TiffWriteImage, options: TiffWriteOptions = {}): void {
  writeFileAtomic(path, () => encodeTiff(image, options, path));
}
