import type { Command } from 'commander';
import { Identifier, describeModel, resolvePreset } from '../../model/identifier.js';
import { loadModel, saveModel, SHIPPED_MODELS } from '../../model/store.js';
import { loadCheckpoint } from '../../train/checkpoint.js';
import { resolveTrainConfig } from '../../train/config.js';
import { usageError } from '../../errors.js';

export function register(program: Command): void {
  const model = program.command('model').description('inspect identification networks');
  model
    .command('info')
    .description('print the layer summary and parameter count of a preset or a trained model')
    .option('--preset <name>', 'a preset: small (shipped, CPU), seed (~60 M parameters, GPU), tiny (tests)')
    .option('--model <file|name>', `a trained model (.safetensors), or a shipped model's name (${SHIPPED_MODELS.join(', ')})`)
    .option('--json', 'print JSON instead of a table')
    .action((f: { preset?: string; model?: string; json?: boolean }) => {
      if (!!f.preset === !!f.model) throw usageError('--preset', 'give exactly one of --preset or --model');
      let m: Identifier;
      let label: string;
      if (f.preset) {
        m = new Identifier(resolvePreset(f.preset));
        label = `preset ${f.preset}`;
      } else {
        m = loadModel(f.model!).model;
        label = f.model!;
      }
      const { lines, parameters } = describeModel(m);
      if (f.json) {
        console.log(JSON.stringify({ source: label, architecture: m.config, parameters, layers: m.namedParameters().map(([n, t]) => ({ name: n, shape: t.shape })) }));
      } else {
        console.log(`${label}: ${JSON.stringify(m.config)}`);
        for (const l of lines) console.log('  ' + l);
        console.log(`total parameters: ${parameters.toLocaleString('en-US')}`);
      }
      m.dispose();
    });
  model
    .command('export')
    .description('write the weights of a training checkpoint as a model file (safetensors + metadata) that identify, grid and eval use')
    .requiredOption('--checkpoint <file>', 'a checkpoint.safetensors written by psfid train')
    .requiredOption('--out <file>', 'the model file to write (.safetensors)')
    .option('--trained-weights', 'of a run with emaDecay, export the trained weights instead of their moving average (the default, as psfid train exports)')
    .action((f: { checkpoint: string; out: string; trainedWeights?: boolean }) => {
      const ck = loadCheckpoint(f.checkpoint);
      try {
        const config = resolveTrainConfig(ck.config, f.checkpoint);
        const m = new Identifier(resolvePreset(config.preset, config.architecture), config.seed);
        const averaged = ck.average.size > 0 && !f.trainedWeights;
        m.loadStateDict(averaged ? ck.average : ck.model);
        const validation = (ck.extra as { lastValidation?: unknown } | undefined)?.lastValidation ?? null;
        saveModel(f.out, m, { preset: config.preset, architecture: m.config, prior: ck.prior, training: { steps: ck.step, config, validation } });
        console.log(`psfid model export: ${f.out} (${config.preset}, step ${ck.step}${averaged ? ', the moving average of the weights' : ''})`);
        m.dispose();
      } finally {
        ck.dispose();
      }
    });
}
