// Naive JavaScript true convolutions, straight from the definitions in src/acquisition/blur.ts's doc comment.

/** One image [H, W] (row-major) convolved with one kernel [Kh, Kw]. */
export function naiveBlur(x: ArrayLike<number>, height: number, width: number, h: ArrayLike<number>, kh: number, kw: number, boundary: 'valid' | 'circular' | 'reflect'): number[] {
  const ch = Math.floor(kh / 2);
  const cw = Math.floor(kw / 2);
  const reflect = (i: number, n: number): number => {
    // x_ext[−t] = x[t], x_ext[n − 1 + t] = x[n − 1 − t] (the edge sample not repeated).
    let j = i;
    while (j < 0 || j >= n) j = j < 0 ? -j : 2 * (n - 1) - j;
    return j;
  };
  const at = (i: number, j: number): number => {
    if (boundary === 'circular') return x[(((i % height) + height) % height) * width + (((j % width) + width) % width)]!;
    if (boundary === 'reflect') return x[reflect(i, height) * width + reflect(j, width)]!;
    return x[i * width + j]!;
  };
  const out: number[] = [];
  const outH = boundary === 'valid' ? height - kh + 1 : height;
  const outW = boundary === 'valid' ? width - kw + 1 : width;
  for (let i = 0; i < outH; i++) {
    for (let j = 0; j < outW; j++) {
      let s = 0;
      for (let a = 0; a < kh; a++) {
        for (let b = 0; b < kw; b++) {
          s += boundary === 'valid' ? h[a * kw + b]! * at(i + kh - 1 - a, j + kw - 1 - b) : h[a * kw + b]! * at(i - a + ch, j - b + cw);
        }
      }
      out.push(s);
    }
  }
  return out;
}
