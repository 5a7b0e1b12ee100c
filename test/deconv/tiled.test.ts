// Tiled deconvolution against the untiled functions on the same data: the tiles' cores partition the image, the
// tiled result equals the untiled one everywhere to a stated bound (not only away from the tile edges), flux is kept,
// the result may overwrite its input, and bad inputs are refused. Scenes are blurred here by naive loops.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { liveTensors, tensor, tidy } from '../../src/engine/index.js';
import { deconvolveGrid, richardsonLucy, richardsonLucyTiled, tileLayout, wiener, wienerTiled, type PsfGridSpec } from '../../src/deconv/index.js';
import { PsfidError } from '../../src/errors.js';
import { airyPsf, convValid, deadLeaves, gaussianNoise, relMaxDiff, sum } from './helpers.js';

const N = 300;
const S = 31;
const TILE = 128;

/** A 300² dead-leaves scene blurred ('valid', naive loops) by `h` plus noise σ = 0.005: the observed image. */
function observed(h: Float64Array, seed: number): Float32Array {
  const m = N + S - 1;
  const y = convValid(deadLeaves(m, m, seed), m, m, h, S);
  const noise = gaussianNoise(y.length, seed + 1);
  return Float32Array.from(y, (v, i) => Math.max(0, v + 0.005 * noise[i]!));
}


const H_AIRY = airyPsf(S, 0.15);
const Y = observed(H_AIRY, 11);
const IMAGE = { data: Y, width: N, height: N };

describe('tileLayout', () => {
  test('cores partition the image in near-equal tiles of at most tileSize; windows add the margin, clipped', () => {
    for (const [h, w, t, m] of [
      [300, 300, 128, 62],
      [97, 250, 40, 10],
      [64, 64, 1024, 62],
      [33, 17, 16, 50],
    ] as const) {
      const tiles = tileLayout([h, w], t, m);
      assert.equal(tiles.length, Math.ceil(h / t) * Math.ceil(w / t));
      const cover = new Uint8Array(h * w);
      const heights = tiles.map((x) => x.core.height);
      const widths = tiles.map((x) => x.core.width);
      assert.ok(Math.max(...heights) <= t && Math.max(...heights) - Math.min(...heights) <= 1, `core heights ${heights}`);
      assert.ok(Math.max(...widths) <= t && Math.max(...widths) - Math.min(...widths) <= 1, `core widths ${widths}`);
      for (const { core, window } of tiles) {
        for (let i = 0; i < core.height; i++) for (let j = 0; j < core.width; j++) cover[(core.y + i) * w + core.x + j]!++;
        assert.equal(window.y, Math.max(0, core.y - m));
        assert.equal(window.x, Math.max(0, core.x - m));
        assert.equal(window.y + window.height, Math.min(h, core.y + core.height + m));
        assert.equal(window.x + window.width, Math.min(w, core.x + core.width + m));
      }
      assert.ok(cover.every((c) => c === 1), 'every pixel in exactly one core');
    }
  });
});

