// The seed's evaluation: draw degradations from μ (seeded), run the network, report PSNR(ĥ), PSNR(ĥ⋆x) and the
// PSF SNR as mean ± standard deviation, in the seed's two modes — (fc, θmax) given to the network, or fixed to the
// prior's mean — next to three baselines: (a) the mean PSF (θ = 0 at the true fc: no identification), (b) a
// classical blind estimator (alternating minimisation with a TV prior, src/identify/fit.ts), (c) the oracle fit of θ
// with the sharp image known (an upper bound for any Zernike-based estimate).
import { Generator, full, noGrad, stack, tidy, zeros, type Tensor } from '../engine/index.js';
import { blur, type Prior } from '../acquisition/index.js';
import { psfFromZernike, resolveOptics, type Optics } from '../optics/index.js';
import { Rng, stepSeed } from '../data/rng.js';
import { synthesizeBatch, type TrainingBatch } from '../train/synthesize.js';
import type { Source } from '../data/sources.js';
import type { Identifier } from '../model/identifier.js';
import { fitBlind, fitOracle } from '../identify/fit.js';
import { identifyRegion, type Augment } from '../identify/identify.js';
import { meanStd as stats, psnrImage, psnrPsf, psfSnr } from './metrics.js';

export type EvalMode = 'given' | 'mean';
export type MethodName = 'network-given' | 'network-mean' | 'mean-psf' | 'blind-tv' | 'oracle';

export interface EvalOptions {
  n: number;
  seed: number;
  modes: EvalMode[];
  cropSize: number;
  /** Baselines to run (the classical ones cost seconds per image). */
  baselines: ('mean-psf' | 'blind-tv' | 'oracle')[];
  batchSize?: number;
  device?: string;
  onProgress?(done: number, total: number): void;
  /** Keep the first few samples' y, h and ĥ (first network mode) for a figure. */
  keepExamples?: number;
  /** The network's test-time augmentation, as identify's (identify/identify.ts); default 'none'. */
  augment?: Augment;
}

export interface Example {
  y: Float32Array;
  ySize: number;
  h: Float32Array;
  hHat: Float32Array;
  psfSize: number;
  psnrPsf: number;
}

export interface PerImage {
  index: number;
  fc: number;
  thetaMax: number;
  /** Per method: [PSNR(ĥ), PSNR(ĥ⋆x), SNR] in dB. */
  scores: Partial<Record<MethodName, [number, number, number]>>;
}

export interface Summary {
  mean: number;
  std: number;
}

export interface EvalReport {
  n: number;
  seed: number;
  cropSize: number;
  augment: Augment;
  prior: Prior;
  methods: MethodName[];
  /** Per method: mean ± std of each metric. */
  summary: Partial<Record<MethodName, { psnrPsf: Summary; psnrImage: Summary; psfSnr: Summary }>>;
  images: PerImage[];
  examples: Example[];
}

function score(hHat: Tensor, b: TrainingBatch): [number, number, number][] {
  return noGrad(() =>
    tidy(() => {
      const p = psnrPsf(hHat, b.h).toArray();
      const i = psnrImage(blur(b.x, hHat, 'valid'), b.y0).toArray();
      const s = psfSnr(hHat, b.h).toArray();
      return p.map((v, k): [number, number, number] => [v, i[k]!, s[k]!]);
    }),
  );
}

/**
 * The network's PSFs [B, S, S] for a batch of crops y [B, 1, H, W]. With an augmentation each crop goes through
 * identify as one patch (identifyRegion), so the figures are those of what `psfid identify` does with it.
 */
function networkPsfs(model: Identifier, y: Tensor, fc: Tensor, thetaMax: Tensor, augment: Augment, device: string): Tensor {
  if (augment === 'none') return model.identify(y, fc, thetaMax);
  const [B, , H, W] = y.shape as [number, number, number, number];
  const pixels = tidy(() => y.to({ dtype: 'float32', device: 'cpu' }).data() as Float32Array); // a copy: the CPU float32 tensor is released
  const [fcs, tms] = [fc.toArray(), thetaMax.toArray()];
  const region = { x: 0, y: 0, width: W, height: H };
  const psfs = Array.from({ length: B }, (_, i) =>
    identifyRegion(model, pixels.subarray(i * H * W, (i + 1) * H * W), W, H, region, { fc: fcs[i]!, thetaMax: tms[i]!, patchSize: Math.max(H, W), augment, device }).psf,
  );
  const out = stack(psfs);
  for (const t of psfs) t.dispose();
  return out;
}

