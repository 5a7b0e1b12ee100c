// Richardson–Lucy against scikit-image's richardson_lucy (Debian python3-skimage 0.19) on the same input, in the
// boundary model skimage uses (scipy.signal.convolve mode='same': zero outside the window, no normalisation), from
// the same start (0.5 everywhere). Skipped, visibly, when /usr/bin/python3 cannot import skimage.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { tensor, tidy } from '../../src/engine/index.js';
import { richardsonLucy } from '../../src/deconv/index.js';
import { airyPsf, deadLeaves, gaussianNoise, runPython, skimageMissing } from './helpers.js';

const H = 48;
const W = 56;
const S = 9;
const ITERATIONS = 15;

const SCRIPT = String.raw`
import sys, numpy as np
from skimage.restoration import richardson_lucy
d, h, w, s, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
image = np.fromfile(d + '/image.bin', dtype='<f4').reshape(h, w)
psf = np.fromfile(d + '/psf.bin', dtype='<f4').reshape(s, s)
out = richardson_lucy(image, psf, num_iter=n, clip=False)
assert out.dtype == np.float32, out.dtype
out.astype('<f4').tofile(d + '/out.bin')
`;

describe('richardsonLucy vs scikit-image', () => {
  const missing = skimageMissing();
  test(`boundary 'zero', initial 0.5, ${ITERATIONS} iterations, float32: agreement within 1e-4 of the peak`, { skip: missing ?? false }, () =>
    tidy(() => {
      const psf = Float32Array.from(airyPsf(S, 0.2));
      const image = Float32Array.from(deadLeaves(H, W, 31));
      const noise = gaussianNoise(image.length, 32);
      for (let i = 0; i < image.length; i++) image[i] = Math.max(0, image[i]! + 0.01 * noise[i]!);
      const dir = mkdtempSync(join(tmpdir(), 'psfid-deconv-'));
      try {
        writeFileSync(join(dir, 'image.bin'), Buffer.from(image.buffer));
        writeFileSync(join(dir, 'psf.bin'), Buffer.from(psf.buffer));
        runPython(SCRIPT, [dir, String(H), String(W), String(S), String(ITERATIONS)]);
        const buf = readFileSync(join(dir, 'out.bin'));
        const theirs = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4);
        const ours = richardsonLucy(tensor(image, [H, W]), tensor(psf, [S, S]), { iterations: ITERATIONS, boundary: 'zero', initial: 0.5 }).image.toArray();
        let peak = 0;
        let worst = 0;
        for (let i = 0; i < theirs.length; i++) {
          peak = Math.max(peak, Math.abs(theirs[i]!));
          worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
        }
        assert.ok(worst <= 1e-4 * peak, `max |ours − skimage| = ${worst} (peak ${peak})`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }));
});
