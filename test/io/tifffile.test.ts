// Cross-checks against tifffile (and Pillow/libtiff for the codecs tifffile cannot write without imagecodecs):
// 1. TIFFs written by python with every dtype, compression, predictor, byte order, strips/tiles, stacks, RGB,
//    ImageJ and OME metadata; the arrays they were made from are written next to them as raw little-endian bytes,
//    and our reader must reproduce them exactly.
// 2. TIFFs written by us must be read by tifffile with the same values and the ImageJ pixel size.
// Skipped (visibly) when /usr/bin/python3 cannot import tifffile and numpy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  buildOpticsInfo,
  findNonFinite,
  readImage,
  readImageAsync,
  writeTiff,
  type DType,
  type ImageStack,
} from '../../src/io/index.js';
import { concatBytes, firstDifference, makeTempDir, pythonHas, readRaw, removeDir, runPython } from './helpers.js';

const HAVE_TIFFFILE = pythonHas('tifffile, numpy');
const SKIP = 'python3 with tifffile and numpy is not available';

interface Case {
  name: string;
  dtype: DType;
  /** pages, height, width, samples */
  shape: [number, number, number, number];
  how: string;
}

// Writes <name>.tif and <name>.bin (the truth: pages x H x W x S, little-endian) for each case; prints the cases.
const GENERATE = String.raw`
import json, os, sys
import numpy as np
import tifffile
out = sys.argv[1]
rng = np.random.default_rng(1234)
cases = []
try:
    import imagecodecs  # noqa: F401
    have_codecs = True
except ImportError:
    have_codecs = False
try:
    from PIL import Image, TiffImagePlugin, features
    have_libtiff = features.check('libtiff')
except ImportError:
    have_libtiff = False

def rand(dtype, shape):
    dt = np.dtype(dtype)
    if dt.kind in 'iu':
        info = np.iinfo(dt)
        return rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dt)
    a = (rng.standard_normal(shape) * 1000).astype(dt)
    return a

def emit(name, truth, how, **kw):
    """truth: (pages, H, W, S) array in our layout; writes the tif with the given writer kwargs."""
    path = os.path.join(out, name + '.tif')
    data = kw.pop('data', None)
    writer = kw.pop('writer', 'tifffile')
    if writer == 'tifffile':
        tifffile.imwrite(path, truth if data is None else data, **kw)
    else:
        writer(path)
    np.ascontiguousarray(truth).astype(truth.dtype.newbyteorder('<')).tofile(os.path.join(out, name + '.bin'))
    p, h, w, s = (truth.shape + (1,))[:4] if truth.ndim == 3 else truth.shape
    cases.append(dict(name=name, dtype=str(truth.dtype.newbyteorder('=').name), shape=[int(p), int(h), int(w), int(s)], how=how))

dtypes = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64']
for dt in dtypes:
    a = rand(dt, (13, 17))
    t = a[None, :, :, None]
    emit(f'{dt}_none', t, 'uncompressed', data=a)
    emit(f'{dt}_be', t, 'big-endian', data=a, byteorder='>')
    emit(f'{dt}_zlib', t, 'deflate (8)', data=a, compression='zlib')
    emit(f'{dt}_adobe', t, 'deflate (8), tifffile adobe_deflate', data=a, compression='adobe_deflate')
    if np.dtype(dt).kind in 'iu':
        emit(f'{dt}_zlib_pred', t, 'deflate + horizontal predictor', data=a, compression='zlib', predictor=True)
        emit(f'{dt}_be_zlib_pred', t, 'big-endian deflate + predictor', data=a, compression='zlib', predictor=True, byteorder='>')
    if have_codecs:
        emit(f'{dt}_lzw', t, 'lzw', data=a, compression='lzw')
        emit(f'{dt}_packbits', t, 'packbits', data=a, compression='packbits')
        emit(f'{dt}_lzw_pred', t, 'lzw + predictor', data=a, compression='lzw', predictor=True)

# Compressions tifffile needs imagecodecs for: let libtiff (through Pillow) write them.
if have_libtiff:
    for dt, mode in [('uint8', 'L'), ('uint16', 'I;16'), ('int32', 'I'), ('float32', 'F')]:
        a = rand(dt, (13, 17)) if dt != 'int32' else rng.integers(-2**31, 2**31 - 1, size=(13, 17), dtype='int32')
        a = a.astype(np.dtype(dt).newbyteorder('<'))
        for comp, preds in [('tiff_lzw', [1, 2] + ([3] if dt == 'float32' else [])), ('packbits', [1])]:
            for pred in preds:
                def write(path, a=a, mode=mode, comp=comp, pred=pred):
                    TiffImagePlugin.WRITE_LIBTIFF = True
                    info = TiffImagePlugin.ImageFileDirectory_v2()
                    info[317] = pred
                    Image.frombytes(mode, (a.shape[1], a.shape[0]), a.tobytes()).save(path, compression=comp, tiffinfo=info)
                    TiffImagePlugin.WRITE_LIBTIFF = False
                emit(f'pil_{comp}_p{pred}_{dt}', a[None, :, :, None], f'libtiff {comp} predictor {pred}', writer=write)

stack = rng.integers(0, 4095, size=(5, 20, 30), dtype='uint16')
emit('stack_u16', stack[..., None], 'multi-page stack', data=stack, photometric='minisblack')
stack8 = rng.integers(0, 255, size=(4, 20, 30), dtype='uint8')
emit('stack_u8_zlib_strips', stack8[..., None], 'multi-page deflate, 3 rows per strip', data=stack8, photometric='minisblack', compression='zlib', predictor=True, rowsperstrip=3)
tiled = rng.integers(0, 65535, size=(40, 50), dtype='uint16')
emit('tiled_u16', tiled[None, ..., None], 'tiled 16x16', data=tiled, tile=(16, 16))
tiledf = rand('float32', (3, 33, 47))
tiledf[0, 0, 0] = np.nan; tiledf[1, 2, 3] = np.inf; tiledf[2, 5, 5] = -np.inf
emit('tiled_f32_zlib_stack', tiledf[..., None], 'tiled deflate float32 stack with NaN/Inf', data=tiledf, photometric='minisblack', tile=(16, 32), compression='zlib')
rgb = rng.integers(0, 255, size=(10, 12, 3), dtype='uint8')
emit('rgb_u8', rgb[None], 'RGB contiguous', data=rgb, photometric='rgb')
emit('rgb_u8_planar', rgb[None], 'RGB planar', data=np.moveaxis(rgb, -1, 0), photometric='rgb', planarconfig='separate')
rgba = rng.integers(0, 65535, size=(10, 12, 4), dtype='uint16')
emit('rgba_u16', rgba[None], 'RGBA uint16', data=rgba, photometric='rgb', extrasamples=['unassalpha'])
tbe = rng.integers(0, 2**32 - 1, size=(2, 40, 50, 3), dtype='uint32')
emit('tiled_be_pred_u32_rgb', tbe, 'tiled big-endian deflate + predictor, 3 samples', data=tbe, photometric='rgb', tile=(16, 32), compression='zlib', predictor=True, byteorder='>')
emit('be_pred_u16_planar', tbe.astype('uint16')[:1], 'big-endian deflate + predictor, planar', data=np.moveaxis(tbe.astype('uint16')[0], -1, 0), photometric='rgb', planarconfig='separate', compression='zlib', predictor=True, byteorder='>', rowsperstrip=7)
big = rng.integers(0, 65535, size=(2, 9, 11), dtype='uint16')
emit('bigtiff_u16', big[..., None], 'BigTIFF', data=big, bigtiff=True)

ij = rng.integers(0, 65535, size=(4, 20, 30), dtype='uint16')
emit('imagej_zyx', ij[..., None], 'ImageJ ZYX', data=ij, imagej=True, resolution=(1 / 0.065, 1 / 0.065),
     metadata={'unit': 'um', 'axes': 'ZYX', 'spacing': 0.2})
ijh = rand('float32', (3, 4, 2, 8, 9))
emit('imagej_tzcyx', ijh.reshape(24, 8, 9, 1), 'ImageJ hyperstack TZCYX', data=ijh, imagej=True,
     resolution=(1 / 0.1, 1 / 0.1), metadata={'unit': 'micron', 'axes': 'TZCYX'})
# ImageJ's Info property (IJMetadata tags) as Fiji's Bio-Formats importer fills it from a Zeiss file; labels and
# ranges come first in the tag, so the reader must walk past them.
info = ('Information|Image|Channel|EmissionWavelength #2 = 610.5\n'
        'Information|Image|Channel|EmissionWavelength #1 = 519.25\n'
        'Information|Instrument|Objective|LensNA = 1.4000000000000001\n'
        'Information|Instrument|Objective|NominalMagnification = 63\n')
ijc = rng.integers(0, 4095, size=(2, 16, 18), dtype='uint16')
for order, tag in (('<', 'le'), ('>', 'be')):
    emit(f'imagej_info_{tag}', ijc[..., None], f'ImageJ Info ({tag})', data=ijc, imagej=True, byteorder=order,
         resolution=(1 / 0.0425, 1 / 0.0425),
         metadata={'unit': 'micron', 'axes': 'CYX', 'Info': info, 'Labels': ['GFP', 'RFP'], 'Ranges': (0.0, 4095.0, 0.0, 4095.0)})
# The same from an Olympus OIR file (FV3000), as Bio-Formats words it: keys in any case, '- ' bullets, ' #n' suffixes.
oir = ('- Objective Lens na = 0.4\n'
       '- Objective Lens refractive index = 1.0\n'
       'condenser na = 0.55\n'
       'dyeData emissionWavelength #1 = 510\n'
       'dyeData emissionWavelength #2 = 582\n'
       'dyeData excitationWavelength #1 = 488\n'
       'objectiveLens naValue = 0.4\n')
ijo = rng.integers(0, 4095, size=(16, 18), dtype='uint16')
emit('imagej_info_olympus', ijo[None, ..., None], 'ImageJ Info (Olympus OIR)', data=ijo, imagej=True,
     resolution=(1 / 2.486, 1 / 2.486), metadata={'unit': 'micron', 'Info': oir})
ome = rng.integers(0, 65535, size=(2, 3, 20, 30), dtype='uint16')
emit('ome_czyx', ome.reshape(6, 20, 30, 1), 'OME-TIFF', data=ome, ome=True, metadata={
    'axes': 'CZYX', 'PhysicalSizeX': 0.1, 'PhysicalSizeXUnit': 'µm', 'PhysicalSizeY': 0.1, 'PhysicalSizeYUnit': 'µm',
    'PhysicalSizeZ': 300, 'PhysicalSizeZUnit': 'nm',
    'Channel': {'Name': ['GFP', 'RFP'], 'EmissionWavelength': [0.52, 610], 'EmissionWavelengthUnit': ['µm', 'nm']}})
ome_na = rng.integers(0, 255, size=(20, 30), dtype='uint8')
xml = ('<?xml version="1.0" encoding="UTF-8"?><OME xmlns="http://www.openmicroscopy.org/Schemas/OME/2016-06">'
       '<Instrument ID="Instrument:0"><Objective ID="Objective:0" LensNA="0.8"/><Objective ID="Objective:1" LensNA="1.4"/></Instrument>'
       '<Image ID="Image:0"><InstrumentRef ID="Instrument:0"/><ObjectiveSettings ID="Objective:1"/>'
       '<Pixels ID="Pixels:0" DimensionOrder="XYZCT" Type="uint8" SizeX="30" SizeY="20" SizeC="1" SizeZ="1" SizeT="1" PhysicalSizeX="0.065">'
       '<Channel ID="Channel:0:0" SamplesPerPixel="1" EmissionWavelength="520"/><TiffData IFD="0" PlaneCount="1"/></Pixels></Image></OME>')
emit('ome_objective', ome_na[None, ..., None], 'hand-written OME-XML with objective', data=ome_na, description=xml, metadata=None)
print(json.dumps(cases))
`;

