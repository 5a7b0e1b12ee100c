// identify's test-time augmentation (augment: 'dihedral', optics/symmetry.ts). Its defining property, checked
// against the pixels themselves: the combined estimate is equivariant, i.e. identifying a flipped or transposed
// image gives the flipped or transposed PSF, which a single view of a CNN does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { noGrad, packageRoot, tensor, type Tensor } from '../../src/engine/index.js';
import { readImage, writeTiff } from '../../src/io/index.js';
import { identifyImage } from '../../src/identify/pipeline.js';
import { Identifier, PRESETS } from '../../src/model/identifier.js';
import { defaultModelPath, loadModel } from '../../src/model/store.js';
import { applySymmetry, GRID_SYMMETRIES } from '../../src/optics/index.js';
import { PsfidError } from '../../src/errors.js';
import { observe } from './helpers.js';

const SIDE = 256;
// Astigmatism, coma and trefoil: a PSF with no mirror symmetry, so every grid symmetry changes it.
const THETA = [0.05, 0.06, -0.03, 0.07, 0.02, -0.04, 0.05, 0.01];

function transformed(y: Float32Array, s: (typeof GRID_SYMMETRIES)[number]): Float32Array {
  return noGrad(() => applySymmetry(tensor(y, [SIDE, SIDE]), s).contiguous().data() as Float32Array);
}

function relDiff(a: Tensor, b: Tensor): number {
  return noGrad(() => a.sub(b).norm().item() / b.norm().item());
}

/** Worst relative L2 distance, over the non-identity symmetries R, between identify(y∘R) and identify(y)∘R. */
function equivarianceError(model: Identifier, augment: 'none' | 'dihedral'): number {
  const { y } = observe(THETA, 7, SIDE);
  const opts = { fc: 0.2, thetaMax: 0.1, augment };
  const base = identifyImage(model, y, SIDE, SIDE, opts).psf;
  let worst = 0;
  for (const s of GRID_SYMMETRIES.slice(1)) {
    const got = identifyImage(model, transformed(y, s), SIDE, SIDE, opts).psf;
    worst = Math.max(worst, relDiff(got, noGrad(() => applySymmetry(base, s))));
    got.dispose();
  }
  base.dispose();
  return worst;
}

test('dihedral augmentation makes the shipped model (Zernike head + pixel correction) equivariant', (t) => {
  if (!existsSync(defaultModelPath())) return t.skip(`no shipped model at ${defaultModelPath()}`);
  const { model } = loadModel(defaultModelPath(), 'cpu', 'float32');
  const plain = equivarianceError(model, 'none');
  const augmented = equivarianceError(model, 'dihedral');
  t.diagnostic(`worst relative distance between identify(y∘R) and identify(y)∘R: one view ${plain.toExponential(2)}, eight ${augmented.toExponential(2)}`);
  assert.ok(augmented < 1e-4, `augmented: ${augmented}`);
  assert.ok(plain > 100 * augmented, `one view should not be equivariant: ${plain}`);
  model.dispose();
});

test('dihedral augmentation makes a pixel-head network equivariant (its PSFs are mapped back and averaged)', () => {
  const model = new Identifier({ ...PRESETS.tiny, init: 'he' }, 3);
  model.eval();
  const augmented = equivarianceError(model, 'dihedral');
  const plain = equivarianceError(model, 'none');
  assert.ok(augmented < 1e-5, `augmented: ${augmented}`);
  assert.ok(plain > 100 * augmented, `one view: ${plain}`);
  model.dispose();
});

test('an unknown augmentation is refused naming the option', () => {
  const model = new Identifier({ ...PRESETS.tiny, init: 'he' }, 3);
  const { y } = observe(THETA, 7, 64);
  assert.throws(
    () => identifyImage(model, y, 64, 64, { fc: 0.2, thetaMax: 0.1, augment: 'rotate' as 'none' }),
    (e: unknown) => e instanceof PsfidError && e.param === 'augment',
  );
  model.dispose();
});

test('psfid identify --augment dihedral: the PSF of a mirrored file is the mirrored PSF; a bad value is one line, exit 2, no file', (t) => {
  if (!existsSync(defaultModelPath())) return t.skip(`no shipped model at ${defaultModelPath()}`);
  const dir = mkdtempSync(join(tmpdir(), 'psfid-augment-'));
  try {
    const { y } = observe(THETA, 9, 192);
    const mirrored = Float32Array.from(y, (_, i) => y[Math.floor(i / 192) * 192 + (191 - (i % 192))]!);
    writeTiff(join(dir, 'a.tif'), { width: 192, height: 192, planes: [y] });
    writeTiff(join(dir, 'b.tif'), { width: 192, height: 192, planes: [mirrored] });
    const cli = join(packageRoot(), 'bin', 'psfid.js');
    const run = (args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8' });
    for (const f of ['a', 'b']) {
      const r = run(['identify', join(dir, `${f}.tif`), '--fc', '0.2', '--precision', 'float32', '--augment', 'dihedral', '--no-readout', '--json', '--out', join(dir, `${f}-psf.tif`)]);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(JSON.parse(r.stdout).augment, 'dihedral');
    }
    const [a, b] = ['a', 'b'].map((f) => readImage(join(dir, `${f}-psf.tif`)));
    const S = a!.width;
    const pa = a!.planes[0] as Float32Array;
    const pb = b!.planes[0] as Float32Array;
    const worst = pa.reduce((w, v, i) => Math.max(w, Math.abs(v - pb[Math.floor(i / S) * S + (S - 1 - (i % S))]!)), 0);
    const peak = pa.reduce((m, v) => Math.max(m, v), 0);
    assert.ok(worst < 1e-4 * peak, `mirrored PSFs differ by ${worst} (peak ${peak})`);

    for (const cmd of [['identify'], ['deconvolve', '--blind']]) {
      const out = join(dir, `bad-${cmd[0]}.tif`);
      const r = run([cmd[0]!, join(dir, 'a.tif'), ...cmd.slice(1), '--fc', '0.2', '--augment', 'rotate', '--out', out]);
      assert.equal(r.status, 2, r.stderr);
      assert.match(r.stderr.trim(), /^error: --augment must be none or dihedral, got 'rotate'$/);
      assert.ok(!existsSync(out));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
