// Write then read: values identical, calibration preserved, writes atomic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ImageIOError,
  buildImageJDescription,
  buildOpticsInfo,
  cutoffFromInfo,
  decodeImage,
  encodeTiff,
  findNonFinite,
  parseImageJDescription,
  readImage,
  toRational,
  writeFileAtomic,
  writePng,
  writeTiff,
  type PixelArray,
} from '../../src/io/index.js';
import { firstDifference, makeTempDir, removeDir } from './helpers.js';

const dir = makeTempDir('roundtrip');
process.on('exit', () => removeDir(dir));

function planesOf<T extends PixelArray>(n: number, len: number, make: (z: number, i: number) => number, C: { from(a: ArrayLike<number>): T }): T[] {
  return Array.from({ length: n }, (_, z) => C.from(Array.from({ length: len }, (_, i) => make(z, i))));
}

const W = 19;
const H = 11;
const cases = [
  { name: 'float32 single', planes: planesOf(1, W * H, (z, i) => Math.fround(Math.cos(i) * 1e4 + 1e-3), Float32Array) },
  { name: 'float32 stack', planes: planesOf(7, W * H, (z, i) => Math.fround((i - 100) / (z + 1.5)), Float32Array) },
  { name: 'uint16 single', planes: planesOf(1, W * H, (z, i) => (i * 40503) % 65536, Uint16Array) },
  { name: 'uint16 stack', planes: planesOf(4, W * H, (z, i) => (i * 7 + z * 4093) % 4096, Uint16Array) },
  { name: 'uint8 single', planes: planesOf(1, W * H, (z, i) => (i * 31) % 256, Uint8Array) },
  { name: 'uint8 stack', planes: planesOf(3, W * H, (z, i) => (i + z * 85) % 256, Uint8Array) },
];

for (const c of cases) {
  test(`round trip ${c.name}: values and pixel size`, () => {
    const p = join(dir, `${c.name.replace(' ', '_')}.tif`);
    writeTiff(p, { width: W, height: H, planes: c.planes }, { pixelSizeNm: 65, zSpacingNm: 250 });
    const back = readImage(p);
    assert.equal(back.format, 'tiff');
    assert.deepEqual([back.width, back.height, back.samplesPerPixel, back.planes.length], [W, H, 1, c.planes.length]);
    assert.equal(back.planes[0]!.constructor, c.planes[0]!.constructor);
    c.planes.forEach((pl, i) => assert.equal(firstDifference(back.planes[i]!, pl), -1, `plane ${i}`));
    assert.equal(back.metadata.pixelSizeNm, 65);
    assert.equal(back.metadata.pixelSizeYNm, 65);
    assert.equal(back.metadata.zSpacingNm, 250);
    assert.equal(back.metadata.pixelSizeUnit, 'micron');
    assert.equal(back.metadata.sizeZ, c.planes.length);
  });
}

test('pixel sizes that are not exact in binary survive within 1e-12', () => {
  for (const nm of [65, 107.5, 1000 / 3, 6.45, 0.1, 12345.678, 40]) {
    const p = join(dir, 'px.tif');
    writeTiff(p, { width: 2, height: 2, planes: [new Uint16Array(4)] }, { pixelSizeNm: nm, pixelSizeYNm: nm * 2 });
    const m = readImage(p).metadata;
    assert.ok(Math.abs(m.pixelSizeNm! / nm - 1) < 1e-12, `${nm} -> ${m.pixelSizeNm}`);
    assert.ok(Math.abs(m.pixelSizeYNm! / (2 * nm) - 1) < 1e-12, `y ${2 * nm} -> ${m.pixelSizeYNm}`);
  }
});

test('toRational finds exact fractions and stays within uint32', () => {
  assert.deepEqual(toRational(1000 / 65), [200, 13]);
  assert.deepEqual(toRational(10), [10, 1]);
  assert.deepEqual(toRational(0.5), [1, 2]);
  for (const x of [Math.PI, 1 / 7e-9, 1e-7, 123456.789, 2 ** 33]) {
    const [n, d] = toRational(x);
    assert.ok(n <= 0xffffffff && d <= 0xffffffff && n >= 1 && d >= 1, `${x}: ${n}/${d}`);
    if (x < 1e9 && x > 1e-3) assert.ok(Math.abs(n / d / x - 1) < 1e-15, `${x}: ${n}/${d}`);
  }
});

