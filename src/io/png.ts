// PNG decoding and encoding with fast-png, which keeps PNG's own layout (1 to 4 channels, 8 or 16 bits). This file
// only unpacks 1/2/4-bit grey, expands palettes (via fast-png's convertIndexedToRgb) and maps to ImageStack.
import { convertIndexedToRgb, decode, encode } from 'fast-png';
import * as zlib from 'node:zlib';
import { ImageIOError, describeThrown } from './errors.js';
import type { ColorModel, ImageMetadata, ImageStack } from './types.js';

const COLOR_MODELS: Record<number, ColorModel> = { 1: 'gray', 2: 'gray-alpha', 3: 'rgb', 4: 'rgba' };

/** Unpacks rows of 1-, 2- or 4-bit samples (each row padded to a whole byte) into one byte per sample. */
function unpackBits(packed: Uint8Array, width: number, height: number, bits: number): Uint8Array {
  const out = new Uint8Array(width * height);
  const rowBytes = Math.ceil((width * bits) / 8);
  const perByte = 8 / bits;
  const mask = (1 << bits) - 1;
  for (let y = 0; y < height; y++) {
    const row = y * rowBytes;
    for (let x = 0; x < width; x++) {
      const byte = packed[row + Math.floor(x / perByte)]!;
      const shift = 8 - bits * ((x % perByte) + 1);
      out[y * width + x] = (byte >> shift) & mask;
    }
  }
  return out;
}

/** Node's native CRC-32 (Node >= 20.15), far faster than fast-png's own check. */
const nativeCrc32 = (zlib as { crc32?: (data: Uint8Array) => number }).crc32;

/**
 * Checks the CRC of every chunk; returns the first bad chunk's type, or undefined. Stops quietly at a chunk that
 * runs past the end (the decoder then reports the truncation).
 */
function badCrcChunk(bytes: Uint8Array, crc32: (data: Uint8Array) => number): string | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 8;
  while (at + 12 <= bytes.length) {
    const length = view.getUint32(at);
    const end = at + 12 + length;
    if (end > bytes.length) return undefined;
    const stored = view.getUint32(at + 8 + length);
    if ((crc32(bytes.subarray(at + 4, at + 8 + length)) >>> 0) !== stored) {
      return String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    }
    at = end;
  }
  return undefined;
}

/**
 * Decodes a PNG held in memory. 8-bit data becomes uint8, 16-bit uint16 (values as stored). 1/2/4-bit grey is
 * unpacked to uint8 with its values kept (0..2^bits-1; `bitsPerSample` says how many bits). Palette images are
 * expanded to RGB, or RGBA when they carry transparency. Chunk CRCs are checked. Throws ImageIOError.
 */
export function decodePng(bytes: Uint8Array, path?: string): ImageStack {
  if (nativeCrc32) {
    const bad = badCrcChunk(bytes, nativeCrc32);
    if (bad !== undefined) throw new ImageIOError('corrupt', `corrupt PNG: CRC mismatch in chunk ${bad}`, path);
  }
  let png: ReturnType<typeof decode>;
  try {
    png = decode(bytes, { checkCrc: nativeCrc32 === undefined });
  } catch (e) {
    const msg = describeThrown(e);
    const truncated = /outside the bounds|end of|unexpected end|IEND/i.test(msg);
    throw new ImageIOError(
      truncated ? 'truncated' : 'corrupt',
      `${truncated ? 'truncated or corrupt' : 'corrupt'} PNG (${msg})`,
      path,
      { cause: e },
    );
  }
  const { width, height } = png;
  if (!width || !height) throw new ImageIOError('corrupt', 'corrupt PNG: width or height is 0', path);
  let channels = png.channels;
  let bits: number = png.depth;
  let data: Uint8Array | Uint16Array;
  if (png.palette) {
    let rgb: Uint8Array;
    try {
      rgb = Uint8Array.from(convertIndexedToRgb(png));
    } catch (e) {
      throw new ImageIOError('corrupt', `corrupt PNG palette (${describeThrown(e)})`, path, { cause: e });
    }
    channels = rgb.length / (width * height);
    bits = 8;
    data = rgb;
  } else if (png.depth < 8) {
    if (channels !== 1) throw new ImageIOError('corrupt', `corrupt PNG: ${png.depth}-bit samples with ${channels} channels`, path);
    data = unpackBits(png.data as Uint8Array, width, height, png.depth);
  } else if (png.depth === 16) {
    data = png.data instanceof Uint16Array ? png.data : Uint16Array.from(png.data);
  } else {
    data = png.data instanceof Uint8Array && !(png.data instanceof Uint8ClampedArray) ? png.data : Uint8Array.from(png.data);
  }
  const colorModel = COLOR_MODELS[channels];
  if (!colorModel || data.length !== width * height * channels) {
    throw new ImageIOError('corrupt', `corrupt PNG: decoded ${data.length} samples for ${width}x${height}x${channels}`, path);
  }
  const metadata: ImageMetadata = { sizeC: 1, sizeZ: 1, sizeT: 1, dimensionOrder: 'XYCZT' };
  if (png.text && Object.keys(png.text).length > 0) {
    metadata.text = { ...png.text };
    const d = png.text['Description'] ?? png.text['ImageDescription'] ?? png.text['Comment'];
    if (d !== undefined) metadata.description = d;
  }
  if (png.resolution && png.resolution.x > 0) {
    metadata.resolution = {
      x: png.resolution.x,
      y: png.resolution.y > 0 ? png.resolution.y : png.resolution.x,
      unit: png.resolution.unit === 1 ? 'meter' : 'none',
    };
  }
  return {
    width,
    height,
    dtype: data instanceof Uint16Array ? 'uint16' : 'uint8',
    bitsPerSample: bits,
    samplesPerPixel: channels,
    colorModel,
    planes: [data],
    format: 'png',
    metadata,
  };
}

/** A figure to write as PNG: `data` is row-major with `channels` samples per pixel interleaved. */
export interface PngImage {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  /** Uint8Array for an 8-bit PNG, Uint16Array for a 16-bit PNG. */
  data: Uint8Array | Uint16Array;
}

/** Encodes an 8- or 16-bit PNG (bit depth from the array type). Throws ImageIOError on inconsistent input. */
export function encodePng(image: PngImage, path?: string): Uint8Array {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new ImageIOError('invalid-image', `cannot write PNG: bad size ${width}x${height}`, path);
  }
  if (![1, 2, 3, 4].includes(channels)) {
    throw new ImageIOError('invalid-image', `cannot write PNG: channels must be 1, 2, 3 or 4, got ${channels}`, path);
  }
  const depth = data instanceof Uint16Array ? 16 : data instanceof Uint8Array ? 8 : undefined;
  if (depth === undefined) {
    throw new ImageIOError('invalid-image', 'cannot write PNG: data must be a Uint8Array or Uint16Array', path);
  }
  if (data.length !== width * height * channels) {
    throw new ImageIOError(
      'invalid-image',
      `cannot write PNG: data has ${data.length} samples, ${width}x${height}x${channels} needs ${width * height * channels}`,
      path,
    );
  }
  return encode({ width, height, channels, depth, data });
}
