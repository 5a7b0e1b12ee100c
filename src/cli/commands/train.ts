import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { readTrainConfig, resolveTrainConfig, type FlagSource, type TrainConfig } from '../../train/config.js';
import { checkpointPath, train } from '../../train/loop.js';
import { checkResume, existingRunFiles, formatChanges } from '../../train/resume.js';
import { exportModel } from '../../train/export.js';
import { SHIPPED_MODELS } from '../../model/store.js';
import { progressBar } from '../progress.js';
import { PsfidError, usageError } from '../../errors.js';

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

function intFlag(name: string, v: string): number {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isInteger(n) || n <= 0) throw usageError(name, `${name} must be a positive integer, got '${v}'`);
  return n;
}
function numFlag(name: string, v: string): number {
  const n = v.trim() === '' ? NaN : Number(v);
  if (!Number.isFinite(n) || n < 0) throw usageError(name, `${name} must be a non-negative number, got '${v}'`);
  return n;
}

/** The flags that override config keys: the key (dotted) each sets, and how its text becomes the value. */
const FLAG_KEYS: readonly (readonly [keyof TrainFlags, string, string, (flag: string, v: string) => unknown])[] = [
  ['device', '--device', 'device', (_, v) => v],
  ['steps', '--steps', 'steps', intFlag],
  ['batchSize', '--batch-size', 'batchSize', intFlag],
  ['cropSize', '--crop-size', 'cropSize', intFlag],
  ['lambda', '--lambda', 'lambda', numFlag],
  ['seed', '--seed', 'seed', numFlag],
  ['preset', '--preset', 'preset', (_, v) => v],
  ['lr', '--lr', 'optimizer.lr', numFlag],
];

/**
 * The config file (or the defaults) with the flags applied. Errors name what the user typed: `--config FILE` for a
 * file that cannot be read or parsed, `--crop-size` (not `cropSize`) for a bad flag value. Also returns, for each
 * config key a flag set, that flag.
 */
function resolveConfig(f: TrainFlags): { config: TrainConfig; flagOf: (key: string) => string | undefined } {
  const base: TrainConfig = f.config !== undefined ? readTrainConfig(f.config, `--config ${f.config}`) : resolveTrainConfig({});
  const merged: Record<string, unknown> = { ...base, optimizer: { ...base.optimizer } };
  const given: Record<string, FlagSource> = {};
  for (const [prop, flag, key, parse] of FLAG_KEYS) {
    const text = f[prop];
    if (typeof text !== 'string') continue;
    const value = parse(flag, text);
    if (key === 'optimizer.lr') (merged.optimizer as Record<string, unknown>).lr = value;
    else merged[key] = value;
    given[key] = { flag, given: text };
  }
  return { config: resolveTrainConfig(merged, 'flags', given), flagOf: (key) => given[key]?.flag };
}

/**
 * Refuses an --out that a new run would damage: a file, or a folder that holds a run when --resume does not continue
 * it (a new run would overwrite its checkpoint, log and model). The first check: nothing is read or written before it.
 */
function checkOutFolder(out: string, resume: boolean): void {
  if (existsSync(out) && !statSync(out).isDirectory()) throw usageError('--out', `--out ${out}: is a file, not a run folder`);
  const existing = existingRunFiles(out);
  if (!resume && existing.length > 0) {
    throw usageError('--out', `--out ${out} already holds a training run (${existing.join(', ')}); pass --resume to continue it, or choose another folder`);
  }
}

export function register(program: Command): void {
  program
    .command('train')
    .description('train an identification network on images synthesised on the fly (the seed\'s algorithm)')
    .option('--config <file>', 'training configuration (JSON; see docs/training.md for every key and default)')
    .requiredOption('--out <dir>', 'run folder: checkpoint.safetensors, log.jsonl, curves.png, model.safetensors, model.json (a folder that already holds a run needs --resume)')
    .option('--device <device>', 'cpu, cuda, cuda:N or auto (overrides the config)')
    .option('--resume', 'continue from <out>/checkpoint.safetensors exactly where it stopped; says which config keys changed from the run\'s (the network and optimizer kind cannot)')
    .option('--init-from <file|name>', `start from the weights of this checkpoint or model (same architecture), or a shipped model's name (${SHIPPED_MODELS.join(', ')}), at step 0 with a fresh optimizer: the next stage of a curriculum`)
    .option('--steps <n>', 'total optimizer steps (overrides the config)')
    .option('--batch-size <n>', 'images per step (overrides the config)')
    .option('--crop-size <n>', 'side of the observed crop y in pixels (overrides the config)')
    .option('--lr <rate>', 'base learning rate (overrides the config)')
    .option('--lambda <weight>', 'weight λ of the data term ‖ĥ⋆x − y‖₁ (overrides the config)')
    .option('--seed <n>', 'seed of weights, data and degradations (overrides the config)')
    .option('--preset <name>', 'network preset: small, seed or tiny (overrides the config)')
    .action(async (f: TrainFlags) => {
      checkOutFolder(f.out, f.resume === true);
      const { config, flagOf } = resolveConfig(f);
      // A resume says what it changes from the run's own config (printed once the run starts, so that a refused run
      // prints its error alone), and refuses what it cannot change: the network, the optimizer kind.
      const changes = f.resume && existsSync(checkpointPath(f.out)) ? checkResume(checkpointPath(f.out), config, flagOf) : [];
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
      let result: Awaited<ReturnType<typeof train>>;
      try {
        result = await train(config, {
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
              if (changes.length > 0) console.error(`psfid train: --resume: config changed from the run's: ${formatChanges(changes)}`);
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
      } catch (e) {
        // The loop names config keys (`cropSize 32 is below …`): where a flag set the key, name the flag too.
        const flag = e instanceof PsfidError && e.kind === 'usage' && e.param !== undefined ? flagOf(e.param) : undefined;
        throw flag ? usageError(flag, `${flag}: ${(e as Error).message}`) : e;
      }
      bar?.stop();
      const card = exportModel(f.out, result.model, config, result, result.prior);
      console.log(`psfid train: ${result.stopped ? 'stopped' : 'finished'} at step ${result.step}; model written to ${card}`);
      if (result.recomputedSteps > 0) console.error(`psfid train: ${result.recomputedSteps} step(s) recomputed with float32 convolutions (non-finite bfloat16 gradients; log.jsonl "recomputed" lines)`);
      if (result.stopped) process.exitCode = 130;
    });
}
