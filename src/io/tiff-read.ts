// TIFF decoding. geotiff decodes the pixels (every compression, predictor, strip/tile and byte-order combination
// we test decodes byte-exact against tifffile). Around it, this file:
// - walks the IFD chain itself first, because geotiff loops forever (until out of memory) on a cyclic chain and
//   reports truncation as a bare RangeError;
// - checks every strip/tile lies inside the file, so a cut file gives a 'truncated' error and never garbage;
// - refuses the features it does not support with a message that names them;
// - reads ImageJ and OME calibration.
import { fromArrayBuffer } from 'geotiff';
import { ImageIOError, describeThrown } from './errors.js';
import { IJ_METADATA_BYTE_COUNTS_TAG, IJ_METADATA_TAG, PSFID_FC_PIXEL_KEY, cutoffFromInfo, isImageJDescription, opticsFromOriginalMetadata, parseImageJDescription, parseImageJInfo } from './imagej.js';
import { isOmeXml, parseOmeXml } from './ome.js';
import { toNm } from './units.js';
import type { ColorModel, DType, DimensionOrder, ImageMetadata, ImageStack, PixelArray } from './types.js';

type GeoTiff = Awaited<ReturnType<typeof fromArrayBuffer>>;
type GeoTiffImage = Awaited<ReturnType<GeoTiff['getImage']>>;

/** Layout of a TIFF's IFD chain, as found by `scanTiffStructure`. */
export interface TiffStructure {
  littleEndian: boolean;
  bigTiff: boolean;
  /** Byte offset of each IFD, in chain order. */
  ifdOffsets: number[];
}

const MAX_PAGES = 1_000_000;

/**
 * Checks a TIFF header and walks its IFD chain: every IFD must lie inside the file, and the chain must not loop.
 * Throws ImageIOError ('truncated' or 'corrupt').
 */
export function scanTiffStructure(bytes: Uint8Array, path?: string): TiffStructure {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = bytes.byteLength;
  if (len < 8) throw new ImageIOError('truncated', `truncated TIFF: ${len} bytes, shorter than a TIFF header`, path);
  const order = String.fromCharCode(bytes[0]!, bytes[1]!);
  if (order !== 'II' && order !== 'MM') throw new ImageIOError('corrupt', 'corrupt TIFF: bad byte-order mark', path);
  const le = order === 'II';
  const magic = view.getUint16(2, le);
  const bigTiff = magic === 43;
  if (magic !== 42 && !bigTiff) throw new ImageIOError('corrupt', `corrupt TIFF: bad magic number ${magic}`, path);
  if (bigTiff && len < 16) throw new ImageIOError('truncated', 'truncated BigTIFF: header cut short', path);
  const readOffset = (at: number): number => {
    if (!bigTiff) return view.getUint32(at, le);
    const v = view.getBigUint64(at, le);
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  };
  const countSize = bigTiff ? 8 : 2;
  const entrySize = bigTiff ? 20 : 12;
  const offsetSize = bigTiff ? 8 : 4;
  let next = readOffset(bigTiff ? 8 : 4);
  const ifdOffsets: number[] = [];
  const seen = new Set<number>();
  if (next === 0) throw new ImageIOError('corrupt', 'corrupt TIFF: the header points to no image directory', path);
  while (next !== 0) {
    if (seen.has(next)) {
      throw new ImageIOError('corrupt', `corrupt TIFF: image directory chain loops back to byte ${next}`, path);
    }
    if (ifdOffsets.length >= MAX_PAGES) {
      throw new ImageIOError('unsupported-feature', `TIFF with more than ${MAX_PAGES} pages is not supported`, path);
    }
    if (next + countSize > len) {
      throw new ImageIOError(
        'truncated',
        `truncated TIFF: image directory ${ifdOffsets.length} at byte ${next} lies past the end of the file (${len} bytes)`,
        path,
      );
    }
    const n = bigTiff ? Number(view.getBigUint64(next, le)) : view.getUint16(next, le);
    if (n === 0) throw new ImageIOError('corrupt', `corrupt TIFF: image directory ${ifdOffsets.length} is empty`, path);
    const end = next + countSize + n * entrySize + offsetSize;
    if (end > len) {
      throw new ImageIOError(
        'truncated',
        `truncated TIFF: image directory ${ifdOffsets.length} ends at byte ${end}, past the end of the file (${len} bytes)`,
        path,
      );
    }
    seen.add(next);
    ifdOffsets.push(next);
    next = readOffset(end - offsetSize);
  }
  return { littleEndian: le, bigTiff, ifdOffsets };
}