export function priorMean(prior: Prior): { fc: number; thetaMax: number } {
  return { fc: (prior.fc[0] + prior.fc[1]) / 2, thetaMax: (prior.thetaMax[0] + prior.thetaMax[1]) / 2 };
}

/** Evaluates `model` on `n` synthetic acquisitions of crops from `sources`; sample k depends only on (seed, k). */
export function evaluate(model: Identifier, sources: Source[], prior: Prior, opts: EvalOptions): EvalReport {
  const device = opts.device ?? 'cpu';
  const optics: Optics = resolveOptics({ fc: prior.fc[1], psfSize: model.config.psfSize, zernikeNoll: prior.zernikeNoll });
  const per = opts.batchSize ?? 8;
  const images: PerImage[] = [];
  const methods: MethodName[] = [
    ...opts.modes.map((m) => (m === 'given' ? 'network-given' : 'network-mean') as MethodName),
    ...opts.baselines,
  ];
  const mean = priorMean(prior);
  const augment = opts.augment ?? 'none';
  const examples: Example[] = [];
  model.eval();
  for (let k = 0; k * per < opts.n; k++) {
    const count = Math.min(per, opts.n - k * per);
    const gen = new Generator(stepSeed(opts.seed, k, 5));
    const b = synthesizeBatch(sources, prior, optics, new Rng(stepSeed(opts.seed, k, 4)), gen, count, opts.cropSize, device);
    gen.dispose();
    const fc = b.fc.toArray();
    const tm = b.thetaMax.toArray();
    const rows: PerImage[] = fc.map((f, i) => ({ index: k * per + i, fc: f, thetaMax: tm[i]!, scores: {} }));
    const record = (name: MethodName, hHat: Tensor): void => {
      score(hHat, b).forEach((s, i) => (rows[i]!.scores[name] = s));
      hHat.dispose();
    };
    for (const mode of opts.modes) {
      const hHat = noGrad(() =>
        mode === 'given'
          ? networkPsfs(model, b.y, b.fc, b.thetaMax, augment, device)
          : networkPsfs(model, b.y, full([count], mean.fc, { device }), full([count], mean.thetaMax, { device }), augment, device),
      );
      if (mode === opts.modes[0]) {
        const want = Math.min(count, (opts.keepExamples ?? 0) - examples.length);
        if (want > 0) {
          const [yd, hd, hh] = [b.y.data(), b.h.data(), hHat.data()] as Float32Array[];
          const c = b.y.size(2);
          const S = b.h.size(1);
          const scores = noGrad(() => tidy(() => psnrPsf(hHat, b.h).toArray()));
          for (let i = 0; i < want; i++) {
            examples.push({ y: yd!.slice(i * c * c, (i + 1) * c * c), ySize: c, h: hd!.slice(i * S * S, (i + 1) * S * S), hHat: hh!.slice(i * S * S, (i + 1) * S * S), psfSize: S, psnrPsf: scores[i]! });
          }
        }
      }
      record(mode === 'given' ? 'network-given' : 'network-mean', hHat);
    }
    if (opts.baselines.includes('mean-psf')) record('mean-psf', noGrad(() => psfFromZernike(optics, zeros([count, optics.zernikeNoll.length], { device }), { fc })));
    if (opts.baselines.includes('blind-tv')) {
      const r = fitBlind(optics, b.y, fc, { seed: k });
      r.theta.dispose();
      record('blind-tv', r.psf);
    }
    if (opts.baselines.includes('oracle')) {
      const r = fitOracle(optics, b.x, b.y, fc, { seed: k });
      r.theta.dispose();
      record('oracle', r.psf);
    }
    for (const t of Object.values(b)) (t as Tensor).dispose();
    images.push(...rows);
    opts.onProgress?.(images.length, opts.n);
  }
  const summary: EvalReport['summary'] = {};
  for (const m of methods) {
    const s = images.map((r) => r.scores[m]!).filter(Boolean);
    summary[m] = { psnrPsf: stats(s.map((v) => v[0])), psnrImage: stats(s.map((v) => v[1])), psfSnr: stats(s.map((v) => v[2])) };
  }
  return { n: images.length, seed: opts.seed, cropSize: opts.cropSize, augment, prior, methods, summary, images, examples };
}

