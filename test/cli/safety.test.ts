// What a user's mistakes must not cost (issue 6, point 6; found by a user walkthrough in session 18): an output
// path that names an input (image, PSF, grid or its sidecar) or another output is refused before any work, and the
// input is left byte for byte; a large measured PSF is read in linear time; data that Richardson–Lucy cannot take
// as counts (negative after the offset, or no positive pixel) are said so, with the offset that keeps the scale; a
// grid made for another image, a corrupt sidecar, an image smaller than its PSF and a PSF sampled on other pixels
// are refused or warned about; flags a mode does not read are refused; eval checks its outputs before evaluating.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readImage, writeTiff } from '../../src/io/index.js';
import { airyPsf } from '../deconv/helpers.js';
import { assertError, assertOk, listDir, makeTempDir, psfid, removeDir, writeCellsImage } from './helpers.js';

const W = 96;
const H = 80;
const S = 15;

let dir = '';
let image = '';
let psf = '';

/** A delta PSF of side s: Richardson–Lucy's fixed point is then the data itself, an exact reference. */
function delta(s: number): Float32Array {
  const d = new Float32Array(s * s);
  d[(s * s - 1) / 2] = 1;
  return d;
}

before(() => {
  dir = makeTempDir('safety');
  image = writeCellsImage(dir, W, H, S);
  psf = join(dir, 'psf.tif');
  writeTiff(psf, { width: S, height: S, planes: [Float32Array.from(airyPsf(S, 0.15))] }, { pixelSizeNm: 65 });
});

after(() => removeDir(dir));

describe('outputs never overwrite inputs', () => {
  test('identify, deconvolve and grid refuse an --out or --figure that names an input; the file is untouched', async () => {
    const before = readFileSync(image);
    const psfBefore = readFileSync(psf);
    assertError(await psfid(['identify', image, '--fc', '0.15', '--out', image], dir), 2, ['--out', 'would overwrite the input']);
    assertError(await psfid(['deconvolve', image, '--psf', psf, '--out', psf], dir), 2, ['--out', 'would overwrite the input', psf]);
    assertError(await psfid(['deconvolve', image, '--psf', psf, '--out', image], dir), 2, ['--out', 'would overwrite the input']);
    // the same file through another spelling of its path
    assertError(await psfid(['deconvolve', image, '--psf', psf, '--out', './cells.tif'], dir), 2, ['would overwrite the input']);
    assertError(await psfid(['grid', image, '--fc', '0.15', '--tiles', '1x1', '--out', join(dir, 'g.tif'), '--figure', join(dir, 'g.tif')], dir), 2, ['--figure', '.png']);
    const png = join(dir, 'cells.png');
    writeFileSync(png, readFileSync(join(dir, 'cells.tif'))); // any bytes: refused before it is read
    assertError(await psfid(['grid', png, '--fc', '0.15', '--tiles', '1x1', '--out', join(dir, 'g.tif'), '--figure', png], dir), 2, ['--figure', 'would overwrite the input']);
    assertError(await psfid(['identify', image, '--fc', '0.15', '--out', join(dir, 'p.png')], dir), 2, ['--out', '.tif']);
    assert.deepEqual(readFileSync(image), before);
    assert.deepEqual(readFileSync(psf), psfBefore);
    assert.ok(!existsSync(join(dir, 'g.tif')) && !existsSync(join(dir, 'g.json')));
  });

  test('deconvolve --grid refuses an --out that is the grid or its sidecar', async () => {
    const grid = join(dir, 'dgrid.tif');
    writeTiff(grid, { width: S, height: S, planes: [delta(S)] });
    writeFileSync(join(dir, 'dgrid.json'), JSON.stringify({ tiles: [1, 1], centres: [[W / 2, H / 2]], imageSize: { width: W, height: H } }));
    assertError(await psfid(['deconvolve', image, '--grid', grid, '--out', grid], dir), 2, ['would overwrite the input']);
    assertError(await psfid(['deconvolve', image, '--grid', grid, '--out', join(dir, 'dgrid.json')], dir), 2, ['--out', '.tif']);
  });

  test('demo refuses an --out that is a file; eval refuses a figure in a missing folder before it evaluates', async () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    assertError(await psfid(['demo', '--out', file, '--size', '128', '--tiles', '1', '--iterations', '1'], dir), 2, ['--out', 'is a file']);
    assert.equal(readFileSync(file, 'utf8'), 'x');
    const t0 = performance.now();
    const r = await psfid(['eval', '--images', join(dir, 'nowhere'), '--n', '2', '--out', join(dir, 'ev.json'), '--figure', join(dir, 'missing', 'x.png')], dir);
    assertError(r, 1, ['missing', 'the folder does not exist']);
    assert.ok(!existsSync(join(dir, 'ev.json')), 'no report written');
    assert.ok(performance.now() - t0 < 30_000);
  });
});

