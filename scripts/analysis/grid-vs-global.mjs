// The identify test's grid case (test/identify/identify.test.ts, field in test/identify/helpers.ts) for any model
// file: mean PSNR(ĥ) of a 2 × 2 PSF grid and of one global PSF on each known spatially varying field.
// Usage: node scripts/analysis/grid-vs-global.mjs MODEL [--patch-size P] [--max-patches N]
import { loadModel } from '../../dist/src/model/store.js';
import { GRID_FIELDS, gridAgainstGlobal } from '../../dist/test/identify/helpers.js';
import { patchingFlags } from './patching.mjs';
const { model } = loadModel(process.argv[2]);
for (const [name, field] of Object.entries(GRID_FIELDS)) {
  const { grid, global } = gridAgainstGlobal(model, field, patchingFlags(process.argv.slice(3)));
  console.log(`${name}: grid ${grid.toFixed(2)} dB, one global PSF ${global.toFixed(2)} dB`);
}
