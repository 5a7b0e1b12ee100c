// The model card's and README's evaluation tables, printed as Markdown from a folder that scripts/eval/judge.sh
// wrote (its reports hold every figure: net64/DOMAIN.json with both modes and the mean PSF, given-128/256-DOMAIN.json),
// so that a new model's tables come from the same runs as its judgement instead of being copied by hand.
// Usage: node scripts/eval/card-tables.mjs JUDGE_DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  console.error('usage: node scripts/eval/card-tables.mjs JUDGE_DIR');
  process.exit(2);
}
const DOMAINS = [['natural', 'natural-val'], ['histo', 'histopathology-val'], ['fluo', 'fluorescence-val']];
const METHODS = [['network-given', 'network, (fc, θmax) given'], ['network-mean', 'network, (fc, θmax) = prior mean'], ['mean-psf', '(a) mean PSF (θ = 0)']];
const pm = (s) => `${s.mean.toFixed(2)} ± ${s.std.toFixed(2)}`;
// Each report read once: reports[side][domain].
const reports = Object.fromEntries([64, 128, 256].map((side) => [side, Object.fromEntries(DOMAINS.map(([d]) =>
  [d, JSON.parse(readFileSync(join(dir, side === 64 ? `net64/${d}.json` : `given-${side}-${d}.json`), 'utf8'))]))]));
const report = (side, d) => reports[side][d];

console.log('64² (n 64, seed 1), per domain and method: PSNR(ĥ) | PSNR(ĥ⋆x) | PSF SNR, dB\n');
console.log('| domain | method | PSNR(ĥ) | PSNR(ĥ⋆x) | PSF SNR |\n|---|---|---|---|---|');
for (const [d, title] of DOMAINS) {
  const s = report(64, d).summary;
  METHODS.forEach(([m, name], i) => console.log(`| ${i === 0 ? title : ''} | ${name} | ${pm(s[m].psnrPsf)} | ${pm(s[m].psnrImage)} | ${pm(s[m].psfSnr)} |`));
}
console.log('\nPSNR(ĥ) given by crop side, natural / histopathology / fluorescence, dB\n');
for (const side of [64, 128, 256]) {
  console.log(`${side}²: ${DOMAINS.map(([d]) => report(side, d).summary['network-given'].psnrPsf.mean.toFixed(2)).join(' / ')}`);
}
console.log('\nPSNR(ĥ) given by θmax bin (byThetaMax), natural / histopathology / fluorescence (mean PSF), dB\n');
for (const side of [64, 128, 256]) {
  const bins = DOMAINS.map(([d]) => report(side, d).byThetaMax);
  const cells = bins[0].map((b, k) => {
    const net = bins.map((bs) => bs[k].psnrPsf['network-given'].toFixed(2)).join(' / ');
    const mean = b.psnrPsf['mean-psf'];
    return `θmax ${b.range.map((v) => v.toFixed(3)).join('–')} (n ${b.n}): ${net}${mean === undefined ? '' : ` (${mean.toFixed(2)})`}`;
  });
  console.log(`${side}²: ${cells.join('; ')}`);
}
