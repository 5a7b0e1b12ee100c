// A tiny RGB raster for figures (training curves, PSF grids, montages), saved as PNG by src/io. Written here because
// the figures need only lines, rectangles, images and short labels, and a plotting stack (canvas, Chromium) would
// be a heavy runtime dependency for that. Text uses a built-in 5×7 pixel font (upper-case, digits, a few symbols).
const FONT: Record<string, string> = {
  '0': '0e1113151911 0e', '1': '040c040404040e', '2': '0e11010204081f', '3': '1f020402011 10e', '4': '02060a121f0202',
  '5': '1f101e0101110e', '6': '0608101e11110e', '7': '1f010204080808', '8': '0e11110e11110e', '9': '0e11110f01020c',
  A: '0e11111f111111', B: '1e11111e11111e', C: '0e11101010110e', D: '1c12111111121c', E: '1f10101e10101f', F: '1f10101e101010',
  G: '0e1110171111 0f', H: '1111111f111111', I: '0e04040404040e', J: '07020202021 20c', K: '11121418141211', L: '1010101010101f',
  M: '111b1515111111', N: '11111915131111', O: '0e11111111110e', P: '1e11111e101010', Q: '0e111111151209', R: '1e11111e141211',
  S: '0f10100e01011e', T: '1f040404040404', U: '1111111111110e', V: '11111111110a04', W: '11111115151b11', X: '11110a040a1111',
  Y: '11110a04040404', Z: '1f01020408101f', '.': '0000000000000c', '-': '0000001f000000', '+': '0004041f040400', ':': '000c0c000c0c00',
  '/': '01010204081010', '(': '02040808080402', ')': '08040202020408', '=': '00001f001f0000', ',': '00000000000c08', '%': '18190204081303',
  '_': '0000000000001f', ' ': '00000000000000', '^': '040a1100000000', '|': '04040404040404', '<': '02040810080402', '>': '08040201020408',
  '[': '0e08080808080e', ']': '0e02020202020e', '*': '00040e1f0e0400', '#': '0a0a1f0a1f0a0a', '?': '0e110102040004', '!': '04040404040004',
};

function glyph(ch: string): number[] {
  const hex = (FONT[ch.toUpperCase()] ?? FONT['?']!).replace(/\s/g, '');
  return Array.from({ length: 7 }, (_, i) => parseInt(hex.slice(2 * i, 2 * i + 2), 16));
}

export type RGB = [number, number, number];

export class Raster {
  readonly data: Uint8Array;
  constructor(readonly width: number, readonly height: number, background: RGB = [255, 255, 255]) {
    this.data = new Uint8Array(width * height * 3);
    for (let i = 0; i < width * height; i++) this.data.set(background, 3 * i);
  }
  set(x: number, y: number, c: RGB): void {
    x = Math.round(x);
    y = Math.round(y);
    if (x < 0 || y < 0 || x >= this.width || y >= this.height) return;
    this.data.set(c, 3 * (y * this.width + x));
  }
  rect(x: number, y: number, w: number, h: number, c: RGB): void {
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) this.set(x + i, y + j, c);
  }
  /** Bresenham line. */
  line(x0: number, y0: number, x1: number, y1: number, c: RGB): void {
    [x0, y0, x1, y1] = [x0, y0, x1, y1].map(Math.round) as [number, number, number, number];
    const dx = Math.abs(x1 - x0);
    const dy = -Math.abs(y1 - y0);
    const sx = x0 < x1 ? 1 : -1;
    const sy = y0 < y1 ? 1 : -1;
    let err = dx + dy;
    for (let n = 0; n < 100000; n++) {
      this.set(x0, y0, c);
      if (x0 === x1 && y0 === y1) break;
      const e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
  }
  /** Text with its top-left corner at (x, y); `scale` magnifies the 5×7 font. Returns the width drawn. */
  text(x: number, y: number, s: string, c: RGB = [0, 0, 0], scale = 1): number {
    let cx = x;
    for (const ch of s) {
      const rows = glyph(ch);
      rows.forEach((bits, r) => {
        for (let b = 0; b < 5; b++) if (bits & (0x10 >> b)) this.rect(cx + b * scale, y + r * scale, scale, scale, c);
      });
      cx += 6 * scale;
    }
    return cx - x;
  }
  /**
   * Draws a grey image (row-major, any range) into the box at (x, y) of size w×h (nearest-neighbour), mapping
   * [lo, hi] to black..white, or through `colormap`.
   */
  image(x: number, y: number, w: number, h: number, img: ArrayLike<number>, iw: number, ih: number, lo: number, hi: number, colormap?: (t: number) => RGB): void {
    const span = hi - lo || 1;
    for (let j = 0; j < h; j++) {
      for (let i = 0; i < w; i++) {
        const v = img[Math.min(ih - 1, Math.floor((j * ih) / h)) * iw + Math.min(iw - 1, Math.floor((i * iw) / w))]!;
        const t = Math.max(0, Math.min(1, (v - lo) / span));
        this.set(x + i, y + j, colormap ? colormap(t) : [Math.round(255 * t), Math.round(255 * t), Math.round(255 * t)]);
      }
    }
  }
}

