// Saturated pixels (src/identify/saturation.ts): found in a clipped observation, not in an unclipped noisy one, with
// the count computed here by comparison; identify reports them (stderr and the JSON summary) and still writes the PSF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/engine/index.js';
import { writeTiff } from '../../src/io/index.js';
import { defaultModelPath } from '../../src/model/store.js';
import { countLevels, detectSaturation, saturationThreshold } from '../../src/identify/saturation.js';
import { observe } from './helpers.js';
import { rng } from '../deconv/helpers.js';

/** The observation clipped at its `q` quantile, as a 12-bit camera would in uint16 (offset 100, 3000 counts). */
function clipped(q: number): { counts: Uint16Array; level: number } {
  const { y } = observe([0.1, 0, 0.05, 0, 0, 0, 0, 0], 3, 128);
  const counts = Uint16Array.from(y, (v) => Math.round(100 + v * 3000));
  const level = Uint16Array.from(counts).sort()[Math.floor(q * (counts.length - 1))]!;
  return { counts: counts.map((v) => Math.min(v, level)), level };
}

test('detectSaturation: a clipped plane gives its clip level and the pixels at it; an unclipped one gives null', () => {
  const { counts, level } = clipped(0.97);
  const found = detectSaturation(counts);
  assert.ok(found);
  assert.equal(found.level, level);
  assert.equal(found.pixels, counts.filter((v) => v === level).length);
  assert.ok(found.pixels >= 0.03 * counts.length - 1, `${found.pixels}`);
  // the same scene unclipped: the maximum is held by fewer pixels than the threshold
  const raw = clipped(1).counts;
  const max = raw.reduce((a, b) => Math.max(a, b), 0);
  assert.ok(raw.filter((v) => v === max).length < saturationThreshold(raw.length));
  assert.equal(detectSaturation(raw), null);
  // the threshold: 16 pixels, or one in 10⁴
  assert.deepEqual([saturationThreshold(100), saturationThreshold(1e6)], [16, 100]);
  const plane = new Float32Array(1000).map((_, i) => i / 1000);
  plane.fill(2, 0, 15);
  assert.equal(detectSaturation(plane), null);
  plane[20] = 2;
  assert.deepEqual(detectSaturation(plane), { level: 2, pixels: 16, fraction: 16 / 1000 });
});

test('detectSaturation: low-count data with many pixels at an unclipped maximum is not saturation; a clipped plane is', () => {
  // Binomial(7, 1/2) counts: a hard maximum of 7 that 1/128 of the pixels reach, 7 times fewer than reach 6, as in a
  // photon-counting confocal stack (the old test, ≥ 16 pixels at the maximum, called it saturated)
  const rand = rng(11);
  const counts = Float32Array.from({ length: 40_000 }, () => {
    let k = 0;
    for (let j = 0; j < 7; j++) if (rand() < 0.5) k++;
    return k;
  });
  const atMax = counts.filter((v) => v === 7).length;
  assert.ok(atMax >= saturationThreshold(counts.length) && atMax < counts.filter((v) => v === 6).length, `${atMax}`);
  assert.equal(detectSaturation(counts), null);
  // levels 3…13 clipped at 9: the clip holds everything from 8.5 up (45 % of the pixels), far more than 8 does
  const hardClip = Float32Array.from({ length: 40_000 }, () => Math.min(Math.round(3 + 10 * rand()), 9));
  const found = detectSaturation(hardClip);
  assert.ok(found && found.level === 9 && found.pixels === hardClip.filter((v) => v === 9).length, JSON.stringify(found));
});

/** Writes `plane` (128²) as a TIFF in a fresh folder, runs `psfid identify --fc 0.2 --json` on it, checks that it exits 0
 * and writes the PSF, and hands its JSON summary and stderr to `check`. */
