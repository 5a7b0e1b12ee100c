// Defects found by a user walkthrough (session 19) of simulate → identify, grid, eval and psf: a --patch-size below
// the network's input was reported as "the image is too small" (exit 1); eval --mode none drew an empty montage with
// --figure, ignored --augment, and printed a baseline named twice twice; simulate refused ImageJ's LUT images
// (saved as palette TIFFs, whose values are the intensities) that identify, grid and deconvolve read; the PSFs of
// identify and grid, and deconvolve's output, did not carry the optics (`psfid info` could not tell their fc).
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readImage, writeTiff } from '../../src/io/index.js';
import { pythonHas, runPython } from '../io/helpers.js';
import { airyPsf, convValid, deadLeaves } from '../deconv/helpers.js';
import { assertError, assertOk, listDir, makeTempDir, psfid, removeDir, writeCellsImage } from './helpers.js';

const W = 96;
const H = 80;
const S = 15;

let dir = '';
let image = '';

before(() => {
  dir = makeTempDir('walk');
  image = writeCellsImage(dir, W, H, S);
});

after(() => removeDir(dir));

describe('--patch-size below the network input', () => {
  test('identify and grid name --patch-size (exit 2), not the image, and write nothing', async () => {
    const initial = listDir(dir);
    assertError(await psfid(['identify', image, '--fc', '0.15', '--patch-size', '32', '--out', 'p.tif'], dir), 2, ['--patch-size', '32', '64×64']);
    assertError(await psfid(['grid', image, '--fc', '0.15', '--tiles', '1x1', '--patch-size', '32', '--out', 'g.tif'], dir), 2, ['--patch-size', '32', '64×64']);
    assert.deepEqual(listDir(dir), initial);
  });
});

describe('eval --mode none (baselines only)', () => {
  let images = '';
  before(() => {
    images = join(dir, 'images');
    mkdirSync(images);
    writeTiff(join(images, 'a.tif'), { width: 128, height: 128, planes: [Float32Array.from(deadLeaves(128, 128, 3))] });
  });

  const cases: [string, string[], string[]][] = [
    ['--figure (the montage shows the network\'s estimate)', ['--mode', 'none', '--baselines', 'mean-psf', '--figure', 'e.png'], ['--figure', '--mode none']],
    ['--augment dihedral (the network\'s augmentation)', ['--mode', 'none', '--baselines', 'mean-psf', '--augment', 'dihedral'], ['--augment', '--mode none']],
    ['a baseline named twice', ['--mode', 'none', '--baselines', 'mean-psf,mean-psf'], ['--baselines', 'mean-psf', 'twice']],
  ];
  for (const [what, flags, mentions] of cases) {
    test(`${what} is a usage error, and no file is written`, async () => {
      const out = join(dir, 'ev');
      mkdirSync(out, { recursive: true });
      const r = await psfid(['eval', '--images', images, '--n', '1', ...flags, '--out', 'e.json'], out);
      assertError(r, 2, mentions);
      assert.deepEqual(listDir(out), []);
    });
  }

  test('--mode none with one baseline still runs (the refusals above are not blanket ones)', async () => {
    const out = join(dir, 'ev-ok');
    mkdirSync(out);
    const r = await psfid(['eval', '--images', images, '--n', '1', '--mode', 'none', '--baselines', 'mean-psf', '--out', 'e.json'], out);
    assertOk(r);
    assert.deepEqual(listDir(out), ['e.json']);
  });
});

// A grey ramp as ImageJ writes a LUT image (PhotometricInterpretation 3), the same data as plain grey, a palette TIFF
// from elsewhere with a grey-ramp table (its indices order like intensities), and one with a colour table (a "fire"
// LUT: red rises first, then green, then blue; its indices are not intensities).
const PALETTE = String.raw`
import sys, numpy as np, tifffile
out = sys.argv[1]
x = (np.add.outer(np.arange(70), 2 * np.arange(80)) % 200 + 20).astype(np.uint8)
ramp = np.tile(np.arange(256, dtype=np.uint16) * 257, (3, 1))
tifffile.imwrite(f'{out}/lut_imagej.tif', x, imagej=True, colormap=ramp)
tifffile.imwrite(f'{out}/grey.tif', x, photometric='minisblack')
tifffile.imwrite(f'{out}/ramp.tif', x, photometric='palette', colormap=ramp)
i = np.arange(256)
fire = np.stack([np.minimum(3 * i, 255), np.clip(3 * i - 255, 0, 255), np.clip(3 * i - 510, 0, 255)]).astype(np.uint16) * 257
tifffile.imwrite(f'{out}/indexed.tif', x, photometric='palette', colormap=fire)
print(tifffile.TiffFile(f'{out}/lut_imagej.tif').pages[0].photometric)
`;