/** A perceptually ordered map from black through purple and orange to yellow (an approximation of 'inferno'). */
export function inferno(t: number): RGB {
  const stops: RGB[] = [[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]];
  const s = Math.max(0, Math.min(1, t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(s));
  const f = s - i;
  return stops[i]!.map((a, k) => Math.round(a + f * (stops[i + 1]![k]! - a))) as RGB;
}

export interface Series {
  label: string;
  color: RGB;
  points: [number, number][];
}

/** A line chart with axes, ticks and a legend. */
export function lineChart(title: string, xLabel: string, series: Series[], opts: { width?: number; height?: number; logY?: boolean } = {}): Raster {
  const W = opts.width ?? 640;
  const H = opts.height ?? 360;
  const r = new Raster(W, H);
  const [L, R, T, B] = [70, 20, 30, 40];
  const tf = (v: number): number => (opts.logY ? Math.log10(Math.max(v, 1e-12)) : v);
  const pts = series.flatMap((s) => s.points).filter(([, y]) => Number.isFinite(tf(y)));
  r.text(L, 8, title, [0, 0, 0], 2);
  if (!pts.length) return r;
  const x0 = Math.min(...pts.map((p) => p[0]));
  let x1 = Math.max(...pts.map((p) => p[0]));
  let [y0, y1] = [Math.min(...pts.map((p) => tf(p[1]))), Math.max(...pts.map((p) => tf(p[1])))];
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const pad = (y1 - y0) * 0.05;
  y0 -= pad;
  y1 += pad;
  const px = (x: number): number => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const py = (y: number): number => H - B - ((tf(y) - y0) / (y1 - y0)) * (H - T - B);
  const grey: RGB = [200, 200, 200];
  for (let k = 0; k <= 4; k++) {
    const yv = y0 + ((y1 - y0) * k) / 4;
    const yy = H - B - ((yv - y0) / (y1 - y0)) * (H - T - B);
    r.line(L, yy, W - R, yy, grey);
    const label = opts.logY ? (10 ** yv).toPrecision(3) : yv.toPrecision(3);
    r.text(4, yy - 3, label);
    const xv = x0 + ((x1 - x0) * k) / 4;
    const xx = px(xv);
    r.line(xx, H - B, xx, H - B + 4, [0, 0, 0]);
    r.text(xx - 12, H - B + 8, String(Math.round(xv)));
  }
  r.line(L, H - B, W - R, H - B, [0, 0, 0]);
  r.line(L, T, L, H - B, [0, 0, 0]);
  r.text(W / 2 - 3 * xLabel.length, H - 14, xLabel);
  series.forEach((s, k) => {
    for (let i = 1; i < s.points.length; i++) {
      const [a, b] = [s.points[i - 1]!, s.points[i]!];
      r.line(px(a[0]), py(a[1]), px(b[0]), py(b[1]), s.color);
    }
    r.rect(W - R - 150, T + 4 + 12 * k, 10, 8, s.color);
    r.text(W - R - 136, T + 4 + 12 * k, s.label);
  });
  return r;
}