const COMPRESSION_NAMES: Record<number, string> = {
  1: 'none',
  2: 'CCITT RLE',
  3: 'CCITT Group 3',
  4: 'CCITT Group 4',
  5: 'lzw',
  6: 'old-style JPEG',
  7: 'JPEG',
  8: 'deflate',
  32946: 'deflate',
  32773: 'packbits',
  32809: 'ThunderScan',
  32908: 'Pixar log',
  33003: 'JPEG 2000',
  33005: 'JPEG 2000',
  34712: 'JPEG 2000',
  34887: 'LERC',
  34925: 'LZMA',
  34933: 'PNG',
  34934: 'JPEG XR',
  50000: 'Zstandard',
  50001: 'WebP',
  50002: 'JPEG XL',
  52546: 'JPEG XL',
};
/** Compressions this reader accepts (each one tested against tifffile/libtiff output). */
const SUPPORTED_COMPRESSIONS = new Set([1, 5, 8, 32946, 32773]);

const PHOTOMETRIC_NAMES: Record<number, string> = {
  0: 'miniswhite',
  1: 'minisblack',
  2: 'rgb',
  3: 'palette',
  4: 'mask',
  5: 'separated',
  6: 'ycbcr',
  8: 'cielab',
  9: 'icclab',
  10: 'itulab',
  32844: 'logl',
  32845: 'logluv',
  34892: 'linearraw',
};
const SUPPORTED_PHOTOMETRIC = new Set([0, 1, 2, 3, 5]);

function bytesOfDType(d: DType): number {
  return d === 'uint8' || d === 'int8' ? 1 : d === 'uint16' || d === 'int16' ? 2 : d === 'float64' ? 8 : 4;
}

function arrayMatchesDType(a: unknown, d: DType): a is PixelArray {
  switch (d) {
    case 'uint8':
      return a instanceof Uint8Array;
    case 'uint16':
      return a instanceof Uint16Array;
    case 'uint32':
      return a instanceof Uint32Array;
    case 'int8':
      return a instanceof Int8Array;
    case 'int16':
      return a instanceof Int16Array;
    case 'int32':
      return a instanceof Int32Array;
    case 'float32':
      return a instanceof Float32Array;
    case 'float64':
      return a instanceof Float64Array;
  }
}

// Tag values come back from geotiff as numbers, strings, typed arrays or arrays. These normalise them.
function asNumbers(v: unknown): number[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return [v];
  if (typeof v === 'bigint') return [Number(v)];
  if (ArrayBuffer.isView(v) || Array.isArray(v)) {
    return Array.from(v as ArrayLike<number | bigint>, (x) => Number(x));
  }
  return undefined;
}

function asNumber(v: unknown): number | undefined {
  const a = asNumbers(v);
  return a && a.length > 0 ? a[0] : undefined;
}

function asString(v: unknown): string | undefined {
  if (typeof v === 'string') return v.replace(/\0+$/, '');
  if (Array.isArray(v) && typeof v[0] === 'string') return (v as string[]).join('').replace(/\0+$/, '');
  return undefined;
}

/** A TIFF RATIONAL (two unsigned integers) as a number; undefined when absent or the denominator is 0. */
function asRational(v: unknown): number | undefined {
  const a = asNumbers(v);
  if (!a || a.length === 0) return undefined;
  if (a.length === 1) return a[0];
  const [num, den] = a as [number, number];
  return den === 0 ? undefined : num / den;
}