test('simulate reads an ImageJ LUT image and a grey-ramp palette TIFF as the intensities they hold; a palette TIFF with a colour table is refused by simulate, identify and deconvolve, and info says why', { skip: pythonHas('tifffile, numpy') ? false : 'python3 with tifffile and numpy is not available' }, async () => {
  const out = join(dir, 'palette');
  mkdirSync(out);
  assert.match(runPython(PALETTE, [out]), /3|PALETTE/);
  assert.equal(readImage(join(out, 'lut_imagej.tif')).metadata.photometric, 'palette');
  const flags = ['--fc', '0.2', '--seed', '5', '--size', '15'];
  assertOk(await psfid(['simulate', 'lut_imagej.tif', ...flags, '--out', 'y_lut.tif'], out));
  assertOk(await psfid(['simulate', 'grey.tif', ...flags, '--out', 'y_grey.tif'], out));
  assert.deepEqual(readImage(join(out, 'y_lut.tif')).planes[0], readImage(join(out, 'y_grey.tif')).planes[0]);
  const sidecar = JSON.parse(readFileSync(join(out, 'y_lut.json'), 'utf8')) as { input: { scaling: { divisor: number } } };
  assert.equal(sidecar.input.scaling.divisor, 255);
  assertOk(await psfid(['simulate', 'ramp.tif', ...flags, '--out', 'y_ramp.tif'], out));
  assert.deepEqual(readImage(join(out, 'y_ramp.tif')).planes[0], readImage(join(out, 'y_grey.tif')).planes[0]);
  const before = listDir(out);
  const refused = ['indexed.tif', 'palette', 'not a grey ramp'];
  assertError(await psfid(['simulate', 'indexed.tif', ...flags, '--out', 'y_idx.tif'], out), 1, refused);
  assertError(await psfid(['identify', 'indexed.tif', '--fc', '0.2', '--out', 'p_idx.tif'], out), 1, refused);
  assertError(await psfid(['deconvolve', 'indexed.tif', '--psf', 'y_grey-psf.tif', '--out', 'x_idx.tif'], out), 1, refused);
  assert.deepEqual(listDir(out), before);
  const info = await psfid(['info', 'indexed.tif'], out);
  assertOk(info);
  assert.match(info.stdout, /not a grey ramp.*refuse it/);
  assert.doesNotMatch((await psfid(['info', 'ramp.tif'], out)).stdout, /grey ramp/);
});

describe('outputs carry the optics', () => {
  test('identify and grid record the fc they used (psfid.fc) with the NA and emission given, and deconvolve keeps the input\'s', async () => {
    const out = join(dir, 'optics');
    mkdirSync(out);
    const microscope = ['--na', '1.2', '--wavelength-nm', '520', '--pixel-size-nm', '65'];
    assertOk(await psfid(['identify', image, ...microscope, '--out', 'p.tif'], out));
    const psf = readImage(join(out, 'p.tif')).metadata;
    const fc = (1.2 * 65) / 520;
    assert.ok(Math.abs(psf.fc! - fc) < 1e-9, `psfid.fc ${psf.fc}`);
    assert.deepEqual([psf.numericalAperture, psf.emissionWavelengthNm, psf.pixelSizeNm], [1.2, 520, 65]);
    // info reads the PSF file's cut-off back (it said "cannot tell")
    const info = await psfid(['info', join(out, 'p.tif')], out);
    assertOk(info);
    assert.match(info.stdout, /fc 0\.15 cycles\/pixel/);
    assertOk(await psfid(['grid', image, '--fc', '0.17', '--tiles', '1x1', '--out', 'g.tif'], out));
    const grid = readImage(join(out, 'g.tif')).metadata;
    assert.equal(grid.fc, 0.17);
    assert.equal(grid.numericalAperture, undefined); // none was stated
    // deconvolve: the input states NA and emission (a file psfid psf wrote for them), and the output keeps them
    assertOk(await psfid(['simulate', image, ...microscope, '--size', '15', '--gain', '0', '--sigma', '0', '--bits', '0', '--salt-pepper', '0', '--zernike', '4:0.05', '--out', 'y.tif'], out));
    assertOk(await psfid(['deconvolve', 'y.tif', '--psf', 'y-psf.tif', '--iterations', '2', '--out', 'x.tif'], out));
    const x = readImage(join(out, 'x.tif')).metadata;
    assert.deepEqual([x.numericalAperture, x.emissionWavelengthNm, x.pixelSizeNm], [1.2, 520, 65]);
  });
});

