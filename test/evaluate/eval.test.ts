// `psfid eval` end to end with the shipped model on generated images: the report's structure and the network
// beating the mean-PSF baseline (a).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../src/engine/index.js';
import { writePng } from '../../src/io/index.js';
import { deadLeaves, filaments } from '../../src/data/procedural.js';
import { Rng } from '../../src/data/rng.js';
import { defaultModelPath } from '../../src/model/store.js';

const root = packageRoot();
const cli = join(root, 'bin', 'psfid.js');

test('psfid eval reports per-image PSNRs and the shipped model beats the mean-PSF baseline', (t) => {
  if (!existsSync(defaultModelPath())) return t.skip(`no shipped model at ${defaultModelPath()}`);
  const dir = mkdtempSync(join(tmpdir(), 'psfid-eval-'));
  const rng = new Rng(11);
  for (let k = 0; k < 4; k++) {
    const img = k % 2 ? filaments(rng, 160) : deadLeaves(rng, 160);
    writePng(join(dir, `img${k}.png`), { width: 160, height: 160, channels: 1, data: Uint16Array.from(img, (v) => Math.round(v * 65535)) });
  }
  const outDir = mkdtempSync(join(tmpdir(), 'psfid-eval-out-')); // outside the image folder, which eval reads
  const out = join(outDir, 'report.json');
  const fig = join(outDir, 'montage.png');
  const r = spawnSync(process.execPath, [cli, 'eval', '--images', dir, '--n', '24', '--seed', '3', '--baselines', 'mean-psf', '--out', out, '--figure', fig], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| method \| PSNR\(ĥ\) dB/);
  const report = JSON.parse(readFileSync(out, 'utf8'));
  assert.equal(report.n, 24);
  assert.equal(report.images.length, 24);
  assert.deepEqual(report.methods, ['network-given', 'network-mean', 'mean-psf']);
  for (const img of report.images) {
    for (const m of report.methods) assert.ok(img.scores[m].every(Number.isFinite), JSON.stringify(img));
  }
  // the θmax breakdown recomputed here from the per-image scores: three equal bins of the prior's range
  const [lo, hi] = report.prior.thetaMax as [number, number];
  assert.equal(report.byThetaMax.length, 3);
  report.byThetaMax.forEach((bin: { range: [number, number]; n: number; psnrPsf: Record<string, number> }, b: number) => {
    const a = lo + (b * (hi - lo)) / 3;
    const z = lo + ((b + 1) * (hi - lo)) / 3;
    assert.ok(Math.abs(bin.range[0] - a) < 1e-12 && Math.abs(bin.range[1] - z) < 1e-12, JSON.stringify(bin.range));
    const mine = report.images.filter((i: { thetaMax: number }) => i.thetaMax >= a && (b === 2 ? i.thetaMax <= z : i.thetaMax < z));
    assert.equal(bin.n, mine.length);
    for (const m of report.methods) {
      if (mine.length === 0) continue;
      const want = mine.reduce((acc: number, i: { scores: Record<string, number[]> }) => acc + i.scores[m]![0]!, 0) / mine.length;
      assert.ok(Math.abs(bin.psnrPsf[m]! - want) < 1e-9, `${m} bin ${b}`);
    }
  });
  assert.equal(report.byThetaMax.reduce((acc: number, b: { n: number }) => acc + b.n, 0), 24);
  assert.match(r.stdout, /\| method, PSNR\(ĥ\) dB by θmax \(waves\) \| θmax \[0\.020, 0\.063\) \(n \d+\)/);
  const net = report.summary['network-given'].psnrPsf.mean;
  const base = report.summary['mean-psf'].psnrPsf.mean;
  assert.ok(net > base + 3, `network ${net.toFixed(2)} dB vs mean PSF ${base.toFixed(2)} dB`);
  assert.ok(existsSync(fig));
  // the same seed gives the same report
  const r2 = spawnSync(process.execPath, [cli, 'eval', '--images', dir, '--n', '24', '--seed', '3', '--baselines', 'mean-psf', '--out', out + '2'], { encoding: 'utf8' });
  assert.equal(r2.status, 0, r2.stderr);
  assert.deepEqual(JSON.parse(readFileSync(out + '2', 'utf8')).images, report.images);
  // --augment dihedral: the same acquisitions (the baseline's scores are identical), the network's PSFs from the eight
  // views (identify's combination; its equivariance is tested in test/identify/augment.test.ts)
  const r3 = spawnSync(process.execPath, [cli, 'eval', '--images', dir, '--n', '24', '--seed', '3', '--mode', 'given', '--baselines', 'mean-psf', '--augment', 'dihedral', '--out', out + '3'], { encoding: 'utf8' });
  assert.equal(r3.status, 0, r3.stderr);
  assert.match(r3.stdout, /64×64 crops, dihedral augmentation/);
  const augmented = JSON.parse(readFileSync(out + '3', 'utf8'));
  assert.equal(augmented.augment, 'dihedral');
  assert.equal(report.augment, 'none');
  augmented.images.forEach((img: { scores: Record<string, number[]> }, i: number) => {
    assert.deepEqual(img.scores['mean-psf'], report.images[i].scores['mean-psf']);
    assert.notEqual(img.scores['network-given']![0], report.images[i].scores['network-given'][0]);
  });
  const netAug = augmented.summary['network-given'].psnrPsf.mean;
  assert.ok(Math.abs(netAug - net) < 1.5, `eight views ${netAug.toFixed(2)} dB vs one ${net.toFixed(2)} dB`);
  rmSync(dir, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
});

test('psfid eval refuses bad flags with one line and exit 2', () => {
  const r = spawnSync(process.execPath, [cli, 'eval', '--images', '/nonexistent-folder', '--n', '0', '--out', join(tmpdir(), 'x.json')], { encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: --n must be an integer ≥ 1, got '0'/);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
  const bad = spawnSync(process.execPath, [cli, 'eval', '--images', tmpdir(), '--augment', 'rotate', '--out', join(tmpdir(), 'x.json')], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^error: --augment must be none or dihedral, got 'rotate'/);
});
