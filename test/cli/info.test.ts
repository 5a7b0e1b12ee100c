// `psfid info`: the engine it runs on, what `--precision auto` resolves to on this CPU, and what psfid reads from an
// image file (written here by our TIFF writer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getNumThreads, torchVersion } from '../../src/engine/index.js';
import { cpuHasNativeBfloat16 } from '../../src/model/precision.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { shippedModelPath, SHIPPED_MODELS } from '../../src/model/store.js';
import { readImage, writeTiff } from '../../src/io/index.js';
import { resolvePlane } from '../../src/identify/pipeline.js';
import { pythonHas, runPython } from '../io/helpers.js';
import { assertError, assertOk, makeTempDir, psfid, removeDir, ROOT } from './helpers.js';

test('psfid info --json: libtorch version, threads, and bfloat16 for auto exactly where the CPU has bfloat16 units', async () => {
  const r = await psfid(['info', '--json'], ROOT);
  assert.equal(r.code, 0, r.stderr);
  const info = JSON.parse(r.stdout) as { libtorch: string; threads: number; cpuAutoPrecision: string; models: { name: string; path: string; fcRef?: number }[] };
  assert.equal(info.libtorch, torchVersion());
  // the child inherits PSFID_THREADS, so it runs as many threads as this process
  assert.equal(info.threads, getNumThreads());
  // /proc/cpuinfo read here and in the child: the same answer
  assert.equal(info.cpuAutoPrecision, cpuHasNativeBfloat16() ? 'bfloat16' : 'float32');
  // the shipped models present in models/, by the names --model takes, with the second one's reference cut-off
  const present = SHIPPED_MODELS.filter((name) => existsSync(shippedModelPath(name)));
  assert.deepEqual(info.models.map((m) => m.name), present);
  for (const m of info.models) assert.equal(m.path, shippedModelPath(m.name));
  const fcref = info.models.find((m) => m.name === 'small-fcref');
  if (fcref) assert.equal(fcref.fcRef, 0.125);
});

