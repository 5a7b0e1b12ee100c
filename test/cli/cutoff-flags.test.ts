// The cut-off flags of identify, grid and deconvolve --blind (and psf) refused in the user's terms: each error is one
// line naming the flag the user typed (not the library's parameter names: numericalAperture, pixelSizeNm,
// pupilSize), exit code 2 (a wrong argument), no warning line before it, and no output file.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PsfidError } from '../../src/errors.js';
import { writeTiff } from '../../src/io/index.js';
import { MIN_CUTOFF, resolveCutoff } from '../../src/identify/pipeline.js';
import { opticsFromFlags } from '../../src/cli/options.js';
import { assertError, listDir, makeTempDir, psfid, removeDir } from './helpers.js';

let root = '';
let n = 0;
/** A fresh folder holding a 64² image with no calibration. */
function folder(): string {
  const dir = join(root, `t${n++}`);
  mkdirSync(dir);
  writeTiff(join(dir, 'img.tif'), { width: 64, height: 64, planes: [Float32Array.from({ length: 64 * 64 }, (_, i) => 0.2 + 0.5 * (((i % 64) >> 3) % 2))] });
  return dir;
}

before(() => {
  root = makeTempDir('cutoff-flags');
});
after(() => removeDir(root));

const LIB_NAMES = /resolveOptics|numericalAperture|pixelSizeNm|wavelengthNm|pupilSize/;

