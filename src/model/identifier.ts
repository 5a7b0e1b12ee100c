// The identification network N_w(y, fc, θmax) → ĥ.
//
// Architecture (after deepinv's KernelIdentificationNetwork / Carbajal et al.'s J-MKPD, see ../shared/DESIGN.md):
// a U-Net-like encoder of `levels` stages (two 3×3 convs + LeakyReLU each, 2×2 max-pool between stages); the
// bottleneck is globally average-pooled to a vector, so any image size works; a decoder of stride-2 transposed
// convolutions grows a 1×1 seed into the S×S PSF (1 → 3 → 7 → 15 → 31 for S = 31), each stage fused with the
// globally pooled features of one encoder stage (added as a per-channel bias); a final 3×3 conv and a softmax over the
// S² pixels give ĥ ≥ 0 with Σĥ = 1.
//
// Conditioning: (fc, θmax) enter as two constant input channels, (fc − 0.1875)/0.0625 and (θmax − 0.085)/0.065,
// i.e. the default prior's range mapped to [−1, 1] (deepinv's RAM feeds its noise level the same way).
// Input normalisation: each y is standardised (minus its mean, over its standard deviation + 1e-6), so the
// estimate does not depend on the image's intensity scale or offset.
import { nn, Generator, Tensor, cat, maxPool2d, full, tidy } from '../engine/index.js';
import { usageError } from '../errors.js';

export interface IdentifierConfig {
  /** Channels of the first encoder stage; stage i has base·2^i. */
  baseChannels: number;
  /** Encoder stages (≥ 2). */
  levels: number;
  /** Channels of the decoder's first stage; halves every stage, at least 16. */
  decoderChannels: number;
  /** PSF size S (odd, of the form 2^k − 1: 15, 31, 63). */
  psfSize: number;
  /** LeakyReLU slope. */
  slope: number;
}

export const PRESETS: Record<'small' | 'seed' | 'tiny', IdentifierConfig> = {
  /** ≈ 2 M parameters: trains on 2 CPU cores within hours; the shipped model. */
  small: { baseChannels: 32, levels: 4, decoderChannels: 256, psfSize: 31, slope: 0.1 },
  /** ≈ 57 M parameters, the seed's size (64 → 1024 channels, five stages) for GPU users. */
  seed: { baseChannels: 64, levels: 5, decoderChannels: 2048, psfSize: 31, slope: 0.1 },
  /** A few thousand parameters, for tests. */
  tiny: { baseChannels: 4, levels: 2, decoderChannels: 16, psfSize: 15, slope: 0.1 },
};
export type PresetName = keyof typeof PRESETS;

export function resolvePreset(name: string): IdentifierConfig {
  const p = (PRESETS as Record<string, IdentifierConfig>)[name];
  if (!p) throw usageError('preset', `unknown model preset '${name}' (known: ${Object.keys(PRESETS).join(', ')})`);
  return p;
}

/** Conditioning of the network on the cut-off and the aberration amplitude, as documented above. */
export function conditioningValues(fc: number, thetaMax: number): [number, number] {
  return [(fc - 0.1875) / 0.0625, (thetaMax - 0.085) / 0.065];
}

class DoubleConv extends nn.Module {
  readonly a: nn.Conv2d;
  readonly b: nn.Conv2d;
  constructor(cin: number, cout: number, readonly slope: number, gen: Generator) {
    super();
    this.a = this.registerModule('conv1', new nn.Conv2d(cin, cout, 3, { padding: 1, gen }));
    this.b = this.registerModule('conv2', new nn.Conv2d(cout, cout, 3, { padding: 1, gen }));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.b.forward(this.a.forward(x).leakyRelu(this.slope)).leakyRelu(this.slope));
  }
}

export class Identifier extends nn.Module {
  readonly encoder: DoubleConv[] = [];
  readonly up: nn.ConvTranspose2d[] = [];
  readonly skip: nn.Linear[] = [];
  readonly refine: nn.Conv2d[] = [];
  readonly head: nn.Conv2d;
  readonly seedProj: nn.Linear;
  readonly decoderWidths: number[];

