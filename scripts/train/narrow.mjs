// Halves the width of a pixel-head (`seed` architecture) model by structured pruning: every encoder, spectral and
// decoder stage keeps the half of its channels whose incoming weights have the largest L1 norm (Li et al. 2017,
// "Pruning filters for efficient ConvNets"), and every layer that reads them keeps the matching inputs. The result is
// a network of a quarter of the parameters that computes a different (damaged) function: it is a starting point
// for `psfid train --init-from`, not a model. Why: the 8.9 M-parameter `medium` network reads defocus (session 15)
// but is 17.8 MB; a quarter of it is a file of a few MB, and starting from its channels should keep more of what it
// learnt on the GPU than training the narrow network from scratch on the CPU.
// Usage: node scripts/train/narrow.mjs IN OUT
import { loadSafetensors, saveSafetensors, tensor } from '../../dist/src/engine/index.js';
import { MODEL_FORMAT } from '../../dist/src/model/store.js';
const [input, out] = process.argv.slice(2);
if (!input || !out) {
  console.error('usage: node scripts/train/narrow.mjs IN OUT');
  process.exit(2);
}
const { tensors, metadata } = loadSafetensors(input);
const arch = JSON.parse(metadata.architecture);
if (metadata.format !== MODEL_FORMAT || arch.head === 'zernike' || !(arch.spectralChannels > 0)) {
  console.error(`${input}: not a psfid model with the pixel head and the spectral branch`);
  process.exit(1);
}
const values = (name) => {
  const t = tensors.get(name);
  if (!t) throw new Error(`${input}: no ${name}`);
  return { shape: t.shape, v: Float32Array.from(t.to({ dtype: 'float32' }).toArray()) };
};
const range = (n, offset = 0) => Array.from({ length: n }, (_, j) => offset + j);
/** Input indices of a kept channel set whose channels are `block` consecutive inputs each (a flattened 4×4 map). */
const blocks = (keep, block) => keep.flatMap((c) => range(block, c * block));
/**
 * Keeps rows `outKeep` (null: the `count` strongest by L1 norm over the kept inputs) and inputs `inKeep` of layer
 * `name`; `transposed` for ConvTranspose2d weights [in, out, k, k]. Returns the kept output indices, ascending.
 */
function keep(name, inKeep, { count, outKeep, transposed = false } = {}) {
  const w = values(`${name}.weight`);
  const [A, B] = w.shape;
  const k = w.shape.slice(2).reduce((a, b) => a * b, 1);
  const [O, I] = transposed ? [B, A] : [A, B];
  const at = (o, i, q) => (transposed ? (i * O + o) * k + q : (o * I + i) * k + q);
  const ins = inKeep ?? range(I);
  let outs = outKeep;
  if (!outs) {
    const norm = range(O).map((o) => {
      let s = 0;
      for (const i of ins) for (let q = 0; q < k; q++) s += Math.abs(w.v[at(o, i, q)]);
      return s;
    });
    outs = range(O).sort((a, b) => norm[b] - norm[a]).slice(0, count).sort((a, b) => a - b);
  }
  const nv = new Float32Array(outs.length * ins.length * k);
  outs.forEach((o, jo) => ins.forEach((i, ji) => {
    for (let q = 0; q < k; q++) nv[transposed ? (ji * outs.length + jo) * k + q : (jo * ins.length + ji) * k + q] = w.v[at(o, i, q)];
  }));
  tensors.set(`${name}.weight`, tensor(nv, transposed ? [ins.length, outs.length, ...w.shape.slice(2)] : [outs.length, ins.length, ...w.shape.slice(2)]));
  if (tensors.has(`${name}.bias`)) {
    const b = values(`${name}.bias`);
    tensors.set(`${name}.bias`, tensor(Float32Array.from(outs, (o) => b.v[o]), [outs.length]));
  }
  return outs;
}
/** A chain of DoubleConv stages `prefix`0…: each keeps half its channels; returns every stage's kept outputs. */
function narrowChain(prefix) {
  const stages = [...tensors.keys()].filter((k) => k.startsWith(prefix) && k.endsWith('.conv1.weight')).sort();
  let ins = null; // the first stage reads the 3 input channels
  return stages.map((key) => {
    const name = key.slice(0, -'.conv1.weight'.length);
    const C = tensors.get(key).shape[0];
    const hidden = keep(`${name}.conv1`, ins, { count: C / 2 });
    ins = keep(`${name}.conv2`, hidden, { count: C / 2 });
    return ins;
  });
}
const enc = narrowChain('enc');
const spec = narrowChain('spec');
const specLast = spec[spec.length - 1];
const [specOut, specIn] = tensors.get('specproj.weight').shape;
const specKeep = keep('specproj', blocks(specLast, specIn / (2 * specLast.length)), { count: specOut / 2 });
// The head reads [pooled encoder stage ; spectral features]: the deepest stage for `seed`, then one per decoder stage.
const encWidths = enc.map((e) => e.length * 2);
const headIn = (stage) => [...enc[stage], ...specKeep.map((j) => j + encWidths[stage])];
const levels = enc.length;
let d = keep('seed', headIn(levels - 1), { count: tensors.get('seed.weight').shape[0] / 2 });
const ups = [...tensors.keys()].filter((k) => /^up\d+\.weight$/.test(k)).length;
for (let i = 0; i < ups; i++) {
  // up_i's outputs, the skip bias added to them and refine_i (a residual block) share one channel set.
  const outs = keep(`up${i}`, d, { count: tensors.get(`up${i}.weight`).shape[1] / 2, transposed: true });
  keep(`skip${i}`, headIn(Math.max(0, levels - 1 - i)), { outKeep: outs });
  keep(`refine${i}`, outs, { outKeep: outs });
  d = outs;
}
keep('head', d, { outKeep: [0] });
const narrow = { ...arch, baseChannels: arch.baseChannels / 2, spectralChannels: arch.spectralChannels / 2, decoderChannels: arch.decoderChannels / 2 };
saveSafetensors(out, tensors, { ...metadata, architecture: JSON.stringify(narrow) });
const count = [...tensors.values()].reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);
console.log(`${out}: baseChannels ${arch.baseChannels} → ${narrow.baseChannels}, spectralChannels ${arch.spectralChannels} → ${narrow.spectralChannels}, decoderChannels ${arch.decoderChannels} → ${narrow.decoderChannels}; ${count.toLocaleString('en-US')} parameters`);