describe('cut-off flags refused in the flags’ terms', { concurrency: 4 }, () => {
  // [what, flags, mentions]
  const cases: [string, string[], string[]][] = [
    ['NA above 1.7', ['--na', '2.5', '--wavelength-nm', '520', '--pixel-size-nm', '65'], ['--na must be ≤ 1.7', 'got 2.5']],
    ['NA above 1.7 with the other terms missing', ['--na', '2.5'], ['--na must be ≤ 1.7']],
    // fc = 1.4·65/5 = 18.2: a wavelength in µm, say; the pixel that would do at 5 nm is 0.5·5/1.4 = 1.78 nm
    ['a wavelength that puts fc beyond 0.5', ['--na', '1.4', '--wavelength-nm', '5', '--pixel-size-nm', '65'], ['--na 1.4, --wavelength-nm 5 and --pixel-size-nm 65 give fc', '18.2', 'not below 0.5', '< 1.78 nm', '--wavelength-nm (the emission wavelength']],
    ['a pixel above Nyquist', ['--na', '1.4', '--wavelength-nm', '520', '--pixel-size-nm', '100'], ['0.2692', 'Nyquist limit 0.25', '--pixel-size-nm ≤ 92.85', '--allow-undersampling']],
    // 0.61/fc: the Airy pattern's first dark ring
    ['a tiny --fc', ['--fc', '1e-9'], ['--fc 1e-9 is too small', '0.61/fc = 610000000 pixels', 'wider than any image', `fc ≥ ${MIN_CUTOFF}`]],
    ['a small --fc', ['--fc', '0.02'], ['--fc 0.02 is too small', '30.5 pixels', `fc ≥ ${MIN_CUTOFF}`]],
    ['a tiny NA', ['--na', '0.01', '--wavelength-nm', '520', '--pixel-size-nm', '65'], ['0.00125 cycles/pixel (--na 0.01, --wavelength-nm 520, --pixel-size-nm 65) is too small', '488 pixels']],
  ];
  const commands: [string, string[]][] = [
    ['identify', ['identify', 'img.tif']],
    ['grid', ['grid', 'img.tif', '--tiles', '2x2']],
    ['deconvolve --blind', ['deconvolve', 'img.tif', '--blind']],
  ];
  for (const [what, flags, mentions] of cases) {
    test(`${what}: exit 2, one line naming the flags, no warning, no output (identify, grid, deconvolve --blind)`, async () => {
      const dir = folder();
      const runs = await Promise.all(commands.map(([, args]) => psfid([...args, ...flags, '--out', 'out.tif'], dir)));
      runs.forEach((r, i) => {
        assertError(r, 2, mentions);
        assert.doesNotMatch(r.stderr, LIB_NAMES, commands[i]![0]);
        assert.doesNotMatch(r.stderr, /warning/, commands[i]![0]);
      });
      assert.deepEqual(listDir(dir), ['img.tif']);
    });
  }

  test('psf: a tiny --fc is wider than any image; a small one names the --pupil-size that samples it', async () => {
    const dir = folder();
    const [tiny, small] = await Promise.all([psfid(['psf', '--fc', '1e-9', '--out', 'a.tif'], dir), psfid(['psf', '--fc', '0.02', '--out', 'b.tif'], dir)]);
    assertError(tiny, 2, ['--fc 1e-9 is too small', 'wider than any image']);
    // the pupil disk needs fc·P ≥ 8 samples: P ≥ 8/0.02 = 400
    assertError(small, 2, ['--fc 0.02 needs --pupil-size ≥ 400', 'fc·P = 5.12 on --pupil-size 256']);
    for (const r of [tiny, small]) assert.doesNotMatch(r.stderr, LIB_NAMES);
    assert.ok(!existsSync(join(dir, 'a.tif')) && !existsSync(join(dir, 'b.tif')));
  });

  test('one wording: psf and simulate (opticsFromFlags) and identify (resolveCutoff, as grid and deconvolve --blind) refuse the same cut-off with the same line', async () => {
    const dir = folder();
    const cases = [
      ['--na', '1.4', '--wavelength-nm', '520', '--pixel-size-nm', '100'],
      ['--na', '1.4', '--wavelength-nm', '520', '--pixel-size-nm', '200', '--allow-undersampling'],
    ];
    for (const flags of cases) {
      const [psf, simulate, identify] = await Promise.all([
        psfid(['psf', ...flags, '--out', 'p.tif'], dir),
        psfid(['simulate', 'img.tif', ...flags, '--out', 's.tif'], dir),
        psfid(['identify', 'img.tif', ...flags, '--out', 'i.tif'], dir),
      ]);
      assertError(psf, 2, ['--na 1.4, --wavelength-nm 520 and --pixel-size-nm']);
      assert.equal(simulate.stderr, psf.stderr, flags.join(' '));
      assert.equal(identify.stderr, psf.stderr, flags.join(' '));
      assert.doesNotMatch(psf.stderr, LIB_NAMES);
    }
    assert.deepEqual(listDir(dir), ['img.tif']);
    // --fc: the flags' refusal and resolveCutoff's are one message too (identify refuses --fc before reading the file).
    for (const [fc, allow] of [[0.3, false], [0.5, true]] as const) {
      const flags = { fc: String(fc), ...(allow && { allowUndersampling: true }) };
      let fromFlags = '';
      assert.throws(() => opticsFromFlags(flags), (e: unknown) => e instanceof PsfidError && e.param === '--fc' && (fromFlags = e.message) !== '');
      assert.throws(() => resolveCutoff({ fc, allowUndersampling: allow }, {}, 'x.tif'), (e: unknown) => e instanceof PsfidError && e.param === '--fc' && e.message === fromFlags);
      assert.match(fromFlags, fc >= 0.5 ? /^--fc 0\.5 cycles\/pixel is not below 0\.5: .*even with --allow-undersampling/ : /^--fc 0\.3 cycles\/pixel is above the Nyquist limit 0\.25: .*--allow-undersampling$/);
    }
  });

  test('values read from the file are refused naming the file and the flag that overrides them', () => {
    const md = { numericalAperture: 2.5, emissionWavelengthNm: 520, pixelSizeNm: 65 };
    assert.throws(() => resolveCutoff({}, md, 'x.tif'), (e: unknown) => e instanceof PsfidError && e.kind === 'usage' && /^x\.tif: the file's metadata states NA 2\.5, above 1\.7 .*give --na/.test(e.message));
    // the flag overrides the file's NA
    assert.equal(resolveCutoff({ numericalAperture: 1.3 }, md, 'x.tif').value, (1.3 * 65) / 520);
    assert.throws(() => resolveCutoff({}, { ...md, numericalAperture: 0.01 }, 'x.tif'), (e: unknown) => e instanceof PsfidError && /^x\.tif: fc = NA·pixel\/λ = 0\.01·65 nm\/520 nm = 0\.00125 cycles\/pixel \(NA: metadata.*\) is too small/.test(e.message));
  });
});