let dir = '';
let cases: Case[] = [];
if (HAVE_TIFFFILE) {
  dir = makeTempDir('tifffile');
  cases = JSON.parse(runPython(GENERATE, [dir])) as Case[];
  process.on('exit', () => removeDir(dir));
}

function assertMatches(img: ImageStack, c: Case): void {
  const [pages, h, w, s] = c.shape;
  assert.equal(img.dtype, c.dtype, 'dtype');
  assert.deepEqual([img.planes.length, img.height, img.width, img.samplesPerPixel], [pages, h, w, s], 'shape');
  const truth = readRaw(join(dir, `${c.name}.bin`), c.dtype);
  const got = concatBytes(img.planes);
  const want = Buffer.from(truth.buffer, truth.byteOffset, truth.byteLength);
  if (Buffer.compare(got, want) !== 0) {
    const flat = new (truth.constructor as Float64ArrayConstructor)(got.buffer.slice(got.byteOffset, got.byteOffset + got.byteLength));
    const i = firstDifference(flat, truth);
    assert.fail(`${c.name} (${c.how}): values differ at ${i}: got ${flat[i]}, expected ${truth[i]}`);
  }
}

test('tifffile/libtiff-written TIFFs decode exactly', { skip: HAVE_TIFFFILE ? false : SKIP }, async (t) => {
  assert.ok(cases.length > 40, `only ${cases.length} cases generated`);
  for (const c of cases) {
    await t.test(`${c.name}: ${c.how}`, () => {
      assertMatches(readImage(join(dir, `${c.name}.tif`)), c);
    });
  }
});

