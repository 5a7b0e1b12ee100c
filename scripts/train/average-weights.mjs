// Averages the weights of psfid model files of one architecture ("model soup": fine-tunes of one model, averaged in
// weight space, often score better than any of them). Metadata (architecture, prior) comes from the first file.
// Usage: node scripts/train/average-weights.mjs OUT IN1[:w1] IN2[:w2] …   (weights default to 1, normalised to sum 1)
import { loadSafetensors, saveSafetensors, tidy } from '../../dist/src/engine/index.js';
import { MODEL_FORMAT } from '../../dist/src/model/store.js';
const [out, ...specs] = process.argv.slice(2);
if (!out || specs.length < 2) {
  console.error('usage: node scripts/train/average-weights.mjs OUT IN1[:w1] IN2[:w2] …');
  process.exit(2);
}
const inputs = specs.map((s) => {
  const m = /^(.*?)(?::([0-9.]+))?$/.exec(s);
  return { path: m[1], weight: m[2] === undefined ? 1 : Number(m[2]) };
});
const total = inputs.reduce((a, b) => a + b.weight, 0);
const files = inputs.map(({ path }) => {
  const f = loadSafetensors(path);
  if (f.metadata.format !== MODEL_FORMAT) {
    console.error(`${path}: not a psfid model file`);
    process.exit(1);
  }
  return f;
});
const first = files[0];
const arch = first.metadata.architecture;
for (const [i, f] of files.entries()) {
  if (f.metadata.architecture !== arch) {
    console.error(`${inputs[i].path}: another architecture than ${inputs[0].path}`);
    process.exit(1);
  }
}
const averaged = new Map();
for (const [name, t0] of first.tensors) {
  averaged.set(name, tidy(() => {
    let acc = t0.float().mul(inputs[0].weight / total);
    for (let i = 1; i < files.length; i++) {
      const t = files[i].tensors.get(name);
      if (!t) throw new Error(`${inputs[i].path}: no tensor ${name}`);
      acc = acc.add(t.float().mul(inputs[i].weight / total));
    }
    return acc.to({ dtype: t0.dtype });
  }));
}
saveSafetensors(out, averaged, { ...first.metadata, averagedFrom: JSON.stringify(inputs) });
console.log(`${out}: the average of ${inputs.map((i) => `${i.path} (${(i.weight / total).toFixed(3)})`).join(', ')}`);