describe('numbers given as empty or hexadecimal text', () => {
  // Number('') is 0 and Number('0x10') 16: these flags took them silently
  const cases: [string, string[], string[]][] = [
    ['grid --overlap ""', ['grid', 'IMAGE', '--fc', '0.15', '--tiles', '2x2', '--overlap', '', '--out', 'g.tif'], ['--overlap', "got ''"]],
    ['demo --seed ""', ['demo', '--seed', '', '--out', 'demo-out'], ['--seed', "got ''"]],
    ['demo --size 0x100', ['demo', '--size', '0x100', '--out', 'demo-out'], ['--size', "got '0x100'"]],
    ['eval --seed " "', ['eval', '--images', 'images', '--seed', ' ', '--out', 'e.json'], ['--seed']],
    ['eval --crop-size 0x40', ['eval', '--images', 'images', '--crop-size', '0x40', '--out', 'e.json'], ['--crop-size', "got '0x40'"]],
  ];
  for (const [what, args, mentions] of cases) {
    test(`${what} is a usage error naming the flag, and nothing is written`, async () => {
      const out = join(dir, `num-${what.replace(/\W+/g, '-')}`);
      mkdirSync(out);
      assertError(await psfid(args.map((a) => (a === 'IMAGE' ? image : a)), out), 2, mentions);
      assert.deepEqual(listDir(out), []);
    });
  }
});

describe('identify --roi checks the region for saturation, not the plane', () => {
  test('a clipped left half warns for a region there, not for a region in the unclipped right half', async () => {
    const out = join(dir, 'roi-sat');
    mkdirSync(out);
    const [w, h] = [256, 128];
    const scene = deadLeaves(h + S - 1, w + S - 1, 9);
    const blurred = convValid(scene, h + S - 1, w + S - 1, airyPsf(S, 0.15), S);
    // 12-bit counts; the left half clipped at its median, as an overexposed cell would be
    const counts = Uint16Array.from(blurred, (v) => Math.round(100 + 3900 * v));
    const left = Uint16Array.from({ length: h * (w / 2) }, (_, k) => counts[Math.floor(k / (w / 2)) * w + (k % (w / 2))]!).sort();
    const clip = left[Math.floor(left.length / 2)]!;
    const top = Math.max(...counts);
    assert.ok(clip < top, 'the clip level is below the unclipped half\'s maximum');
    for (let y = 0; y < h; y++) for (let x = 0; x < w / 2; x++) counts[y * w + x] = Math.min(counts[y * w + x]!, clip);
    // the right half must hold the plane's maximum for the plane-wide check to miss the clipping: raise one pixel
    counts[5 * w + 200] = clip + 1000;
    writeTiff(join(out, 'half.tif'), { width: w, height: h, planes: [counts] });
    const run = async (roi: string): Promise<{ saturation: unknown; warnings: string[] }> => {
      const r = await psfid(['identify', 'half.tif', '--fc', '0.15', '--roi', roi, '--out', 'p.tif', '--json'], out);
      assertOk(r);
      return JSON.parse(r.stdout) as { saturation: unknown; warnings: string[] };
    };
    const clipped = await run('0,0,128,128');
    assert.ok(clipped.saturation, 'the clipped region is reported');
    assert.ok(clipped.warnings.some((m) => /saturated/.test(m)));
    const clean = await run('128,0,128,128');
    assert.equal(clean.saturation, null);
    assert.ok(!clean.warnings.some((m) => /saturated/.test(m)), clean.warnings.join('; '));
  });
});

