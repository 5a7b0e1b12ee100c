// psfid image I/O: read TIFF/PNG/JPEG into typed arrays (stored dtype and values kept), write ImageJ TIFFs and
// PNGs atomically, and convert planes to float32 grey.
export type {
  ColorModel,
  DType,
  DimensionOrder,
  ImageFormat,
  ImageJMetadata,
  ImageMetadata,
  ImageStack,
  OmeChannel,
  OmeMetadata,
  PixelArray,
} from './types.js';
export { ImageIOError, type ImageIOErrorCode } from './errors.js';
export { decodeImage, decodeImageAsync, readImage, readImageAsync } from './read.js';
export { decodeTiffSync } from './sync.js';
export { decodeTiff, scanTiffStructure, type TiffStructure } from './tiff-read.js';
export { decodePng, encodePng, type PngImage } from './png.js';
export { decodeJpeg, readJpegFrameInfo, type JpegFrameInfo } from './jpeg.js';
export { encodeTiff, writeTiff, toRational, type TiffWriteImage, type TiffWriteOptions } from './tiff-write.js';
export { writePng } from './png-write.js';
export { writeFileAtomic } from './atomic.js';
export { sniffFormat, type SniffResult } from './format.js';
export {
  parseImageJDescription,
  buildImageJDescription,
  buildOpticsInfo,
  cutoffFromInfo,
  encodeImageJInfo,
  isImageJDescription,
  opticsFromOriginalMetadata,
  parseImageJInfo,
  PSFID_FC_KEY,
  type OpticsInfoFields,
} from './imagej.js';
export { parseOmeXml, isOmeXml } from './ome.js';
export { nmPerUnit, toNm } from './units.js';
export {
  DTYPE_MAX,
  LUMA_WEIGHTS,
  findNonFinite,
  getPlane,
  paletteProblem,
  planeAxesStated,
  planeCount,
  planeCoordinates,
  planeIndex,
  toFloat32Gray,
  type StackShape,
  type ToFloat32GrayOptions,
} from './convert.js';