/** The facts of one page needed to read and check it. */
interface PageInfo {
  index: number;
  width: number;
  height: number;
  dtype: DType;
  bits: number;
  spp: number;
  photometric: number;
  compression: number;
  colorModel: ColorModel;
  predictor: number;
  skip: boolean;
}

/** The Info text of ImageJ's binary metadata tags as geotiff gives them (byte and count arrays), else undefined. */
function imageJInfo(bytes: unknown, counts: unknown): string | undefined {
  if (bytes === undefined || counts === undefined) return undefined;
  const data = bytes instanceof Uint8Array ? bytes : Array.isArray(bytes) ? Uint8Array.from(bytes as number[]) : undefined;
  const sizes = typeof counts === 'number' ? [counts] : ArrayBuffer.isView(counts) || Array.isArray(counts) ? Array.from(counts as ArrayLike<number>, Number) : undefined;
  return data && sizes ? parseImageJInfo(data, sizes) : undefined;
}

async function tagOf(image: GeoTiffImage, name: string | number): Promise<unknown> {
  const fd = image.fileDirectory;
  if (!fd.hasTag(name as never)) return undefined;
  return fd.loadValue(name as never);
}

async function describePage(image: GeoTiffImage, index: number, path?: string): Promise<PageInfo> {
  const where = index === 0 ? '' : ` (page ${index})`;
  const unsupported = (what: string) => new ImageIOError('unsupported-feature', `${what} is not supported${where}`, path);
  const corrupt = (what: string) => new ImageIOError('corrupt', `corrupt TIFF: ${what}${where}`, path);

  const subfile = asNumber(await tagOf(image, 'NewSubfileType')) ?? 0;
  const oldSubfile = asNumber(await tagOf(image, 'SubfileType')) ?? 1;
  const skip = (subfile & 0b101) !== 0 || oldSubfile === 2;

  const width = asNumber(await tagOf(image, 'ImageWidth'));
  const height = asNumber(await tagOf(image, 'ImageLength'));
  if (!width || !height) throw corrupt('image width or height is missing or 0');

  const compression = asNumber(await tagOf(image, 'Compression')) ?? 1;
  if (!SUPPORTED_COMPRESSIONS.has(compression)) {
    const name = COMPRESSION_NAMES[compression];
    throw unsupported(name ? `${name}-compressed TIFF (compression ${compression})` : `TIFF compression ${compression}`);
  }
  const spp = asNumber(await tagOf(image, 'SamplesPerPixel')) ?? 1;
  if (spp < 1) throw corrupt(`SamplesPerPixel is ${spp}`);
  const bitsList = asNumbers(await tagOf(image, 'BitsPerSample')) ?? [1];
  const formatList = asNumbers(await tagOf(image, 'SampleFormat')) ?? [1];
  if (new Set(bitsList).size > 1) throw unsupported(`TIFF with mixed bits per sample (${bitsList.join(',')})`);
  if (new Set(formatList).size > 1) throw unsupported(`TIFF with mixed sample formats (${formatList.join(',')})`);
  const bits = bitsList[0]!;
  const format = formatList[0]!;
  let dtype: DType | undefined;
  if (format === 1 || format === 4) {
    dtype = bits === 8 ? 'uint8' : bits === 16 ? 'uint16' : bits === 32 ? 'uint32' : undefined;
    if (bits === 1) throw unsupported('1-bit (bilevel) TIFF');
    if (bits === 64) throw unsupported('64-bit integer TIFF');
  } else if (format === 2) {
    dtype = bits === 8 ? 'int8' : bits === 16 ? 'int16' : bits === 32 ? 'int32' : undefined;
    if (bits === 64) throw unsupported('64-bit integer TIFF');
  } else if (format === 3) {
    dtype = bits === 32 ? 'float32' : bits === 64 ? 'float64' : undefined;
    if (dtype === undefined) throw unsupported(`${bits}-bit floating-point TIFF`);
  } else if (format === 5 || format === 6) {
    throw unsupported('complex-valued TIFF');
  } else {
    throw corrupt(`unknown SampleFormat ${format}`);
  }
  if (dtype === undefined) throw unsupported(`${bits}-bit ${format === 2 ? 'signed ' : ''}integer TIFF`);

  const photometric = asNumber(await tagOf(image, 'PhotometricInterpretation')) ?? (spp >= 3 ? 2 : 1);
  if (!SUPPORTED_PHOTOMETRIC.has(photometric)) {
    const name = PHOTOMETRIC_NAMES[photometric];
    throw unsupported(name ? `TIFF photometric interpretation '${name}'` : `TIFF photometric interpretation ${photometric}`);
  }
  const predictor = asNumber(await tagOf(image, 'Predictor')) ?? 1;
  if (predictor !== 1 && predictor !== 2 && predictor !== 3) throw unsupported(`TIFF predictor ${predictor}`);
  if (predictor === 3 && dtype !== 'float32' && dtype !== 'float64') {
    throw corrupt('floating-point predictor on integer samples');
  }
  if (predictor === 3 && !image.littleEndian) {
    // geotiff assembles the un-shuffled bytes little-endian first but reads them in the file's byte order.
    throw unsupported('big-endian TIFF with the floating-point predictor');
  }
  if (predictor === 2 && bits === 64) throw unsupported('horizontal predictor on 64-bit samples');

  const extra = asNumbers(await tagOf(image, 'ExtraSamples')) ?? [];
  const alpha = extra[0] === 1 || extra[0] === 2;
  let colorModel: ColorModel;
  if (photometric === 2) {
    if (spp < 3) throw corrupt(`RGB image with ${spp} samples per pixel`);
    colorModel = spp === 3 ? 'rgb' : spp === 4 ? 'rgba' : 'multi';
  } else if (photometric === 5) {
    colorModel = 'multi';
  } else if (photometric === 3) {
    if (spp !== 1) throw corrupt(`palette image with ${spp} samples per pixel`);
    colorModel = 'gray';
  } else {
    colorModel = spp === 1 ? 'gray' : spp === 2 && alpha ? 'gray-alpha' : 'multi';
  }
  return { index, width, height, dtype, bits, spp, photometric, compression, colorModel, predictor, skip };
}

