// Times identifyRegion on a 512² dead-leaves image (16 patches of 128², as bench identify.512) for any model file, at one precision; no reference (the bench compares the shipped model with PyTorch).
// Usage: PSFID_THREADS=1 node scripts/analysis/identify-time.mjs MODEL bfloat16|float32
import { loadModel } from '../../dist/src/model/store.js';
import { identifyRegion } from '../../dist/src/identify/identify.js';
import { deadLeaves } from '../../dist/src/data/procedural.js';
import { Rng } from '../../dist/src/data/rng.js';
import { tidy } from '../../dist/src/engine/index.js';
const [file, precision] = process.argv.slice(2);
const { model } = loadModel(file);
model.eval();
model.convPrecision = precision;
const N = 512;
const image = deadLeaves(new Rng(512), N);
const region = { x: 0, y: 0, width: N, height: N };
const run = () => tidy(() => { identifyRegion(model, image, N, N, region, { fc: 0.1875, thetaMax: 0.085 }); });
for (let i = 0; i < 3; i++) run();
const t = [];
for (let i = 0; i < 10; i++) { const s = performance.now(); run(); t.push(performance.now() - s); }
t.sort((a, b) => a - b);
console.log(`${file} ${precision}: median ${t[5].toFixed(1)} ms, min ${t[0].toFixed(1)} ms`);
