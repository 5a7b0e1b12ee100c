// The NEUBIAS confocal/widefield pair (issue 6, point 5): one nucleus imaged confocal (c0) and widefield (c1),
// ZCYX = 45×2×130×133, read in place from ../shared/data (never copied). The in-focus slice of each channel is the
// one with the largest gradient energy; each channel's PSF is identified with the shipped model at the same fc and
// θmax, and the widefield estimate must come out broader. Skipped visibly when the file or the model is absent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planeIndex, readImage, toFloat32Gray, type ImageStack } from '../../src/io/index.js';
import { gradientEnergy, psfEquivalentRadius, psfFwhm, psfRmsRadius } from '../../src/evaluate/metrics.js';
import { identifyImage, priorMeanOf, resolveCutoff, resolvePlane } from '../../src/identify/pipeline.js';
import { defaultModelPath, loadModel } from '../../src/model/store.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const FILE = 'fluorescence/neubias/xyzc_16bit__dna_conf_wf.tif';
const path = [join(repoRoot, '..', 'shared', 'data', FILE), join('/work/shared/data', FILE)].find((p) => existsSync(p));
const SKIP = `${FILE} is not present under shared/data`;

/**
 * How much broader the widefield estimate must be (RMS radius ratio). A strict ">" would pass on a rounding
 * difference: the shipped model returns the same PSF for both channels to 4 digits (ratio 1.0001), which is not
 * "broader". The pinhole narrows the in-focus lateral PSF by up to ~30 % (closed; little at 1 Airy unit), and above
 * all the widefield slice carries the out-of-focus light that the pinhole rejects; 2 % asks for a visible part of
 * that, well above the differences a model that ignores the image produces (1e-4).
 */
const MIN_RATIO = 1.02;

/** The z of the channel's sharpest slice: argmax over z of the gradient energy. */
function focusPlane(image: ImageStack, c: number): { z: number; plane: number } {
  const sizeZ = image.metadata.sizeZ!;
  const energy = Array.from({ length: sizeZ }, (_, z) => gradientEnergy(toFloat32Gray(image, planeIndex(image, { c, z })), image.width, image.height));
  const z = energy.indexOf(Math.max(...energy));
  return { z, plane: planeIndex(image, { c, z }) };
}

test('NEUBIAS pair: the in-focus slice of each channel lies inside the stack, the two within a few slices', (t) => {
  if (!path) return t.skip(SKIP);
  const image = readImage(path);
  assert.equal(image.metadata.sizeC, 2);
  assert.equal(image.metadata.sizeZ, 45);
  const conf = focusPlane(image, 0);
  const wf = focusPlane(image, 1);
  t.diagnostic(`in focus: confocal z = ${conf.z} (plane ${conf.plane}), widefield z = ${wf.z} (plane ${wf.plane})`);
  for (const z of [conf.z, wf.z]) assert.ok(z >= 5 && z < 40, `focus z = ${z} at the edge of the stack`);
  assert.ok(Math.abs(conf.z - wf.z) <= 5, `confocal z ${conf.z} and widefield z ${wf.z} are far apart`);
  // what `--plane sharpest:c` picks (identify, grid, deconvolve)
  assert.deepEqual([0, 1].map((c) => resolvePlane(image, `sharpest:${c}`, path).value), [conf.plane, wf.plane]);
});

