// toFloat32Gray scaling and colour handling, plane access, findNonFinite, unit and metadata parsing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  findNonFinite,
  getPlane,
  isOmeXml,
  nmPerUnit,
  parseImageJDescription,
  opticsFromOriginalMetadata,
  parseOmeXml,
  planeCount,
  planeCoordinates,
  planeIndex,
  toFloat32Gray,
  type ImageStack,
  type PixelArray,
} from '../../src/io/index.js';

function image(data: PixelArray[], over: Partial<ImageStack>): ImageStack {
  return {
    width: 2,
    height: 1,
    dtype: 'uint8',
    bitsPerSample: 8,
    samplesPerPixel: 1,
    colorModel: 'gray',
    planes: data,
    metadata: {},
    ...over,
  };
}

const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) <= tol * Math.max(1, Math.abs(b[i]!)), `${i}: ${a[i]} vs ${b[i]}`);
};

test('integers are divided by the dtype range, never the data maximum', () => {
  close(toFloat32Gray(image([Uint8Array.of(0, 51)], {})), [0, 0.2]);
  // A 12-bit image in uint16: 4095 maps to 4095/65535, not to 1.
  close(toFloat32Gray(image([Uint16Array.of(4095, 65535)], { dtype: 'uint16', bitsPerSample: 16 })), [4095 / 65535, 1]);
  close(toFloat32Gray(image([Int16Array.of(-32768, 32767)], { dtype: 'int16' })), [-32768 / 32767, 1]);
  close(toFloat32Gray(image([Uint32Array.of(4294967295, 0)], { dtype: 'uint32' })), [1, 0]);
  close(toFloat32Gray(image([Int8Array.of(-127, 127)], { dtype: 'int8' })), [-1, 1]);
  close(toFloat32Gray(image([Int32Array.of(2147483647, 0)], { dtype: 'int32' })), [1, 0]);
});

test('floats are kept as they are; scale "none" and numbers', () => {
  close(toFloat32Gray(image([Float32Array.of(-3.5, 1e6)], { dtype: 'float32' })), [-3.5, 1e6]);
  close(toFloat32Gray(image([Float64Array.of(0.1, Number.NaN)], { dtype: 'float64' })).subarray(0, 1), [0.1]);
  close(toFloat32Gray(image([Uint16Array.of(100, 200)], { dtype: 'uint16' }), 0, { scale: 'none' }), [100, 200]);
  close(toFloat32Gray(image([Uint16Array.of(100, 200)], { dtype: 'uint16' }), 0, { scale: 4095 }), [100 / 4095, 200 / 4095]);
});

test('RGB becomes luminance 0.2989 R + 0.5870 G + 0.1140 B; alpha is dropped', () => {
  const rgb = image([Uint8Array.of(255, 0, 0, 10, 20, 30)], { samplesPerPixel: 3, colorModel: 'rgb' });
  close(toFloat32Gray(rgb), [0.2989, (0.2989 * 10 + 0.587 * 20 + 0.114 * 30) / 255]);
  const rgba = image([Uint16Array.of(0, 65535, 0, 9, 65535, 65535, 65535, 0)], { dtype: 'uint16', samplesPerPixel: 4, colorModel: 'rgba' });
  close(toFloat32Gray(rgba), [0.587, 0.2989 + 0.587 + 0.114]);
  const ga = image([Uint8Array.of(51, 255, 102, 0)], { samplesPerPixel: 2, colorModel: 'gray-alpha' });
  close(toFloat32Gray(ga), [0.2, 0.4]);
  close(toFloat32Gray(rgb, 0, { sample: 2 }), [0, 30 / 255]);
});

test('multi-sample images need a sample; planes are checked', () => {
  const multi = image([Uint8Array.of(1, 2, 3, 4)], { samplesPerPixel: 2, colorModel: 'multi' });
  assert.throws(() => toFloat32Gray(multi), /pass \{ sample \}/);
  close(toFloat32Gray(multi, 0, { sample: 1, scale: 'none' }), [2, 4]);
  assert.throws(() => toFloat32Gray(multi, 1), RangeError);
  assert.throws(() => toFloat32Gray(multi, 0, { sample: 2 }), RangeError);
});

