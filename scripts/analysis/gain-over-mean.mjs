// The identify test's measure (test/identify/identify.test.ts, cases in test/identify/helpers.ts) for any model file:
// PSNR(ĥ) of `identify` against the mean PSF (θ = 0) on three known aberrations of the demo specimen (fc 0.2,
// θmax 0.12, σ 0.002). Usage: node scripts/analysis/gain-over-mean.mjs MODEL [--patch-size P] [--max-patches N]
import { loadModel } from '../../dist/src/model/store.js';
import { gainOverMeanPsf } from '../../dist/test/identify/helpers.js';
import { patchingFlags } from './patching.mjs';
const { model } = loadModel(process.argv[2]);
console.log(`mean gain ${gainOverMeanPsf(model, (msg) => console.log(msg), patchingFlags(process.argv.slice(3))).toFixed(2)} dB`);