/** Checks that every strip or tile of a page lies inside the file and holds as many bytes as it must. */
async function checkPageData(image: GeoTiffImage, page: PageInfo, fileLength: number, path?: string): Promise<void> {
  const where = page.index === 0 ? '' : `page ${page.index} `;
  const tiled = image.isTiled;
  const offsets = asNumbers(await tagOf(image, tiled ? 'TileOffsets' : 'StripOffsets'));
  const counts = asNumbers(await tagOf(image, tiled ? 'TileByteCounts' : 'StripByteCounts'));
  if (!offsets || offsets.length === 0) {
    throw new ImageIOError('corrupt', `corrupt TIFF: ${where}has no ${tiled ? 'tile' : 'strip'} offsets`, path);
  }
  if (!counts || counts.length !== offsets.length) {
    throw new ImageIOError('corrupt', `corrupt TIFF: ${where}${tiled ? 'tile' : 'strip'} byte counts are missing or do not match the offsets`, path);
  }
  const planar = image.planarConfiguration === 2 && page.spp > 1;
  const sampleBytes = bytesOfDType(page.dtype);
  const pixelBytes = planar ? sampleBytes : sampleBytes * page.spp;
  const planesPerImage = planar ? page.spp : 1;
  let blocksPerPlane: number;
  let blockBytes: (i: number) => number;
  if (tiled) {
    const tw = image.getTileWidth();
    const th = image.getTileHeight();
    blocksPerPlane = Math.ceil(page.width / tw) * Math.ceil(page.height / th);
    blockBytes = () => tw * th * pixelBytes;
  } else {
    const rps = Math.min(asNumber(await tagOf(image, 'RowsPerStrip')) ?? page.height, page.height) || page.height;
    blocksPerPlane = Math.ceil(page.height / rps);
    blockBytes = (i) => {
      const s = i % blocksPerPlane;
      return Math.min(rps, page.height - s * rps) * page.width * pixelBytes;
    };
  }
  const needed = blocksPerPlane * planesPerImage;
  if (offsets.length < needed) {
    throw new ImageIOError('corrupt', `corrupt TIFF: ${where}has ${offsets.length} ${tiled ? 'tiles' : 'strips'}, needs ${needed}`, path);
  }
  for (let i = 0; i < needed; i++) {
    const end = offsets[i]! + counts[i]!;
    if (end > fileLength) {
      throw new ImageIOError(
        'truncated',
        `truncated or corrupt TIFF: ${where}pixel data ends at byte ${end}, past the end of the file (${fileLength} bytes)`,
        path,
      );
    }
    if (page.compression === 1 && counts[i]! < blockBytes(i)) {
      throw new ImageIOError(
        'truncated',
        `truncated or corrupt TIFF: ${where}${tiled ? 'tile' : 'strip'} ${i} holds ${counts[i]} bytes, needs ${blockBytes(i)}`,
        path,
      );
    }
  }
}

