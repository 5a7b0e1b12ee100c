// The shared CLI flag parsing (src/cli/options.ts) and all-or-nothing output writing (src/cli/outputs.ts), in
// process: every refusal is a usage error (exit 2) naming the flag, and the optics follow the library's limits.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DEFAULT_PRIOR } from '../../src/acquisition/index.js';
import { PsfidError } from '../../src/errors.js';
import { ImageIOError } from '../../src/io/index.js';
import {
  activeZernike,
  cutoffFromFlags,
  numberFlag,
  opticsFromFlags,
  pinnedPrior,
  seedFlag,
  withFlagNames,
  zernikeFromFlags,
} from '../../src/cli/options.js';
import { checkOutputPaths, tiffPath, writeOutputs } from '../../src/cli/outputs.js';
import { resolveOptics } from '../../src/optics/index.js';
import { listDir, makeTempDir, removeDir } from './helpers.js';

/** Asserts a usage error whose parameter is `flag` and whose message contains every `mention`. */
function usage(fn: () => unknown, flag: string, mentions: readonly string[] = []): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PsfidError, `expected a PsfidError, got ${String(e)}`);
    assert.equal(e.kind, 'usage');
    assert.equal(e.param, flag, e.message);
    for (const m of mentions) assert.ok(e.message.includes(m), `'${e.message}' should mention '${m}'`);
    assert.ok(!e.message.includes('\n'));
    return true;
  });
}

describe('numeric flags', () => {
  test('plain decimal numbers only, checked against the range', () => {
    assert.equal(numberFlag('--x', '0.25'), 0.25);
    assert.equal(numberFlag('--x', '+2'), 2);
    assert.equal(numberFlag('--x', '.5'), 0.5);
    assert.equal(numberFlag('--x', '1e-3'), 0.001);
    for (const bad of ['', ' ', 'abc', '0x10', 'Infinity', 'NaN', '1e400', '1,5', '2 3']) usage(() => numberFlag('--x', bad), '--x', ['--x']);
    usage(() => numberFlag('--gain', '2', { min: 0, max: 1 }), '--gain', ['[0, 1]', "'2'"]);
    usage(() => numberFlag('--n', '2.5', { integer: true }), '--n', ['integer']);
    usage(() => numberFlag('--fc', '0', { min: 0, minExclusive: true }), '--fc', ['> 0']);
    assert.equal(seedFlag('12'), 12);
    usage(() => seedFlag('-1'), '--seed');
    usage(() => seedFlag('1.5'), '--seed');
  });
});

