import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { readTrainConfig, resolveTrainConfig, type TrainConfig } from '../../train/config.js';
import { checkpointPath, train } from '../../train/loop.js';
import { exportModel } from '../../train/export.js';
import { progressBar } from '../progress.js';
import { usageError } from '../../errors.js';

interface TrainFlags {
  config?: string;
  out: string;
  device?: string;
  resume?: boolean;
  initFrom?: string;
  steps?: string;
  batchSize?: string;
  cropSize?: string;
  lr?: string;
  lambda?: string;
  seed?: string;
  preset?: string;
}

function intFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw usageError(name, `${name} must be a positive integer, got '${v}'`);
  return n;
}
function numFlag(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw usageError(name, `${name} must be a non-negative number, got '${v}'`);
  return n;
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train an identification network on images synthesised on the fly (the seed\'s algorithm)')
    .option('--config <file>', 'training configuration (JSON; see docs/training.md for every key and default)')
    .requiredOption('--out <dir>', 'run folder: checkpoint.safetensors, log.jsonl, curves.png, model.safetensors, model.json')
    .option('--device <device>', 'cpu, cuda, cuda:N or auto (overrides the config)')
    .option('--resume', 'continue from <out>/checkpoint.safetensors exactly where it stopped')
    .option('--init-from <file>', 'start from the weights of this checkpoint or model (same architecture), at step 0 with a fresh optimizer: the next stage of a curriculum')
    .option('--steps <n>', 'total optimizer steps (overrides the config)')
    .option('--batch-size <n>', 'images per step (overrides the config)')
    .option('--crop-size <n>', 'side of the observed crop y in pixels (overrides the config)')
    .option('--lr <rate>', 'base learning rate (overrides the config)')
    .option('--lambda <weight>', 'weight λ of the data term ‖ĥ⋆x − y‖₁ (overrides the config)')
    .option('--seed <n>', 'seed of weights, data and degradations (overrides the config)')
    .option('--preset <name>', 'network preset: small, seed or tiny (overrides the config)')
    .action(async (f: TrainFlags) => {
      const base: TrainConfig = f.config ? readTrainConfig(f.config) : resolveTrainConfig({});
      const config = resolveTrainConfig({
        ...base,
        ...(f.device && { device: f.device }),
        ...(f.steps && { steps: intFlag('--steps', f.steps) }),
        ...(f.batchSize && { batchSize: intFlag('--batch-size', f.batchSize) }),
        ...(f.cropSize && { cropSize: intFlag('--crop-size', f.cropSize) }),
        ...(f.lambda && { lambda: numFlag('--lambda', f.lambda) }),
        ...(f.seed && { seed: numFlag('--seed', f.seed) }),
        ...(f.preset && { preset: f.preset }),
        ...(f.lr && { optimizer: { ...base.optimizer, lr: numFlag('--lr', f.lr) } }),
      }, 'flags');
      let stop = false;
      // Only a second Ctrl-C (SIGINT) aborts without a checkpoint. SIGTERM always stops cleanly: `timeout` sends it to
      // the child and then to its whole process group (the child again), and schedulers follow it with SIGKILL
      // anyway, so a repeated SIGTERM is no request to abort.
      const onSignal = (signal: NodeJS.Signals): void => {
        if (stop && signal === 'SIGINT') process.exit(130);
        if (stop) return;
        stop = true;
        process.stderr.write('\npsfid train: stopping after this step and writing a checkpoint (Ctrl-C again to abort)…\n');
      };
      if (f.resume && !existsSync(checkpointPath(f.out))) console.error(`psfid train: --resume: no checkpoint in ${f.out}; starting a fresh run`);
      let bar: ReturnType<typeof progressBar> | undefined;
      let running = NaN;
      const result = await train(config, {
        outDir: f.out,
        resume: f.resume,
        initFrom: f.initFrom,
        shouldStop: () => stop,
        events: {
          onStart: (s) => {
            // Installed once the set-up is done: before, a signal keeps its default (the process ends; nothing of
            // the run exists yet), so a set-up that hangs can still be stopped.
            process.on('SIGINT', onSignal);
            process.on('SIGTERM', onSignal);
            console.error(`psfid train: ${config.preset} (${s.parameters.toLocaleString('en-US')} parameters) on ${s.device}, steps ${s.startStep} → ${s.steps}, data: ${s.sources.join(', ')}${s.workers ? ` (crops drawn ahead by ${s.workers} worker thread${s.workers > 1 ? 's' : ''})` : ''}${s.noiseDraws === 'device' && s.device !== 'cpu' ? `; noise drawn on ${s.device}` : ''}${f.initFrom && s.startStep === 0 ? `; weights from ${f.initFrom}` : ''}`);
            bar = progressBar('train', s.steps, { unit: 'steps', extra: 'loss {loss} | {rate} steps/s | data {data} ms' });
            bar.tick(s.startStep, { loss: '-', rate: '-', data: '-' });
          },
          onStep: (s) => {
            running = Number.isNaN(running) ? s.loss : 0.98 * running + 0.02 * s.loss;
            bar?.tick(1, { loss: running.toFixed(4), rate: (1000 / s.stepMs).toFixed(2), data: s.dataMs.toFixed(0) });
          },
          onValidation: (v) => {
            if (!process.stderr.isTTY) console.error(`step ${v.step}: validation PSNR(ĥ) ${v.psnrPsf.toFixed(2)} dB, PSNR(ĥ⋆x) ${v.psnrImage.toFixed(2)} dB, SNR ${v.psfSnr.toFixed(2)} dB (n=${v.n})`);
          },
        },
      });
      bar?.stop();
      const card = exportModel(f.out, result.model, config, result, result.prior);
      console.log(`psfid train: ${result.stopped ? 'stopped' : 'finished'} at step ${result.step}; model written to ${card}`);
      if (result.recomputedSteps > 0) console.error(`psfid train: ${result.recomputedSteps} step(s) recomputed with float32 convolutions (non-finite bfloat16 gradients; log.jsonl "recomputed" lines)`);
      if (result.stopped) process.exitCode = 130;
    });
}