function identifyPlane(plane: Uint8Array | Uint16Array, check: (summary: { saturation: { pixels: number; level: number } | null; warnings: string[] }, stderr: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'psfid-sat-'));
  try {
    const img = join(dir, 'plane.tif');
    writeTiff(img, { width: 128, height: 128, planes: [plane] });
    const cli = join(packageRoot(), 'dist', 'src', 'cli', 'main.js');
    const r = spawnSync(process.execPath, [cli, 'identify', img, '--fc', '0.2', '--out', join(dir, 'psf.tif'), '--json'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    check(JSON.parse(r.stdout), r.stderr);
    assert.ok(existsSync(join(dir, 'psf.tif')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('identify reports saturation on stderr and in the JSON summary, and still writes the PSF', (t) => {
  if (!existsSync(defaultModelPath())) return t.skip(`no shipped model at ${defaultModelPath()}`);
  const { counts, level } = clipped(0.95);
  identifyPlane(counts, (summary, stderr) => {
    const pixels = plateauCount(counts, 128, level);
    assert.ok(pixels > 0.9 * counts.filter((v) => v === level).length, `${pixels}`); // clipping makes plateaus
    assert.equal(summary.saturation!.pixels, pixels);
    assert.ok(Math.abs(summary.saturation!.level - level / 65535) < 1e-6, `${summary.saturation!.level}`); // uint16 scaled to [0, 1]
    assert.match(summary.warnings.join('\n'), new RegExp(`^${pixels} pixels \\(.* %\\) sit at the plane's maximum: saturated`, 'm'));
    assert.match(stderr, /^warning: \d+ pixels .* saturated/m);
  });
});

/** Pixels at `level` with a 4-neighbour at it too, counted on a zero-padded copy (no edge cases to get wrong). */
function plateauCount(plane: ArrayLike<number>, width: number, level: number): number {
  const height = plane.length / width;
  const padded = new Float64Array((width + 2) * (height + 2)).fill(NaN);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) padded[(y + 1) * (width + 2) + x + 1] = plane[y * width + x]!;
  let n = 0;
  for (let y = 1; y <= height; y++)
    for (let x = 1; x <= width; x++) {
      const at = (dy: number, dx: number): boolean => padded[(y + dy) * (width + 2) + x + dx] === level;
      if (at(0, 0) && (at(-1, 0) || at(1, 0) || at(0, -1) || at(0, 1))) n++;
    }
  return n;
}

test('detectSaturation with the plane width: isolated pixels at the maximum (salt noise, hot pixels) are not clipping; plateaus are', () => {
  // an unclipped blurred scene (256², 12-bit counts) with 0.05 % salt pixels at the top of the range, as psfid
  // simulate's salt-and-pepper writes them
  const { y } = observe([0.1, 0, 0.05, 0, 0, 0, 0, 0], 3, 256);
  const counts = Uint16Array.from(y, (v) => Math.round(100 + v * 3000));
  const rand = rng(5);
  const salted = counts.map((v) => (rand() < 5e-4 ? 4095 : v));
  const salt = salted.filter((v) => v === 4095).length;
  assert.ok(salt >= saturationThreshold(salted.length), `${salt} salt pixels`);
  assert.ok(detectSaturation(salted), 'without the width every pixel at the maximum counts');
  assert.equal(plateauCount(salted, 256, 4095), 0, 'salt pixels this sparse do not touch');
  assert.equal(detectSaturation(salted, 256), null);
  // the same scene clipped at its 97th percentile, salt added at the clip level: the plateaus are found, the salt is not counted
  const level = Uint16Array.from(counts).sort()[Math.floor(0.97 * (counts.length - 1))]!;
  const clippedSalted = counts.map((v) => (rand() < 5e-4 ? level : Math.min(v, level)));
  const found = detectSaturation(clippedSalted, 256);
  assert.ok(found && found.level === level, JSON.stringify(found));
  assert.equal(found.pixels, plateauCount(clippedSalted, 256, level));
  assert.ok(found.pixels < clippedSalted.filter((v) => v === level).length, 'isolated pixels at the level are left out');
});

test('countLevels counts distinct values up to its limit', () => {
  assert.equal(countLevels(new Float32Array(100).fill(3)), 1);
  assert.equal(countLevels(Float32Array.from({ length: 100 }, (_, i) => (i % 7 === 0 ? 1 : 0))), 2);
  assert.equal(countLevels(Float32Array.from({ length: 100 }, (_, i) => i)), 3);
  assert.equal(countLevels(Float32Array.from({ length: 100 }, (_, i) => i), 50), 50);
});

test('identify calls a two-level image a mask, not saturated (one warning), and still writes the PSF', (t) => {
  if (!existsSync(defaultModelPath())) return t.skip(`no shipped model at ${defaultModelPath()}`);
  // holes of 0 in 255: a thresholded image, most pixels at the maximum (more than at the level below, so the
  // saturation test alone would call it clipped)
  const mask = Uint8Array.from({ length: 128 * 128 }, (_, k) => ((Math.floor(k / 128) % 32) - 16) ** 2 + ((k % 128) % 32 - 16) ** 2 < 80 ? 0 : 255);
  assert.ok(detectSaturation(mask), 'the saturation test alone would flag it');
  identifyPlane(mask, (summary, stderr) => {
    assert.equal(summary.saturation, null);
    assert.equal(summary.warnings.length, 1);
    assert.match(summary.warnings[0]!, /only 2 grey levels/);
    assert.match(stderr, /^warning: the plane has only 2 grey levels/m);
  });
});
