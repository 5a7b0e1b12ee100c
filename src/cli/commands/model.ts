import type { Command } from 'commander';
import { Identifier, describeModel, resolvePreset } from '../../model/identifier.js';
import { loadModel } from '../../model/store.js';
import { usageError } from '../../errors.js';

export function register(program: Command): void {
  const model = program.command('model').description('inspect identification networks');
  model
    .command('info')
    .description('print the layer summary and parameter count of a preset or a trained model')
    .option('--preset <name>', 'a preset: small (shipped, CPU), seed (~60 M parameters, GPU), tiny (tests)')
    .option('--model <file>', 'a trained model (.safetensors)')
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
}