test('psfid info IMAGE: shape, calibration, the fc they give or why none, the plane --plane auto takes, saturation', async () => {
  const dir = makeTempDir('info');
  try {
    // one channel, three slices 65 nm pixels, in focus at z 2 (a sharp pattern there, blurred copies before it)
    const n = 48;
    // a checkerboard on a faint ramp, so that no value repeats at the maximum (that would read as saturation)
    const sharp = Float32Array.from({ length: n * n }, (_, i) => ((((i % n) >> 2) + (Math.floor(i / n) >> 2)) % 2) * 0.9 + i * 1e-5);
    const blurred = (r: number): Float32Array => sharp.map((_, i) => {
      const y = Math.floor(i / n), x = i % n;
      let s = 0, k = 0;
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) {
        s += sharp[Math.min(n - 1, Math.max(0, y + dy)) * n + Math.min(n - 1, Math.max(0, x + dx))]!;
        k++;
      }
      return s / k;
    });
    const path = join(dir, 'stack.tif');
    writeTiff(path, { width: n, height: n, planes: [blurred(3), blurred(1), sharp] }, { pixelSizeNm: 65, slices: 3 });
    const r = await psfid(['info', path, '--json'], dir);
    assertOk(r);
    const info = JSON.parse(r.stdout);
    assert.deepEqual(info.size, [n, n]);
    assert.deepEqual([info.planes.count, info.planes.channels, info.planes.slices], [3, 1, 3]);
    assert.ok(Math.abs(info.pixelSizeNm - 65) < 1e-3);
    assert.equal(info.numericalAperture, null);
    assert.match(info.fc.refused, /give --fc, or --na, --wavelength-nm \(not in the file's metadata\)/);
    assert.equal(info.planeAuto.value, 2);
    assert.equal(info.saturation, null);
    assert.equal(info.greyLevels, 3);
    // a two-level plane (a mask) is named as such, not as saturated
    const maskPath = join(dir, 'mask.tif');
    writeTiff(maskPath, { width: n, height: n, planes: [Uint8Array.from(sharp, (v) => (v > 0.5 ? 255 : 0))] });
    const mask = await psfid(['info', maskPath], dir);
    assertOk(mask);
    assert.match(mask.stdout, /grey levels: 2 \(a mask or a thresholded image: no blur to identify\)/);
    assert.doesNotMatch(mask.stdout, /saturation/);
    const text = await psfid(['info', path], dir);
    assertOk(text);
    assert.match(text.stdout, /48×48 float32, 3 plane\(s\) \(C 1, Z 3, T 1\)\n {2}pixel size 65 nm; NA not stated/);
    assertError(await psfid(['info', join(dir, 'missing.tif')], dir), 1, ['missing.tif']);
  } finally {
    removeDir(dir);
  }
});

// Three planes, the last in focus (a checkerboard; box blurs of radius 3 and 1 before it), written by tifffile with
// what each kind of file says about its planes.
const STACKS = String.raw`
import sys
import numpy as np
import tifffile
out = sys.argv[1]
n = 48
i = np.arange(n * n).reshape(n, n)
sharp = ((((i % n) >> 2) + ((i // n) >> 2)) % 2) * 0.9 + i * 1e-5
def box(a, r):
    p = np.pad(a, r, mode='edge')
    return sum(p[r + dy:r + dy + n, r + dx:r + dx + n] for dy in range(-r, r + 1) for dx in range(-r, r + 1)) / (2 * r + 1) ** 2
stack = np.stack([box(sharp, 3), box(sharp, 1), sharp]).astype('float32')
# photometric='minisblack': tifffile would take a first axis of 3 for planar RGB
tifffile.imwrite(f'{out}/shape_only.tif', stack, photometric='minisblack')        # {"shape": [3, 48, 48]}
with tifffile.TiffWriter(f'{out}/images_only.tif') as w:                       # ImageJ's images=3, no slices=
    for k, plane in enumerate(stack):
        w.write(plane, description='ImageJ=1.11a\nimages=3\n' if k == 0 else None, metadata=None, contiguous=False, photometric='minisblack')
tifffile.imwrite(f'{out}/hyperstack.tif', stack, imagej=True, metadata={'axes': 'ZYX'}, photometric='minisblack')  # slices=3
tifffile.imwrite(f'{out}/shaped_z.tif', stack, metadata={'axes': 'ZYX'}, photometric='minisblack')
tifffile.imwrite(f'{out}/shaped_t.tif', stack, metadata={'axes': 'TYX'}, photometric='minisblack')
for name in ('shape_only', 'images_only', 'hyperstack', 'shaped_z', 'shaped_t'):
    print(name, repr(tifffile.TiffFile(f'{out}/{name}.tif').pages[0].description))
`;

test('psfid info and --plane auto on stacks: a stack that does not say its axis is "axis not stated" and gives plane 0; one whose metadata says z gives the sharpest slice', { skip: pythonHas('tifffile, numpy') ? false : 'python3 with tifffile and numpy is not available' }, async () => {
  const dir = makeTempDir('info-axes');
  try {
    const written = runPython(STACKS, [dir]);
    assert.match(written, /shape_only '\{"shape": \[3, 48, 48\]\}'/);
    assert.match(written, /hyperstack 'ImageJ=[^']*slices=3/);
    type Info = { planes: { count: number; axes: string; channels: number | null; slices: number | null; frames: number | null }; planeAuto: { value: number; source: string } };
    const run = async (name: string): Promise<{ info: Info; text: string }> => {
      const [json, text] = await Promise.all([psfid(['info', `${name}.tif`, '--json'], dir), psfid(['info', `${name}.tif`], dir)]);
      assertOk(json);
      assertOk(text);
      return { info: JSON.parse(json.stdout) as Info, text: text.stdout };
    };
    const [shapeOnly, imagesOnly, hyperstack, shapedZ, shapedT] = await Promise.all(['shape_only', 'images_only', 'hyperstack', 'shaped_z', 'shaped_t'].map(run));
    // Nothing says what the planes are (tifffile's bare shape; ImageJ's images= without slices=): the first plane.
    for (const [name, r] of [['shape_only', shapeOnly], ['images_only', imagesOnly]] as const) {
      assert.deepEqual(r!.info.planes, { count: 3, axes: 'not stated', channels: null, slices: null, frames: null, order: null }, name);
      assert.match(r!.text, /48×48 float32, 3 planes, axis not stated/, name);
      assert.equal(r!.info.planeAuto.value, 0, name);
      assert.match(r!.info.planeAuto.source, /does not say whether its 3 planes are z-slices, time points or channels; --plane sharpest picks the in-focus slice if it is a z-stack/, name);
    }
    // z stated (ImageJ slices=3, tifffile axes ZYX): the in-focus slice, z 2, as before.
    for (const [name, r] of [['hyperstack', hyperstack], ['shaped_z', shapedZ]] as const) {
      assert.deepEqual([r!.info.planes.axes, r!.info.planes.channels, r!.info.planes.slices, r!.info.planes.frames], ['stated', 1, 3, 1], name);
      assert.match(r!.text, /3 plane\(s\) \(C 1, Z 3, T 1\)/, name);
      assert.deepEqual(r!.info.planeAuto, { value: 2, source: 'auto → sharpest: z 2 of 3 in channel 0, by gradient energy' }, name);
    }
    // A stated time-lapse: one z-slice, so the first plane, not the sharpest time point.
    assert.match(shapedT!.text, /3 plane\(s\) \(C 1, Z 1, T 3\)/);
    assert.deepEqual(shapedT!.info.planeAuto, { value: 0, source: 'auto → the first plane: the file has one z-slice' });
    // --plane sharpest still takes an unstated stack for z on request.
    const path = join(dir, 'shape_only.tif');
    assert.deepEqual(resolvePlane(readImage(path), 'sharpest', path), { value: 2, source: 'sharpest: z 2 of 3 in channel 0, by gradient energy' });
  } finally {
    removeDir(dir);
  }
});

test('psfid info on an RGB PNG (written by numpy through Python zlib) says it is read as luminance', { skip: pythonHas('numpy') ? false : 'no numpy in /usr/bin/python3' }, async () => {
  const dir = makeTempDir('info-rgb');
  try {
    const png = join(dir, 'rgb.png');
    // a minimal RGB PNG encoder in Python (zlib + struct), independent of psfid's
    runPython(`
import sys, zlib, struct, numpy as np
h, w = 20, 30
rgb = (np.arange(h * w * 3) % 251).astype(np.uint8).reshape(h, w, 3)
raw = b''.join(b'\\x00' + rgb[r].tobytes() for r in range(h))
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
open(sys.argv[1], 'wb').write(b'\\x89PNG\\r\\n\\x1a\\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0)) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
`, [png]);
    const text = await psfid(['info', png], dir);
    assertOk(text);
    assert.match(text.stdout, /rgb\.png: 30×20 uint8 RGB \(read as luminance 0\.299 R \+ 0\.587 G \+ 0\.114 B\)/);
    const json = JSON.parse((await psfid(['info', png, '--json'], dir)).stdout) as { samplesPerPixel: number };
    assert.equal(json.samplesPerPixel, 3);
  } finally {
    removeDir(dir);
  }
});
