// `psfid simulate`, run as a child process on a small uint16 TIFF written with src/io: output sizes, the sidecar,
// reproducibility, the noise-free output against blur(x/65535, h) computed here with the library, and the refusal
// of bad inputs (one line `error: …` naming the file, no stack trace, and no output files at all). The boundary
// modes, --plane and colour input are checked against a naive direct convolution written here (wrapped or mirrored
// indices, no FFT), with the PSF written by `psfid psf` for the same flags.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { blur, DEFAULT_PRIOR, type Boundary } from '../../src/acquisition/index.js';
import { tensor, tidy } from '../../src/engine/index.js';
import { readImage, writePng, writeTiff } from '../../src/io/index.js';
import { psfFromZernike, resolveOptics } from '../../src/optics/index.js';
import { assertError, assertOk, listDir, makeTempDir, psfid, removeDir } from './helpers.js';

const W = 80;
const H = 70;

interface Sidecar {
  seed: number;
  input: { path: string; width: number; height: number; dtype: string; plane: number; scaling: { divisor: number; rule: string } };
  outputs: { y: string; psf: string; sidecar: string };
  output: { width: number; height: number; dtype: string; boundary: string };
  optics: { fc: number; fcSource: string; psfSize: number; pupilSize: number; psfEnergyInWindow: number };
  parameters: {
    fc: number;
    thetaMax: number | null;
    zernike: { noll: number; name: string; waves: number }[];
    gain: number;
    sigma: number;
    bits: number;
    saltPepper: number;
  };
  drawn: string[];
  given: string[];
  warnings: string[];
}

let root = '';
let input = '';
let n = 0;
/** A fresh, empty folder for one test. */
function folder(): string {
  const dir = join(root, `t${n++}`);
  mkdirSync(dir);
  return dir;
}

/** A test specimen: smooth waves, a bright square and a dark line, filling most of uint16's range. */
function specimen(): Uint16Array {
  const d = new Uint16Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      let v = 0.45 + 0.3 * Math.sin(x / 4.3) * Math.cos(y / 6.1);
      if (x >= 30 && x < 42 && y >= 25 && y < 33) v = 0.97;
      if (x === 55) v = 0.02;
      d[y * W + x] = Math.round(v * 65535);
    }
  }
  return d;
}

function readFloat(path: string): { data: Float32Array; width: number; height: number } {
  const img = readImage(path);
  assert.equal(img.dtype, 'float32');
  assert.equal(img.planes.length, 1);
  return { data: img.planes[0] as Float32Array, width: img.width, height: img.height };
}

function sum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