test(
  'NEUBIAS pair: the widefield PSF estimate is broader than the confocal one (same fc and θmax)',
  { todo: 'the shipped model gives both channels nearly the same width (RMS ratio 1.0127, equivalent radius 0.3 % smaller for widefield, session 17; session 9’s model 1.0135): it reads defocus on synthetic fields but does not take the widefield slice’s out-of-focus light for blur; and the file’s own optics (fc ≈ 1.35, the next test) make both in-focus PSFs sub-pixel, so only out-of-focus light separates the channels; see MODEL_CARD' },
  (t) => {
    if (!path) return t.skip(SKIP);
    if (!existsSync(defaultModelPath())) return t.skip(`no shipped model at ${defaultModelPath()}`);
    const image = readImage(path);
    const { model, info } = loadModel(defaultModelPath());
    // The file's own optics give fc ≈ 1.35 (the test below), far beyond what a model trained at fc ≤ 0.25 covers: fc is
    // the prior mean, as in scripts/real-data.mjs, so the test asks whether the widefield slice's extra blur shows at all.
    const { fc, thetaMax } = priorMeanOf(info);
    const width = (c: number) => {
      const { z, plane } = focusPlane(image, c);
      const { psf } = identifyImage(model, toFloat32Gray(image, plane), image.width, image.height, { fc, thetaMax });
      const S = psf.size(0);
      const h = psf.data() as Float32Array;
      psf.dispose();
      return { z, rms: psfRmsRadius(h, S), eq: psfEquivalentRadius(h, S), fwhm: psfFwhm(h, S) };
    };
    const conf = width(0);
    const wf = width(1);
    model.dispose();
    const show = (w: typeof conf) => `z ${w.z}: RMS radius ${w.rms.toFixed(4)} px, equivalent radius ${w.eq.toFixed(4)} px, FWHM ${w.fwhm.toFixed(4)} px`;
    t.diagnostic(`fc ${fc}, θmax ${thetaMax}; confocal ${show(conf)}; widefield ${show(wf)}; RMS ratio ${(wf.rms / conf.rms).toFixed(4)}`);
    assert.ok(wf.rms >= MIN_RATIO * conf.rms, `widefield RMS radius ${wf.rms.toFixed(4)} px is not ≥ ${MIN_RATIO} × confocal ${conf.rms.toFixed(4)} px`);
    assert.ok(wf.eq > conf.eq, `widefield equivalent radius ${wf.eq.toFixed(4)} px ≤ confocal ${conf.eq.toFixed(4)} px`);
  },
);

test('NEUBIAS pair: the file’s own metadata (Fiji/Bio-Formats Info) give NA 1.2 at 454.8 nm on 512 nm pixels, fc ≈ 1.35, which identify refuses', (t) => {
  if (!path) return t.skip(SKIP);
  const md = readImage(path).metadata;
  assert.equal(md.numericalAperture?.toFixed(3), '1.200');
  assert.equal(md.emissionWavelengthNm?.toFixed(3), '454.785');
  assert.ok(Math.abs(md.pixelSizeNm! - 511.88) < 0.01, `${md.pixelSizeNm}`);
  // Airy radius 0.61·λ/NA = 231 nm, under half a pixel: the in-focus PSF is sub-pixel in both channels, so what
  // separates them is out-of-focus light, not a Zernike PSF at fc ≤ 0.25
  assert.throws(() => resolveCutoff({}, md, path), (e: Error) => /= 1\.351 cycles\/pixel \(NA: metadata, wavelength: metadata, pixel size: metadata\), not below 0\.5/.test(e.message));
});

// bfloat16 convolutions (src/model/precision.ts) must not change what this pair measures: with the image itself
// rounded to bfloat16 the widefield RMS radius moved by 1.1 % (session 11), more than the difference the test above
// looks for, which is why the network's first convolution stays float32.
test('NEUBIAS pair: bfloat16 convolutions give the float32 PSF widths (within 0.2 %)', (t) => {
  if (!path) return t.skip(SKIP);
  if (!existsSync(defaultModelPath())) return t.skip(`no shipped model at ${defaultModelPath()}`);
  const image = readImage(path);
  const { model, info } = loadModel(defaultModelPath(), 'cpu', 'float32');
  const { fc, thetaMax } = priorMeanOf(info);
  for (const c of [0, 1]) {
    const gray = toFloat32Gray(image, focusPlane(image, c).plane);
    const rms = (precision: 'float32' | 'bfloat16'): number => {
      model.convPrecision = precision;
      const { psf } = identifyImage(model, gray, image.width, image.height, { fc, thetaMax });
      const r = psfRmsRadius(psf.data() as Float32Array, psf.size(0));
      psf.dispose();
      return r;
    };
    const [a, b] = [rms('float32'), rms('bfloat16')];
    t.diagnostic(`channel ${c}: RMS radius ${a.toFixed(4)} px (float32), ${b.toFixed(4)} px (bfloat16)`);
    assert.ok(Math.abs(b / a - 1) <= 0.002, `channel ${c}: bfloat16 RMS radius ${b.toFixed(4)} px vs float32 ${a.toFixed(4)} px`);
  }
  model.dispose();
});