test('uncalibrated images carry no pixel size; metadata from a read image is reused', () => {
  const p = join(dir, 'nocal.tif');
  writeTiff(p, { width: 3, height: 2, planes: [new Float32Array(6)] });
  const m = readImage(p).metadata;
  assert.equal(m.pixelSizeNm, undefined);
  assert.equal(m.resolution, undefined);
  // A read image written again keeps its calibration and hyperstack shape.
  const src = join(dir, 'hyper.tif');
  const planes = planesOf(12, 6, (z, i) => z * 10 + i, Uint16Array);
  writeTiff(src, { width: 3, height: 2, planes }, { pixelSizeNm: 80, channels: 2, frames: 2, zSpacingNm: 300 });
  const img = readImage(src);
  assert.deepEqual([img.metadata.sizeC, img.metadata.sizeZ, img.metadata.sizeT], [2, 3, 2]);
  const copy = join(dir, 'hyper-copy.tif');
  writeTiff(copy, img);
  const again = readImage(copy);
  assert.deepEqual([again.metadata.sizeC, again.metadata.sizeZ, again.metadata.sizeT], [2, 3, 2]);
  assert.equal(again.metadata.pixelSizeNm, 80);
  assert.equal(again.metadata.zSpacingNm, 300);
  assert.deepEqual(again.metadata.imagej?.raw['hyperstack'], 'true');
});

test('RGB uint8 round trip', () => {
  const p = join(dir, 'rgb.tif');
  const data = Uint8Array.from({ length: W * H * 3 }, (_, i) => (i * 13) % 256);
  writeTiff(p, { width: W, height: H, planes: [data], samplesPerPixel: 3 }, { pixelSizeNm: 500 });
  const back = readImage(p);
  assert.equal(back.colorModel, 'rgb');
  assert.equal(firstDifference(back.planes[0]!, data), -1);
});

test('the writer refuses what it cannot write, before touching the disk', () => {
  const p = join(dir, 'refused.tif');
  const bad: [string, () => void][] = [
    ['int32 data', () => writeTiff(p, { width: 2, height: 2, planes: [new Int32Array(4)] })],
    ['float64 data', () => writeTiff(p, { width: 2, height: 2, planes: [new Float64Array(4)] })],
    ['wrong length', () => writeTiff(p, { width: 2, height: 2, planes: [new Uint16Array(5)] })],
    ['mixed types', () => writeTiff(p, { width: 2, height: 2, planes: [new Uint16Array(4), new Uint8Array(4)] })],
    ['no planes', () => writeTiff(p, { width: 2, height: 2, planes: [] })],
    ['RGB float', () => writeTiff(p, { width: 2, height: 2, planes: [new Float32Array(12)], samplesPerPixel: 3 })],
    ['bad pixel size', () => writeTiff(p, { width: 2, height: 2, planes: [new Uint8Array(4)] }, { pixelSizeNm: -1 })],
    ['bad hyperstack', () => writeTiff(p, { width: 2, height: 2, planes: [new Uint8Array(4), new Uint8Array(4)] }, { channels: 3 })],
  ];
  for (const [what, fn] of bad) {
    assert.throws(fn, (e: unknown) => e instanceof ImageIOError && e.code === 'invalid-image' && e.path === p, what);
  }
  assert.ok(!existsSync(p));
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('psfid-tmp')), []);
});

test('atomic writes: no temporary file left, an existing file survives a failed write', () => {
  const p = join(dir, 'keep.tif');
  writeTiff(p, { width: 2, height: 1, planes: [Uint16Array.of(1, 2)] });
  const before = readFileSync(p);
  assert.throws(() => writeTiff(p, { width: 2, height: 1, planes: [Uint16Array.of(1, 2, 3)] }), ImageIOError);
  assert.deepEqual(readFileSync(p), before, 'the old file is untouched');
  // The OS refuses the write: a folder that does not exist.
  const missing = join(dir, 'no-such-folder', 'x.tif');
  assert.throws(
    () => writeTiff(missing, { width: 2, height: 1, planes: [Uint16Array.of(1, 2)] }),
    (e: unknown) => e instanceof ImageIOError && e.code === 'write-failed' && e.message.startsWith(missing),
  );
  // The rename fails (the target is a non-empty folder): the temporary file is removed, the folder stays.
  const target = join(dir, 'a-folder.png');
  mkdirSync(target);
  writeFileSync(join(target, 'inside'), 'x');
  assert.throws(
    () => writePng(target, { width: 1, height: 1, channels: 1, data: Uint8Array.of(7) }),
    (e: unknown) => e instanceof ImageIOError && e.code === 'write-failed',
  );
  assert.ok(existsSync(join(target, 'inside')));
  assert.deepEqual(readdirSync(dir).filter((f) => f.includes('psfid-tmp')), []);
  // writeFileAtomic replaces an existing file in one step.
  writeFileAtomic(join(dir, 'marker'), new Uint8Array([1]));
  writeFileAtomic(join(dir, 'marker'), new Uint8Array([2, 3]));
  assert.deepEqual([...readFileSync(join(dir, 'marker'))], [2, 3]);
});

