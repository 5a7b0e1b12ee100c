// Saturated pixels: a detector that clips returns its largest value wherever the light exceeded it, and those
// plateaus are not the blur of anything (y = S Q(P(h⋆x) + ε) clips only in Q at the top of the range, which training
// images rarely reach). Found as many pixels sharing the plane's maximum exactly, which unclipped data (noise makes
// every bright value a little different) almost never has.

/** Fewest pixels at the maximum that count as saturation: 16, or one in 10⁴ of the plane if that is more. */
export function saturationThreshold(pixels: number): number {
  return Math.max(16, Math.ceil(pixels / 1e4));
}

/**
 * The level saturated pixels sit at (the plane's maximum, in the plane's own units), how many do and what fraction of
 * the plane they are, when at least saturationThreshold(N) pixels equal the maximum and they outnumber those at the
 * next level down; else null. The second condition tells clipping (everything above the clip piles up at it) from
 * low-count data, whose few grey levels put many pixels at an unclipped maximum but fewer there than just below it
 * (a confocal stack with 8 levels: 51 pixels at 7, 907 at 6). NaN-free input assumed (the tools refuse NaN first).
 *
 * With `width` (the plane is row-major, `width` pixels a row), only pixels at the maximum with a 4-neighbour also at
 * it count: clipping flattens the top of a blurred object into a plateau (the PSF's core spans pixels at fc ≤ 0.25),
 * while isolated pixels at the maximum are impulse noise (salt-and-pepper, which psfid simulate's prior draws) or hot
 * pixels, which are not clipped blur. Without it every pixel at the maximum counts.
 */
export function detectSaturation(plane: ArrayLike<number>, width?: number): { level: number; pixels: number; fraction: number } | null {
  let max = -Infinity;
  let count = 0;
  let next = -Infinity;
  let nextCount = 0;
  for (let i = 0; i < plane.length; i++) {
    const v = plane[i]!;
    if (v > max) {
      [next, nextCount] = [max, count];
      max = v;
      count = 1;
    } else if (v === max) count++;
    else if (v > next) {
      next = v;
      nextCount = 1;
    } else if (v === next) nextCount++;
  }
  if (width !== undefined && count > 0) count = plateauPixels(plane, width, max);
  return count >= saturationThreshold(plane.length) && count > nextCount ? { level: max, pixels: count, fraction: count / plane.length } : null;
}

/** Pixels equal to `level` with a 4-neighbour equal to it too, in a row-major plane `width` pixels wide. */
function plateauPixels(plane: ArrayLike<number>, width: number, level: number): number {
  const height = Math.floor(plane.length / width);
  let n = 0;
  for (let i = 0; i < width * height; i++) {
    if (plane[i] !== level) continue;
    const x = i % width;
    if ((x > 0 && plane[i - 1] === level) || (x < width - 1 && plane[i + 1] === level) || (i >= width && plane[i - width] === level) || (i + width < width * height && plane[i + width] === level)) n++;
  }
  return n;
}

/**
 * How many distinct values the plane holds, counting up to `limit` (the scan stops there). A plane of one or two
 * levels is a mask or a thresholded image: every pixel of its top level sits at the maximum, which the saturation test
 * would call clipping, and it shows no blur to identify.
 */
export function countLevels(plane: ArrayLike<number>, limit = 3): number {
  const seen = new Set<number>();
  for (let i = 0; i < plane.length && seen.size < limit; i++) seen.add(plane[i]!);
  return seen.size;
}

/**
 * What identify checks in a plane before it reads it: its grey levels (up to 3) and, when it has more than two,
 * saturation. A constant plane has nothing to identify, and a two-level one (a mask) has every top pixel at the
 * maximum without being clipped, so neither is tested for saturation.
 */
export function inspectPlane(plane: ArrayLike<number>, width: number): { greyLevels: number; saturation: ReturnType<typeof detectSaturation> } {
  const greyLevels = countLevels(plane);
  return { greyLevels, saturation: greyLevels < 3 ? null : detectSaturation(plane, width) };
}
