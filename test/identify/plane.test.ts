// --plane: an index in file order or sharpest[:c], the in-focus z of channel c (largest gradient energy), on a
// hyperstack written by our TIFF writer in ImageJ's order and read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readImage, writeTiff } from '../../src/io/index.js';
import { checkPlaneFlag, resolvePlane } from '../../src/identify/pipeline.js';
import { PsfidError } from '../../src/errors.js';

/** A 32² checkerboard-like texture blurred by a box of `width` pixels (wider = less in focus), in [0, 1]. */
function texture(width: number, phase: number): Float32Array {
  const n = 32;
  const sharp = Array.from({ length: n * n }, (_, i) => ((((i % n) >> 1) + (Math.floor(i / n) >> 1) + phase) % 2 === 0 ? 1 : 0));
  const out = new Float32Array(n * n);
  const r = Math.floor(width / 2);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      let s = 0;
      let k = 0;
      for (let dy = -r; dy <= r; dy++) for (let dx = -r; dx <= r; dx++) {
        const yy = Math.min(n - 1, Math.max(0, y + dy)), xx = Math.min(n - 1, Math.max(0, x + dx));
        s += sharp[yy * n + xx]!;
        k++;
      }
      out[y * n + x] = s / k;
    }
  }
  return out;
}

test('--plane sharpest[:c] picks the in-focus z of the channel, auto does so for z-stacks only; an index is taken as is; bad values are refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psfid-plane-'));
  try {
    // 2 channels × 5 slices, ImageJ order (channel fastest): channel 0 in focus at z 1, channel 1 at z 3
    const focus = [1, 3];
    const planes: Float32Array[] = [];
    for (let z = 0; z < 5; z++) for (let c = 0; c < 2; c++) planes.push(texture(1 + 2 * Math.abs(z - focus[c]!), c));
    const path = join(dir, 'stack.tif');
    writeTiff(path, { width: 32, height: 32, planes }, { channels: 2, slices: 5 });
    const image = readImage(path);
    assert.deepEqual(resolvePlane(image, 'sharpest', path), { value: 1 * 2 + 0, source: 'sharpest: z 1 of 5 in channel 0, by gradient energy' });
    assert.deepEqual(resolvePlane(image, 'sharpest:1', path).value, 3 * 2 + 1);
    assert.deepEqual(resolvePlane(image, '7', path), { value: 7, source: 'flag --plane' });
    // auto (the CLI's default): sharpest of channel 0 for a z-stack, the first plane for one slice of two channels
    assert.deepEqual(resolvePlane(image, 'auto', path), { value: 2, source: 'auto → sharpest: z 1 of 5 in channel 0, by gradient energy' });
    const two = join(dir, 'two.tif');
    writeTiff(two, { width: 32, height: 32, planes: [texture(5, 0), texture(1, 1)] }, { channels: 2, slices: 1 });
    assert.equal(resolvePlane(readImage(two), 'auto', two).value, 0);
    const refused = (text: string, re: RegExp): void => {
      assert.throws(() => resolvePlane(image, text, path), (e: Error) => e instanceof PsfidError && re.test(e.message), text);
    };
    refused('10', /--plane must be in 0…9 .*got 10/);
    refused('sharpest:2', /has 2 channel\(s\)/);
    refused('sharp', /--plane must be a plane index .*got 'sharp'/);
    assert.throws(() => checkPlaneFlag('-1'), /--plane must be/);
    checkPlaneFlag('sharpest:12');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