/** Largest decoded image accepted (bytes): a guard against corrupt sizes, far above any real microscope stack. */
const MAX_DECODED_BYTES = 2 ** 34;

/**
 * Decodes a TIFF held in memory (every page of the main IFD chain, except reduced-resolution thumbnails and masks).
 * `path` only names the file in error messages. Throws ImageIOError.
 */
export async function decodeTiff(bytes: Uint8Array, path?: string): Promise<ImageStack> {
  const structure = scanTiffStructure(bytes, path);
  const ab =
    bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer
      ? bytes.buffer
      : (bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer);
  const wrap = (e: unknown, what: string): ImageIOError =>
    e instanceof ImageIOError
      ? e
      : new ImageIOError('corrupt', `corrupt TIFF: ${what} (${describeThrown(e)})`, path, { cause: e });

  let tiff: GeoTiff;
  try {
    tiff = await fromArrayBuffer(ab);
  } catch (e) {
    throw wrap(e, 'could not parse the header');
  }
  const images: GeoTiffImage[] = [];
  const pages: PageInfo[] = [];
  for (let i = 0; i < structure.ifdOffsets.length; i++) {
    let image: GeoTiffImage;
    try {
      image = await tiff.getImage(i);
      pages.push(await describePage(image, i, path));
    } catch (e) {
      throw wrap(e, `could not read image directory ${i}`);
    }
    images.push(image);
  }
  const kept = pages.filter((p) => !p.skip);
  if (kept.length === 0) throw new ImageIOError('corrupt', 'corrupt TIFF: holds only thumbnails or masks, no image', path);
  const first = kept[0]!;
  for (const p of kept) {
    if (p.width !== first.width || p.height !== first.height || p.dtype !== first.dtype || p.spp !== first.spp) {
      throw new ImageIOError(
        'unsupported-feature',
        `TIFF whose pages differ in size or type (page ${p.index} is ${p.width}x${p.height}x${p.spp} ${p.dtype}, ` +
          `page ${first.index} is ${first.width}x${first.height}x${first.spp} ${first.dtype}) is not supported`,
        path,
      );
    }
  }
  const planeBytes = first.width * first.height * first.spp * bytesOfDType(first.dtype);
  if (planeBytes * kept.length > MAX_DECODED_BYTES) {
    throw new ImageIOError(
      'unsupported-feature',
      `TIFF too large to decode in memory (${kept.length} pages of ${first.width}x${first.height}x${first.spp} ${first.dtype})`,
      path,
    );
  }

  const planes: PixelArray[] = [];
  for (const p of kept) {
    const image = images[p.index]!;
    await checkPageData(image, p, bytes.byteLength, path).catch((e: unknown) => {
      throw wrap(e, `could not read page ${p.index} layout`);
    });
    let data: unknown;
    try {
      data = await image.readRasters({ interleave: true });
    } catch (e) {
      throw wrap(e, `page ${p.index} could not be decoded`);
    }
    if (!arrayMatchesDType(data, p.dtype) || data.length !== p.width * p.height * p.spp) {
      throw new ImageIOError('corrupt', `corrupt TIFF: page ${p.index} decoded to the wrong size or type`, path);
    }
    if (p.predictor === 2 && !image.littleEndian && (p.bits === 16 || p.bits === 32)) {
      fixBigEndianPredictor(data, p, image.isTiled ? image.getTileWidth() : p.width);
    }
    planes.push(data);
  }

  const metadata = await readMetadata(images[first.index]!, first, planes.length);
  const declared = metadata.imagej?.images;
  if (declared !== undefined && declared > planes.length) {
    // ImageJ writes stacks over 4 GiB with one directory and all planes contiguous after the first.
    throw new ImageIOError(
      'unsupported-feature',
      `ImageJ TIFF declaring ${declared} images in ${planes.length} image directories (a contiguous stack over 4 GiB) is not supported`,
      path,
    );
  }
  if (kept.length < pages.length) metadata.skippedPages = pages.length - kept.length;
  return {
    width: first.width,
    height: first.height,
    dtype: first.dtype,
    bitsPerSample: first.bits,
    samplesPerPixel: first.spp,
    colorModel: first.colorModel,
    planes,
    format: 'tiff',
    metadata,
  };
}

