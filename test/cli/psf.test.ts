// `psfid psf`, run as a child process: the TIFF it writes against the library called directly (an independent
// path), its --json report, the cut-off's limits and the refusal of contradictory flags. Tests run concurrently:
// each spawns the CLI (~1–2 s of start-up) in its own folder.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { tensor, tidy } from '../../src/engine/index.js';
import { readImage } from '../../src/io/index.js';
import { cutoffFromMicroscope, psfFromZernike, resolveOptics } from '../../src/optics/index.js';
import { airyWindowShare } from '../optics/oracles.js';
import { assertError, assertOk, listDir, makeTempDir, psfid, removeDir } from './helpers.js';

interface PsfReport {
  out: string;
  fc: number;
  fcSource: string;
  size: number;
  pupilSize: number;
  numericalAperture?: number;
  wavelengthNm?: number;
  pixelSizeNm?: number;
  coefficients: { noll: number; ansi: number; name: string; waves: number }[];
  coefficientsSource: string;
  seed?: number;
  thetaMax?: number;
  energyInWindow: number;
  warnings: string[];
}

let root = '';
let n = 0;
/** A fresh, empty folder for one test. */
function folder(): string {
  const dir = join(root, `t${n++}`);
  mkdirSync(dir);
  return dir;
}

function readPsf(path: string): { data: Float32Array; width: number; height: number; pixelSizeNm: number | undefined } {
  const img = readImage(path);
  assert.equal(img.dtype, 'float32');
  assert.equal(img.planes.length, 1);
  assert.equal(img.samplesPerPixel, 1);
  return { data: img.planes[0] as Float32Array, width: img.width, height: img.height, pixelSizeNm: img.metadata.pixelSizeNm };
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

function argmax(a: ArrayLike<number>): number {
  let k = 0;
  for (let i = 1; i < a.length; i++) if (a[i]! > a[k]!) k = i;
  return k;
}

before(() => {
  root = makeTempDir('psf');
});
after(() => removeDir(root));

describe('psfid psf', { concurrency: 6 }, () => {
  test('θ = 0: a float32 S×S TIFF summing to 1 with its peak at the centre', async () => {
    const dir = folder();
    const r = await psfid(['psf', '--fc', '0.2', '--size', '25', '--out', 'airy.tif'], dir);
    assertOk(r);
    assert.match(r.stdout, /^airy\.tif: 25×25 PSF/);
    const h = readPsf(join(dir, 'airy.tif'));
    assert.equal(h.width, 25);
    assert.equal(h.height, 25);
    assert.ok(Math.abs(sum(h.data) - 1) < 1e-5, `sum ${sum(h.data)}`);
    assert.equal(argmax(h.data), 12 * 25 + 12);
    assert.equal(h.pixelSizeNm, undefined, 'no pixel size is known from --fc');
    // Diffraction-limited: symmetric under x ↔ −x.
    for (let y = 0; y < 25; y++) for (let x = 0; x < 25; x++) assert.ok(Math.abs(h.data[y * 25 + x]! - h.data[y * 25 + 24 - x]!) < 1e-7);
  });

  test('--zernike: the file equals psfFromZernike called directly; --json lists fc, its source, the size and every coefficient', async () => {
    const dir = folder();
    const r = await psfid(['psf', '--fc', '0.18', '--size', '21', '--pupil-size', '128', '--zernike', '4:0.1, 7:-0.05,12:0.03', '--out', 'h.tif', '--json'], dir);
    assertOk(r);
    const report = JSON.parse(r.stdout) as PsfReport;
    assert.equal(report.fc, 0.18);
    assert.equal(report.fcSource, '--fc');
    assert.equal(report.size, 21);
    assert.equal(report.pupilSize, 128);
    assert.equal(report.coefficientsSource, '--zernike');
    const noll = report.coefficients.map((c) => c.noll);
    assert.deepEqual(noll, [4, 5, 6, 7, 8, 9, 10, 11, 12], 'the default modes 4–11 plus the extra index 12');
    const byNoll = new Map(report.coefficients.map((c) => [c.noll, c]));
    assert.deepEqual(byNoll.get(4), { noll: 4, ansi: 4, name: 'defocus', waves: 0.1 });
    assert.deepEqual(byNoll.get(7), { noll: 7, ansi: 7, name: 'vertical coma', waves: -0.05 });
    assert.deepEqual(byNoll.get(12), { noll: 12, ansi: 13, name: 'Z(4,2)', waves: 0.03 });
    for (const j of [5, 6, 8, 9, 10, 11]) assert.equal(byNoll.get(j)!.waves, 0);

    const h = readPsf(join(dir, 'h.tif'));
    assert.equal(h.width, 21);
    assert.ok(Math.abs(sum(h.data) - 1) < 1e-5);
    const theta = report.coefficients.map((c) => c.waves);
    const expected = tidy(() => {
      const optics = resolveOptics({ fc: 0.18, psfSize: 21, pupilSize: 128, zernikeNoll: noll });
      return psfFromZernike(optics, tensor(theta, [1, noll.length], { dtype: 'float64' }), { method: 'fft' }).data() as Float64Array;
    });
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(h.data[i]! - expected[i]!));
    const peak = Math.max(...expected);
    assert.ok(worst < 1e-6 * peak + 1e-9, `max |file − library| = ${worst} (peak ${peak})`);
    // Defocus, vertical coma and Z(4,2) are even in x, so the PSF is mirror-symmetric left ↔ right; coma makes it
    // asymmetric up ↔ down.
    let lr = 0;
    let ud = 0;
    for (let y = 0; y < 21; y++) {
      for (let x = 0; x < 21; x++) {
        lr = Math.max(lr, Math.abs(h.data[y * 21 + x]! - h.data[y * 21 + 20 - x]!));
        ud = Math.max(ud, Math.abs(h.data[y * 21 + x]! - h.data[(20 - y) * 21 + x]!));
      }
    }
    assert.ok(lr < 1e-6 * peak, `left/right asymmetry ${lr}`);
    assert.ok(ud > 1e-3 * peak, `up/down asymmetry ${ud}`);
  });

  test('fc from --na/--wavelength-nm/--pixel-size-nm equals NA·pixel/λ; the TIFF carries the pixel size; --zernike-ansi reads ANSI indices', async () => {
    const dir = folder();
    const r = await psfid(['psf', '--na', '1.2', '--wavelength-nm', '600', '--pixel-size-nm', '110', '--zernike-ansi', '3:0.08', '--out', 'p.tif', '--json'], dir);
    assertOk(r);
    const report = JSON.parse(r.stdout) as PsfReport;
    assert.ok(Math.abs(report.fc - (1.2 * 110) / 600) < 1e-15, `fc ${report.fc}`);
    assert.equal(report.fc, cutoffFromMicroscope(1.2, 600, 110));
    assert.equal(report.fcSource, 'NA·pixel/λ');
    assert.equal(report.numericalAperture, 1.2);
    assert.equal(report.wavelengthNm, 600);
    assert.equal(report.pixelSizeNm, 110);
    assert.equal(report.size, 31);
    // ANSI 3 is (n, m) = (2, −2): Noll 5, oblique astigmatism.
    assert.equal(report.coefficientsSource, '--zernike-ansi');
    assert.deepEqual(report.coefficients.find((c) => c.noll === 5), { noll: 5, ansi: 3, name: 'oblique astigmatism', waves: 0.08 });
    assert.equal(report.coefficients.filter((c) => c.waves !== 0).length, 1);
    const h = readPsf(join(dir, 'p.tif'));
    assert.ok(h.pixelSizeNm !== undefined && Math.abs(h.pixelSizeNm - 110) < 1e-6, `pixel size read back: ${h.pixelSizeNm}`);
    assert.equal(argmax(h.data), 15 * 31 + 15);
  });

  test('fc > 0.25 is refused (exit 2) with the limit and a pixel size that works; accepted with --allow-undersampling', async () => {
    const dir = folder();
    const flags = ['psf', '--na', '1.4', '--wavelength-nm', '520', '--pixel-size-nm', '100', '--out', 'u.tif'];
    const [refused, accepted] = await Promise.all([psfid(flags, dir), psfid([...flags, '--allow-undersampling', '--json'], dir)]);
    const works = Math.floor(((0.25 * 520) / 1.4) * 100) / 100; // 92.85 nm
    assertError(refused, 2, ['--pixel-size-nm', '0.25', String(works), '--allow-undersampling']);
    // The same refusal through --fc: options.test.ts (in process).
    assertOk(accepted);
    const report = JSON.parse(accepted.stdout) as PsfReport;
    assert.ok(Math.abs(report.fc - (1.4 * 100) / 520) < 1e-15);
    assert.deepEqual(listDir(dir), ['u.tif']);
    assert.ok(Math.abs(sum(readPsf(join(dir, 'u.tif')).data) - 1) < 1e-5);
  });

  test('fc ≥ 0.5 is refused even with --allow-undersampling', async () => {
    const dir = folder();
    const r = await psfid(['psf', '--na', '1.4', '--wavelength-nm', '520', '--pixel-size-nm', '200', '--allow-undersampling', '--out', 'b.tif'], dir);
    assertError(r, 2, ['--pixel-size-nm', '0.5', String(Math.floor(((0.5 * 520) / 1.4) * 100) / 100)]);
    assert.deepEqual(listDir(dir), []);
    // --fc 0.5 with --allow-undersampling: see options.test.ts (in-process).
  });

  test('the share of the energy inside the window: the Airy pattern at fc 0.2 keeps 97 % (no warning); strong defocus and a tilt warn, and the --size named holds 90 %', async () => {
    const dir = folder();
    const [airy, defocus, tilt] = await Promise.all([
      psfid(['psf', '--fc', '0.2', '--out', 'a.tif', '--json'], dir),
      psfid(['psf', '--fc', '0.2', '--zernike', '4:1', '--out', 'd.tif', '--json'], dir),
      psfid(['psf', '--fc', '0.2', '--zernike', '2:3', '--out', 't.tif', '--json'], dir),
    ]);
    assertOk(airy);
    assert.equal(airy.stderr, '');
    const a = JSON.parse(airy.stdout) as PsfReport;
    // Analytic: Σ over the 31² pixels of [2J1(v)/v]² · π·fc² = 0.970; the 256-pixel periodic grid adds < 1 %.
    const truth = airyWindowShare(0.2, 31);
    assert.ok(a.energyInWindow > truth && a.energyInWindow - truth < 0.01, `${a.energyInWindow} vs ${truth}`);
    assert.deepEqual(a.warnings, []);

    // Defocus 1 wave: geometric optics gives a uniform disk of radius 4√3·θ/fc = 34.6 pixels, 31²/(πR²) = 25 % inside.
    // A tilt of 3 waves moves the Airy pattern 2θ/fc = 30 pixels: 0.4 % inside.
    const cases = [
      { r: defocus, file: 'd.tif', zernike: '4:1', truth: (31 * 31) / (Math.PI * ((4 * Math.sqrt(3)) / 0.2) ** 2), tol: 0.08 },
      { r: tilt, file: 't.tif', zernike: '2:3', truth: airyWindowShare(0.2, 31, 30), tol: 0.1 },
    ];
    const retries: Promise<{ suggested: string[]; r: Awaited<ReturnType<typeof psfid>> }>[] = [];
    for (const c of cases) {
      assertOk(c.r);
      const report = JSON.parse(c.r.stdout) as PsfReport;
      assert.ok(Math.abs(report.energyInWindow / c.truth - 1) < c.tol, `${c.zernike}: ${report.energyInWindow} vs ${c.truth}`);
      const lines = c.r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, c.r.stderr);
      const m = /^warning: only (\S+) % of the PSF's energy falls inside the 31×31 window: .*truncated; (--size \d+(?: --pupil-size \d+)?) would hold/.exec(lines[0]!);
      assert.ok(m, lines[0]);
      assert.equal(Number(m[1]), Number((100 * report.energyInWindow).toPrecision(2)));
      assert.deepEqual(report.warnings, [lines[0]!.slice('warning: '.length)]);
      // The file is still written, as the convention asks (the crop, sum 1).
      assert.ok(Math.abs(sum(readPsf(join(dir, c.file)).data) - 1) < 1e-5);
      const suggested = m[2]!.split(' ');
      retries.push(psfid(['psf', '--fc', '0.2', '--zernike', c.zernike, ...suggested, '--out', `again-${c.file}`, '--json'], dir).then((r) => ({ suggested, r })));
    }
    for (const { suggested, r } of await Promise.all(retries)) {
      assertOk(r);
      assert.equal(r.stderr, '', `${suggested.join(' ')}: ${r.stderr}`);
      const report = JSON.parse(r.stdout) as PsfReport;
      assert.ok(report.energyInWindow >= 0.9, `${suggested.join(' ')}: ${report.energyInWindow}`);
      assert.equal(report.size, Number(suggested[1]));
    }
  });

  test('the pupil grid follows --size: the default 31² PSF is bit-identical to the 256² grid\'s, 63² keeps 256, 65² gets 4·65 = 260 without --pupil-size; sizes beyond the limits are refused', async () => {
    const dir = folder();
    const zernike = ['--zernike', '4:0.1,7:-0.05,11:0.03'];
    const [d, s63, s65, big, bigPupil] = await Promise.all([
      psfid(['psf', '--fc', '0.2', ...zernike, '--out', 'd.tif', '--json'], dir),
      psfid(['psf', '--fc', '0.2', ...zernike, '--size', '63', '--out', 's63.tif', '--json'], dir),
      psfid(['psf', '--fc', '0.2', ...zernike, '--size', '65', '--out', 's65.tif', '--json'], dir),
      psfid(['psf', '--fc', '0.2', '--size', '257', '--out', 'big.tif'], dir),
      psfid(['psf', '--fc', '0.2', '--pupil-size', '2048', '--out', 'bigp.tif'], dir),
    ]);
    const noll = [4, 5, 6, 7, 8, 9, 10, 11];
    const theta = [0.1, 0, 0, -0.05, 0, 0, 0, 0.03];
    for (const [r, file, size, pupilSize] of [[d, 'd.tif', 31, 256], [s63, 's63.tif', 63, 256], [s65, 's65.tif', 65, 260]] as const) {
      assertOk(r);
      const report = JSON.parse(r.stdout) as PsfReport;
      assert.deepEqual([report.size, report.pupilSize], [size, pupilSize]);
      // The library on that grid, named explicitly, as float32: the same bits.
      const expected = tidy(() => {
        const optics = resolveOptics({ fc: 0.2, psfSize: size, pupilSize, zernikeNoll: noll });
        return Float32Array.from(psfFromZernike(optics, tensor(theta, [1, 8], { dtype: 'float64' })).data() as Float64Array);
      });
      const h = readPsf(join(dir, file));
      assert.equal(h.width, size);
      assert.ok(h.data.every((v, i) => Object.is(v, expected[i])), `${file}: not bit-identical to the ${pupilSize}² grid's PSF`);
    }
    assertError(big, 2, ['--size must be ≤ 255 pixels', 'got 257']);
    assertError(bigPupil, 2, ['--pupil-size must be ≤ 1024 samples', 'got 2048']);
    assert.deepEqual(listDir(dir), ['d.tif', 's63.tif', 's65.tif']);
  });

  test('the TIFF records its optics for identify: psfid.fc from --fc, NA and wavelength (and the pixel size) from the microscope', async () => {
    const dir = folder();
    const [f, m] = await Promise.all([
      psfid(['psf', '--fc', '0.2', '--out', 'f.tif'], dir),
      psfid(['psf', '--na', '1.4', '--wavelength-nm', '520', '--pixel-size-nm', '65', '--out', 'm.tif'], dir),
    ]);
    assertOk(f);
    assertOk(m);
    const fmd = readImage(join(dir, 'f.tif')).metadata;
    assert.deepEqual([fmd.fc, fmd.imagej?.info, fmd.numericalAperture, fmd.pixelSizeNm], [0.2, 'psfid.fc = 0.2\n', undefined, undefined]);
    const mmd = readImage(join(dir, 'm.tif')).metadata;
    assert.deepEqual([mmd.fc, mmd.imagej?.info, mmd.numericalAperture, mmd.emissionWavelengthNm], [undefined, 'LensNA = 1.4\nEmissionWavelength = 520\n', 1.4, 520]);
  });

  const contradictions: [string, string[], string[]][] = [
    ['--fc with --na', ['--fc', '0.2', '--na', '1.4'], ['--fc', '--na']],
    ['--random with --zernike', ['--fc', '0.2', '--random', '--zernike', '4:0.1'], ['--random', '--zernike']],
    ['--zernike with --zernike-ansi', ['--fc', '0.2', '--zernike', '4:0.1', '--zernike-ansi', '4:0.1'], ['--zernike', '--zernike-ansi']],
    ['a partial NA/λ/pixel triple', ['--na', '1.4', '--wavelength-nm', '520'], ['--na', '--wavelength-nm', '--pixel-size-nm']],
    // Not contradictions but flags that say nothing: an empty list, and piston, which cannot change |FFT(pupil)|².
    ['an empty --zernike', ['--fc', '0.2', '--zernike', ''], ['--zernike is empty', 'leave --zernike out']],
    ['a blank --zernike-ansi', ['--fc', '0.2', '--zernike-ansi', ' '], ['--zernike-ansi is empty']],
    ['piston (Noll 1)', ['--fc', '0.2', '--zernike', '4:0.1,1:0.3'], ['--zernike: Noll 1 (piston) is a constant phase, which does not change an intensity PSF']],
    ['piston (ANSI 0)', ['--fc', '0.2', '--zernike-ansi', '0:0.3'], ['--zernike-ansi: ANSI 0 (piston)', 'does not change an intensity PSF']],
  ];
  for (const [what, flags, mentions] of contradictions) {
    test(`${what}: usage error naming the flags (exit 2), no output`, async () => {
      const dir = folder();
      assertError(await psfid(['psf', ...flags, '--out', 'x.tif'], dir), 2, mentions);
      assert.deepEqual(listDir(dir), []);
    });
  }

  test('--help documents the refusal of an empty --zernike and of piston, and the pupil grid\'s default and limits', async () => {
    const r = await psfid(['psf', '--help'], folder());
    assertOk(r);
    const help = r.stdout.replace(/\s+/g, ' ');
    assert.match(help, /An empty list is refused .* and so is piston \(Noll 1, ANSI 0\): a constant phase does not change an intensity PSF/);
    assert.match(help, /--pupil-size <samples> .*4·S ≤ P ≤ 1024 .*default: 256, or 4·S when S > 64/);
    assert.match(help, /--size <px> .*at most 255/);
  });

  test('--random: the same --seed gives identical files, different seeds differ; fc and θmax are drawn when not given', async () => {
    const dir = folder();
    const [a, b, c] = await Promise.all([
      psfid(['psf', '--random', '--seed', '5', '--out', 'a.tif', '--json'], dir),
      psfid(['psf', '--random', '--seed', '5', '--out', 'b.tif'], dir),
      psfid(['psf', '--random', '--seed', '6', '--out', 'c.tif'], dir),
    ]);
    for (const r of [a, b, c]) assertOk(r);
    const bytes = (f: string) => readFileSync(join(dir, f));
    assert.ok(bytes('a.tif').equals(bytes('b.tif')), 'same seed, same file');
    assert.ok(!bytes('a.tif').equals(bytes('c.tif')), 'another seed, another PSF');
    const report = JSON.parse(a.stdout) as PsfReport;
    assert.equal(report.seed, 5);
    assert.ok(report.fc >= 0.125 && report.fc <= 0.25, `drawn fc ${report.fc}`);
    assert.match(report.fcSource, /drawn/);
    assert.ok(report.thetaMax! >= 0.02 && report.thetaMax! <= 0.15);
    for (const c of report.coefficients) assert.ok(Math.abs(c.waves) <= report.thetaMax!);
    assert.ok(report.coefficients.some((c) => c.waves !== 0));
    assert.ok(existsSync(join(dir, 'c.tif')));
  });
});