describe('--help states how each command takes the optics', () => {
  test('identify and grid say the file can supply NA, wavelength and pixel size, and list no aberrations (they take no --zernike); psf does', async () => {
    for (const cmd of ['identify', 'grid']) {
      const r = await psfid([cmd, '--help'], dir);
      assertOk(r);
      assert.match(r.stdout, /each of the three the file's metadata\s+can supply/);
      assert.doesNotMatch(r.stdout, /Aberrations:|--zernike/);
      assert.doesNotMatch(r.stdout, /all three of --na/);
    }
    const psf = await psfid(['psf', '--help'], dir);
    assert.match(psf.stdout, /Aberrations:/);
    assert.match(psf.stdout, /all three of --na, --wavelength-nm and --pixel-size-nm, not both/);
  });
});

describe('deconvolve --tile-size below the margins', () => {
  test('warns with the work factor and the size that keeps it under 2×; the default and large tiles do not warn', async () => {
    const out = join(dir, 'tiles');
    mkdirSync(out);
    assertOk(await psfid(['psf', '--fc', '0.15', '--size', '15', '--out', 'h.tif'], out));
    // margin 2·15 = 30 px: 16 px tiles deconvolve 76² windows, (76/16)² = 22.6× the pixels kept; under 2× needs
    // (t + 60)/t ≤ √2, t ≥ 144.9, so 146 (even)
    const small = await psfid(['deconvolve', image, '--psf', 'h.tif', '--tile-size', '16', '--iterations', '1', '--out', 'a.tif'], out);
    assertOk(small);
    assert.match(small.stderr, /^warning: --tile-size 16 is below twice the 30 px margin .* 76² pixels to keep 16², 22\.6× the work; --tile-size ≥ 146 keeps it under 2×$/m);
    assert.match(small.stdout, /1 iteration,/);
    for (const t of [['--tile-size', '64'], []]) {
      const r = await psfid(['deconvolve', image, '--psf', 'h.tif', ...t, '--iterations', '1', '--out', 'b.tif'], out);
      assertOk(r);
      assert.doesNotMatch(r.stderr, /warning/);
    }
  });
});

describe('deconvolve --grid on another plane of the stack the grid came from', () => {
  test('warns for another z of a z-stack, not for the same z, another time point, or a bare stack\'s same plane', async () => {
    const out = join(dir, 'planes');
    mkdirSync(out);
    const plane = readImage(image).planes[0] as Uint16Array;
    const shifted = (k: number): Uint16Array => Uint16Array.from(plane, (v) => v + 10 * k);
    writeTiff(join(out, 'z.tif'), { width: W, height: H, planes: [0, 1, 2].map(shifted) }, { slices: 3, pixelSizeNm: 65 });
    writeTiff(join(out, 't.tif'), { width: W, height: H, planes: [0, 1, 2].map(shifted) }, { frames: 3, pixelSizeNm: 65 });
    for (const stack of ['z.tif', 't.tif']) {
      assertOk(await psfid(['grid', stack, '--fc', '0.15', '--tiles', '1x1', '--plane', '0', '--out', `g-${stack}`], out));
    }
    const run = (stack: string, p: string) => psfid(['deconvolve', stack, '--grid', `g-${stack}`, '--plane', p, '--iterations', '1', '--out', `x-${stack}-${p}.tif`], out);
    const other = await run('z.tif', '2');
    assertOk(other);
    assert.match(other.stderr, /^warning: g-z\.tif was identified on plane 0 of z\.tif \(z 0\), and plane 2 \(z 2\) is deconvolved: the PSF of a z-stack changes with depth; give --plane 0, or run `psfid grid` on plane 2$/m);
    for (const [stack, p] of [['z.tif', '0'], ['t.tif', '2']] as const) {
      const r = await run(stack, p);
      assertOk(r);
      assert.doesNotMatch(r.stderr, /warning/, `${stack} plane ${p}`);
    }
  });
});

describe('psfid.fc on a resampled file', () => {
  test('psfid records the pixel the fc refers to; a file whose calibration changed since gets fc scaled to its pixels', async () => {
    const out = join(dir, 'resampled');
    mkdirSync(out);
    assertOk(await psfid(['simulate', image, '--fc', '0.1', '--size', '15', '--seed', '2', '--out', 'y.tif'], out));
    const y = readImage(join(out, 'y.tif'));
    assert.deepEqual([y.metadata.fc, y.metadata.fcPixelSizeNm, y.metadata.pixelSizeNm], [0.1, 65, 65]);
    // the same pixels and Info, the calibration doubled (as a 2× binning in another tool leaves the Info): fc = NA·pixel/λ doubles
    const info = 'psfid.fc = 0.1\npsfid.fc.pixelSizeNm = 65\n';
    writeTiff(join(out, 'binned.tif'), { width: y.width, height: y.height, planes: y.planes }, { pixelSizeNm: 130, info });
    const binned = await psfid(['identify', 'binned.tif', '--out', 'p.tif', '--json'], out);
    assertOk(binned);
    const fc = (JSON.parse(binned.stdout) as { fc: { value: number; source: string } }).fc;
    assert.ok(Math.abs(fc.value - 0.2) < 1e-12, `${fc.value}`);
    assert.match(fc.source, /psfid\.fc = 0\.1 on 65 nm pixels, scaled to the file's 130 nm pixels/);
    // no recorded pixel (older files): fc as written
    writeTiff(join(out, 'old.tif'), { width: y.width, height: y.height, planes: y.planes }, { pixelSizeNm: 130, info: 'psfid.fc = 0.1\n' });
    const old = await psfid(['identify', 'old.tif', '--out', 'q.tif', '--json'], out);
    assertOk(old);
    assert.equal((JSON.parse(old.stdout) as { fc: { value: number } }).fc.value, 0.1);
  });
});
