// Shared by theta-correlation.mjs, theta-saturation.mjs and fc-normalised.mjs: a training checkpoint's network (eval
// mode; the weights' moving average when the run kept one), its synthesizer and its own fixed validation set
// (optionally resized to n samples), rebuilt from the config stored in the checkpoint; `only` keeps the config's data sources of that generator or domain (e.g. beads, natural; '' or
// 'all' keeps them all), `priorJson` overrides parts of the prior (e.g. '{"sigma":[0,0.002],"gain":[0,0]}'),
// `cropSize` the side of the validation crops.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Identifier, resolvePreset } from '../../dist/src/model/identifier.js';
import { resolveTrainConfig } from '../../dist/src/train/config.js';
import { makeSynthesizer } from '../../dist/src/train/synthesize.js';
import { loadCheckpoint } from '../../dist/src/train/checkpoint.js';

export function validationRun(checkpoint, n, only, priorJson, cropSize) {
  const ck = loadCheckpoint(checkpoint);
  const config = resolveTrainConfig(priorJson ? { ...ck.config, prior: { ...ck.config.prior, ...JSON.parse(priorJson) } } : ck.config);
  if (n) config.validation.size = +n;
  if (cropSize) config.cropSize = +cropSize; // the validation crops' side (default: the run's cropSize)
  if (only && only !== 'all') {
    const kept = config.data.sources.filter((s) => s.generator === only || s.domain === only);
    if (kept.length === 0) throw new Error(`no data source '${only}' in ${checkpoint}'s config (${config.data.sources.map((s) => s.generator ?? s.domain ?? s.path).join(', ')})`);
    config.data.sources = kept;
  }
  const model = new Identifier(resolvePreset(config.preset, config.architecture));
  // A run with emaDecay exports the moving average of its weights (the model file): analyse that network too.
  model.loadStateDict(ck.average.size > 0 ? ck.average : ck.model);
  model.eval();
  const synth = makeSynthesizer(config, 'cpu', join(dirname(fileURLToPath(import.meta.url)), '..', '..'));
  return { step: ck.step, model, synth, set: synth.validationSet() };
}

/** Pearson correlation of two equally long number arrays (the analyses' per-mode readings). */
export function pearson(x, y) {
  const mx = x.reduce((a, b) => a + b) / x.length, my = y.reduce((a, b) => a + b) / y.length;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < x.length; i++) { sxy += (x[i] - mx) * (y[i] - my); sxx += (x[i] - mx) ** 2; syy += (y[i] - my) ** 2; }
  return sxy / Math.sqrt(sxx * syy + 1e-12);
}