test('planeCount, getPlane and planeIndex in ImageJ and OME orders', () => {
  const planes = Array.from({ length: 12 }, (_, i) => Uint8Array.of(i, i));
  const ij = image(planes, { metadata: { sizeC: 2, sizeZ: 3, sizeT: 2, dimensionOrder: 'XYCZT' } });
  assert.equal(planeCount(ij), 12);
  assert.equal(getPlane(ij, 5)[0], 5);
  assert.throws(() => getPlane(ij, 12), RangeError);
  assert.equal(planeIndex(ij, { c: 1, z: 2, t: 1 }), 1 + 2 * 2 + 1 * 6);
  const ome = image(planes, { metadata: { sizeC: 2, sizeZ: 3, sizeT: 2, dimensionOrder: 'XYZCT' } });
  assert.equal(planeIndex(ome, { c: 1, z: 2, t: 1 }), 2 + 1 * 3 + 1 * 6);
  assert.equal(planeIndex(image(planes, {}), { z: 7 }), 7);
  assert.throws(() => planeIndex(ij, { c: 2 }), RangeError);
  // planeCoordinates inverts planeIndex in every order: each (c, z, t) maps to a distinct plane and back
  for (const order of ['XYCZT', 'XYZCT', 'XYTZC', 'XYCTZ'] as const) {
    const st = image(planes, { metadata: { sizeC: 2, sizeZ: 3, sizeT: 2, dimensionOrder: order } });
    const seen = new Set<number>();
    for (let c = 0; c < 2; c++)
      for (let z = 0; z < 3; z++)
        for (let t = 0; t < 2; t++) {
          const k = planeIndex(st, { c, z, t });
          seen.add(k);
          assert.deepEqual(planeCoordinates(st, k), { c, z, t }, `${order} plane ${k}`);
        }
    assert.equal(seen.size, 12);
  }
});

test('findNonFinite counts NaN and ±Inf over all planes', () => {
  const f = image([Float32Array.of(Number.NaN, 1), Float32Array.of(Infinity, -Infinity)], { dtype: 'float32' });
  assert.equal(findNonFinite(f), 3);
  assert.equal(findNonFinite(image([Uint8Array.of(1, 2)], {})), 0);
});

test('length units, including ImageJ escapes and both micro signs', () => {
  for (const u of ['micron', 'microns', 'um', 'µm', 'μm', '\\u00B5m', 'UM', ' micrometer ']) assert.equal(nmPerUnit(u), 1000, u);
  assert.equal(nmPerUnit('nm'), 1);
  assert.equal(nmPerUnit('mm'), 1e6);
  assert.equal(nmPerUnit('Å'), 0.1);
  assert.equal(nmPerUnit('inch'), 2.54e7);
  assert.equal(nmPerUnit('pixel'), undefined);
  assert.equal(nmPerUnit(''), undefined);
});

test('ImageJ descriptions', () => {
  const m = parseImageJDescription('ImageJ=1.54f\nimages=90\nchannels=2\nslices=45\nhyperstack=true\nmode=color\nunit=\\u00B5m\nspacing=0.4994\nloop=false\nmin=0.0\nmax=65535.0\n\0');
  assert.deepEqual(
    [m.version, m.images, m.channels, m.slices, m.frames, m.hyperstack, m.unit, m.spacing, m.loop, m.max],
    ['1.54f', 90, 2, 45, undefined, true, '\\u00B5m', 0.4994, false, 65535],
  );
  assert.equal(parseImageJDescription('ImageJ=\nimages=x\nslices=-2\n').images, undefined);
});

test('original metadata in ImageJ Info: NA and the first channel’s emission wavelength, implausible or conflicting values left out', () => {
  assert.deepEqual(opticsFromOriginalMetadata('Information|Instrument|Objective|LensNA = 1.2\nInformation|Image|Channel|EmissionWavelength = 454.785\n'), { numericalAperture: 1.2, emissionWavelengthNm: 454.785 });
  // channel #1's wavelength wins whatever the line order; other keys and free text are ignored
  assert.deepEqual(opticsFromOriginalMetadata('x|EmissionWavelength #2 = 610\r\nnotes: NA=high\nx|EmissionWavelength #1 = 520\nx|NumericalAperture = 0.95'), { numericalAperture: 0.95, emissionWavelengthNm: 520 });
  // two objectives that disagree say nothing about the NA; a wavelength in metres or NA 14 is not plausible
  assert.deepEqual(opticsFromOriginalMetadata('a|LensNA = 1.4\nb|LensNA = 0.8\nc|EmissionWavelength = 5.2e-7\nd|NumericalAperture = 14'), {});
  assert.deepEqual(opticsFromOriginalMetadata(''), {});
});