/** blur(x / 65535, h) for the specimen, with h from psfFromZernike (float64 throughout). */
function expectedClean(fc: number, psfSize: number, noll: number[], theta: number[], boundary: Boundary): Float64Array {
  return tidy(() => {
    const raw = readImage(input).planes[0] as Uint16Array;
    const x = tensor(Float64Array.from(raw, (v) => v / 65535), [1, 1, H, W], { dtype: 'float64' });
    const optics = resolveOptics({ fc, psfSize, zernikeNoll: noll });
    const h = psfFromZernike(optics, tensor(theta, [1, noll.length], { dtype: 'float64' }));
    return blur(x, h, boundary).data() as Float64Array;
  });
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

type Mode = 'valid' | 'circular' | 'reflect';

/** Index k of a side-n signal extended past its edges: wrapped, or mirrored about the edge pixel (not repeated). */
function extended(k: number, n: number, mode: 'circular' | 'reflect'): number {
  if (mode === 'circular') return ((k % n) + n) % n;
  return k < 0 ? -k : k >= n ? 2 * (n - 1) - k : k;
}

/**
 * h ⋆ x by the definition, y[i, j] = Σ_{a,b} h[a, b] · x[i − a + c, j − b + c] with c = ⌊S/2⌋, x extended by `mode`
 * ('valid': only outputs whose support lies in x, (H−S+1) × (W−S+1)); float64, no FFT.
 */
function naiveBlur(x: ArrayLike<number>, width: number, height: number, h: ArrayLike<number>, s: number, mode: Mode): Float64Array {
  const c = Math.floor(s / 2);
  const margin = mode === 'valid' ? c : 0;
  const outW = width - 2 * margin;
  const outH = height - 2 * margin;
  const y = new Float64Array(outW * outH);
  for (let i = 0; i < outH; i++) {
    for (let j = 0; j < outW; j++) {
      let acc = 0;
      for (let a = 0; a < s; a++) {
        const r = i + margin - a + c;
        const row = (mode === 'valid' ? r : extended(r, height, mode)) * width;
        for (let b = 0; b < s; b++) {
          const q = j + margin - b + c;
          acc += h[a * s + b]! * x[row + (mode === 'valid' ? q : extended(q, width, mode))]!;
        }
      }
      y[i * outW + j] = acc;
    }
  }
  return y;
}

/** Optics of the naive-reference tests: an asymmetric PSF (coma along x and y), so flips and shifts show. */
const OPTICS = ['--fc', '0.2', '--zernike', '4:0.1,7:-0.06,8:0.05', '--size', '15'];
const S = 15;
const NO_NOISE = ['--gain', '0', '--sigma', '0', '--bits', '0', '--salt-pepper', '0'];
/** The PSF `psfid psf` writes for OPTICS (read in before()). */
let cliPsf: Float32Array = new Float32Array(0);

before(async () => {
  root = makeTempDir('simulate');
  input = join(root, 'x.tif');
  writeTiff(input, { width: W, height: H, planes: [specimen()] });
  assertOk(await psfid(['psf', ...OPTICS, '--out', 'psf.tif'], root));
  cliPsf = readFloat(join(root, 'psf.tif')).data;
  assert.equal(cliPsf.length, S * S);
});
after(() => removeDir(root));

describe('psfid simulate', { concurrency: 6 }, () => {
  test('valid blur: y is (H−S+1)×(W−S+1); the sidecar records every parameter, what was drawn and the seed; same seed, same y', async () => {
    const dir = folder();
    const args = (out: string, seed: string) => ['simulate', input, '--out', out, '--seed', seed, '--size', '21'];
    const [a, b, c, d] = await Promise.all([
      psfid(args('y.tif', '4'), dir),
      psfid(args('again.tif', '4'), dir),
      psfid(args('other.tif', '5'), dir),
      psfid(['psf', '--random', '--seed', '4', '--size', '21', '--out', 'psf.tif'], dir),
    ]);
    for (const r of [a, b, c, d]) assertOk(r);
    assert.deepEqual(listDir(dir), ['again-psf.tif', 'again.json', 'again.tif', 'other-psf.tif', 'other.json', 'other.tif', 'psf.tif', 'y-psf.tif', 'y.json', 'y.tif']);

    const y = readFloat(join(dir, 'y.tif'));
    assert.equal(y.width, W - 21 + 1);
    assert.equal(y.height, H - 21 + 1);
    const bytes = (f: string) => readFileSync(join(dir, f));
    assert.ok(bytes('y.tif').equals(bytes('again.tif')), 'same seed, same y');
    assert.ok(bytes('y-psf.tif').equals(bytes('again-psf.tif')), 'same seed, same PSF');
    assert.ok(!bytes('y.tif').equals(bytes('other.tif')), 'another seed, another y');

    const s = JSON.parse(readFileSync(join(dir, 'y.json'), 'utf8')) as Sidecar;
    assert.equal(s.seed, 4);
    assert.deepEqual(Object.keys(s.parameters).sort(), ['bits', 'fc', 'gain', 'saltPepper', 'sigma', 'thetaMax', 'zernike']);
    assert.deepEqual([...s.drawn].sort(), ['bits', 'fc', 'gain', 'saltPepper', 'sigma', 'thetaMax', 'zernike']);
    assert.deepEqual(s.given, []);
    const p = s.parameters;
    const inRange = (v: number, r: readonly [number, number]) => v >= r[0] && v <= r[1];
    assert.ok(inRange(p.fc, DEFAULT_PRIOR.fc) && p.fc === s.optics.fc, `fc ${p.fc}`);
    assert.ok(inRange(p.thetaMax!, DEFAULT_PRIOR.thetaMax));
    assert.ok(inRange(p.gain, DEFAULT_PRIOR.gain) && inRange(p.sigma, DEFAULT_PRIOR.sigma) && inRange(p.saltPepper, DEFAULT_PRIOR.saltPepper));
    assert.ok(DEFAULT_PRIOR.bits.includes(p.bits));
    assert.deepEqual(p.zernike.map((z) => z.noll), [4, 5, 6, 7, 8, 9, 10, 11]);
    for (const z of p.zernike) assert.ok(Math.abs(z.waves) <= p.thetaMax!);
    assert.deepEqual([s.output.width, s.output.height, s.output.dtype, s.output.boundary], [W - 20, H - 20, 'float32', 'valid']);
    assert.equal(s.input.dtype, 'uint16');
    assert.equal(s.input.scaling.divisor, 65535);
    assert.equal(s.input.width, W);
    assert.equal(s.optics.psfSize, 21);
    assert.deepEqual(s.outputs, { y: 'y.tif', psf: 'y-psf.tif', sidecar: 'y.json' });

    // The PSF written is the library's for the recorded parameters.
    const h = readFloat(join(dir, 'y-psf.tif'));
    assert.equal(h.width, 21);
    assert.ok(Math.abs(sum(h.data) - 1) < 1e-5);
    const expected = tidy(() => {
      const optics = resolveOptics({ fc: p.fc, psfSize: 21 });
      return psfFromZernike(optics, tensor(p.zernike.map((z) => z.waves), [1, 8], { dtype: 'float64' })).data() as Float64Array;
    });
    assert.ok(maxAbsDiff(h.data, expected) < 1e-6 * Math.max(...expected));
    // `psfid psf --random` draws fc, θmax and θ as simulate does: same seed and flags, same PSF.
    assert.ok(maxAbsDiff(readFloat(join(dir, 'psf.tif')).data, h.data) < 1e-7 * Math.max(...expected));
  });

  for (const boundary of ['valid'] as const) {
    test(`no noise (--gain 0 --sigma 0 --bits 0 --salt-pepper 0), ${boundary}: y equals blur(x/65535, h) computed with the library`, async () => {
      const dir = folder();
      const r = await psfid(
        ['simulate', input, '--out', 'clean.tif', '--psf-out', 'h.tif', '--fc', '0.2', '--zernike', '4:0.1,8:0.05', '--size', '15', '--boundary', boundary, '--gain', '0', '--sigma', '0', '--bits', '0', '--salt-pepper', '0'],
        dir,
      );
      assertOk(r);
      assert.deepEqual(listDir(dir), ['clean.json', 'clean.tif', 'h.tif']);
      const y = readFloat(join(dir, 'clean.tif'));
      const size = boundary === 'valid' ? [W - 14, H - 14] : [W, H];
      assert.deepEqual([y.width, y.height], size);
      const expected = expectedClean(0.2, 15, [4, 5, 6, 7, 8, 9, 10, 11], [0.1, 0, 0, 0, 0.05, 0, 0, 0], boundary);
      const err = maxAbsDiff(y.data, expected);
      assert.ok(err < 1e-5, `max |y − blur(x/65535, h)| = ${err}`);
      const s = JSON.parse(readFileSync(join(dir, 'clean.json'), 'utf8')) as Sidecar;
      assert.deepEqual(s.drawn, []);
      assert.deepEqual(s.given, ['fc', 'zernike', 'gain', 'sigma', 'bits', 'saltPepper']);
      assert.equal(s.parameters.thetaMax, null);
      assert.equal(s.parameters.fc, 0.2);
      assert.equal(s.optics.fcSource, '--fc');
      assert.deepEqual([s.parameters.gain, s.parameters.sigma, s.parameters.bits, s.parameters.saltPepper], [0, 0, 0, 0]);
      assert.deepEqual(s.outputs, { y: 'clean.tif', psf: 'h.tif', sidecar: 'clean.json' });
    });
  }

  test('a float image in camera units (values above 1) is divided by its maximum, not clipped to a two-level mask; the sidecar records the divisor', async () => {
    const dir = folder();
    // the specimen as float32 counts (a float export of 16-bit data): up to 0.97 × 65535 × 0.7 ≈ 44,500
    const counts = Float32Array.from(specimen(), (v) => 0.7 * v);
    const max = counts.reduce((a, b) => Math.max(a, b), 0);
    writeTiff(join(dir, 'counts.tif'), { width: W, height: H, planes: [counts] });
    const r = await psfid(['simulate', 'counts.tif', '--out', 'y.tif', ...OPTICS, '--boundary', 'circular', ...NO_NOISE], dir);
    assertOk(r);
    assert.doesNotMatch(r.stderr, /warning/);
    const y = readFloat(join(dir, 'y.tif'));
    const expected = naiveBlur(Float64Array.from(counts, (v) => v / max), W, H, cliPsf, S, 'circular');
    const err = maxAbsDiff(y.data, expected);
    assert.ok(err < 2e-6, `max |y − naive blur of x / max| = ${err}`);
    const sidecar = JSON.parse(readFileSync(join(dir, 'y.json'), 'utf8')) as Sidecar;
    assert.ok(Math.abs(sidecar.input.scaling.divisor / max - 1) < 1e-6, `${sidecar.input.scaling.divisor} vs ${max}`);
    assert.match(sidecar.input.scaling.rule, /the data's maximum/);
    // with noise and 8 bits, y keeps its grey levels (it was 0 or 1 everywhere: everything above 1 clipped)
    assertOk(await psfid(['simulate', 'counts.tif', '--out', 'n.tif', ...OPTICS, '--gain', '0.001', '--sigma', '0.001', '--bits', '8', '--salt-pepper', '0', '--seed', '1'], dir));
    assert.ok(new Set(readFloat(join(dir, 'n.tif')).data).size > 50);
  });

  test('--na and --wavelength-nm take the pixel size the input states (as identify completes them from a file); an input that states none is refused naming --pixel-size-nm', async () => {
    const dir = folder();
    writeTiff(join(dir, 'cal.tif'), { width: W, height: H, planes: [specimen()] }, { pixelSizeNm: 65 });
    const r = await psfid(['simulate', 'cal.tif', '--na', '1.4', '--wavelength-nm', '520', '--size', '15', ...NO_NOISE, '--out', 'y.tif'], dir);
    assertOk(r);
    const s = JSON.parse(readFileSync(join(dir, 'y.json'), 'utf8')) as Sidecar & { optics: { pixelSizeNm: number; pixelSizeSource: string } };
    assert.ok(Math.abs(s.parameters.fc - (1.4 * 65) / 520) < 1e-12, `fc ${s.parameters.fc}`);
    assert.deepEqual([s.optics.pixelSizeNm, s.optics.pixelSizeSource], [65, "the input's metadata"]);
    assert.equal(readImage(join(dir, 'y.tif')).metadata.pixelSizeNm, 65);
    // the flag still wins over the file
    assertOk(await psfid(['simulate', 'cal.tif', '--na', '1.4', '--wavelength-nm', '520', '--pixel-size-nm', '80', '--size', '15', ...NO_NOISE, '--out', 'z.tif'], dir));
    const z = JSON.parse(readFileSync(join(dir, 'z.json'), 'utf8')) as Sidecar & { optics: { pixelSizeSource: string } };
    assert.ok(Math.abs(z.parameters.fc - (1.4 * 80) / 520) < 1e-12);
    assert.equal(z.optics.pixelSizeSource, '--pixel-size-nm');
    const before = listDir(dir);
    assertError(await psfid(['simulate', input, '--na', '1.4', '--wavelength-nm', '520', '--out', 'n.tif'], dir), 2, ['--pixel-size-nm']);
    assert.deepEqual(listDir(dir), before);
  });

  for (const boundary of ['circular', 'reflect'] as const) {
    test(`--boundary ${boundary}, no noise: y is H×W and equals a naive ${boundary} convolution of x/65535 with the PSF of \`psfid psf\``, async () => {
      const dir = folder();
      const r = await psfid(['simulate', input, '--out', 'y.tif', ...OPTICS, '--boundary', boundary, ...NO_NOISE], dir);
      assertOk(r);
      const y = readFloat(join(dir, 'y.tif'));
      assert.deepEqual([y.width, y.height], [W, H]);
      assert.ok(maxAbsDiff(readFloat(join(dir, 'y-psf.tif')).data, cliPsf) < 1e-7, 'simulate and psf give the same PSF');
      const x = Float64Array.from(specimen(), (v) => v / 65535);
      const expected = naiveBlur(x, W, H, cliPsf, S, boundary);
      const err = maxAbsDiff(y.data, expected);
      assert.ok(err < 2e-6, `max |y − naive ${boundary} blur| = ${err}`);
      // The reference tells the modes apart: at the edges they differ by far more than the tolerance.
      const other = naiveBlur(x, W, H, cliPsf, S, boundary === 'circular' ? 'reflect' : 'circular');
      assert.ok(maxAbsDiff(other, expected) > 1e-2);
      const sidecar = JSON.parse(readFileSync(join(dir, 'y.json'), 'utf8')) as Sidecar;
      assert.deepEqual([sidecar.output.width, sidecar.output.height, sidecar.output.boundary], [W, H, boundary]);
    });
  }

  test('--plane k of a 3-plane TIFF: y is plane k blurred, the sidecar records it; --plane 3 is a usage error naming the flag', async () => {
    const dir = folder();
    // Each plane a different pattern, so that blurring another plane cannot pass.
    const planes = [0, 1, 2].map((k) => Uint16Array.from(specimen(), (v, i) => Math.round(v * (1 - 0.3 * k) + 9000 * k * (1 + Math.sin((i % W) / (2 + k))))));
    writeTiff(join(dir, 'stack.tif'), { width: W, height: H, planes });
    const [r, bad] = await Promise.all([
      psfid(['simulate', 'stack.tif', '--out', 'y.tif', '--plane', '2', ...OPTICS, ...NO_NOISE], dir),
      psfid(['simulate', 'stack.tif', '--out', 'z.tif', '--plane', '3', ...OPTICS, ...NO_NOISE], dir),
    ]);
    assertOk(r);
    assertError(bad, 2, ['--plane', '3 plane(s)']);
    assert.deepEqual(listDir(dir), ['stack.tif', 'y-psf.tif', 'y.json', 'y.tif']);
    const y = readFloat(join(dir, 'y.tif'));
    assert.deepEqual([y.width, y.height], [W - S + 1, H - S + 1]);
    const reference = (k: number) => naiveBlur(Float64Array.from(planes[k]!, (v) => v / 65535), W, H, cliPsf, S, 'valid');
    const err = maxAbsDiff(y.data, reference(2));
    assert.ok(err < 2e-6, `max |y − naive blur of plane 2| = ${err}`);
    for (const k of [0, 1]) assert.ok(maxAbsDiff(y.data, reference(k)) > 1e-2, `plane ${k} is not plane 2`);
    const sidecar = JSON.parse(readFileSync(join(dir, 'y.json'), 'utf8')) as Sidecar & { input: { planes: number } };
    assert.deepEqual([sidecar.input.plane, sidecar.input.planes], [2, 3]);
    assert.match(r.stdout, /plane 2/);
  });

  test('the share of the PSF\'s energy inside its window is in the sidecar, as `psfid psf` reports it; strong defocus warns', async () => {
    const dir = folder();
    const defocus = ['--fc', '0.2', '--zernike', '4:1', '--size', '21'];
    const [ok, bad, psf] = await Promise.all([
      psfid(['simulate', input, '--out', 'y.tif', ...OPTICS, ...NO_NOISE], dir),
      psfid(['simulate', input, '--out', 'z.tif', ...defocus, ...NO_NOISE], dir),
      psfid(['psf', ...defocus, '--out', 'h.tif', '--json'], dir),
    ]);
    for (const r of [ok, bad, psf]) assertOk(r);
    assert.equal(ok.stderr, '');
    const y = JSON.parse(readFileSync(join(dir, 'y.json'), 'utf8')) as Sidecar;
    assert.ok(y.optics.psfEnergyInWindow >= 0.9 && y.optics.psfEnergyInWindow < 1, `${y.optics.psfEnergyInWindow}`);
    assert.deepEqual(y.warnings, []);
    // Geometric optics: a disk of radius 4√3·θ/fc = 34.6 pixels, of which 21²/(πR²) = 12 % falls in the 21² window.
    const z = JSON.parse(readFileSync(join(dir, 'z.json'), 'utf8')) as Sidecar;
    const truth = (21 * 21) / (Math.PI * ((4 * Math.sqrt(3)) / 0.2) ** 2);
    assert.ok(Math.abs(z.optics.psfEnergyInWindow / truth - 1) < 0.1, `${z.optics.psfEnergyInWindow} vs ${truth}`);
    assert.equal(z.optics.psfEnergyInWindow, (JSON.parse(psf.stdout) as { energyInWindow: number }).energyInWindow);
    const lines = bad.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, bad.stderr);
    assert.match(lines[0]!, /^warning: only 12 % of the PSF's energy falls inside the 21×21 window: .*truncated; --size \d+/);
    assert.deepEqual(z.warnings, [lines[0]!.slice('warning: '.length)]);
  });

  test('--plane takes identify\'s specs (resolvePlane): sharpest and auto pick the in-focus z of a z-stack, the sidecar says how; a bad spec is a usage error', async () => {
    const dir = folder();
    // A z-stack (ImageJ slices=3) in focus at z 1: the other slices are the specimen box-blurred (less gradient energy).
    const sharp = specimen();
    const boxed = (r: number): Uint16Array =>
      Uint16Array.from(sharp, (_, i) => {
        const [x0, y0] = [i % W, Math.floor(i / W)];
        let acc = 0;
        let k = 0;
        for (let dy = -r; dy <= r; dy++) {
          for (let dx = -r; dx <= r; dx++) {
            acc += sharp[Math.min(H - 1, Math.max(0, y0 + dy)) * W + Math.min(W - 1, Math.max(0, x0 + dx))]!;
            k++;
          }
        }
        return Math.round(acc / k);
      });
    const planes = [boxed(3), sharp, boxed(2)];
    writeTiff(join(dir, 'z.tif'), { width: W, height: H, planes }, { slices: 3 });
    const [sharpest, auto, bad] = await Promise.all([
      psfid(['simulate', 'z.tif', '--out', 's.tif', '--plane', 'sharpest', ...OPTICS, ...NO_NOISE], dir),
      psfid(['simulate', 'z.tif', '--out', 'a.tif', '--plane', 'auto', ...OPTICS, ...NO_NOISE], dir),
      psfid(['simulate', 'z.tif', '--out', 'b.tif', '--plane', 'sharp', ...OPTICS, ...NO_NOISE], dir),
    ]);
    assertOk(sharpest);
    assertOk(auto);
    assertError(bad, 2, ['--plane must be', 'sharpest[:c]', "got 'sharp'"]);
    assert.deepEqual(listDir(dir), ['a-psf.tif', 'a.json', 'a.tif', 's-psf.tif', 's.json', 's.tif', 'z.tif']);
    const reference = naiveBlur(Float64Array.from(sharp, (v) => v / 65535), W, H, cliPsf, S, 'valid');
    for (const [name, r] of [['s', sharpest], ['a', auto]] as const) {
      const err = maxAbsDiff(readFloat(join(dir, `${name}.tif`)).data, reference);
      assert.ok(err < 2e-6, `${name}: max |y − naive blur of plane 1| = ${err}`);
      const sidecar = JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Sidecar & { input: { planeChoice: string } };
      assert.equal(sidecar.input.plane, 1);
      assert.match(sidecar.input.planeChoice, /sharpest: z 1 of 3 in channel 0/);
      assert.match(r.stdout, /plane 1 \((auto → )?sharpest: z 1 of 3/);
    }
  });

  test('the TIFFs record the cut-off: `identify y.tif` without flags uses the simulation\'s fc (psfid.fc, or NA/λ/pixel size), reported as from the metadata; flags override it', async () => {
    const dir = folder();
    const microscope = ['--na', '1.4', '--wavelength-nm', '520', '--pixel-size-nm', '65'];
    const sim = (out: string, optics: string[]) => psfid(['simulate', input, '--out', out, ...optics, '--zernike', '4:0.1', '--size', '15', '--boundary', 'circular', '--seed', '2'], dir);
    const drawn = (out: string) => psfid(['simulate', input, '--out', out, '--size', '15', '--boundary', 'circular', '--seed', '2'], dir);
    const runs = await Promise.all([sim('f.tif', ['--fc', '0.2']), sim('m.tif', microscope), drawn('d.tif'), sim('u.tif', ['--fc', '0.3', '--allow-undersampling'])]);
    for (const r of runs) assertOk(r);
    const sidecarFc = (name: string) => (JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Sidecar).parameters.fc;

    // What the files state (y and its PSF alike).
    for (const file of ['f.tif', 'f-psf.tif']) {
      const md = readImage(join(dir, file)).metadata;
      assert.equal(md.fc, 0.2, file);
      assert.match(md.imagej?.info ?? '', /^psfid\.fc = 0\.2$/m);
      assert.equal(md.numericalAperture, undefined);
    }
    assert.equal(readImage(join(dir, 'd.tif')).metadata.fc, sidecarFc('d'));
    for (const file of ['m.tif', 'm-psf.tif']) {
      const md = readImage(join(dir, file)).metadata;
      assert.equal(md.fc, undefined, `${file}: the microscope, not psfid.fc`);
      assert.deepEqual([md.numericalAperture, md.emissionWavelengthNm], [1.4, 520], file);
      assert.ok(Math.abs(md.pixelSizeNm! - 65) < 1e-9, `${file}: ${md.pixelSizeNm}`);
    }

    const identify = (file: string, flags: string[] = []) => psfid(['identify', file, '--out', `psf-${file.replace('.tif', '')}-${flags.length}.tif`, '--patch-size', '64', '--max-patches', '1', '--no-readout', '--json', ...flags], dir);
    const [f, m, d, fOver, mOver, partial, under] = await Promise.all([
      identify('f.tif'),
      identify('m.tif'),
      identify('d.tif'),
      identify('f.tif', ['--fc', '0.15']),
      identify('m.tif', ['--na', '1.2']),
      identify('f.tif', ['--na', '1.4', '--wavelength-nm', '520']),
      identify('u.tif'),
    ]);
    const fcOf = (r: Awaited<ReturnType<typeof psfid>>) => (JSON.parse(r.stdout) as { fc: { value: number; source: string } }).fc;
    for (const r of [f, m, d, fOver, mOver]) assertOk(r);
    assert.deepEqual(fcOf(f), { value: 0.2, source: 'metadata: psfid.fc (the cut-off psfid simulate or psf recorded)' });
    assert.deepEqual(fcOf(d), { value: sidecarFc('d'), source: 'metadata: psfid.fc (the cut-off psfid simulate or psf recorded)' });
    assert.ok(Math.abs(fcOf(m).value - sidecarFc('m')) < 1e-12, `${fcOf(m).value} vs ${sidecarFc('m')}`);
    assert.equal(fcOf(m).source, 'NA·pixel/λ = 1.4·65 nm/520 nm (NA: metadata, wavelength: metadata, pixel size: metadata)');
    // Flags override the file: --fc, and any of the microscope's terms (the others still come from the file).
    assert.deepEqual(fcOf(fOver), { value: 0.15, source: 'flag --fc' });
    assert.ok(Math.abs(fcOf(mOver).value - (1.2 * 65) / 520) < 1e-12);
    assert.match(fcOf(mOver).source, /\(NA: flag, wavelength: metadata, pixel size: metadata\)$/);
    // The input states no pixel size: --na and --wavelength-nm ask for NA·pixel/λ, which the file cannot complete.
    assertError(partial, 2, ['f.tif: cannot tell the cut-off frequency', '--pixel-size-nm', "psfid.fc = 0.2 gives way to --na, --wavelength-nm and --pixel-size-nm"]);
    // A recorded fc beyond Nyquist is refused as one read from the file is, naming it.
    assertError(under, 2, ["u.tif: fc = 0.3 cycles/pixel (psfid.fc in the file's metadata), above the Nyquist limit 0.25: pass --allow-undersampling", 'Flags override the file']);
    assert.deepEqual(
      listDir(dir).filter((n) => n.startsWith('psf-')),
      ['psf-d-0.tif', 'psf-f-0.tif', 'psf-f-2.tif', 'psf-m-0.tif', 'psf-m-2.tif'],
    );
  });

  test('--size above 63 needs no --pupil-size (the grid follows, 4·S); --zernike "" and piston are usage errors naming the flag, with no output', async () => {
    const dir = folder();
    const [large, empty, piston] = await Promise.all([
      psfid(['simulate', input, '--out', 'y.tif', '--fc', '0.2', '--size', '65', '--boundary', 'circular', ...NO_NOISE], dir),
      psfid(['simulate', input, '--out', 'e.tif', '--fc', '0.2', '--zernike', '', ...NO_NOISE], dir),
      psfid(['simulate', input, '--out', 'p.tif', '--fc', '0.2', '--zernike-ansi', '0:0.2', ...NO_NOISE], dir),
    ]);
    assertOk(large);
    const s = JSON.parse(readFileSync(join(dir, 'y.json'), 'utf8')) as Sidecar;
    assert.deepEqual([s.optics.psfSize, s.optics.pupilSize], [65, 260]);
    assert.equal(readFloat(join(dir, 'y-psf.tif')).width, 65);
    assertError(empty, 2, ['--zernike is empty']);
    assertError(piston, 2, ['--zernike-ansi', 'ANSI 0 (piston)', 'does not change an intensity PSF']);
    assert.deepEqual(listDir(dir), ['y-psf.tif', 'y.json', 'y.tif']);
  });

  /** Colour PNGs: [label, bit depth, channels]; alpha (4th channel) must be ignored. */
  const colour: [string, 8 | 16, 3 | 4][] = [
    ['an 8-bit RGB PNG', 8, 3],
    ['a 16-bit RGBA PNG', 16, 4],
  ];
  for (const [label, depth, channels] of colour) {
    test(`${label}: y is the blur of the luminance (0.2989 R + 0.5870 G + 0.1140 B) / ${2 ** depth - 1}${channels === 4 ? ', alpha dropped' : ''}`, async () => {
      const dir = folder();
      const max = 2 ** depth - 1;
      const n = W * H;
      // Three unlike channels (a ramp, waves, a checkerboard) and a varying alpha.
      const rgba = (i: number): number[] => {
        const [col, row] = [i % W, Math.floor(i / W)];
        return [col / (W - 1), 0.5 + 0.45 * Math.sin(row / 3.7), (col >> 3) % 2 === (row >> 3) % 2 ? 0.9 : 0.1, 0.2 + 0.8 * (row / (H - 1))];
      };
      const data = depth === 8 ? new Uint8Array(n * channels) : new Uint16Array(n * channels);
      for (let i = 0; i < n; i++) {
        const v = rgba(i);
        for (let c = 0; c < channels; c++) data[i * channels + c] = Math.round(v[c]! * max);
      }
      writePng(join(dir, 'colour.png'), { width: W, height: H, channels, data });
      const r = await psfid(['simulate', 'colour.png', '--out', 'y.tif', ...OPTICS, ...NO_NOISE], dir);
      assertOk(r);
      const gray = new Float64Array(n);
      for (let i = 0; i < n; i++) {
        const k = i * channels;
        gray[i] = (0.2989 * data[k]! + 0.587 * data[k + 1]! + 0.114 * data[k + 2]!) / max;
      }
      const y = readFloat(join(dir, 'y.tif'));
      const err = maxAbsDiff(y.data, naiveBlur(gray, W, H, cliPsf, S, 'valid'));
      assert.ok(err < 2e-6, `max |y − naive blur of the luminance| = ${err}`);
      // Weights matter here: the plain mean of R, G and B gives another image.
      const mean = Float64Array.from(gray, (_, i) => (data[i * channels]! + data[i * channels + 1]! + data[i * channels + 2]!) / (3 * max));
      assert.ok(maxAbsDiff(y.data, naiveBlur(mean, W, H, cliPsf, S, 'valid')) > 1e-2);
      const sidecar = JSON.parse(readFileSync(join(dir, 'y.json'), 'utf8')) as Sidecar & { input: { colorModel: string; scaling: { colour?: string } } };
      assert.equal(sidecar.input.colorModel, channels === 3 ? 'rgb' : 'rgba');
      assert.equal(sidecar.input.dtype, depth === 8 ? 'uint8' : 'uint16');
      assert.equal(sidecar.input.scaling.divisor, max);
      assert.match(sidecar.input.scaling.colour ?? '', /0\.2989 R \+ 0\.587 G \+ 0\.114 B/);
    });
  }

  /** Bad inputs: [label, file name, how to create it (null: missing), extra flags, exit code, mentions]. */
  const bad: [string, string, ((path: string) => void) | null, string[], number, string[]][] = [
    ['a truncated TIFF', 'trunc.tif', (p) => writeFileSync(p, readFileSync(input).subarray(0, 4000)), [], 1, ['trunc.tif']],
    ['an empty file', 'empty.tif', (p) => writeFileSync(p, ''), [], 1, ['empty.tif', 'empty']],
    ['a missing file', 'missing.tif', null, [], 1, ['missing.tif', 'not found']],
    ['a text file named .tif', 'text.tif', (p) => writeFileSync(p, 'these are not the pixels you are looking for\n'), [], 1, ['text.tif', 'unsupported format']],
    [
      'NaN pixels',
      'nan.tif',
      (p) => {
        const d = new Float32Array(W * H).fill(0.5);
        d[7 * W + 9] = NaN;
        writeTiff(p, { width: W, height: H, planes: [d] });
      },
      [],
      1,
      ['nan.tif', 'NaN', 'column 9, row 7'],
    ],
    ['an image smaller than the PSF', 'small.tif', (p) => writeTiff(p, { width: 20, height: 40, planes: [new Uint16Array(800).fill(1000)] }), [], 1, ['small.tif', '20×40', '31×31']],
    ['a missing output folder', 'ok.tif', (p) => copyFileSync(input, p), ['--out', join('nowhere', 'y.tif')], 1, [join('nowhere', 'y.tif'), 'folder']],
  ];
  for (const [what, name, make, flags, code, mentions] of bad) {
    test(`${what}: exit ${code}, one line naming it, no output files`, async () => {
      const dir = folder();
      if (make) make(join(dir, name));
      const initial = listDir(dir);
      const out = flags.includes('--out') ? [] : ['--out', 'y.tif'];
      const r = await psfid(['simulate', name, ...out, ...flags], dir);
      assertError(r, code, mentions);
      assert.deepEqual(listDir(dir), initial, 'no output (and no temporary file) may be left');
    });
  }
});
