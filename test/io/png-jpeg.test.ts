// PNG and JPEG against other encoders and decoders: pngjs (always) and Pillow (when python has it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { readImage, writePng, type DType } from '../../src/io/index.js';
import { firstDifference, makeTempDir, pythonHas, readRaw, removeDir, runPython } from './helpers.js';

const dir = makeTempDir('pngjpeg');
process.on('exit', () => removeDir(dir));
const HAVE_PIL = pythonHas('PIL, numpy');
const SKIP = 'python3 with Pillow and numpy is not available';

test('PNGs encoded by pngjs: 8-bit RGBA and 16-bit grey', () => {
  const w = 13;
  const h = 7;
  const rgba = new PNG({ width: w, height: h });
  for (let i = 0; i < w * h * 4; i++) rgba.data[i] = (i * 37 + 5) % 256;
  const p8 = join(dir, 'pngjs-rgba.png');
  writeFileSync(p8, PNG.sync.write(rgba));
  const a = readImage(p8);
  assert.deepEqual([a.width, a.height, a.samplesPerPixel, a.dtype, a.colorModel], [w, h, 4, 'uint8', 'rgba']);
  assert.equal(firstDifference(a.planes[0]!, rgba.data), -1);

  const grey = new PNG({ width: w, height: h, bitDepth: 16, colorType: 0, inputColorType: 0, inputHasAlpha: false });
  const values = Uint16Array.from({ length: w * h }, (_, i) => (i * 40503 + 1) % 65536);
  (grey as unknown as { data: Uint16Array }).data = values;
  const p16 = join(dir, 'pngjs-grey16.png');
  writeFileSync(p16, PNG.sync.write(grey, { bitDepth: 16, colorType: 0, inputColorType: 0, inputHasAlpha: false }));
  const g = readImage(p16);
  assert.deepEqual([g.samplesPerPixel, g.dtype, g.bitsPerSample], [1, 'uint16', 16]);
  assert.equal(firstDifference(g.planes[0]!, values), -1);
});

test('our PNGs decoded by pngjs: 8-bit RGB, 16-bit grey and RGBA', () => {
  const w = 9;
  const h = 5;
  const cases = [
    { channels: 3 as const, data: Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 29) % 256) },
    { channels: 1 as const, data: Uint16Array.from({ length: w * h }, (_, i) => (i * 2654435761) % 65536) },
    { channels: 4 as const, data: Uint16Array.from({ length: w * h * 4 }, (_, i) => (i * 977) % 65536) },
    { channels: 2 as const, data: Uint8Array.from({ length: w * h * 2 }, (_, i) => (i * 3) % 256) },
  ];
  for (const c of cases) {
    const p = join(dir, `ours-${c.channels}-${c.data.BYTES_PER_ELEMENT}.png`);
    writePng(p, { width: w, height: h, ...c });
    const back = PNG.sync.read(readFileSync(p), { skipRescale: true });
    // pngjs always hands back RGBA; map our channels onto it.
    const rgba = back.data as unknown as ArrayLike<number>;
    for (let i = 0; i < w * h; i++) {
      const px = [rgba[i * 4]!, rgba[i * 4 + 1]!, rgba[i * 4 + 2]!, rgba[i * 4 + 3]!];
      const ours = Array.from(c.data.subarray(i * c.channels, (i + 1) * c.channels));
      const want = c.channels === 1 ? [px[0]] : c.channels === 2 ? [px[0], px[3]] : c.channels === 3 ? px.slice(0, 3) : px;
      assert.deepEqual(ours, want, `channels ${c.channels}, pixel ${i}`);
    }
    // and our own reader agrees
    const mine = readImage(p);
    assert.equal(firstDifference(mine.planes[0]!, c.data), -1);
  }
});

