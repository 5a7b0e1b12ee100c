// Brings one output of a Zernike-head model back out of tanh saturation before a fine-tune (--init-from): the
// mode's row of the last layer (zernike.weight) and its bias are multiplied by FACTOR, so its pre-activation
// z = w·v + b shrinks towards 0, where tanh′(z) ≈ 1 and the loss can move it again (the session-5 diagnosis: the
// curriculum drove θ̂4/θmax to −0.995 on 97 % of validation samples, `scripts/analysis/theta-saturation.mjs`).
// Every other weight is copied unchanged. Usage: node scripts/train/rescale-head-mode.mjs IN OUT NOLL FACTOR
import { loadSafetensors, saveSafetensors, tensor } from '../../dist/src/engine/index.js';
import { ZERNIKE_HEAD_NOLL } from '../../dist/src/model/identifier.js';
import { CHECKPOINT_FORMAT } from '../../dist/src/train/checkpoint.js';
const [input, out, nollText, factorText] = process.argv.slice(2);
const noll = Number(nollText), factor = Number(factorText);
const row = ZERNIKE_HEAD_NOLL.indexOf(noll);
if (!input || !out || row < 0 || !(factor > 0)) {
  console.error('usage: node scripts/train/rescale-head-mode.mjs IN OUT NOLL(4–11) FACTOR(>0)');
  process.exit(2);
}
const { tensors, metadata } = loadSafetensors(input);
const key = metadata.format === CHECKPOINT_FORMAT ? 'model.zernike' : 'zernike';
const w = tensors.get(`${key}.weight`), b = tensors.get(`${key}.bias`);
if (!w || !b) {
  console.error(`${input}: no ${key}.weight / ${key}.bias (not a Zernike-head model)`);
  process.exit(1);
}
const [rows, cols] = w.shape;
const wv = Float32Array.from(w.to({ dtype: 'float32' }).toArray()), bv = Float32Array.from(b.to({ dtype: 'float32' }).toArray());
for (let c = 0; c < cols; c++) wv[row * cols + c] *= factor;
bv[row] *= factor;
tensors.set(`${key}.weight`, tensor(wv, [rows, cols]).to({ dtype: w.dtype }));
tensors.set(`${key}.bias`, tensor(bv, [rows]).to({ dtype: b.dtype }));
saveSafetensors(out, tensors, metadata);
console.log(`${out}: Noll ${noll} output (row ${row}) scaled by ${factor}`);
