// JPEG decoding with jpeg-js (baseline and progressive, 8-bit, grey or YCbCr). jpeg-js always returns RGB, so this
// file reads the frame header itself to know whether the image is grey, and refuses what jpeg-js cannot decode.
import jpeg from 'jpeg-js';
import { ImageIOError, describeThrown } from './errors.js';
import type { ImageMetadata, ImageStack } from './types.js';

/** What the frame header (SOFn) and comment (COM) of a JPEG say. */
export interface JpegFrameInfo {
  /** SOF marker number: 0 baseline, 1 extended, 2 progressive, 3 lossless, 9+ arithmetic-coded. */
  sof: number;
  precision: number;
  width: number;
  height: number;
  components: number;
  comment?: string;
}

/** Finds the frame header of a JPEG by walking its marker segments. Throws ImageIOError when there is none. */
export function readJpegFrameInfo(bytes: Uint8Array, path?: string): JpegFrameInfo {
  const len = bytes.length;
  let comment: string | undefined;
  let i = 2;
  while (i < len) {
    if (bytes[i] !== 0xff) throw new ImageIOError('corrupt', `corrupt JPEG: no marker at byte ${i}`, path);
    while (i < len && bytes[i] === 0xff) i++;
    if (i >= len) break;
    const m = bytes[i]!;
    i++;
    if (m === 0xd8 || m === 0x01 || (m >= 0xd0 && m <= 0xd7)) continue;
    if (m === 0xd9 || m === 0xda) break; // end of image or start of scan before any frame header
    if (i + 2 > len) break;
    const segLen = (bytes[i]! << 8) | bytes[i + 1]!;
    if (segLen < 2) throw new ImageIOError('corrupt', `corrupt JPEG: bad segment length at byte ${i}`, path);
    if (i + segLen > len) break;
    if (m === 0xfe) comment = Buffer.from(bytes.subarray(i + 2, i + segLen)).toString('latin1').replace(/\0+$/, '');
    const isSof = m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc;
    if (isSof) {
      if (segLen < 8) throw new ImageIOError('corrupt', 'corrupt JPEG: frame header too short', path);
      const info: JpegFrameInfo = {
        sof: m - 0xc0,
        precision: bytes[i + 2]!,
        height: (bytes[i + 3]! << 8) | bytes[i + 4]!,
        width: (bytes[i + 5]! << 8) | bytes[i + 6]!,
        components: bytes[i + 7]!,
      };
      if (comment !== undefined) info.comment = comment;
      return info;
    }
    i += segLen;
  }
  throw new ImageIOError('truncated', 'truncated or corrupt JPEG: no frame header before the data ends', path);
}

/**
 * Decodes a JPEG held in memory into uint8 grey (1 sample) or RGB (3 samples). Supports baseline, extended and
 * progressive Huffman-coded 8-bit JPEGs. Values differ from libjpeg's by a few levels (different IDCT and chroma
 * upsampling). Throws ImageIOError.
 */
export function decodeJpeg(bytes: Uint8Array, path?: string): ImageStack {
  const info = readJpegFrameInfo(bytes, path);
  const unsupported = (what: string) => new ImageIOError('unsupported-feature', `${what} is not supported`, path);
  if (info.sof === 3 || info.sof === 7 || info.sof === 11 || info.sof === 15) throw unsupported('lossless JPEG');
  if (info.sof >= 9) throw unsupported('arithmetic-coded JPEG');
  if (info.precision !== 8) throw unsupported(`${info.precision}-bit JPEG`);
  if (info.components !== 1 && info.components !== 3) {
    throw unsupported(info.components === 4 ? 'CMYK JPEG' : `JPEG with ${info.components} components`);
  }
  if (info.width === 0 || info.height === 0) throw unsupported('JPEG with the height set by a DNL marker');
  let decoded: { width: number; height: number; data: Uint8Array };
  try {
    decoded = jpeg.decode(bytes, {
      useTArray: true,
      formatAsRGBA: false,
      maxResolutionInMP: 1000,
      maxMemoryUsageInMB: 8192,
    });
  } catch (e) {
    throw new ImageIOError('corrupt', `truncated or corrupt JPEG (${describeThrown(e)})`, path, { cause: e });
  }
  const { width, height } = decoded;
  const rgb = decoded.data;
  if (rgb.length !== width * height * 3) {
    throw new ImageIOError('corrupt', `corrupt JPEG: decoded ${rgb.length} samples for ${width}x${height}`, path);
  }
  let data: Uint8Array;
  if (info.components === 1) {
    data = new Uint8Array(width * height);
    for (let p = 0; p < data.length; p++) data[p] = rgb[p * 3]!;
  } else {
    data = rgb instanceof Uint8Array && !(rgb instanceof Uint8ClampedArray) ? rgb : Uint8Array.from(rgb);
  }
  const metadata: ImageMetadata = { sizeC: 1, sizeZ: 1, sizeT: 1, dimensionOrder: 'XYCZT' };
  if (info.comment !== undefined) metadata.description = info.comment;
  return {
    width,
    height,
    dtype: 'uint8',
    bitsPerSample: 8,
    samplesPerPixel: info.components,
    colorModel: info.components === 1 ? 'gray' : 'rgb',
    planes: [data],
    format: 'jpeg',
    metadata,
  };
}