describe('deconvolve: PSFs, grids and data it cannot use as they are', () => {
  test('a 401² measured PSF is read (it was quadratic in its pixel count, then overflowed the stack); a delta gives back the data', async () => {
    const big = join(dir, 'big-psf.tif');
    const side = 401;
    writeTiff(big, { width: side, height: side, planes: [delta(side)] });
    const large = join(dir, 'large.tif');
    const L = 420;
    const pixels = Float32Array.from({ length: L * L }, (_, i) => 50 + ((i * 7919) % 1000));
    writeTiff(large, { width: L, height: L, planes: [pixels] });
    const out = join(dir, 'big-out.tif');
    const t0 = performance.now();
    assertOk(await psfid(['deconvolve', large, '--psf', big, '--iterations', '2', '--out', out], dir));
    const seconds = (performance.now() - t0) / 1000;
    const x = readImage(out).planes[0] as Float32Array;
    let worst = 0;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(x[i]! - pixels[i]!) / 1050);
    assert.ok(worst < 1e-4, `a delta PSF leaves the data: ${worst}`);
    assert.ok(seconds < 60, `${seconds} s`);
  });

  test('negative (background-subtracted) data: a warning naming the offset that keeps them; with it the scale is kept', async () => {
    const neg = join(dir, 'neg.tif');
    const pixels = Float32Array.from({ length: W * H }, (_, i) => -300 + ((i * 7919) % 1000)); // 30 % negative
    writeTiff(neg, { width: W, height: H, planes: [pixels] });
    const dpsf = join(dir, 'delta.tif');
    writeTiff(dpsf, { width: S, height: S, planes: [delta(S)] });
    const r = await psfid(['deconvolve', neg, '--psf', dpsf, '--iterations', '3', '--out', join(dir, 'neg-out.tif')], dir);
    assert.equal(r.code, 0, r.stderr);
    const negative = pixels.filter((v) => v < 0).length;
    assert.ok(r.stderr.includes(`warning: ${negative} pixels (${Number(((100 * negative) / pixels.length).toPrecision(4))} %) of ${neg} are negative (min -300)`), r.stderr);
    assert.match(r.stderr, /give --offset -300 /);
    // as the warning says: the output is the data (a delta PSF), negative values and all
    assertOk(await psfid(['deconvolve', neg, '--psf', dpsf, '--iterations', '3', '--offset', '-300', '--out', join(dir, 'neg-kept.tif')], dir));
    const kept = readImage(join(dir, 'neg-kept.tif')).planes[0] as Float32Array;
    let worst = 0;
    for (let i = 0; i < kept.length; i++) worst = Math.max(worst, Math.abs(kept[i]! - pixels[i]!));
    assert.ok(worst < 1e-3 * 700, `${worst}`);
    // an offset above every pixel leaves nothing: refused, naming the flag
    assertError(await psfid(['deconvolve', image, '--psf', psf, '--offset', '1e9', '--out', join(dir, 'o.tif')], dir), 2, ['--offset', 'above every pixel']);
    // wiener is linear: no warning
    const w = await psfid(['deconvolve', neg, '--psf', dpsf, '--method', 'wiener', '--out', join(dir, 'neg-w.tif')], dir);
    assertOk(w);
    assert.equal(w.stderr, '');
  });

  test('a grid made on another image, a corrupt sidecar and an image smaller than the PSF are refused; a PSF on other pixels warns', async () => {
    const grid = join(dir, 'grid.tif');
    writeTiff(grid, { width: S, height: S, planes: [delta(S), delta(S)] });
    const side = join(dir, 'grid.json');
    writeFileSync(side, JSON.stringify({ tiles: [2, 1], centres: [[128, 256], [384, 256]], imageSize: { width: 512, height: 512 } }));
    assertError(await psfid(['deconvolve', image, '--grid', grid, '--out', join(dir, 'o.tif')], dir), 1, [grid, '512×512', `${W}×${H}`]);
    // a sidecar from before imageSize was written: the tiles' regions give the size
    writeFileSync(side, JSON.stringify({ tiles: [2, 1], centres: [[128, 256], [384, 256]], regions: [{ x: 0, y: 0, width: 384, height: 512 }, { x: 128, y: 0, width: 384, height: 512 }] }));
    assertError(await psfid(['deconvolve', image, '--grid', grid, '--out', join(dir, 'o.tif')], dir), 1, [grid, '512×512']);
    writeFileSync(side, '\x89PNG garbage');
    assertError(await psfid(['deconvolve', image, '--grid', grid, '--out', join(dir, 'o.tif')], dir), 1, [side, 'not valid JSON']);
    writeFileSync(side, JSON.stringify({ tiles: [2, 1], centres: [[1, 2]] }));
    assertError(await psfid(['deconvolve', image, '--grid', grid, '--out', join(dir, 'o.tif')], dir), 1, [side, 'centres']);
    const tiny = join(dir, 'tiny.tif');
    writeTiff(tiny, { width: 10, height: 40, planes: [new Float32Array(400).fill(5)] });
    assertError(await psfid(['deconvolve', tiny, '--psf', psf, '--out', join(dir, 'o.tif')], dir), 1, [tiny, '10×40', `${S}×${S}`]);
    const coarse = join(dir, 'coarse.tif');
    copyFileSync(image, coarse);
    const img = readImage(image);
    writeTiff(coarse, { width: W, height: H, planes: [img.planes[0] as Uint16Array] }, { pixelSizeNm: 160 });
    const r = await psfid(['deconvolve', coarse, '--psf', psf, '--iterations', '2', '--out', join(dir, 'coarse-out.tif')], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /warning: .*psf\.tif is sampled on 65 nm pixels, .*coarse\.tif on 160 nm/);
    assert.ok(!listDir(dir).some((f) => f === 'o.tif'));
  });

  test('flags the chosen mode does not read are refused, naming the mode that reads them', async () => {
    const o = join(dir, 'o.tif');
    assertError(await psfid(['deconvolve', image, '--psf', psf, '--tv', '0.01', '--out', o], dir), 2, ['--tv', 'rl-tv']);
    assertError(await psfid(['deconvolve', image, '--psf', psf, '--balance', '0.1', '--out', o], dir), 2, ['--balance', 'wiener']);
    assertError(await psfid(['deconvolve', image, '--psf', psf, '--method', 'wiener', '--iterations', '5', '--out', o], dir), 2, ['--iterations']);
    assertError(await psfid(['deconvolve', image, '--psf', psf, '--fc', '0.2', '--out', o], dir), 2, ['--fc', '--blind']);
    assertError(await psfid(['deconvolve', image, '--blind', '--tiles', '2x2', '--method', 'wiener', '--fc', '0.2', '--out', o], dir), 2, ['wiener needs one PSF']);
    // the defaults of those flags are not "given": a plain run passes
    assertOk(await psfid(['deconvolve', image, '--psf', psf, '--iterations', '2', '--out', o], dir));
  });
});