test('the async reader agrees with the sync one', { skip: HAVE_TIFFFILE ? false : SKIP }, async () => {
  for (const name of ['int16_zlib_pred', 'tiled_f32_zlib_stack', 'rgb_u8_planar', 'imagej_tzcyx']) {
    const c = cases.find((k) => k.name === name)!;
    assertMatches(await readImageAsync(join(dir, `${name}.tif`)), c);
  }
});

test('NaN and Inf are read, not rejected, and counted by findNonFinite', { skip: HAVE_TIFFFILE ? false : SKIP }, () => {
  const img = readImage(join(dir, 'tiled_f32_zlib_stack.tif'));
  assert.equal(findNonFinite(img), 3);
  assert.ok(Number.isNaN(img.planes[0]![0]!));
});

test('ImageJ metadata from tifffile imagej=True', { skip: HAVE_TIFFFILE ? false : SKIP }, () => {
  const z = readImage(join(dir, 'imagej_zyx.tif')).metadata;
  assert.equal(z.imagej?.images, 4);
  assert.equal(z.imagej?.slices, 4);
  assert.equal(z.pixelSizeUnit, 'um');
  assert.ok(Math.abs(z.pixelSizeNm! - 65) < 1e-6, String(z.pixelSizeNm));
  assert.ok(Math.abs(z.pixelSizeYNm! - 65) < 1e-6);
  assert.ok(Math.abs(z.zSpacingNm! - 200) < 1e-9);
  assert.deepEqual([z.sizeC, z.sizeZ, z.sizeT], [1, 4, 1]);
  const h = readImage(join(dir, 'imagej_tzcyx.tif')).metadata;
  assert.deepEqual([h.sizeC, h.sizeZ, h.sizeT, h.imagej?.hyperstack], [2, 4, 3, true]);
  assert.ok(Math.abs(h.pixelSizeNm! - 100) < 1e-6);
});