describe('optics flags', () => {
  test('the cut-off: --fc, the NA/λ/pixel triple (fc = NA·pixel/λ), or none', () => {
    assert.deepEqual(cutoffFromFlags({}), { source: 'none' });
    assert.deepEqual(cutoffFromFlags({ fc: '0.2' }), { source: 'fc', fc: 0.2 });
    const m = cutoffFromFlags({ na: '1.4', wavelengthNm: '520', pixelSizeNm: '65' });
    assert.equal(m.source, 'microscope');
    assert.equal(m.source === 'microscope' && m.fc, (1.4 * 65) / 520);
  });

  test('contradictory and partial cut-off flags are usage errors naming the flags', () => {
    usage(() => cutoffFromFlags({ fc: '0.2', na: '1.4' }), '--fc', ['--fc', '--na']);
    usage(() => cutoffFromFlags({ fc: '0.2', pixelSizeNm: '65' }), '--fc', ['--fc', '--pixel-size-nm']);
    usage(() => cutoffFromFlags({ na: '1.4' }), '--wavelength-nm', ['--na', '--wavelength-nm', '--pixel-size-nm']);
    usage(() => cutoffFromFlags({ wavelengthNm: '520', pixelSizeNm: '65' }), '--na', ['--na']);
    usage(() => cutoffFromFlags({ na: '1.4', wavelengthNm: 'green', pixelSizeNm: '65' }), '--wavelength-nm', ["'green'"]);
  });

  test('limits: Nyquist unless --allow-undersampling, fc ≥ 0.5 always, with a value that would work', () => {
    usage(() => opticsFromFlags({ fc: '0.3' }), '--fc', ['0.25', '--allow-undersampling']);
    assert.equal(opticsFromFlags({ fc: '0.3', allowUndersampling: true }).optics.fc, 0.3);
    usage(() => opticsFromFlags({ fc: '0.5', allowUndersampling: true }), '--fc', ['0.5']);
    usage(() => opticsFromFlags({ na: '1.4', wavelengthNm: '520', pixelSizeNm: '100' }), '--pixel-size-nm', ['0.25', '92.85', '--allow-undersampling']);
    usage(() => opticsFromFlags({ na: '1.4', wavelengthNm: '520', pixelSizeNm: '200', allowUndersampling: true }), '--pixel-size-nm', ['0.5', '185.71']);
    usage(() => opticsFromFlags({ na: '2', wavelengthNm: '520', pixelSizeNm: '50' }), '--na', ['1.7']);
    // The pixel size offered does satisfy the library.
    assert.ok(resolveOptics({ numericalAperture: 1.4, wavelengthNm: 520, pixelSizeNm: 92.85 }).fc <= 0.25);
  });

  test('the optics value: fc, sizes and modes as given; a fallback fc only when none is given', () => {
    const { optics, cutoff } = opticsFromFlags({ na: '1.2', wavelengthNm: '600', pixelSizeNm: '110', size: '21', pupilSize: '128' });
    assert.equal(cutoff.source, 'microscope');
    assert.equal(optics.fc, (1.2 * 110) / 600);
    assert.equal(optics.pixelSizeNm, 110);
    assert.deepEqual([optics.psfSize, optics.pupilSize], [21, 128]);
    usage(() => opticsFromFlags({}), '--fc', ['--fc', '--na']);
    assert.equal(opticsFromFlags({}, { fallbackFc: 0.125 }).optics.fc, 0.125);
    assert.equal(opticsFromFlags({ fc: '0.2' }, { fallbackFc: 0.125 }).optics.fc, 0.2);
    assert.deepEqual(opticsFromFlags({ fc: '0.2' }, { zernikeNoll: [4, 12] }).optics.zernikeNoll, [4, 12]);
  });

  test('grid flags: --size odd (with the next odd size offered), --pupil-size ≥ 4·S, enough pupil samples', () => {
    usage(() => opticsFromFlags({ fc: '0.2', size: '32' }), '--size', ['33']);
    usage(() => opticsFromFlags({ fc: '0.2', size: '1' }), '--size');
    usage(() => opticsFromFlags({ fc: '0.2', size: '31', pupilSize: '120' }), '--pupil-size', ['124']);
    usage(() => opticsFromFlags({ fc: '0.03' }), '--pupil-size', ['267']);
  });

  test('the pupil grid follows --size (256 up to S = 63, then 4·S); --size ≤ 255 and --pupil-size ≤ 1024, naming the limit', () => {
    const grid = (size: string, pupilSize?: string) => {
      const o = opticsFromFlags({ fc: '0.2', size, ...(pupilSize !== undefined && { pupilSize }) }).optics;
      return [o.psfSize, o.pupilSize];
    };
    assert.deepEqual(grid('31'), [31, 256]);
    assert.deepEqual(grid('63'), [63, 256]);
    assert.deepEqual(grid('65'), [65, 260]);
    assert.deepEqual(grid('255'), [255, 1020]);
    assert.deepEqual(grid('65', '512'), [65, 512]);
    assert.deepEqual(grid('31', '1024'), [31, 1024]);
    usage(() => opticsFromFlags({ fc: '0.2', size: '257' }), '--size', ['--size must be ≤ 255 pixels', 'got 257']);
    usage(() => opticsFromFlags({ fc: '0.2', size: '100001' }), '--size', ['≤ 255']);
    usage(() => opticsFromFlags({ fc: '0.2', pupilSize: '1025' }), '--pupil-size', ['--pupil-size must be ≤ 1024 samples', 'got 1025']);
    usage(() => opticsFromFlags({ fc: '0.2', size: '65', pupilSize: '256' }), '--pupil-size', ['260']);
    // A cut-off whose pupil would need a grid beyond the limit is too small, not a --pupil-size to raise.
    usage(() => opticsFromFlags({ fc: '0.005' }), '--fc', ['--fc 0.005 is too small', '--pupil-size ≥ 1600', 'above the limit 1024']);
    usage(() => opticsFromFlags({ fc: '0.01' }), '--pupil-size', ['--pupil-size ≥ 800']);
  });

  test('Zernike flags: Noll or ANSI, not both; errors name the flag; extra modes join the default 4–11', () => {
    assert.equal(zernikeFromFlags({}), null);
    assert.deepEqual(zernikeFromFlags({ zernike: '4:0.1,7:-0.05' }), { noll: [4, 7], waves: [0.1, -0.05] });
    assert.deepEqual(zernikeFromFlags({ zernikeAnsi: '3:0.2' }), { noll: [5], waves: [0.2] });
    usage(() => zernikeFromFlags({ zernike: '4:0.1', zernikeAnsi: '4:0.1' }), '--zernike', ['--zernike-ansi']);
    usage(() => zernikeFromFlags({ zernike: '4:x' }), '--zernike', ['4:x']);
    usage(() => zernikeFromFlags({ zernikeAnsi: '4:0.1,4:0.2' }), '--zernike-ansi', ['twice']);
    // Lists that change nothing are refused: an empty one, and piston (a constant phase: |FFT(pupil)|² is unchanged).
    usage(() => zernikeFromFlags({ zernike: '' }), '--zernike', ['--zernike is empty']);
    usage(() => zernikeFromFlags({ zernike: '  ' }), '--zernike', ['--zernike is empty']);
    usage(() => zernikeFromFlags({ zernikeAnsi: '' }), '--zernike-ansi', ['--zernike-ansi is empty']);
    usage(() => zernikeFromFlags({ zernike: '1:0.1' }), '--zernike', ['Noll 1 (piston)', 'does not change an intensity PSF']);
    usage(() => zernikeFromFlags({ zernike: '4:0.1,1:0' }), '--zernike', ['Noll 1 (piston)']);
    usage(() => zernikeFromFlags({ zernikeAnsi: '4:0.1,0:0.2' }), '--zernike-ansi', ['ANSI 0 (piston)', 'does not change an intensity PSF']);
    assert.deepEqual(zernikeFromFlags({ zernike: '2:0.1' }), { noll: [2], waves: [0.1] }, 'tilt moves the PSF: accepted');
    assert.deepEqual(activeZernike(null), [4, 5, 6, 7, 8, 9, 10, 11]);
    assert.deepEqual(activeZernike({ noll: [12, 2, 4], waves: [0, 0, 0] }), [2, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  test('withFlagNames relabels library parameters with their flags and leaves other errors alone', () => {
    usage(() => withFlagNames(() => resolveOptics({ fc: 0.2, pupilSize: 50 })), '--pupil-size', ['--pupil-size must be']);
    const other = new Error('boom');
    assert.throws(() => withFlagNames(() => { throw other; }), (e) => e === other);
  });

  test('pinnedPrior pins given parameters exactly and keeps the default ranges for the others', () => {
    const p = pinnedPrior(DEFAULT_PRIOR, { fc: 0.2, gain: 0, bits: 0 }, [4, 5]);
    assert.deepEqual(p.fc, [0.2, 0.2]);
    assert.deepEqual(p.gain, [0, 0]);
    assert.deepEqual(p.bits, [0]);
    assert.deepEqual(p.sigma, DEFAULT_PRIOR.sigma);
    assert.deepEqual(p.thetaMax, DEFAULT_PRIOR.thetaMax);
    assert.deepEqual(p.zernikeNoll, [4, 5]);
    usage(() => pinnedPrior(DEFAULT_PRIOR, { sigma: 2 }, [4]), '--sigma');
  });
});

describe('outputs', () => {
  let dir = '';
  before(() => {
    dir = makeTempDir('outputs');
  });
  after(() => removeDir(dir));

  test('writeOutputs writes every file, replacing existing ones', () => {
    const sub = join(dir, 'ok');
    mkdirSync(sub);
    writeFileSync(join(sub, 'a.txt'), 'old');
    writeOutputs([
      { path: join(sub, 'a.txt'), flag: '--a', bytes: new TextEncoder().encode('A') },
      { path: join(sub, 'b.txt'), flag: '--b', bytes: new TextEncoder().encode('B') },
    ]);
    assert.equal(readFileSync(join(sub, 'a.txt'), 'utf8'), 'A');
    assert.equal(readFileSync(join(sub, 'b.txt'), 'utf8'), 'B');
    assert.deepEqual(listDir(sub), ['a.txt', 'b.txt']);
  });

  test('all or nothing: one impossible target, and no file (nor temporary file) is written', () => {
    const sub = join(dir, 'fail');
    mkdirSync(sub);
    mkdirSync(join(sub, 'taken.tif'));
    const bytes = new Uint8Array([1, 2, 3]);
    assert.throws(
      () => writeOutputs([{ path: join(sub, 'a.tif'), flag: '--out', bytes }, { path: join(sub, 'missing', 'b.tif'), flag: '--psf-out', bytes }]),
      (e: unknown) => e instanceof ImageIOError && e.message.includes(join('missing', 'b.tif')) && e.message.includes('folder'),
    );
    assert.throws(() => writeOutputs([{ path: join(sub, 'a.tif'), flag: '--out', bytes }, { path: join(sub, 'taken.tif'), flag: '--psf-out', bytes }]), ImageIOError);
    assert.deepEqual(listDir(sub), ['taken.tif']);
    assert.ok(!existsSync(join(sub, 'a.tif')));
  });

  test('output paths: distinct, never the input, .tif/.tiff only', () => {
    usage(() => checkOutputPaths([{ path: join(dir, 'y.tif'), flag: '--out' }, { path: join(dir, '.', 'y.tif'), flag: '--psf-out' }]), '--psf-out', ['same file']);
    usage(() => checkOutputPaths([{ path: join(dir, 'x.tif'), flag: '--out' }], [join(dir, 'x.tif')]), '--out', ['overwrite the input']);
    assert.deepEqual(tiffPath('--out', 'a/y.TIF'), { stem: 'a/y', ext: '.TIF' });
    assert.deepEqual(tiffPath('--out', 'y.tiff'), { stem: 'y', ext: '.tiff' });
    usage(() => tiffPath('--out', 'y.png'), '--out', ['.tif']);
    usage(() => tiffPath('--out', '.tif'), '--out');
  });
});
