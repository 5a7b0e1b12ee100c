// Procedural images: the beads are sub-resolution, flux-exact point sources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../../src/data/rng.js';
import { beads, procedural, PROCEDURAL_KINDS } from '../../src/data/procedural.js';

test('beads: isolated sub-pixel points whose pixel masses add up to their flux (erf integration)', () => {
  for (let seed = 0; seed < 20; seed++) {
    const size = 40;
    const img = beads(new Rng(seed), size);
    const sorted = Float32Array.from(img).sort();
    const bg = sorted[Math.floor(sorted.length / 2)]!; // most pixels are background
    assert.ok(bg >= 0 && bg <= 0.05 + 1e-6, `background ${bg}`);
    // every pixel is within [0, 1]; a bead's brightest pixel is far above the background
    assert.ok(img.every((v) => v >= 0 && v <= 1));
    assert.ok(sorted[sorted.length - 1]! > bg + 0.05, 'no bead stands out');
  }
  // One bead: total flux above background = its flux · (1 − bg) (inside the image), checked by re-drawing the
  // same stream: the first draws after the count are cx, cy, σ, flux.
  let checked = 0;
  for (let seed = 0; seed < 400 && checked < 5; seed++) {
    const size = 40;
    const probe = new Rng(seed);
    const n = 1 + probe.int(1 + Math.floor((size * size) / 400));
    if (n !== 1) continue;
    const [cx, cy] = [probe.uniform(0, size), probe.uniform(0, size)];
    probe.uniform(0.2, 0.5);
    const flux = probe.uniform(0.3, 1);
    const bg = probe.uniform(0, 0.05);
    if (cx < 4 || cy < 4 || cx > size - 4 || cy > size - 4) continue;
    const img = beads(new Rng(seed), size);
    let total = 0;
    for (const v of img) total += v - bg;
    // the brightest pixel may clip at 1 only for fluxes near 1 with a centred, narrow bead; allow for that
    const clipped = img.some((v) => v >= 1);
    if (!clipped) assert.ok(Math.abs(total - flux * (1 - bg)) < 1e-4, `seed ${seed}: ${total} vs ${flux * (1 - bg)}`);
    // the peak pixel holds most of the flux: the bead is narrower than a pixel or two
    const peak = Math.max(...img) - bg;
    assert.ok(peak > 0.3 * flux * (1 - bg), `seed ${seed}: peak ${peak} of flux ${flux}`);
    checked++;
  }
  assert.ok(checked >= 3, `only ${checked} single-bead images found`);
});

test('every procedural kind is deterministic in its seed and fills [0, 1]', () => {
  for (const kind of PROCEDURAL_KINDS) {
    const a = procedural(kind, new Rng(7), 48);
    const b = procedural(kind, new Rng(7), 48);
    assert.deepEqual(a, b, kind);
    assert.equal(a.length, 48 * 48);
    assert.ok(a.every((v) => v >= 0 && v <= 1), kind);
  }
});