const bswap16 = (x: number) => ((x & 0xff) << 8) | (x >>> 8);
const bswap32 = (x: number) => (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/**
 * Repairs geotiff's horizontal-predictor decoding of big-endian 16/32-bit samples (geotiff 3.0.5 accumulates the
 * differences through a little-endian view of big-endian bytes, so carries go into the wrong byte). Per run of
 * pixels that one predictor row covered (an image row, or its part inside one tile column), for each sample:
 * undo geotiff's accumulation on the byte-swapped values, which yields the stored differences, then accumulate
 * those correctly. Integer wrap-around makes both steps exact.
 */
function fixBigEndianPredictor(data: PixelArray, page: PageInfo, runWidth: number): void {
  const wide = page.bits === 32;
  const u = wide
    ? new Uint32Array(data.buffer, data.byteOffset, data.length)
    : new Uint16Array(data.buffer, data.byteOffset, data.length);
  const swap = wide ? bswap32 : bswap16;
  const mask = wide ? 0xffffffff : 0xffff;
  const { width, height, spp } = page;
  for (let y = 0; y < height; y++) {
    for (let x0 = 0; x0 < width; x0 += runWidth) {
      const x1 = Math.min(width, x0 + runWidth);
      for (let s = 0; s < spp; s++) {
        let prevGeo = 0; // geotiff's accumulated value (little-endian view) of the previous pixel
        let prevTrue = 0;
        for (let x = x0; x < x1; x++) {
          const k = (y * width + x) * spp + s;
          const geo = swap(u[k]!);
          const diff = swap(x === x0 ? geo : (geo - prevGeo) & mask);
          const value = x === x0 ? diff : (prevTrue + diff) & mask;
          prevGeo = geo;
          prevTrue = value >>> 0;
          u[k] = prevTrue;
        }
      }
    }
  }
}

const RESOLUTION_UNITS = { 1: 'none', 2: 'inch', 3: 'centimeter' } as const;

/**
 * C, Z, T and the plane order from tifffile's own ("shaped") description, `{"axes": "TZCYX", "shape": [...]}`,
 * when its axes other than Y, X and samples (S) are among C, Z and T and multiply out to the page count; undefined
 * otherwise — including `{"shape": [...]}` without axes, which says nothing about what the planes are.
 */
function tifffileAxes(description: string | undefined, planeCount: number): Pick<ImageMetadata, 'sizeC' | 'sizeZ' | 'sizeT' | 'dimensionOrder'> | undefined {
  if (description === undefined || !description.startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(description.replace(/\0+$/, ''));
  } catch {
    return undefined;
  }
  const { axes, shape } = (parsed ?? {}) as { axes?: unknown; shape?: unknown };
  if (typeof axes !== 'string' || !Array.isArray(shape) || shape.length !== axes.length || !shape.every((n) => Number.isInteger(n) && n >= 1)) return undefined;
  const sizes = { C: 1, Z: 1, T: 1 };
  const outerToInner: ('C' | 'Z' | 'T')[] = [];
  for (let i = 0; i < axes.length; i++) {
    const a = axes[i]!;
    if (a === 'Y' || a === 'X' || a === 'S') continue;
    if ((a !== 'C' && a !== 'Z' && a !== 'T') || outerToInner.includes(a)) return undefined;
    sizes[a] = shape[i] as number;
    outerToInner.push(a);
  }
  if (sizes.C * sizes.Z * sizes.T !== planeCount) return undefined;
  // tifffile stores pages with the last axis fastest; OME's order names the fastest first.
  const fastest = [...outerToInner].reverse();
  const order = `XY${[...fastest, ...(['C', 'Z', 'T'] as const).filter((k) => !fastest.includes(k))].join('')}` as DimensionOrder;
  return { sizeC: sizes.C, sizeZ: sizes.Z, sizeT: sizes.T, dimensionOrder: order };
}

/** Whether a TIFF ColorMap (all reds, then greens, then blues) is a grey ramp: R = G = B, non-decreasing. */
function isGreyRamp(map: number[] | undefined): boolean {
  if (!map || map.length === 0 || map.length % 3 !== 0) return false;
  const n = map.length / 3;
  for (let i = 0; i < n; i++) {
    if (map[i] !== map[n + i] || map[i] !== map[2 * n + i]) return false;
    if (i > 0 && map[i]! < map[i - 1]!) return false;
  }
  return true;
}

async function readMetadata(image: GeoTiffImage, page: PageInfo, planeCount: number): Promise<ImageMetadata> {
  const meta: ImageMetadata = {
    sizeC: 1,
    sizeZ: planeCount,
    sizeT: 1,
    planeAxes: 'unknown',
    dimensionOrder: 'XYCZT',
    photometric: PHOTOMETRIC_NAMES[page.photometric] ?? String(page.photometric),
    compression: COMPRESSION_NAMES[page.compression] ?? String(page.compression),
  };
  if (page.photometric === 3) meta.paletteGreyRamp = isGreyRamp(asNumbers(await tagOf(image, 'ColorMap')));
  const description = asString(await tagOf(image, 'ImageDescription'));
  if (description !== undefined) meta.description = description;
  const software = asString(await tagOf(image, 'Software'));
  if (software !== undefined) meta.software = software;
  const xres = asRational(await tagOf(image, 'XResolution'));
  const yres = asRational(await tagOf(image, 'YResolution'));
  const resUnit = asNumber(await tagOf(image, 'ResolutionUnit')) ?? 2;
  if (xres !== undefined && xres > 0) {
    meta.resolution = {
      x: xres,
      y: yres !== undefined && yres > 0 ? yres : xres,
      unit: RESOLUTION_UNITS[resUnit as 1 | 2 | 3] ?? 'none',
    };
  }

  const shaped = tifffileAxes(description, planeCount);
  if (shaped) Object.assign(meta, shaped, { planeAxes: 'stated' });

  if (isImageJDescription(description)) {
    const ij = parseImageJDescription(description!);
    meta.imagej = ij;
    const c = ij.channels ?? 1;
    const z = ij.slices ?? 1;
    const t = ij.frames ?? 1;
    // Planes are in ImageJ's order, channel fastest (XYCZT). Counts that do not multiply out are not trusted, and
    // `images=N` alone does not say what the planes are.
    if (c * z * t === planeCount) {
      meta.sizeC = c;
      meta.sizeZ = z;
      meta.sizeT = t;
      if (planeCount === 1 || ij.channels !== undefined || ij.slices !== undefined || ij.frames !== undefined) meta.planeAxes = 'stated';
    }
    // ImageJ stores the pixel size as XResolution = pixels per `unit`.
    if (ij.unit !== undefined && meta.resolution) {
      const xNm = toNm(1 / meta.resolution.x, ij.unit);
      if (xNm !== undefined) {
        meta.pixelSizeUnit = ij.unit;
        meta.pixelSizeNm = xNm;
        const yUnit = ij.raw['yunit'] || ij.unit;
        const yNm = toNm(1 / meta.resolution.y, yUnit);
        if (yNm !== undefined) meta.pixelSizeYNm = yNm;
      }
    }
    if (ij.spacing !== undefined) {
      const zNm = toNm(ij.spacing, ij.raw['zunit'] || ij.unit);
      if (zNm !== undefined) meta.zSpacingNm = zNm;
    }
    // The Info property: NA and emission wavelength from a microscope file's original metadata (Fiji/Bio-Formats).
    const info = imageJInfo(await tagOf(image, IJ_METADATA_TAG), await tagOf(image, IJ_METADATA_BYTE_COUNTS_TAG));
    if (info !== undefined) {
      ij.info = info;
      const optics = opticsFromOriginalMetadata(info);
      if (optics.numericalAperture !== undefined) meta.numericalAperture = optics.numericalAperture;
      if (optics.emissionWavelengthNm !== undefined) meta.emissionWavelengthNm = optics.emissionWavelengthNm;
      // The cut-off psfid recorded where it knew no microscope (`psfid.fc`, imagej.ts).
      const fc = cutoffFromInfo(info);
      if (fc !== undefined) meta.fc = fc;
      const fcPixel = fc === undefined ? undefined : cutoffFromInfo(info, PSFID_FC_PIXEL_KEY);
      if (fcPixel !== undefined) meta.fcPixelSizeNm = fcPixel;
    }
  }

  if (isOmeXml(description)) {
    const ome = parseOmeXml(description!);
    if (ome) {
      meta.ome = ome;
      const spp = page.spp;
      let c = ome.sizeC ?? 1;
      const z = ome.sizeZ ?? 1;
      const t = ome.sizeT ?? 1;
      // OME counts RGB samples as channels (SizeC=3 with one 3-sample Channel); planes hold them together.
      if (c * z * t !== planeCount && spp > 1 && c % spp === 0 && (c / spp) * z * t === planeCount) c = c / spp;
      if (c * z * t === planeCount) {
        meta.sizeC = c;
        meta.sizeZ = z;
        meta.sizeT = t;
        meta.planeAxes = 'stated';
        if (ome.dimensionOrder && /^XY[CZT]{3}$/.test(ome.dimensionOrder)) {
          meta.dimensionOrder = ome.dimensionOrder as DimensionOrder;
        }
      }
      const xNm = toNm(ome.physicalSizeX, ome.physicalSizeXUnit);
      if (xNm !== undefined) {
        meta.pixelSizeNm = xNm;
        meta.pixelSizeUnit = ome.physicalSizeXUnit!;
        delete meta.pixelSizeYNm;
      }
      const yNm = toNm(ome.physicalSizeY, ome.physicalSizeYUnit);
      if (yNm !== undefined) meta.pixelSizeYNm = yNm;
      const zNm = toNm(ome.physicalSizeZ, ome.physicalSizeZUnit);
      if (zNm !== undefined) meta.zSpacingNm = zNm;
      if (ome.lensNA !== undefined) meta.numericalAperture = ome.lensNA;
      const em = ome.channels.find((ch) => ch.emissionWavelengthNm !== undefined)?.emissionWavelengthNm;
      if (em !== undefined) meta.emissionWavelengthNm = em;
    }
  }
  return meta;
}