test('ImageJ Info from tifffile (both byte orders): NA and the first channel’s emission wavelength of Bio-Formats’ original metadata', { skip: HAVE_TIFFFILE ? false : SKIP }, () => {
  for (const order of ['le', 'be']) {
    const m = readImage(join(dir, `imagej_info_${order}.tif`)).metadata;
    assert.match(m.imagej?.info ?? '', /NominalMagnification = 63/, order);
    assert.equal(m.numericalAperture, 1.4000000000000001, order);
    assert.equal(m.emissionWavelengthNm, 519.25, order);
    assert.ok(Math.abs(m.pixelSizeNm! - 42.5) < 1e-6, `${order}: ${m.pixelSizeNm}`);
    assert.equal(m.sizeC, 2, order);
  }
});

test('ImageJ Info from tifffile: an Olympus OIR file’s NA (`Objective Lens na`, `objectiveLens naValue`) and first dye’s emission (`dyeData emissionWavelength #1`)', { skip: HAVE_TIFFFILE ? false : SKIP }, () => {
  const m = readImage(join(dir, 'imagej_info_olympus.tif')).metadata;
  assert.match(m.imagej?.info ?? '', /condenser na = 0\.55/);
  assert.equal(m.numericalAperture, 0.4, 'the objective’s NA, not the condenser’s');
  assert.equal(m.emissionWavelengthNm, 510);
  assert.ok(Math.abs(m.pixelSizeNm! - 2486) < 1e-6, String(m.pixelSizeNm));
});