test('encodeTiff writes the ImageJ description tifffile and Fiji expect', () => {
  const bytes = encodeTiff({ width: 4, height: 3, planes: [new Float32Array(12), new Float32Array(12)] }, { pixelSizeNm: 100, zSpacingNm: 500 });
  const img = decodeImage(bytes);
  const d = img.metadata.description!;
  assert.ok(d.startsWith('ImageJ=1.11a\nimages=2\nslices=2\n'), JSON.stringify(d));
  assert.match(d, /\nunit=micron\n/);
  assert.match(d, /\nspacing=0\.5\n/);
  assert.deepEqual(img.metadata.resolution, { x: 10, y: 10, unit: 'none' });
  const parsed = parseImageJDescription(buildImageJDescription({ images: 6, channels: 2, slices: 3, unit: 'micron', spacing: 1e-7 }));
  assert.deepEqual([parsed.images, parsed.channels, parsed.slices, parsed.hyperstack, parsed.spacing], [6, 2, 3, true, 1e-7]);
});

test('ImageJ Info (IJMetadata tags): written on the first page, read back verbatim; psfid.fc, LensNA and EmissionWavelength give fc, NA and wavelength', () => {
  const info = buildOpticsInfo({ fc: 0.1875, numericalAperture: 1.4, emissionWavelengthNm: 520 });
  assert.equal(info, 'psfid.fc = 0.1875\nLensNA = 1.4\nEmissionWavelength = 520\n');
  assert.equal(buildOpticsInfo({}), '');
  const planes = [new Float32Array(12).fill(1), new Float32Array(12).fill(2)];
  const img = decodeImage(encodeTiff({ width: 4, height: 3, planes }, { pixelSizeNm: 65, info: `${info}Note = µm, ü\n` }));
  assert.equal(img.metadata.imagej?.info, `${info}Note = µm, ü\n`, 'UTF-16 text, verbatim');
  assert.deepEqual([img.metadata.fc, img.metadata.numericalAperture, img.metadata.emissionWavelengthNm], [0.1875, 1.4, 520]);
  assert.equal(img.planes.length, 2);
  assert.deepEqual([...img.planes[1]!], [...planes[1]!]);
  // No option, no Info (and no fc): never copied from the image's own metadata.
  const plain = decodeImage(encodeTiff({ width: 4, height: 3, planes, metadata: img.metadata }, {}));
  assert.equal(plain.metadata.imagej?.info, undefined);
  assert.equal(plain.metadata.fc, undefined);
  // The shortest exact decimal: a drawn fc comes back as the same double.
  const drawn = 0.1 + 0.2 / 3;
  assert.equal(decodeImage(encodeTiff({ width: 4, height: 3, planes }, { info: buildOpticsInfo({ fc: drawn }) })).metadata.fc, drawn);
  // One value, finite and positive; the key without case; other text ignored.
  assert.equal(cutoffFromInfo('PSFID.FC=0.2'), 0.2);
  assert.equal(cutoffFromInfo('psfid.fc = 0.2\npsfid.fc = 0.2'), 0.2);
  for (const bad of ['psfid.fc = 0.2\npsfid.fc = 0.25', 'psfid.fc = abc', 'psfid.fc = -0.2', 'psfid.fc = 0', 'psfid.fc =', 'my psfid.fc = 0.2', 'fc = 0.2']) {
    assert.equal(cutoffFromInfo(bad), undefined, bad);
  }
});

test('NaN and ±Inf survive a round trip and are counted, not rejected', () => {
  const p = join(dir, 'nonfinite.tif');
  const data = Float32Array.of(1, Number.NaN, Infinity, -Infinity, -0, 3.5);
  writeTiff(p, { width: 3, height: 2, planes: [data] });
  const back = readImage(p);
  assert.equal(findNonFinite(back), 3);
  assert.equal(firstDifference(back.planes[0]!, data), -1);
  assert.ok(Object.is(back.planes[0]![4], -0));
});