  constructor(readonly config: IdentifierConfig, seed = 0) {
    super();
    const { baseChannels: b, levels, psfSize: S, slope } = config;
    const stages = Math.log2(S + 1) - 2; // 1 → 3 (stride 1), then log2(S+1) − 2 stride-2 stages n → 2n+1 reach S
    if (!Number.isInteger(stages) || stages < 1) throw usageError('psfSize', `psfSize must be 2^k − 1 (15, 31, 63), got ${S}`);
    if (levels < 2) throw usageError('levels', `levels must be ≥ 2, got ${levels}`);
    const gen = new Generator(seed);
    const widths: number[] = [];
    let cin = 3; // y and the two conditioning channels
    for (let i = 0; i < levels; i++) {
      const cout = b * 2 ** i;
      this.encoder.push(this.registerModule(`enc${i}`, new DoubleConv(cin, cout, slope, gen)));
      widths.push(cout);
      cin = cout;
    }
    const bottleneck = widths[levels - 1]!;
    // Decoder widths: decoderChannels, halving, ≥ 16; stage 0 is the 1×1 → 3×3 step.
    this.decoderWidths = Array.from({ length: stages + 1 }, (_, i) => Math.max(16, config.decoderChannels >> i));
    this.seedProj = this.registerModule('seed', new nn.Linear(bottleneck, this.decoderWidths[0]!, { gen }));
    for (let i = 0; i <= stages; i++) {
      const cinD = this.decoderWidths[i]!;
      const coutD = this.decoderWidths[Math.min(i + 1, stages)]!;
      // Stage 0: 1×1 → 3×3 (kernel 3, stride 1); later stages: n → 2n + 1 (kernel 3, stride 2).
      this.up.push(this.registerModule(`up${i}`, new nn.ConvTranspose2d(cinD, coutD, 3, { stride: i === 0 ? 1 : 2, gen })));
      // Fuse globally pooled features of encoder stage (deepest first) as a per-channel bias.
      const src = widths[Math.max(0, levels - 1 - i)]!;
      this.skip.push(this.registerModule(`skip${i}`, new nn.Linear(src, coutD, { gen })));
      this.refine.push(this.registerModule(`refine${i}`, new nn.Conv2d(coutD, coutD, 3, { padding: 1, gen })));
    }
    this.head = this.registerModule('head', new nn.Conv2d(this.decoderWidths[stages]!, 1, 3, { padding: 1, gen }));
  }

  /**
   * y: [B, 1, H, W] (any intensity scale; H, W ≥ 2^(levels−1)); fc, thetaMax: per-sample values (length B) or one
   * number for all. Returns ĥ [B, S, S], ĥ ≥ 0, Σĥ = 1.
   */
  forward(y: Tensor, fc?: Tensor, thetaMax?: Tensor): Tensor {
    if (!fc || !thetaMax) throw new TypeError('Identifier.forward(y, fc, thetaMax): fc and thetaMax tensors [B] are required');
    return this.identify(y, fc, thetaMax);
  }

  identify(y: Tensor, fc: Tensor, thetaMax: Tensor): Tensor {
    const [B, C, H, W] = y.shape as [number, number, number, number];
    if (y.ndim !== 4 || C !== 1) throw new TypeError(`Identifier: y must be [B, 1, H, W], got [${y.shape.join(', ')}]`);
    const { slope, psfSize: S } = this.config;
    return tidy(() => {
      const mean = y.mean([2, 3], true);
      const std = y.std([2, 3], { keepdim: true, unbiased: false });
      const yn = y.sub(mean).div(std.add(1e-6));
      const [c0, c1] = [fc.sub(0.1875).div(0.0625), thetaMax.sub(0.085).div(0.065)];
      const ones = full([B, 1, H, W], 1, { device: y.device, dtype: y.dtype });
      const cond0 = ones.mul(c0.reshape([B, 1, 1, 1]));
      const cond1 = ones.mul(c1.reshape([B, 1, 1, 1]));
      let h = cat([yn, cond0, cond1], 1);
      const pooled: Tensor[] = [];
      this.encoder.forEach((stage, i) => {
        if (i > 0) h = maxPool2d(h, 2);
        h = stage.forward(h);
        pooled.push(h.mean([2, 3]));
      });
      const levels = this.encoder.length;
      let d = this.seedProj.forward(pooled[levels - 1]!).leakyRelu(slope).reshape([B, -1, 1, 1]);
      this.up.forEach((up, i) => {
        d = up.forward(d);
        const bias = this.skip[i]!.forward(pooled[Math.max(0, levels - 1 - i)]!);
        d = d.add(bias.reshape([B, -1, 1, 1])).leakyRelu(slope);
        d = this.refine[i]!.forward(d).leakyRelu(slope).add(d);
      });
      const logits = this.head.forward(d).reshape([B, S * S]);
      return logits.softmax(1).reshape([B, S, S]);
    });
  }
}

/** A one-line-per-layer summary and the parameter count, for `psfid model info`. */
export function describeModel(model: Identifier): { lines: string[]; parameters: number } {
  const lines = model.namedParameters().map(([name, t]) => `${name.padEnd(24)} ${t.shape.join('×').padEnd(18)} ${t.numel.toLocaleString('en-US')}`);
  return { lines, parameters: model.numParameters() };
}
