// `psfid info`: the engine it runs on, what `--precision auto` resolves to on this CPU, and what psfid reads from an
// image file (written here by our TIFF writer).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getNumThreads, torchVersion } from '../../src/engine/index.js';
import { cpuHasNativeBfloat16 } from '../../src/model/precision.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { shippedModelPath, SHIPPED_MODELS } from '../../src/model/store.js';
import { writeTiff } from '../../src/io/index.js';
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
