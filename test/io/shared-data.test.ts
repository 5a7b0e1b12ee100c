// Real microscopy and photo files from shared/data (read in place, never copied): dimensions, dtype, samples and
// planes must match MANIFEST.tsv (whose shapes come from tifffile). Skipped visibly when the folder is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planeAxesStated, planeIndex, readImage, toFloat32Gray } from '../../src/io/index.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const DATA = [join(repoRoot, '..', 'shared', 'data'), '/work/shared/data'].find((d) => existsSync(join(d, 'MANIFEST.tsv')));
const SKIP = 'shared/data with MANIFEST.tsv is not present';

interface Row {
  path: string;
  width: number;
  height: number;
  bitDepth: string;
  axes: string;
  dims: number[];
}

function manifest(): Row[] {
  const [head, ...lines] = readFileSync(join(DATA!, 'MANIFEST.tsv'), 'utf8').trim().split('\n');
  const cols = head!.split('\t');
  const col = (r: string[], name: string) => r[cols.indexOf(name)]!;
  return lines.map((l) => {
    const r = l.split('\t');
    const [axes, dims] = col(r, 'shape_axes').split('=');
    return {
      path: col(r, 'path'),
      width: Number(col(r, 'width')),
      height: Number(col(r, 'height')),
      bitDepth: col(r, 'bit_depth'),
      axes: axes!,
      dims: dims!.split('x').map(Number),
    };
  });
}

test('real files match MANIFEST.tsv (a sample: all JPEG and non-8-bit files, every 20th other)', { skip: DATA ? false : SKIP }, async (t) => {
  const rows = manifest();
  const sample = rows.filter((r, i) => r.bitDepth !== '8' || /\.jpe?g$/i.test(r.path) || i % 20 === 0);
  assert.ok(sample.length > 40);
  for (const r of sample) {
    await t.test(r.path, () => {
      const img = readImage(join(DATA!, r.path));
      const size = (a: string) => (r.axes.includes(a) ? r.dims[r.axes.indexOf(a)]! : 1);
      const planes = r.dims.reduce((a, b) => a * b, 1) / (size('Y') * size('X') * size('S'));
      const dtype = r.bitDepth === '32f' ? 'float32' : r.bitDepth === '16' ? 'uint16' : 'uint8';
      assert.deepEqual(
        [img.width, img.height, img.dtype, img.samplesPerPixel, img.planes.length],
        [r.width, r.height, dtype, size('S'), planes],
      );
      if (r.axes.includes('C')) assert.equal(img.metadata.sizeC, size('C'), 'channels');
      if (r.axes.includes('Z')) assert.equal(img.metadata.sizeZ, size('Z'), 'slices');
      assert.equal(toFloat32Gray(img, 0, img.colorModel === 'multi' ? { sample: 0 } : {}).length, r.width * r.height);
    });
  }
});

test('NEUBIAS confocal/widefield stack: hyperstack shape and calibration', { skip: DATA ? false : SKIP }, () => {
  const p = join(DATA!, 'fluorescence/neubias/xyzc_16bit__dna_conf_wf.tif');
  if (!existsSync(p)) return;
  const img = readImage(p);
  const m = img.metadata;
  assert.deepEqual([img.width, img.height, img.dtype, img.planes.length], [133, 130, 'uint16', 90]);
  assert.deepEqual([m.sizeC, m.sizeZ, m.sizeT, m.dimensionOrder], [2, 45, 1, 'XYCZT']);
  assert.equal(m.pixelSizeUnit, 'micron');
  assert.ok(m.pixelSizeNm! > 100 && m.pixelSizeNm! < 2000, `pixel size ${m.pixelSizeNm} nm`);
  assert.ok(Math.abs(m.zSpacingNm! - 499.4126016284111) < 1e-6, `z spacing ${m.zSpacingNm}`);
  // Channel 1 (widefield) of slice 22 is plane 45.
  assert.equal(planeIndex(img, { c: 1, z: 22 }), 45);
});

test('NEUBIAS Olympus OIR export: NA and emission wavelength from the original metadata in ImageJ Info', { skip: DATA ? false : SKIP }, (t) => {
  const p = join(DATA!, 'fluorescence/neubias/xy_12bit__saturated_plant.tif');
  if (!existsSync(p)) return t.skip(`${p} is not present`);
  const m = readImage(p).metadata;
  // Its Info holds `- Objective Lens na = 0.4`, `objectiveLens naValue = 0.4` and `dyeData emissionWavelength #1 = 510`.
  assert.match(m.imagej?.info ?? '', /Objective Lens na = 0\.4/);
  assert.equal(m.numericalAperture, 0.4);
  assert.equal(m.emissionWavelengthNm, 510);
});

test('a time-lapse whose TIFF only states its shape (tifffile {"shape": [48, 130, 130]}) has plane axes not stated; ImageJ slices= has them', { skip: DATA ? false : SKIP }, (t) => {
  const p = join(DATA!, 'fluorescence/bioimageanalysisnotebooks/cancer_cell_migration_crop.tif');
  const z = join(DATA!, 'fluorescence/neubias/xyz_8bit__nucleus.tif');
  if (!existsSync(p) || !existsSync(z)) return t.skip('the files are not present');
  const lapse = readImage(p);
  assert.equal(lapse.metadata.description, '{"shape": [48, 130, 130]}');
  assert.deepEqual([lapse.planes.length, lapse.metadata.planeAxes, planeAxesStated(lapse)], [48, 'unknown', false]);
  const stack = readImage(z);
  assert.match(stack.metadata.description ?? '', /slices=7/);
  assert.deepEqual([stack.metadata.sizeZ, stack.metadata.planeAxes, planeAxesStated(stack)], [7, 'stated', true]);
});