test('OME metadata from tifffile ome=True and from hand-written OME-XML', { skip: HAVE_TIFFFILE ? false : SKIP }, () => {
  const img = readImage(join(dir, 'ome_czyx.tif'));
  const m = img.metadata;
  assert.ok(m.ome);
  assert.equal(m.ome.dimensionOrder, 'XYZCT');
  assert.deepEqual([m.sizeC, m.sizeZ, m.sizeT, m.dimensionOrder], [2, 3, 1, 'XYZCT']);
  assert.ok(Math.abs(m.pixelSizeNm! - 100) < 1e-9);
  assert.ok(Math.abs(m.zSpacingNm! - 300) < 1e-9);
  assert.ok(Math.abs(m.emissionWavelengthNm! - 520) < 1e-9);
  assert.deepEqual(m.ome.channels.map((c) => c.name), ['GFP', 'RFP']);
  assert.ok(Math.abs(m.ome.channels[1]!.emissionWavelengthNm! - 610) < 1e-9);
  const o = readImage(join(dir, 'ome_objective.tif')).metadata;
  assert.equal(o.numericalAperture, 1.4, 'NA of the objective named by ObjectiveSettings');
  assert.equal(o.ome?.physicalSizeXUnit, 'µm', 'OME default unit');
  assert.ok(Math.abs(o.pixelSizeNm! - 65) < 1e-9);
  assert.equal(o.emissionWavelengthNm, 520);
});

// Reads back files we wrote: prints, per file, what tifffile sees.
const INSPECT = String.raw`
import json, sys, hashlib
import numpy as np
import tifffile
res = {}
for p in sys.argv[1:]:
    with tifffile.TiffFile(p) as tf:
        pages = [pg.asarray() for pg in tf.pages]
        a = np.stack(pages)
        page = tf.pages[0]
        xr = page.tags['XResolution'].value if 'XResolution' in page.tags else None
        ru = int(page.tags['ResolutionUnit'].value) if 'ResolutionUnit' in page.tags else None
        series = tf.series[0]
        res[p] = dict(
            is_imagej=tf.is_imagej, imagej=tf.imagej_metadata, xres=list(xr) if xr else None, resunit=ru,
            dtype=str(a.dtype), shape=list(a.shape), md5=hashlib.md5(a.astype(a.dtype.newbyteorder('<')).tobytes()).hexdigest(),
            series_shape=list(series.shape), series_axes=series.axes)
print(json.dumps(res))
`;

function md5(img: { planes: readonly ArrayBufferView[] }): string {
  const h = createHash('md5');
  for (const p of img.planes) h.update(new Uint8Array(p.buffer, p.byteOffset, p.byteLength));
  return h.digest('hex');
}

