// Makes a Zernike-head model file see its inputs at one reference cut-off (architecture.fcRef, src/model/cutoff.ts)
// and restores μ's default range of fc in its prior (which `psfid eval` draws from): for a model trained with the
// prior's fc fixed at FC_REF (configs/experiments/stage12-fixedfc-cpu.json), or to try inference-time resampling on
// any model. The weights are copied unchanged. Usage: node scripts/train/set-fc-ref.mjs IN OUT FC_REF
import { loadSafetensors, saveSafetensors } from '../../dist/src/engine/index.js';
import { MODEL_FORMAT } from '../../dist/src/model/store.js';
const [input, out, fcRefText] = process.argv.slice(2);
const fcRef = Number(fcRefText);
if (!input || !out || !(fcRef > 0 && fcRef < 0.5)) {
  console.error('usage: node scripts/train/set-fc-ref.mjs IN OUT FC_REF (a cut-off in (0, 0.5) cycles/pixel)');
  process.exit(2);
}
const { tensors, metadata } = loadSafetensors(input);
if (metadata.format !== MODEL_FORMAT) {
  console.error(`${input}: not a psfid model file (a checkpoint's model.safetensors is one)`);
  process.exit(1);
}
const architecture = { ...JSON.parse(metadata.architecture), fcRef };
const prior = JSON.parse(metadata.prior ?? '{}');
const trainedFc = prior.fc;
delete prior.fc;
saveSafetensors(out, tensors, { ...metadata, architecture: JSON.stringify(architecture), prior: JSON.stringify(prior) });
console.log(`${out}: fcRef ${fcRef}; prior fc ${trainedFc ? `${JSON.stringify(trainedFc)} → μ's default` : "μ's default (unchanged)"}`);