test('--help marks the options a command cannot run without', async () => {
  for (const [command, required] of [['identify', ['--out']], ['grid', ['--tiles', '--out']], ['deconvolve', ['--out']], ['eval', ['--images', '--out']]] as const) {
    const r = await psfid([command, '--help'], dir);
    assertOk(r);
    // each option's help runs from its flag to the next flag; the required ones end with "(required)"
    const blocks = r.stdout.split(/\n(?=\s+-)/);
    for (const b of blocks) {
      const flag = /^\s+(?:-\w, )?(--[\w-]+)/.exec(b)?.[1];
      if (!flag || flag === '--help') continue;
      assert.equal(/\(required\)\s*$/.test(b.split(/\n\S/)[0]!), (required as readonly string[]).includes(flag), `${command} ${flag}: ${b}`);
    }
  }
});

test('an option given twice is refused (commander would keep the last value silently); eval --images repeats by design', async () => {
  assertError(await psfid(['identify', image, '--fc', '0.2', '--fc', '0.1', '--out', join(dir, 'twice.tif')], dir), 2, ['--fc', 'given twice']);
  assertError(await psfid(['deconvolve', image, '--psf', psf, '--iterations=3', '--iterations', '5', '--out', join(dir, 'twice.tif')], dir), 2, ['--iterations', 'given twice']);
  assert.ok(!existsSync(join(dir, 'twice.tif')));
  // two --images folders pass this check: the run fails later, on the (missing) folder, not on the repetition
  const r = await psfid(['eval', '--images', join(dir, 'a'), '--images', join(dir, 'b'), '--n', '1', '--out', join(dir, 'ev2.json')], dir);
  assert.ok(!r.stderr.includes('given twice'), r.stderr);
});
