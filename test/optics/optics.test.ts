// resolveOptics: defaults, fc from the microscope, physical limits with messages that say what would work.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PsfidError } from '../../src/errors.js';
import { cutoffFromMicroscope, resolveOptics, type OpticsSpec } from '../../src/optics/index.js';

function refused(spec: OpticsSpec, param: string, message?: RegExp): void {
  assert.throws(() => resolveOptics(spec), (e: unknown) => {
    assert.ok(e instanceof PsfidError, `expected PsfidError, got ${String(e)}`);
    assert.equal(e.param, param);
    assert.equal(e.kind, 'usage');
    if (message) assert.match(e.message, message);
    return true;
  });
}

describe('resolveOptics', () => {
  test('defaults: S = 31, P = 256, Noll 4–11, no undersampling; the result is frozen', () => {
    const o = resolveOptics({ fc: 0.2 });
    assert.equal(o.fc, 0.2);
    assert.equal(o.psfSize, 31);
    assert.equal(o.pupilSize, 256);
    assert.deepEqual(o.zernikeNoll, [4, 5, 6, 7, 8, 9, 10, 11]);
    assert.equal(o.allowUndersampling, false);
    assert.ok(Object.isFrozen(o));
    assert.ok(Object.isFrozen(o.zernikeNoll));
  });

  test('fc = NA·pixel/λ from the microscope, kept for provenance', () => {
    const o = resolveOptics({ numericalAperture: 1.4, wavelengthNm: 520, pixelSizeNm: 65 });
    assert.ok(Math.abs(o.fc - (1.4 * 65) / 520) < 1e-15);
    assert.equal(cutoffFromMicroscope(1.4, 520, 65), o.fc);
    assert.equal(o.numericalAperture, 1.4);
    assert.equal(o.pixelSizeNm, 65);
  });

  test('above Nyquist: refused with the pixel size that would work, unless undersampling is allowed', () => {
    refused({ numericalAperture: 1.4, wavelengthNm: 520, pixelSizeNm: 130 }, 'pixelSizeNm', /pixelSizeNm must be ≤ 92\.85 for NA 1\.4 at 520 nm \(Nyquist\), got 130\. Use a smaller pixel or pass --allow-undersampling\./);
    refused({ fc: 0.3 }, 'fc', /fc must be ≤ 0\.25 .*got 0\.3.*--allow-undersampling/);
    assert.equal(resolveOptics({ numericalAperture: 1.4, wavelengthNm: 520, pixelSizeNm: 130, allowUndersampling: true }).fc, 0.35);
    assert.equal(resolveOptics({ fc: 0.3, allowUndersampling: true }).fc, 0.3);
  });

  test('fc ≥ 0.5 is always refused', () => {
    refused({ fc: 0.5, allowUndersampling: true }, 'fc', /< 0\.5/);
    refused({ numericalAperture: 1.4, wavelengthNm: 520, pixelSizeNm: 200, allowUndersampling: true }, 'pixelSizeNm', /pixelSizeNm must be < 185\.7 /);
  });

  test('bad sizes, indices and contradictory or unknown options name the parameter', () => {
    refused({ fc: 0.2, psfSize: 32 }, 'psfSize', /odd.*use 33/);
    refused({ fc: 0.2, psfSize: 1 }, 'psfSize');
    refused({ fc: 0.2, psfSize: 31, pupilSize: 123 }, 'pupilSize', /≥ 4·psfSize = 124/);
    refused({ fc: 0.01 }, 'pupilSize', /pupilSize ≥ 800/);
    refused({ fc: 0.2, zernikeNoll: [4, 4] }, 'zernikeNoll');
    refused({ fc: 0.2, zernikeNoll: [] }, 'zernikeNoll');
    refused({ fc: 0.2, zernikeNoll: [0] }, 'zernike');
    refused({ fc: 0.2, numericalAperture: 1.4 }, 'fc', /not both/);
    refused({ numericalAperture: 1.4, wavelengthNm: 520 }, 'pixelSizeNm');
    refused({ numericalAperture: -1, wavelengthNm: 520, pixelSizeNm: 50 }, 'numericalAperture');
    refused({ fc: Number.NaN }, 'fc');
    refused({ fc: 0.2, cutoff: 0.2 } as OpticsSpec, 'cutoff', /unknown option/);
  });
});