test('original metadata in ImageJ Info: Olympus (OIR, FluoView) and Nikon key names, any case, with #n suffixes', () => {
  // As Bio-Formats writes an OIR file's metadata (xy_12bit__saturated_plant.tif in shared/data): both NA keys agree.
  const oir = [
    '- Objective Lens na = 0.4',
    '- Objective Lens refractive index = 1.0',
    'dyeData emissionWavelength #2 = 582',
    'dyeData emissionWavelength #1 = 510',
    'dyeData excitationWavelength #1 = 488',
    'laser optionalTransmissivity #01 = 0.0',
    'objectiveLens naValue = 0.4',
  ].join('\n');
  assert.deepEqual(opticsFromOriginalMetadata(oir), { numericalAperture: 0.4, emissionWavelengthNm: 510 });
  // FluoView OIB/OIF (Bio-Formats flattens its INI tables to `[table] key`): NAValue upper-case, the channel in the
  // section's name, a wavelength with its unit.
  assert.deepEqual(
    opticsFromOriginalMetadata('[Acquisition Parameters Common] ObjectiveLens NAValue = 1.35\n[GUI Channel 2 Parameters] EmissionWavelength = 600\n[GUI Channel 1 Parameters] EmissionWavelength = 525 nm'),
    { numericalAperture: 1.35, emissionWavelengthNm: 525 },
  );
  assert.deepEqual(opticsFromOriginalMetadata('dObjectiveNA = 1.45\nEMISSIONWAVELENGTH #01 = 700'), { numericalAperture: 1.45, emissionWavelengthNm: 700 });
  // Nikon ND2 (xy_8bit_radar_cherry_fixed_8min_cropped.tif): its `dWavelength` is not the emission.
  assert.deepEqual(opticsFromOriginalMetadata('EmWavelength = 620\nExWavelength = 540.5\ndObjectiveNA = 1.4\ndWavelength = 505.0'), { numericalAperture: 1.4, emissionWavelengthNm: 620 });
  // A bare `na`, or a condenser's, is not the objective's; `NA` with a unit is not a number.
  assert.deepEqual(opticsFromOriginalMetadata('condenser na = 0.55\nna = 0.9\nObjective Lens na = 0.4 nm'), {});
});

test('OME-XML: defaults, units, objective, namespaces, malformed input', () => {
  const xml = `<?xml version="1.0"?><ome:OME xmlns:ome="http://www.openmicroscopy.org/Schemas/OME/2016-06">
    <ome:Instrument ID="I"><ome:Objective ID="O0" LensNA="1.2"/></ome:Instrument>
    <ome:Image ID="Image:0"><ome:Pixels DimensionOrder="XYZTC" Type="float" SizeX="4" SizeY="3" SizeZ="5" SizeC="2" SizeT="1"
      PhysicalSizeX="65" PhysicalSizeXUnit="nm" PhysicalSizeY="0.065" PhysicalSizeZ="0.2">
      <ome:Channel ID="C0" EmissionWavelength="0.52" EmissionWavelengthUnit="&#181;m"/><ome:Channel ID="C1" EmissionWavelength="600"/>
    </ome:Pixels></ome:Image><ome:Image ID="Image:1"/></ome:OME>`;
  assert.ok(isOmeXml(xml));
  const o = parseOmeXml(xml)!;
  assert.equal(o.imageCount, 2);
  assert.equal(o.physicalSizeXUnit, 'nm');
  assert.equal(o.physicalSizeYUnit, 'µm', 'default unit µm');
  assert.equal(o.lensNA, 1.2);
  assert.equal(o.dimensionOrder, 'XYZTC');
  assert.equal(o.channels[0]!.emissionWavelengthNm, 520);
  assert.equal(o.channels[1]!.emissionWavelengthUnit, 'nm', 'default unit nm');
  assert.equal(o.channels[1]!.emissionWavelengthNm, 600);
  assert.equal(parseOmeXml('<OME><Image'), undefined);
  assert.equal(isOmeXml('ImageJ=1.11a\n'), false);
});