test('tifffile reads the TIFFs we write, with the ImageJ pixel size', { skip: HAVE_TIFFFILE ? false : SKIP }, () => {
  const out = makeTempDir('ours');
  try {
    const f32 = Array.from({ length: 5 }, (_, z) => Float32Array.from({ length: 24 * 31 }, (_, i) => Math.sin(i * 0.37 + z) * 1e3 - 0.5));
    f32[2]![7] = Number.NaN;
    const u16 = [Uint16Array.from({ length: 24 * 31 }, (_, i) => (i * 2654435761) % 65536)];
    const u8 = Array.from({ length: 3 }, (_, z) => Uint8Array.from({ length: 24 * 31 }, (_, i) => (i * 7 + z * 13) % 256));
    const rgb = [Uint8Array.from({ length: 24 * 31 * 3 }, (_, i) => (i * 11) % 256)];
    const hyper = Array.from({ length: 2 * 3 * 2 }, (_, k) => Uint16Array.from({ length: 24 * 31 }, (_, i) => k * 1000 + i));
    const files = {
      f32: { image: { width: 31, height: 24, planes: f32 }, opts: { pixelSizeNm: 65, zSpacingNm: 200 } },
      u16: { image: { width: 31, height: 24, planes: u16 }, opts: { pixelSizeNm: 107.5 } },
      u8: { image: { width: 31, height: 24, planes: u8 }, opts: {} },
      rgb: { image: { width: 31, height: 24, planes: rgb, samplesPerPixel: 3 }, opts: { pixelSizeNm: 1000 / 3 } },
      hyper: { image: { width: 31, height: 24, planes: hyper }, opts: { pixelSizeNm: 40, channels: 2, slices: 3, frames: 2 } },
      // ImageJ's Info property, as psfid simulate writes it (IJMetadata tags).
      info: { image: { width: 31, height: 24, planes: u16 }, opts: { pixelSizeNm: 65, info: buildOpticsInfo({ fc: 0.2, numericalAperture: 1.4, emissionWavelengthNm: 520 }) } },
    };
    const paths: Record<string, string> = {};
    for (const [k, v] of Object.entries(files)) {
      paths[k] = join(out, `${k}.tif`);
      writeTiff(paths[k]!, v.image, v.opts);
    }
    const seen = JSON.parse(runPython(INSPECT, Object.values(paths))) as Record<
      string,
      {
        is_imagej: boolean;
        imagej: Record<string, unknown> | null;
        xres: [number, number] | null;
        resunit: number | null;
        dtype: string;
        shape: number[];
        md5: string;
        series_shape: number[];
        series_axes: string;
      }
    >;
    for (const [k, v] of Object.entries(files)) {
      const s = seen[paths[k]!]!;
      assert.ok(s.is_imagej, `${k}: tifffile sees an ImageJ file`);
      assert.equal(s.md5, md5(v.image), `${k}: tifffile reads the same values`);
      const pixelSizeNm = (v.opts as { pixelSizeNm?: number }).pixelSizeNm;
      if (pixelSizeNm !== undefined) {
        assert.equal(s.imagej?.['unit'], 'micron', `${k}: unit`);
        assert.equal(s.resunit, 1, `${k}: ResolutionUnit none`);
        const pxPerMicron = s.xres![0] / s.xres![1];
        assert.ok(Math.abs(1000 / pxPerMicron - pixelSizeNm) < 1e-9 * pixelSizeNm, `${k}: XResolution ${s.xres}`);
      } else {
        assert.equal(s.xres, null, `${k}: no calibration written`);
      }
    }
    assert.equal(seen[paths.f32!]!.dtype, 'float32');
    assert.equal(seen[paths.f32!]!.imagej?.['spacing'], 0.2);
    assert.equal(seen[paths.f32!]!.imagej?.['slices'], 5);
    assert.deepEqual(seen[paths.rgb!]!.shape, [1, 24, 31, 3]);
    assert.deepEqual(seen[paths.hyper!]!.series_shape, [2, 3, 2, 24, 31]);
    assert.equal(seen[paths.hyper!]!.series_axes, 'TZCYX');
    assert.equal(seen[paths.info!]!.imagej?.['Info'], 'psfid.fc = 0.2\nLensNA = 1.4\nEmissionWavelength = 520\n', 'tifffile reads our Info');
    // And we read our own files back with the same values and calibration.
    const back = readImage(paths.hyper!);
    assert.deepEqual([back.metadata.sizeC, back.metadata.sizeZ, back.metadata.sizeT], [2, 3, 2]);
    assert.equal(md5(back), md5(files.hyper.image));
    assert.equal(readFileSync(paths.u16!).subarray(0, 4).toString('latin1'), 'II*\0');
  } finally {
    removeDir(out);
  }
});