describe('richardsonLucyTiled', () => {
  test('equals untiled Richardson–Lucy everywhere to 1e-4 of the maximum (300², tiles of 128, Airy S = 31, 30 iterations), and keeps flux', () =>
    tidy(() => {
      const psf = tensor(Float32Array.from(H_AIRY), [S, S]);
      const full = richardsonLucy(tensor(Y, [N, N]), psf, { iterations: 30 });
      const tiled = richardsonLucyTiled(IMAGE, psf, { iterations: 30, tileSize: TILE });
      assert.equal(tiled.tiles.length, 9);
      assert.equal(tiled.margin, 2 * S);
      // Measured 3.1e-5: float32 round-off of FFTs of different sizes; the tile edges leave nothing above it.
      const d = relMaxDiff(tiled.image, full.image.data() as Float32Array);
      assert.ok(d < 1e-4, `max |tiled − untiled| / max = ${d.toExponential(2)}`);
      const flux = sum(tiled.image) / sum(Y);
      assert.ok(Math.abs(flux - 1) < 3e-3, `flux ratio ${flux}`);
      assert.ok(Math.abs(sum(tiled.image) / sum(full.image.data() as Float32Array) - 1) < 1e-5);
      assert.equal(tiled.history.length, 30);
      assert.ok(tiled.history.at(-1)!.relativeChange < tiled.history[0]!.relativeChange);
      assert.equal(tiled.clampedPixels, 0);
    }));

  test('one tile is exactly richardsonLucy (plain and accelerated)', () =>
    tidy(() => {
      const psf = tensor(Float32Array.from(H_AIRY), [S, S]);
      for (const acceleration of ['none', 'biggs-andrews'] as const) {
        const full = richardsonLucy(tensor(Y, [N, N]), psf, { iterations: 5, tv: 0.002, acceleration });
        const one = richardsonLucyTiled(IMAGE, psf, { iterations: 5, tv: 0.002, tileSize: 4096, acceleration });
        assert.equal(one.tiles.length, 1);
        assert.deepEqual(one.image, full.image.data());
        assert.deepEqual(one.history, full.history);
      }
    }));

  test('with a PSF grid, equals deconvolveGrid to 1e-4 of the maximum (3 × 3 grid, tiles of 128)', () =>
    tidy(() => {
      const planes: number[] = [];
      for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) planes.push(...airyPsf(S, 0.12 + 0.02 * (a + b)));
      const cs = [50, 150, 250];
      const grid: PsfGridSpec = { psfs: tensor(Float32Array.from(planes), [9, S, S]), centres: cs.flatMap((y) => cs.map((x) => [x, y] as const)), tiles: [3, 3] };
      const full = deconvolveGrid(tensor(Y, [N, N]), grid, { iterations: 20 });
      const tiled = richardsonLucyTiled(IMAGE, grid, { iterations: 20, tileSize: TILE });
      const d = relMaxDiff(tiled.image, full.image.data() as Float32Array);
      assert.ok(d < 1e-4, `max |tiled − untiled| / max = ${d.toExponential(2)}`);
    }));

  test('may overwrite its input (output: image.data), even with margins wider than the tiles', () =>
    tidy(() => {
      const h = airyPsf(15, 0.15);
      const psf = tensor(Float32Array.from(h), [15, 15]);
      const [rows, cols] = [70, 53];
      const data = Float32Array.from({ length: rows * cols }, (_, i) => Y[i]!);
      const opts = { iterations: 4, tileSize: 16, margin: 40 };
      const copy = richardsonLucyTiled({ data, width: cols, height: rows }, psf, opts);
      const inPlace = richardsonLucyTiled({ data, width: cols, height: rows }, psf, { ...opts, output: data });
      assert.equal(inPlace.image, data);
      assert.deepEqual(data, copy.image);
    }));

  test('the negative policy and eps apply to the whole image, as untiled', () =>
    tidy(() => {
      const psf = tensor(Float32Array.from(H_AIRY), [S, S]);
      const data = Float32Array.from(Y);
      data[5] = -0.5;
      data[N * N - 7] = -0.2;
      assert.throws(() => richardsonLucyTiled({ data, width: N, height: N }, psf, { tileSize: TILE, iterations: 1 }), (e: unknown) => e instanceof PsfidError && /negative: 'clamp'/.test(e.message));
      const full = richardsonLucy(tensor(data, [N, N]), psf, { iterations: 10, negative: 'clamp' });
      const tiled = richardsonLucyTiled({ data, width: N, height: N }, psf, { iterations: 10, negative: 'clamp', tileSize: TILE });
      assert.equal(tiled.clampedPixels, 2);
      assert.ok(relMaxDiff(tiled.image, full.image.data() as Float32Array) < 1e-4);
    }));

  test('refuses bad input with a PsfidError naming it', () =>
    tidy(() => {
      const psf = tensor(Float32Array.from(H_AIRY), [S, S]);
      const bad = Float32Array.from(Y);
      bad[100] = NaN;
      const refuses = (f: () => unknown, re: RegExp): void => assert.throws(f, (e: unknown) => e instanceof PsfidError && re.test(e.message));
      refuses(() => richardsonLucyTiled({ data: bad, width: N, height: N }, psf), /NaN or infinite/);
      refuses(() => richardsonLucyTiled({ data: Y, width: N, height: N - 1 }, psf), /holds 90000 values/);
      refuses(() => richardsonLucyTiled(IMAGE, psf, { tileSize: 8 }), /tileSize must be an integer ≥ 16/);
      refuses(() => richardsonLucyTiled(IMAGE, psf, { boundary: 'zero' } as never), /unknown option 'boundary'/);
      refuses(() => richardsonLucyTiled(IMAGE, psf, { output: new Float32Array(10) }), /output must be a Float32Array of 90000 values/);
      refuses(() => richardsonLucyTiled(IMAGE, tensor(Float32Array.from(H_AIRY, (v) => 2 * v), [S, S])), /sums to 2/);
    }));

  test('leaves no native tensors behind', () => {
    const psf = tensor(Float32Array.from(airyPsf(15, 0.15)), [15, 15]);
    const before = liveTensors();
    richardsonLucyTiled({ data: Y.subarray(0, 60 * 50), width: 50, height: 60 }, psf, { iterations: 2, tileSize: 20 });
    wienerTiled({ data: Y.subarray(0, 60 * 50), width: 50, height: 60 }, psf, { tileSize: 20 });
    assert.equal(liveTensors(), before);
    psf.dispose();
  });
});

describe('wienerTiled', () => {
  test('equals untiled Wiener to 1e-3 of the maximum at balance 0.01 (measured 8e-5; 5e-4 at 0.001)', () =>
    tidy(() => {
      const psf = tensor(Float32Array.from(H_AIRY), [S, S]);
      const full = wiener(tensor(Y, [N, N]), psf, { balance: 0.01 });
      const tiled = wienerTiled(IMAGE, psf, { balance: 0.01, tileSize: TILE });
      const d = relMaxDiff(tiled.image, full.image.data() as Float32Array);
      assert.ok(d < 1e-3, `max |tiled − untiled| / max = ${d.toExponential(2)}`);
    }));
});
