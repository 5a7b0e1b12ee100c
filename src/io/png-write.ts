import { writeFileAtomic } from './atomic.js';
import { encodePng, type PngImage } from './png.js';

/**
 * Writes an 8- or 16-bit PNG atomically (temporary file in the same folder, then rename). For figures: grey, grey+
 * alpha, RGB or RGBA; bit depth from the array type. Throws ImageIOError; on error no file is left behind.
 */
export function writePng(path: string, image: PngImage): void {
  writeFileAtomic(path, () => encodePng(image, path));
}
