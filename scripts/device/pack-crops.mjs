// Packs training crops of ../shared/data into .devdata/ for a GPU run (the `device` tool carries 64 MiB, most of it
// Node, `dist` and a model's weights): instead of pack-data.sh's few whole files, up to K random windows of every
// train image plane, stored as grey PNG (8-bit where the source is 8-bit, else 16-bit; grey by toFloat32Gray, the
// conversion training applies, so the crops are what training would have cut), round-robin over the images of each
// domain until the domain's share of the byte budget is spent: many more images per MB. A MANIFEST.tsv lists them as
// the train split with their domains, as the GPU configs expect (.devdata/MANIFEST.tsv). No validation folders:
// evaluate the returned model here on the full held-out data (scripts/eval/judge.sh).
// Usage: node scripts/device/pack-crops.mjs [BUDGET_MB=10] [SIDES=286,158] [PER_IMAGE=3] [SEED=1]
//   SIDES: crop sides, largest first; an image gets crops of the largest side it reaches (a 256² training crop with
//   a 31² PSF needs 286 px, a 128² one 158 px), so a small natural image still gives a small crop.
import { mkdirSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readImage, toFloat32Gray, writePng } from '../../dist/src/io/index.js';

const [budgetMb = '10', sidesArg = '286,158', perImageArg = '3', seedArg = '1'] = process.argv.slice(2);
const sides = sidesArg.split(',').map(Number).sort((a, b) => b - a);
const perImage = Number(perImageArg);
const DATA = '../shared/data';
const OUT = '.devdata';
const SHARES = { natural: 1, histopathology: 1, fluorescence: 1.5 }; // the GPU configs' domain weights
const totalShare = Object.values(SHARES).reduce((a, b) => a + b, 0);

let state = Number(seedArg) * 2654435761 % 2147483647 || 1; // Park–Miller: reproducible windows
const rand = () => (state = (state * 16807) % 2147483647) / 2147483647;

const [head, ...rows] = readFileSync(join(DATA, 'MANIFEST.tsv'), 'utf8').split('\n').filter((l) => l.trim());
const cols = head.split('\t');
const at = (name) => cols.indexOf(name);
const train = rows.map((r) => r.split('\t')).filter((c) => c[at('split')] === 'train' && c[at('domain')] in SHARES);

rmSync(OUT, { recursive: true, force: true });
mkdirSync(OUT, { recursive: true });
writeFileSync(join(OUT, 'MANIFEST.tsv'), 'path\tdomain\tsplit\tsource\twidth\theight\n');
const summary = [];
for (const [domain, share] of Object.entries(SHARES)) {
  const budget = (Number(budgetMb) * 1e6 * share) / totalShare;
  // Every (file, plane) that reaches the smallest side, in a seeded random order.
  const planes = [];
  for (const c of train.filter((c) => c[at('domain')] === domain)) {
    const w = Number(c[at('width')]);
    const h = Number(c[at('height')]);
    if (Math.min(w, h) < sides[sides.length - 1]) continue;
    planes.push({ path: c[at('path')], source: c[at('source')] });
  }
  // Fisher–Yates: every order equally likely (a sort with a random comparator is biased towards the input order).
  for (let i = planes.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [planes[i], planes[j]] = [planes[j], planes[i]];
  }
  let used = 0;
  let count = 0;
  const images = new Set();
  // Round-robin: one crop per image per pass, at most perImage passes, until the budget is spent.
  for (let pass = 0; pass < perImage && used < budget; pass++) {
    for (const p of planes) {
      if (used >= budget) break;
      const img = readImage(join(DATA, p.path));
      const k = Math.floor(rand() * img.planes.length);
      const side = sides.find((s) => s <= Math.min(img.width, img.height));
      if (side === undefined) continue;
      // Float files are not on a dtype's range: their plane's maximum maps to 1 (training divides crops by their maximum anyway).
      let grey = toFloat32Gray(img, k);
      if (img.dtype.startsWith('float')) {
        const peak = grey.reduce((m, v) => (Number.isFinite(v) ? Math.max(m, v) : m), 0);
        if (!(peak > 0)) continue;
        grey = grey.map((v) => v / peak);
      }
      const x0 = Math.floor(rand() * (img.width - side + 1));
      const y0 = Math.floor(rand() * (img.height - side + 1));
      const deep = img.bitsPerSample > 8;
      const scale = deep ? 65535 : 255;
      const data = deep ? new Uint16Array(side * side) : new Uint8Array(side * side);
      for (let y = 0; y < side; y++) {
        for (let x = 0; x < side; x++) data[y * side + x] = Math.round(Math.min(1, Math.max(0, grey[(y0 + y) * img.width + x0 + x])) * scale);
      }
      const name = `${domain}/${count.toString().padStart(4, '0')}-${side}.png`;
      mkdirSync(dirname(join(OUT, name)), { recursive: true });
      writePng(join(OUT, name), { width: side, height: side, channels: 1, data });
      used += readFileSync(join(OUT, name)).length;
      appendFileSync(join(OUT, 'MANIFEST.tsv'), `${name}\t${domain}\ttrain\t${p.source}\t${side}\t${side}\n`);
      images.add(p.path);
      count++;
    }
  }
  summary.push(`${domain}: ${count} crops from ${images.size} files, ${(used / 1e6).toFixed(1)} MB`);
}
console.log(summary.join('\n'));
