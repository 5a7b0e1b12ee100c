import type { Command } from 'commander';
import { resolveDevice } from '../../engine/index.js';
import { resolvePrior, type PriorSpec } from '../../acquisition/index.js';
import { resolveSources } from '../../data/sources.js';
import { evaluate, markdownTable, psnrByThetaMax, thetaMaxTable, type EvalMode } from '../../evaluate/evaluate.js';
import { loadModel, defaultModelPath, resolveModelPath, SHIPPED_MODELS } from '../../model/store.js';
import { montage } from '../../report/figures.js';
import { encodePng } from '../../io/index.js';
import { checkOutputPaths, jsonBytes, pngPath, writeOutputs } from '../outputs.js';
import { usageError } from '../../errors.js';
import { progressBar } from '../progress.js';
import { numberFlag, precisionOption, seedFlag } from '../options.js';
import { AUGMENT_HELP } from './identify.js';
import { checkAugment } from '../../identify/identify.js';
import type { ConvPrecisionRequest } from '../../model/precision.js';

interface EvalFlags {
  model?: string;
  images: string[];
  n: string;
  seed: string;
  mode: string;
  cropSize: string;
  baselines: string;
  figure?: string;
  out: string;
  device: string;
  precision: ConvPrecisionRequest;
  title?: string;
  augment: string;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function register(program: Command): void {
  program
    .command('eval')
    .description('measure a model the seed\'s way: PSNR of ĥ and of ĥ⋆x, PSF SNR, with baselines, on degradations drawn from μ')
    .option('--model <file|name>', `trained model (.safetensors), or a shipped model's name (${SHIPPED_MODELS.join(', ')}); default: small (models/psfid-small.safetensors)`)
    .requiredOption('--images <dir>', 'folder of test images (TIFF/PNG/JPEG, recursive); repeat to pool folders', collect)
    .option('--n <count>', 'number of test acquisitions', '200')
    .option('--seed <n>', 'seed of crops and degradations (same seed, same test set)', '0')
    .option('--mode <mode>', 'given: the network gets the true (fc, θmax); mean: the prior\'s mean; both; none (baselines only)', 'both')
    .option('--crop-size <px>', 'side of each observed crop y in pixels', '64')
    .option('--baselines <list>', 'comma-separated from mean-psf, blind-tv, oracle, or none', 'mean-psf,blind-tv,oracle')
    .option('--augment <none|dihedral>', `the network's test-time augmentation, as identify's: ${AUGMENT_HELP}`, 'none')
    .option('--figure <png>', 'write a montage of the first examples (y, true h, ĥ, |ĥ−h|)')
    .option('--title <text>', 'title of the Markdown table (default: the image folders)')
    .option('--device <device>', 'cpu, cuda or auto', 'auto')
    .addOption(precisionOption())
    .requiredOption('--out <json>', 'report with per-image values')
    .action((f: EvalFlags) => {
      // numberFlag, not Number(): Number('') is 0 and Number('0x10') 16
      const n = numberFlag('--n', f.n, { integer: true, min: 1 });
      const seed = seedFlag(f.seed);
      const cropSize = numberFlag('--crop-size', f.cropSize, { integer: true, min: 16 });
      if (!['given', 'mean', 'both', 'none'].includes(f.mode)) throw usageError('--mode', `--mode must be given, mean, both or none, got '${f.mode}'`);
      const modes: EvalMode[] = f.mode === 'both' ? ['given', 'mean'] : f.mode === 'none' ? [] : [f.mode as EvalMode];
      const known = ['mean-psf', 'blind-tv', 'oracle'] as const;
      const baselines = f.baselines === 'none' ? [] : f.baselines.split(',').map((b) => b.trim());
      for (const b of baselines) if (!(known as readonly string[]).includes(b)) throw usageError('--baselines', `unknown baseline '${b}' (known: ${known.join(', ')}, or none)`);
      const twice = baselines.find((b, i) => baselines.indexOf(b) !== i);
      if (twice !== undefined) throw usageError('--baselines', `--baselines names '${twice}' twice; give each baseline once`);
      if (modes.length === 0 && baselines.length === 0) throw usageError('--mode', '--mode none with --baselines none leaves nothing to evaluate');
      const augment = checkAugment(f.augment, '--augment');
      // The montage's estimate and the augmentation are the network's: --mode none has neither.
      if (modes.length === 0 && f.figure !== undefined) throw usageError('--figure', '--figure shows the network\'s estimates, and --mode none runs no network; give --mode given, mean or both, or leave --figure out');
      if (modes.length === 0 && augment !== 'none') throw usageError('--augment', '--augment is the network\'s test-time augmentation, and --mode none runs no network; leave it out');
      if (f.figure !== undefined) pngPath('--figure', f.figure);
      const outputs = [{ path: f.out, flag: '--out' }, ...(f.figure !== undefined ? [{ path: f.figure, flag: '--figure' }] : [])];
      checkOutputPaths(outputs); // before the evaluation, which takes minutes
      const device = resolveDevice(f.device);
      const modelPath = resolveModelPath(f.model ?? defaultModelPath());
      const { model, info } = loadModel(modelPath, device, f.precision);
      if (modes.length > 0 && cropSize < model.minInputSize) throw usageError('--crop-size', `--crop-size must be ≥ ${model.minInputSize} for ${modelPath} (its smallest input), got ${cropSize}`);
      const prior = resolvePrior((info.prior ?? {}) as PriorSpec);
      const sources = resolveSources(f.images.map((p) => ({ kind: 'folder' as const, path: p, weight: 1 })), cropSize + model.config.psfSize - 1, 5000);
      const bar = progressBar('eval', n, { unit: 'images' });
      let last = 0;
      const report = evaluate(model, sources, prior, {
        n, seed, modes, cropSize, device, augment,
        baselines: baselines as (typeof known)[number][],
        keepExamples: f.figure ? 6 : 0,
        onProgress: (done) => {
          bar.tick(done - last);
          last = done;
        },
      });
      bar.stop();
      const byThetaMax = psnrByThetaMax(report);
      const table = `${markdownTable(report, f.title ?? f.images.join(' + '))}\n\n${thetaMaxTable(byThetaMax, report.methods)}`;
      const { examples, ...rest } = report;
      const bytes = [jsonBytes({ model: modelPath, precision: model.convPrecision, folders: f.images, table, byThetaMax, ...rest }, 1)];
      if (f.figure !== undefined) {
        const r = montage(examples.map((e) => ({ ...e, label: `PSNR ${e.psnrPsf.toFixed(1)} DB` })));
        bytes.push(encodePng({ width: r.width, height: r.height, channels: 3, data: r.data }, f.figure));
      }
      writeOutputs(outputs.map((o, i) => ({ ...o, bytes: bytes[i]! }))); // both or neither
      console.log(table);
    });
}