const GENERATE = String.raw`
import json, os, sys
import numpy as np
from PIL import Image
out = sys.argv[1]
rng = np.random.default_rng(7)
cases = []
def emit(name, img, truth, **save):
    img.save(os.path.join(out, name), **save)
    np.ascontiguousarray(truth).astype(truth.dtype.newbyteorder('<')).tofile(os.path.join(out, name + '.bin'))
    h, w = truth.shape[:2]
    s = truth.shape[2] if truth.ndim == 3 else 1
    cases.append(dict(name=name, dtype=truth.dtype.name, shape=[h, w, s]))
g8 = rng.integers(0, 256, (11, 13), dtype=np.uint8)
emit('g8.png', Image.fromarray(g8), g8)
emit('g8_interlaced.png', Image.fromarray(g8), g8, interlace=1)
g16 = rng.integers(0, 65536, (11, 13), dtype=np.uint16)
emit('g16.png', Image.fromarray(g16), g16)
g1 = rng.integers(0, 2, (11, 13)).astype(bool)
emit('g1.png', Image.fromarray(g1), g1.astype(np.uint8))
la = rng.integers(0, 256, (11, 13, 2), dtype=np.uint8)
emit('la8.png', Image.fromarray(la, 'LA'), la)
rgb = rng.integers(0, 256, (11, 13, 3), dtype=np.uint8)
emit('rgb8.png', Image.fromarray(rgb), rgb)
rgba = rng.integers(0, 256, (11, 13, 4), dtype=np.uint8)
emit('rgba8.png', Image.fromarray(rgba), rgba)
idx = rng.integers(0, 8, (11, 13), dtype=np.uint8)
pal = rng.integers(0, 256, (8, 3), dtype=np.uint8)
p = Image.fromarray(idx, 'P'); p.putpalette(pal.ravel().tolist())
emit('palette.png', p, pal[idx])
alpha = np.full(8, 255, np.uint8); alpha[3] = 0; alpha[5] = 128
p2 = Image.fromarray(idx, 'P'); p2.putpalette(pal.ravel().tolist())
emit('palette_trns.png', p2, np.concatenate([pal[idx], alpha[idx][..., None]], -1), transparency=alpha.tobytes())
y, x = np.mgrid[0:48, 0:64]
smooth = np.stack([x * 3 + y, y * 4 + 10, 255 - x * 2 - y], -1).clip(0, 255).astype(np.uint8)
for name, arr, kw in [('base.jpg', smooth, {}), ('prog.jpg', smooth, {'progressive': True}),
                      ('s444.jpg', smooth, {'subsampling': 0}), ('gray.jpg', smooth[..., 1], {})]:
    Image.fromarray(arr).save(os.path.join(out, name), quality=92, **kw)
    dec = np.asarray(Image.open(os.path.join(out, name)))
    dec.astype(np.uint8).tofile(os.path.join(out, name + '.bin'))
    cases.append(dict(name=name, dtype='uint8', shape=[dec.shape[0], dec.shape[1], dec.shape[2] if dec.ndim == 3 else 1]))
print(json.dumps(cases))
`;

interface Case {
  name: string;
  dtype: DType;
  shape: [number, number, number];
}

test('Pillow-written PNGs: 1/8/16-bit grey, grey+alpha, RGB, RGBA, palette (+tRNS), interlaced', { skip: HAVE_PIL ? false : SKIP }, async (t) => {
  const cases = JSON.parse(runPython(GENERATE, [dir])) as Case[];
  for (const c of cases.filter((k) => k.name.endsWith('.png'))) {
    await t.test(c.name, () => {
      const img = readImage(join(dir, c.name));
      assert.deepEqual([img.height, img.width, img.samplesPerPixel, img.dtype], [...c.shape, c.dtype]);
      const truth = readRaw(join(dir, `${c.name}.bin`), c.dtype);
      const d = firstDifference(img.planes[0]!, truth);
      assert.equal(d, -1, `differs at ${d}: ${img.planes[0]![d]} vs ${truth[d]}`);
    });
  }
  assert.equal(readImage(join(dir, 'g1.png')).bitsPerSample, 1);
  assert.equal(readImage(join(dir, 'palette_trns.png')).colorModel, 'rgba');
  // JPEG: compared with libjpeg's decoding (Pillow); IDCT and chroma upsampling differ by a few levels.
  for (const c of cases.filter((k) => k.name.endsWith('.jpg'))) {
    await t.test(`${c.name} within tolerance of libjpeg`, () => {
      const img = readImage(join(dir, c.name));
      assert.deepEqual([img.height, img.width, img.samplesPerPixel, img.format], [...c.shape, 'jpeg']);
      const truth = readRaw(join(dir, `${c.name}.bin`), 'uint8');
      const p = img.planes[0]!;
      let max = 0;
      let sum = 0;
      for (let i = 0; i < truth.length; i++) {
        const diff = Math.abs(p[i]! - truth[i]!);
        max = Math.max(max, diff);
        sum += diff;
      }
      assert.ok(max <= 12 && sum / truth.length <= 1.5, `${c.name}: max ${max}, mean ${sum / truth.length}`);
    });
  }
});

test('Pillow reads the PNGs we write (8-bit RGB, 16-bit grey)', { skip: HAVE_PIL ? false : SKIP }, () => {
  const w = 10;
  const h = 6;
  const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 53) % 256);
  const g16 = Uint16Array.from({ length: w * h }, (_, i) => (i * 1103 + 17) % 65536);
  writePng(join(dir, 'ours-rgb.png'), { width: w, height: h, channels: 3, data: rgb });
  writePng(join(dir, 'ours-g16.png'), { width: w, height: h, channels: 1, data: g16 });
  const out = runPython(
    String.raw`
import sys, json, numpy as np
from PIL import Image
a = np.asarray(Image.open(sys.argv[1])); b = np.asarray(Image.open(sys.argv[2]))
print(json.dumps([a.shape, a.ravel().tolist(), b.shape, b.astype(np.int64).ravel().tolist()]))`,
    [join(dir, 'ours-rgb.png'), join(dir, 'ours-g16.png')],
  );
  const [sa, va, sb, vb] = JSON.parse(out) as [number[], number[], number[], number[]];
  assert.deepEqual(sa, [h, w, 3]);
  assert.deepEqual(va, Array.from(rgb));
  assert.deepEqual(sb, [h, w]);
  assert.deepEqual(vb, Array.from(g16));
});