const LABELS: Record<MethodName, string> = {
  'network-given': 'network, (fc, θmax) given',
  'network-mean': 'network, (fc, θmax) = prior mean',
  'mean-psf': 'baseline (a): mean PSF (θ = 0)',
  'blind-tv': 'baseline (b): blind Zernike fit + TV',
  oracle: 'baseline (c): oracle Zernike fit (x known)',
};

/** The report as a Markdown table (mean ± std, dB). */
export function markdownTable(report: EvalReport, title: string): string {
  const f = (s: Summary): string => `${s.mean.toFixed(2)} ± ${s.std.toFixed(2)}`;
  const lines = [
    `**${title}** — n = ${report.n}, seed ${report.seed}, ${report.cropSize}×${report.cropSize} crops${report.augment === 'none' ? '' : `, ${report.augment} augmentation`}`,
    '',
    '| method | PSNR(ĥ) dB | PSNR(ĥ⋆x) dB | PSF SNR dB |',
    '|---|---|---|---|',
  ];
  for (const m of report.methods) {
    const s = report.summary[m];
    if (s) lines.push(`| ${LABELS[m]} | ${f(s.psnrPsf)} | ${f(s.psnrImage)} | ${f(s.psfSnr)} |`);
  }
  return lines.join('\n');
}

export interface ThetaMaxBin {
  /** [lo, hi) in waves (the last bin includes hi). */
  range: [number, number];
  n: number;
  /** Mean PSNR(ĥ) per method over the bin's images, dB. */
  psnrPsf: Partial<Record<MethodName, number>>;
}

/**
 * PSNR(ĥ) by aberration strength: the prior's θmax range cut into `bins` equal parts, each method's mean PSNR(ĥ)
 * over the images drawn in each. Weak aberrations score far higher than strong ones (a PSF near the Airy pattern is
 * easy to get right), so the overall mean depends on the prior's range as much as on the model. Pure.
 */
export function psnrByThetaMax(report: Pick<EvalReport, 'prior' | 'methods' | 'images'>, bins = 3): ThetaMaxBin[] {
  const [lo, hi] = report.prior.thetaMax;
  const width = (hi - lo) / bins;
  return Array.from({ length: bins }, (_, b) => {
    const a = lo + b * width;
    const z = b === bins - 1 ? hi : a + width;
    const inBin = report.images.filter((r) => r.thetaMax >= a && (b === bins - 1 ? r.thetaMax <= z : r.thetaMax < z));
    const psnrPsf: Partial<Record<MethodName, number>> = {};
    for (const m of report.methods) {
      const v = inBin.flatMap((r) => (r.scores[m] ? [r.scores[m]![0]] : []));
      if (v.length > 0) psnrPsf[m] = v.reduce((x, y) => x + y, 0) / v.length;
    }
    return { range: [a, z], n: inBin.length, psnrPsf };
  });
}

/** psnrByThetaMax as a Markdown table: one row per method, one column per θmax bin. */
export function thetaMaxTable(bins: readonly ThetaMaxBin[], methods: readonly MethodName[]): string {
  const head = bins.map((b, i) => `θmax [${b.range[0].toFixed(3)}, ${b.range[1].toFixed(3)}${i === bins.length - 1 ? ']' : ')'} (n ${b.n})`);
  const lines = ['| method, PSNR(ĥ) dB by θmax (waves) | ' + head.join(' | ') + ' |', '|---|' + bins.map(() => '---').join('|') + '|'];
  for (const m of methods) lines.push(`| ${LABELS[m]} | ${bins.map((b) => (b.psnrPsf[m] === undefined ? '—' : b.psnrPsf[m]!.toFixed(2))).join(' | ')} |`);
  return lines.join('\n');
}
