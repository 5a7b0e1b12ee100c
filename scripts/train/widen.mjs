// Doubles the width of a model's encoder and spectral branch without changing its function (Net2Net, Chen et al.
// 2016): every channel of enc*/spec* (and every output of specproj) gets a copy; each layer that reads the copies
// gets the original's input weight split in two, w/2·(1 + ε) and w/2·(1 − ε) with ε ~ N(0, EPS²) per input. Copies
// compute identical activations, so the sum is w·a: the widened network's PSF equals the original's to float
// round-off, and the unequal split breaks the copies' symmetry so that training can separate them. The per-sample
// normalisation of the head's features (headNorm) is unchanged because every feature is duplicated exactly once.
// The head (seed, hidden, zernike, residual) keeps its width. Why: to test whether this CPU-trained model is
// limited by the encoder's capacity, continuing from the shipped model instead of re-running the curriculum.
// Usage: node scripts/train/widen.mjs IN OUT [EPS=0.1]
import { loadSafetensors, saveSafetensors, tensor, Generator, normal } from '../../dist/src/engine/index.js';
import { MODEL_FORMAT } from '../../dist/src/model/store.js';
const [input, out, epsText] = process.argv.slice(2);
const eps = Number(epsText ?? 0.1);
if (!input || !out || !(eps >= 0)) {
  console.error('usage: node scripts/train/widen.mjs IN OUT [EPS]');
  process.exit(2);
}
const { tensors, metadata } = loadSafetensors(input);
if (metadata.format !== MODEL_FORMAT) {
  console.error(`${input}: not a psfid model file`);
  process.exit(1);
}
const arch = JSON.parse(metadata.architecture);
const gen = new Generator(7);
const values = (name) => {
  const t = tensors.get(name);
  if (!t) throw new Error(`${input}: no ${name}`);
  return { shape: t.shape, v: Float32Array.from(t.to({ dtype: 'float32' }).toArray()) };
};
/** Output map of a doubled group of C: new j reads old j mod C. */
const dupOut = (C) => Array.from({ length: 2 * C }, (_, j) => j % C);
/** Input map of a doubled group of C (blocks of `block` entries each, e.g. a flattened 4×4 map): source and scale. */
const dupIn = (C, block = 1) => {
  const e = normal(gen, [C], { std: eps }).toArray();
  return Array.from({ length: 2 * C * block }, (_, j) => {
    const c = Math.floor(j / block) % C;
    const sign = j < C * block ? 1 : -1;
    return { src: c * block + (j % block), scale: 0.5 * (1 + sign * e[c]) };
  });
};
const same = (n, offset = 0) => Array.from({ length: n }, (_, j) => ({ src: offset + j, scale: 1 }));
/** Rewrites weight [out, in, ...k] (and its bias) of layer `name` through an output map and an input map. */
function widen(name, outMap, inMap) {
  const w = values(`${name}.weight`);
  const [O, I] = w.shape;
  const k = w.shape.slice(2).reduce((a, b) => a * b, 1);
  const om = outMap ?? Array.from({ length: O }, (_, j) => j);
  const im = inMap ?? same(I);
  const nv = new Float32Array(om.length * im.length * k);
  om.forEach((o, jo) => im.forEach(({ src, scale }, ji) => {
    for (let q = 0; q < k; q++) nv[(jo * im.length + ji) * k + q] = w.v[(o * I + src) * k + q] * scale;
  }));
  tensors.set(`${name}.weight`, tensor(nv, [om.length, im.length, ...w.shape.slice(2)]));
  if (tensors.has(`${name}.bias`)) {
    const b = values(`${name}.bias`);
    tensors.set(`${name}.bias`, tensor(Float32Array.from(om, (o) => b.v[o]), [om.length]));
  }
}
const widths = (prefix) => [...tensors.keys()].filter((k) => k.startsWith(prefix) && k.endsWith('.conv1.weight')).sort().map((k) => tensors.get(k).shape[0]);
/** A chain of DoubleConv stages `prefix`0…: every output doubled; returns the last stage's width (old). */
function widenChain(prefix) {
  const ws = widths(prefix);
  let inMap = null; // the first stage reads the 3 input channels unchanged
  ws.forEach((C, i) => {
    widen(`${prefix}${i}.conv1`, dupOut(C), inMap);
    widen(`${prefix}${i}.conv2`, dupOut(C), dupIn(C));
    inMap = dupIn(C);
  });
  return ws[ws.length - 1];
}
const encLast = widenChain('enc');
const seedIn = [...dupIn(encLast)];
let specOut = 0; // width of the spectral feature vector before widening (0 without the branch)
if (arch.spectralChannels > 0) {
  const specLast = widenChain('spec');
  const [out, specIn] = tensors.get('specproj.weight').shape;
  specOut = out;
  widen('specproj', dupOut(specOut), dupIn(specLast, specIn / specLast));
  seedIn.push(...dupIn(specOut).map(({ src, scale }) => ({ src: src + encLast, scale })));
}
const consumed = encLast + specOut;
seedIn.push(...same(tensors.get('seed.weight').shape[1] - consumed, consumed)); // the conditioning inputs (conditionHead)
widen('seed', null, seedIn);
const wide = { ...arch, baseChannels: 2 * arch.baseChannels, spectralChannels: 2 * (arch.spectralChannels ?? 0) };
saveSafetensors(out, tensors, { ...metadata, architecture: JSON.stringify(wide) });
console.log(`${out}: baseChannels ${arch.baseChannels} → ${wide.baseChannels}, spectralChannels ${arch.spectralChannels} → ${wide.spectralChannels} (ε ${eps})`);
