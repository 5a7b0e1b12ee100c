// The identification network N_w(y, fc, θmax) → ĥ.
//
// Architecture (after deepinv's KernelIdentificationNetwork / Carbajal et al.'s J-MKPD, see ../shared/DESIGN.md):
// a U-Net-like encoder of `levels` stages (two 3×3 convs + LeakyReLU each, 2×2 max-pool between stages); the
// bottleneck is globally average-pooled to a vector, so any image size works; a decoder of stride-2 transposed
// convolutions grows a 1×1 seed into the S×S PSF (1 → 3 → 7 → 15 → 31 for S = 31), each stage fused with the
// globally pooled features of one encoder stage (added as a per-channel bias); a final 3×3 conv and a softmax over the
// S² pixels give ĥ ≥ 0 with Σĥ = 1.
//
// The 'zernike' head replaces the decoder by Noll 4–11 coefficients and the exact optics, optionally with a pixel
// correction on top (psfResidual, below).
//
// Conditioning: (fc, θmax) enter as two constant input channels, (fc − 0.1875)/0.0625 and (θmax − 0.085)/0.065,
// i.e. the default prior's range mapped to [−1, 1] (deepinv's RAM feeds its noise level the same way).
// Input normalisation: each y is standardised (minus its mean, over its standard deviation + 1e-6), so the
// estimate does not depend on the image's intensity scale or offset.
import type { ConvPrecision } from './precision.js';
import { nn, Generator, Tensor, cat, maxPool2d, full, tidy, keep, tensor, fft2, fftshift, normal, noGrad, zeros, type DType } from '../engine/index.js';
import { fromReferenceCutoff, referenceSide, toReferenceCutoff } from './cutoff.js';
import { radialLogProfile } from './radial.js';
import { usageError } from '../errors.js';
import { psfFromZernike, resolveOptics, type Optics } from '../optics/index.js';

/** The modes the 'zernike' head predicts. */
export const ZERNIKE_HEAD_NOLL: readonly number[] = Object.freeze([4, 5, 6, 7, 8, 9, 10, 11]);

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
  /**
   * Channels of the spectral branch (0 = none): a small CNN over the tile-averaged log power spectrum of the
   * standardised input (64×64 Hann-windowed tiles, fftshifted, with two frequency-coordinate channels), flattened
   * after pooling to 4×4 so that *where* in frequency a feature sits is kept. The blur's transfer function
   * |OTF(f)|² multiplies the image's spectrum, so this is where most of the PSF's signature lives; the purely
   * spatial encoder (globally pooled) learned it far more slowly on CPU budgets.
   */
  spectralChannels: number;
  /** Side of the spectral branch's tiles (a multiple of 16; default 64): inputs must be at least this large. */
  spectralTile?: number;
  /**
   * 'pixels' (default): the transposed-convolution decoder and a softmax over the S² pixels.
   * 'zernike': a physics head — an MLP predicts Noll 4–11 coefficients θ̂ = θmax·tanh(z) and ĥ = h(θ̂, fc) is computed
   * by the (exact, differentiable) optics. Far easier to learn on a CPU budget; it can only express aberrations in
   * that set. The loss stays on ĥ, so the twin-image ambiguity costs nothing.
   */
  head?: 'pixels' | 'zernike';
  /**
   * Also feed the two conditioning values straight into the head's MLP (next to the pooled features), not only as
   * constant input channels of the spatial encoder. Default false (the first shipped model had no such input).
   */
  conditionHead?: boolean;
  /**
   * Scale that each patch is divided by after subtracting its mean: 'std' (default; the first shipped model) or
   * 'range' (max − min). Sparse scenes — beads, spots — standardised by their std put their peaks at 30–60σ, which
   * drives He-initialised features and the head's tanh into saturation at once (training then stalls); the range
   * keeps every input within [−1, 1].
   */
  inputNorm?: 'std' | 'range';
  /**
   * Global pooling of each encoder stage: 'mean' (default) or 'meanmax' (mean and max, concatenated). In a sparse
   * scene a bead's features are ~2 % of a 64² patch's mean; the max keeps them at full strength.
   */
  pool?: 'mean' | 'meanmax';
  /**
   * Normalise the head's input feature vector per sample (zero mean, unit variance over its entries, no parameters)
   * before the first layer, so that large pooled features cannot saturate θ̂ = θmax·tanh(z) at the start.
   */
  headNorm?: boolean;
  /** Hidden layers of the 'zernike' head's MLP (default 1). */
  headLayers?: number;
  /**
   * 'zernike' head only: also predict a pixel correction r [S, S] (a linear map of the head's hidden vector, starting
   * at zero) and return ĥ = max(h(θ̂) + r, 0), renormalised to sum 1. A single h(θ̂) cannot express the broader,
   * hedged PSF that is the best estimate when the image leaves θ uncertain (the loss then abuses defocus as a width
   * knob, see docs/model-history.md, session 5); the correction can, while h(θ̂) keeps the physics.
   */
  psfResidual?: boolean;
  /** Width of a hidden layer (LeakyReLU) before the pixel correction's output layer; 0 (default): linear. */
  psfResidualHidden?: number;
  /**
   * 'zernike' head only: K ≥ 2 predicts a mixture ĥ = Σ_k w_k h(θ̂_k) (+ the pixel correction) of K Zernike PSFs
   * with softmax weights, instead of one h(θ̂). The evaluation rewards the posterior-mean PSF, itself a mixture of
   * h(θ) over the θ the image leaves plausible; K components can hedge between such hypotheses where one h(θ̂) plus
   * a linear correction cannot. Components 2…K are offsets z + Δ_k(v) from the main one in tanh space (θ̂_k =
   * θmax·tanh(z + Δ_k)), with Δ's weights at zero and the weights' logits at zero, so a grown network starts as its
   * one-component self up to the small distinct biases that break the components' symmetry. Default 1.
   */
  psfMixture?: number;
  /**
   * 'zernike' head only: how the even-order modes (defocus, astigmatism, spherical; their joint sign is the twin-image
   * ambiguity) are predicted. 'direct' (default): θ̂ = θmax·tanh(z) for every mode, which makes the network pick one
   * member of each twin pair — a choice no continuous function of the image can make everywhere, so the cut lands
   * somewhere in θ space and smears the even modes near it. 'outer': the head predicts the twin-invariant matrix
   * M = t tᵀ + C(v) (t = tanh(z) over the even modes, C a symmetric correction, linear in the head's hidden vector v,
   * starting at zero) and reads the even modes off it as the column of M's largest diagonal entry over its square
   * root (±t for a rank-1 M: the same PSF), clipped to ±1, times θmax. With C = 0 it is the 'direct' network up to the
   * twin, so `--init-from` a 'direct' model grows it without changing its PSF. Tried in session 11 on the shipped
   * model: no change in 5,000 steps (docs/model-history.md), so the cut is not what limits the even modes there.
   */
  evenModes?: 'direct' | 'outer';
  /**
   * 'zernike' head only: a reference cut-off (cycles/pixel). Every input is first resampled onto pixels fcRef/fc
   * times its own (./cutoff.ts), so the network always sees the PSF at the scale of fcRef and is told fcRef; θ̂ (in
   * waves, independent of the pixel size) then gives the PSF at the input's own fc, and the pixel correction is
   * mapped back from the reference grid. Unset (default): inputs are seen at their own cut-off.
   */
  fcRef?: number;
  /**
   * Bins of a radial profile of the spectral branch's log power spectrum in units of the OTF cut-off 2·fc
   * (./radial.ts; 0 or unset: none). The profile, minus its mean, goes through a small MLP whose output is added to
   * the head's first layer; that output layer starts at zero, so `--init-from` a model without it grows it without
   * changing its PSF. Needs the spectral branch.
   */
  radialBins?: number;
  /**
   * Initial weights: 'torch' (default; PyTorch's U(±1/√fan_in), which shrinks activations by ≈ 0.6 per layer, so the
   * image's features reach the head ~100× weaker than the biases) or 'he' (He-normal for LeakyReLU, zero biases,
   * variance-preserving; the output layer at 1/√fan_in so that θ̂ starts small). Only matters for training.
   */
  init?: 'torch' | 'he';
}

/** Default side of the tiles the spectral branch averages periodograms over. */
export const SPECTRAL_TILE = 64;

export const PRESETS: Record<'small' | 'seed' | 'tiny', IdentifierConfig> = {
  /** ≈ 2 M parameters: trains on 2 CPU cores within hours; the shipped model. */
  small: { baseChannels: 32, levels: 4, decoderChannels: 256, psfSize: 31, slope: 0.1, spectralChannels: 32, head: 'zernike' },
  /** ≈ 57 M parameters, the seed's size (64 → 1024 channels, five stages) for GPU users. */
  seed: { baseChannels: 64, levels: 5, decoderChannels: 1792, psfSize: 31, slope: 0.1, spectralChannels: 64 },
  /** A few thousand parameters, for tests. */
  tiny: { baseChannels: 4, levels: 2, decoderChannels: 16, psfSize: 15, slope: 0.1, spectralChannels: 4, spectralTile: 16 },
};
export type PresetName = keyof typeof PRESETS;

export function resolvePreset(name: string, overrides: Partial<IdentifierConfig> = {}): IdentifierConfig {
  const p = (PRESETS as Record<string, IdentifierConfig>)[name];
  if (!p) throw usageError('preset', `unknown model preset '${name}' (known: ${Object.keys(PRESETS).join(', ')})`);
  return { ...p, ...overrides };
}

/**
 * Twin of Zernike coefficients over `noll`: the modes of even radial order negated. h(twin(θ)) = h(θ) exactly
 * (conjugating the pupil function flips the PSF by 180°, which the odd modes undo), so θ is identifiable from a PSF
 * only up to this sign flip. Returns ±1 per mode.
 */
export function twinSigns(noll: readonly number[]): number[] {
  return noll.map((j) => (nollRadialOrder(j) % 2 === 0 ? -1 : 1));
}

function nollRadialOrder(j: number): number {
  let n = 0;
  while (((n + 1) * (n + 2)) / 2 < j) n++;
  return n;
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
  /**
   * As forward for a float32 x, with the second convolution (and so everything after this stage) in `low` if given:
   * the first convolution keeps its float32 input (see Identifier.lowPrecisionDtype).
   */
  forwardCast(x: Tensor, low: DType | null): Tensor {
    if (!low) return this.forward(x);
    return tidy(() => this.b.forward(this.a.forward(x).leakyRelu(this.slope).to({ dtype: low })).leakyRelu(this.slope));
  }
}

export class Identifier extends nn.Module {
  readonly encoder: DoubleConv[] = [];
  readonly up: nn.ConvTranspose2d[] = [];
  readonly skip: nn.Linear[] = [];
  readonly refine: nn.Conv2d[] = [];
  readonly head: nn.Conv2d | null;
  readonly seedProj: nn.Linear;
  readonly zernikeOut: nn.Linear | null = null;
  readonly headHidden: nn.Linear[] = [];
  readonly residualOut: nn.Linear | null = null;
  readonly residualHidden: nn.Linear | null = null;
  readonly mixtureOffsets: nn.Linear | null = null;
  readonly mixtureLogits: nn.Linear | null = null;
  /** evenModes 'outer': the symmetric correction C(v) of the even modes' outer product (10 entries of a 4×4). */
  readonly evenOuter: nn.Linear | null = null;
  /** radialBins: the radial profile's MLP (hidden layer, and the output added to the head's first layer). */
  readonly radialHidden: nn.Linear | null = null;
  readonly radialOut: nn.Linear | null = null;
  readonly optics: Optics | null = null;
  readonly decoderWidths: number[];
  readonly spectral: DoubleConv[] = [];
  readonly spectralProj: nn.Linear | null = null;
  /** Width of the spectral feature vector appended to every pooled feature (0 without the branch). */
  readonly spectralWidth: number;
  /**
   * Arithmetic of the encoder's and the spectral branch's convolutions (pooling, head and optics stay float32):
   * 'float32' (default), or 'bfloat16', which oneDNN runs on AMX / AVX-512 BF16 units several times faster on CPUs
   * that have them; see `convPrecisionFor` (src/model/precision.ts) for when inference picks it.
   */
  convPrecision: ConvPrecision = 'float32';

  constructor(readonly config: IdentifierConfig, seed = 0) {
    super();
    if (config.fcRef !== undefined && !(config.fcRef > 0 && config.fcRef < 0.5)) throw usageError('fcRef', `fcRef must be a cut-off in (0, 0.5) cycles/pixel, got ${config.fcRef}`);
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
    const poolFactor = config.pool === 'meanmax' ? 2 : 1;
    const bottleneck = widths[levels - 1]! * poolFactor;
    const sc = config.spectralChannels ?? 0;
    this.spectralWidth = sc > 0 ? 8 * sc : 0;
    if (sc > 0) {
      // tile → tile/16 by four 2×2 pools, channels sc, 2sc, 4sc, 4sc, then flatten (4sc·(tile/16)²) → 8sc.
      [[3, sc], [sc, 2 * sc], [2 * sc, 4 * sc], [4 * sc, 4 * sc]].forEach(([a, b], i) => this.spectral.push(this.registerModule(`spec${i}`, new DoubleConv(a!, b!, slope, gen))));
      const tile = config.spectralTile ?? SPECTRAL_TILE;
      if (tile % 16 !== 0 || tile < 16) throw usageError('spectralTile', `spectralTile must be a multiple of 16, got ${tile}`);
      this.spectralProj = this.registerModule('specproj', new nn.Linear(4 * sc * (tile / 16) ** 2, this.spectralWidth, { gen }));
    }
    const extra = this.spectralWidth;
    // Decoder widths: decoderChannels, halving, ≥ 16; stage 0 is the 1×1 → 3×3 step.
    this.decoderWidths = Array.from({ length: stages + 1 }, (_, i) => Math.max(16, config.decoderChannels >> i));
    const bins = config.radialBins ?? 0;
    if (bins !== 0) {
      if (!(Number.isInteger(bins) && bins >= 2)) throw usageError('radialBins', `radialBins must be 0 or an integer ≥ 2, got ${bins}`);
      if (sc === 0) throw usageError('radialBins', 'radialBins needs the spectral branch (spectralChannels > 0)');
      this.radialHidden = this.registerModule(RADIAL_HIDDEN, new nn.Linear(bins, RADIAL_WIDTH, { gen }));
      this.radialOut = this.registerModule(RADIAL, new nn.Linear(RADIAL_WIDTH, this.decoderWidths[0]!, { gen }));
      noGrad(() => this.radialOut!.parameters().forEach((t) => t.zero_()));
    }
    const condIn = config.conditionHead ? 2 : 0;
    this.seedProj = this.registerModule('seed', new nn.Linear(bottleneck + extra + condIn, this.decoderWidths[0]!, { gen }));
    if (config.head === 'zernike') {
      for (let i = 1; i < (config.headLayers ?? 1); i++) {
        this.headHidden.push(this.registerModule(`hidden${i}`, new nn.Linear(this.decoderWidths[0]! + condIn, this.decoderWidths[0]!, { gen })));
      }
      // MLP: (bottleneck + spectral) → decoderChannels → 8 Zernike coefficients (Noll 4–11)
      this.zernikeOut = this.registerModule('zernike', new nn.Linear(this.decoderWidths[0]!, ZERNIKE_HEAD_NOLL.length, { gen }));
      this.optics = resolveOptics({ fc: 0.25, psfSize: S, zernikeNoll: ZERNIKE_HEAD_NOLL, allowUndersampling: true });
      this.head = null;
      if (config.init === 'he') this.heInit(gen, 'zernike.weight');
      if (config.psfResidual) {
        const hidden = config.psfResidualHidden ?? 0;
        if (hidden > 0) this.residualHidden = this.registerModule(RESIDUAL_HIDDEN, new nn.Linear(this.decoderWidths[0]!, hidden, { gen }));
        this.residualOut = this.registerModule(RESIDUAL, new nn.Linear(hidden > 0 ? hidden : this.decoderWidths[0]!, S * S, { gen }));
        // Output layer at zero: the network begins as its Zernike head alone (and --init-from a Zernike-head model).
        noGrad(() => this.residualOut!.parameters().forEach((t) => t.zero_()));
      }
      const K = config.psfMixture ?? 1;
      if (!(Number.isInteger(K) && K >= 1)) throw usageError('psfMixture', `psfMixture must be a positive integer, got ${K}`);
      if (config.evenModes === 'outer') {
        if (K > 1) throw usageError('evenModes', "evenModes 'outer' does not combine with psfMixture");
        const even = EVEN_HEAD_POSITIONS.length;
        this.evenOuter = this.registerModule(EVEN_OUTER, new nn.Linear(this.decoderWidths[0]!, (even * (even + 1)) / 2, { gen }));
        noGrad(() => this.evenOuter!.parameters().forEach((t) => t.zero_()));
      }
      if (K > 1) {
        const n = ZERNIKE_HEAD_NOLL.length;
        this.mixtureOffsets = this.registerModule(MIXTURE, new nn.Linear(this.decoderWidths[0]!, (K - 1) * n, { gen }));
        this.mixtureLogits = this.registerModule(MIXTURE_LOGITS, new nn.Linear(this.decoderWidths[0]!, K, { gen }));
        noGrad(() => {
          this.mixtureLogits!.parameters().forEach((t) => t.zero_());
          // Offsets' weights at zero, biases distinct and small (std 0.1 in tanh space): identical components would
          // get identical gradients and never separate.
          for (const [name, t] of this.mixtureOffsets!.namedParameters()) {
            if (name === 'weight') t.zero_();
            else {
              const b = normal(gen, t.shape, { std: 0.1 });
              t.copy_(b);
              b.dispose();
            }
          }
        });
      }
      return;
    }
    if (config.psfResidual || config.psfResidualHidden) throw usageError('psfResidual', "psfResidual needs the 'zernike' head");
    if (config.fcRef !== undefined) throw usageError('fcRef', "fcRef needs the 'zernike' head");
    if ((config.psfMixture ?? 1) > 1) throw usageError('psfMixture', "psfMixture needs the 'zernike' head");
    if (config.evenModes === 'outer') throw usageError('evenModes', "evenModes 'outer' needs the 'zernike' head");
    for (let i = 0; i <= stages; i++) {
      const cinD = this.decoderWidths[i]!;
      const coutD = this.decoderWidths[Math.min(i + 1, stages)]!;
      // Stage 0: 1×1 → 3×3 (kernel 3, stride 1); later stages: n → 2n + 1 (kernel 3, stride 2).
      this.up.push(this.registerModule(`up${i}`, new nn.ConvTranspose2d(cinD, coutD, 3, { stride: i === 0 ? 1 : 2, gen })));
      // Fuse globally pooled features of encoder stage (deepest first) as a per-channel bias.
      const src = widths[Math.max(0, levels - 1 - i)]! * poolFactor;
      this.skip.push(this.registerModule(`skip${i}`, new nn.Linear(src + extra, coutD, { gen })));
      this.refine.push(this.registerModule(`refine${i}`, new nn.Conv2d(coutD, coutD, 3, { padding: 1, gen })));
    }
    this.head = this.registerModule('head', new nn.Conv2d(this.decoderWidths[stages]!, 1, 3, { padding: 1, gen }));
    if (config.init === 'he') this.heInit(gen, 'head.weight');
  }

  /**
   * The parameters a file may lack when its weights are loaded into this network (--init-from): the pixel
   * correction's, whose output layer starts at zero, so without them the network is exactly its Zernike head, a
   * mixture's extra components, which start next to the first (psfMixture), and the 'outer' even modes' correction,
   * which starts at zero (evenModes), and the radial profile's branch, whose output layer starts at zero (radialBins).
   */
  get growableParameters(): string[] {
    const grown = [RESIDUAL, RESIDUAL_HIDDEN, MIXTURE, MIXTURE_LOGITS, EVEN_OUTER, RADIAL, RADIAL_HIDDEN].map((m) => `${m}.`);
    return this.namedParameters().map(([name]) => name).filter((name) => grown.some((p) => name.startsWith(p)));
  }

  /** Re-draws every weight He-normal (std √(2/((1 + slope²)·fan_in))), biases 0; `output` at std 1/√fan_in. */
  private heInit(gen: Generator, output: string): void {
    const fresh = new Map<string, Tensor>();
    for (const [name, t] of this.namedParameters()) {
      if (name.startsWith(`${RADIAL}.`)) continue; // starts at zero (radialBins), left as it is
      if (name.endsWith('bias')) {
        fresh.set(name, zeros(t.shape));
        continue;
      }
      // Conv2d [out, in, kh, kw] and Linear [out, in]; ConvTranspose2d [in, out, kh, kw] fans in over dim 1 too.
      const fanIn = t.shape.slice(1).reduce((a, b) => a * b, 1);
      const gain = name === output ? 1 : 2 / (1 + this.config.slope ** 2);
      fresh.set(name, normal(gen, t.shape, { std: Math.sqrt(gain / fanIn) }));
    }
    this.loadStateDict(fresh, false);
    for (const t of fresh.values()) t.dispose();
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
    return this.identifyDetailed(y, fc, thetaMax).psf;
  }

  /** The per-patch scale of the input normalisation [B, 1, 1, 1] (see IdentifierConfig.inputNorm). */
  private inputScale(y: Tensor): Tensor {
    if (this.config.inputNorm === 'range') return y.amax([2, 3], true).sub(y.amin([2, 3], true));
    return y.std([2, 3], { keepdim: true, unbiased: false });
  }

  /** As identify, with the 'zernike' head's coefficients θ̂ [B, 8] in waves (null for the pixel head). */
  identifyDetailed(y: Tensor, fc: Tensor, thetaMax: Tensor): { psf: Tensor; theta: Tensor | null } {
    const { psf, theta } = this.run(y, fc, thetaMax, true);
    return { psf: psf!, theta };
  }

  /**
   * The 'zernike' head's coefficients θ̂ [B, 8] in waves without computing their PSFs (identify combines the
   * patches' θ̂ first and computes one PSF), and the pixel correction [B, S, S] of a `psfResidual` head (else
   * null); null for the pixel head and for a mixture (psfMixture).
   */
  identifyTheta(y: Tensor, fc: Tensor, thetaMax: Tensor): { theta: Tensor; residual: Tensor | null } | null {
    // A mixture is not one θ̂: its callers combine PSFs instead.
    if (!this.zernikeOut || this.mixtureLogits) return null;
    const { theta, residual } = this.run(y, fc, thetaMax, false);
    return { theta: theta!, residual };
  }

  private run(y: Tensor, fc: Tensor, thetaMax: Tensor, withPsf: boolean): { psf: Tensor | null; theta: Tensor | null; residual: Tensor | null } {
    const [B, C, H, W] = y.shape as [number, number, number, number];
    if (y.ndim !== 4 || C !== 1) throw new TypeError(`Identifier: y must be [B, 1, H, W], got [${y.shape.join(', ')}]`);
    const { slope, psfSize: S } = this.config;
    const fcRef = this.config.fcRef;
    return tidy(() => {
      // A model with a reference cut-off sees every input resampled to it, and is told that cut-off (./cutoff.ts).
      // Sized to cover the input (side / max r), but never below what the network takes.
      let fcValues: number[] | undefined; // fc read back once, when first needed (resampling or the PSFs)
      const fcArray = (): number[] => (fcValues ??= fc.toArray());
      const side = (n: number): number => referenceSide(n, fcArray(), fcRef!, this.minInputSize);
      const yIn = fcRef === undefined ? y : toReferenceCutoff(y, fc, fcRef, [side(H), side(W)]);
      const fcSeen = fcRef === undefined ? fc : full([B], fcRef, { dtype: fc.dtype, device: fc.device });
      const mean = yIn.mean([2, 3], true);
      const yn = yIn.sub(mean).div(this.inputScale(yIn).add(1e-6));
      const [c0, c1] = [fcSeen.sub(0.1875).div(0.0625), thetaMax.sub(0.085).div(0.065)];
      const ones = full([B, 1, yIn.size(2), yIn.size(3)], 1, { device: y.device, dtype: y.dtype });
      const cond0 = ones.mul(c0.reshape([B, 1, 1, 1]));
      const cond1 = ones.mul(c1.reshape([B, 1, 1, 1]));
      let h = this.convInput(cat([yn, cond0, cond1], 1));
      const pooled: Tensor[] = [];
      this.encoder.forEach((stage, i) => {
        if (i > 0) h = maxPool2d(h, 2);
        h = i === 0 ? stage.forwardCast(h, this.lowPrecisionDtype()) : stage.forward(h);
        pooled.push((this.config.pool === 'meanmax' ? cat([h.mean([2, 3]), h.amax([2, 3])], 1) : h.mean([2, 3])).float());
      });
      const levels = this.encoder.length;
      const { features: spec, radial } = this.spectralFeatures(yn, fcSeen);
      const withSpec = (v: Tensor): Tensor => (spec ? cat([v, spec], 1) : v);
      const cond = this.config.conditionHead ? cat([c0.reshape([B, 1]), c1.reshape([B, 1])], 1) : null;
      const withCond = (v: Tensor): Tensor => (cond ? cat([v, cond], 1) : v);
      const features = withSpec(pooled[levels - 1]!);
      const normed = this.config.headNorm ? features.sub(features.mean(1, true)).div(features.std(1, { keepdim: true, unbiased: false }).add(1e-5)) : features;
      const seedIn = this.seedProj.forward(withCond(normed));
      let seedVec = (radial ? seedIn.add(radial) : seedIn).leakyRelu(slope);
      if (this.zernikeOut && this.optics) {
        for (const layer of this.headHidden) seedVec = layer.forward(withCond(seedVec)).leakyRelu(slope).add(seedVec);
        const z = this.zernikeOut.forward(seedVec);
        const t = this.evenOuter ? evenModesFromOuter(z.tanh(), this.evenOuter.forward(seedVec)) : z.tanh();
        const theta = t.mul(thetaMax.reshape([B, 1]));
        const rIn = this.residualHidden ? this.residualHidden.forward(seedVec).leakyRelu(slope) : seedVec;
        const drawn = this.residualOut ? this.residualOut.forward(rIn).mul(RESIDUAL_SCALE).reshape([B, S, S]) : null;
        const residual = drawn && fcRef !== undefined ? fromReferenceCutoff(drawn, fc, fcRef) : drawn;
        if (!withPsf) return { psf: null, theta, residual };
        const fcs = fcArray();
        let h: Tensor;
        if (this.mixtureOffsets && this.mixtureLogits) {
          const n = ZERNIKE_HEAD_NOLL.length;
          const K = this.mixtureLogits.outFeatures;
          const z1 = z.reshape([B, 1, n]);
          const zk = cat([z1, z1.add(this.mixtureOffsets.forward(seedVec).reshape([B, K - 1, n]))], 1);
          const thetas = zk.tanh().mul(thetaMax.reshape([B, 1, 1])).reshape([B * K, n]);
          const psfs = psfFromZernike(this.optics, thetas, { fc: fcs.flatMap((f) => Array<number>(K).fill(f)) }).reshape([B, K, S, S]);
          const w = this.mixtureLogits.forward(seedVec).softmax(1).reshape([B, K, 1, 1]);
          h = psfs.mul(w).sum(1);
        } else {
          h = psfFromZernike(this.optics, theta, { fc: fcs });
        }
        return { psf: withPsfResidual(h, residual), theta, residual };
      }
      let d = seedVec.reshape([B, -1, 1, 1]);
      this.up.forEach((up, i) => {
        d = up.forward(d);
        const bias = this.skip[i]!.forward(withSpec(pooled[Math.max(0, levels - 1 - i)]!));
        d = d.add(bias.reshape([B, -1, 1, 1])).leakyRelu(slope);
        d = this.refine[i]!.forward(d).leakyRelu(slope).add(d);
      });
      const logits = this.head!.forward(d).reshape([B, S * S]);
      return { psf: logits.softmax(1).reshape([B, S, S]), theta: null, residual: null };
    });
  }

  /** Smallest input side the network takes: one tile of the spectral branch (1 without the branch). */
  get minInputSize(): number {
    return this.spectralProj ? (this.config.spectralTile ?? SPECTRAL_TILE) : 1;
  }

  /**
   * Log power spectrum of the standardised input: non-overlapping 64×64 tiles (the input cropped to whole tiles),
   * Hann-windowed, log(|FFT|² + 1e-3) averaged over tiles, fftshifted; plus frequency coordinates.
   * Returns the flattened spectral feature vector [B, spectralWidth] (null without the branch) and, with radialBins,
   * the radial profile branch's contribution to the head's first layer [B, decoderWidths[0]] (else null).
   */
  private spectralFeatures(yn: Tensor, fc: Tensor): { features: Tensor | null; radial: Tensor | null } {
    if (!this.spectralProj) return { features: null, radial: null };
    const [B, , H, W] = yn.shape as [number, number, number, number];
    const n = this.config.spectralTile ?? SPECTRAL_TILE;
    const ty = Math.floor(H / n);
    const tx = Math.floor(W / n);
    if (ty < 1 || tx < 1) throw new TypeError(`Identifier: inputs must be at least ${n}×${n} pixels, got ${H}×${W}`);
    const { window, coords } = spectralConstantsFor(n, yn.dtype, yn.device);
    const tiles = yn
      .narrow(2, 0, ty * n)
      .narrow(3, 0, tx * n)
      .reshape([B, ty, n, tx, n])
      .permute([0, 1, 3, 2, 4])
      .reshape([B * ty * tx, 1, n, n]);
    const power = fft2(tiles.mul(window)).abs().square().div(n * n);
    // Mean of the tiles' log periodograms (not the log of their mean): its expectation does not depend on the
    // number of tiles, so a network trained on one-tile crops sees the same feature, less noisy, on large patches.
    const logSpec = fftshift(power.add(1e-3).log().reshape([B, ty * tx, n, n]).mean(1, true));
    // Channels: log spectrum, fx, fy. (fc and θmax reach the decoder through the spatial branch's features.)
    let h = this.convInput(cat([logSpec, coords.expand([B, 2, n, n])], 1));
    this.spectral.forEach((stage, i) => (h = maxPool2d(i === 0 ? stage.forwardCast(h, this.lowPrecisionDtype()) : stage.forward(h), 2)));
    // reshape is logical (N, C, H, W order) whatever the memory layout, so the projection sees the same vector.
    const features = this.spectralProj.forward(h.reshape([B, -1]).float()).leakyRelu(this.config.slope);
    if (!this.radialHidden || !this.radialOut) return { features, radial: null };
    const profile = radialLogProfile(logSpec, fc, this.radialHidden.inFeatures);
    const centred = profile.sub(profile.mean(1, true));
    return { features, radial: this.radialOut.forward(this.radialHidden.forward(centred).leakyRelu(this.config.slope)) };
  }

  /**
   * A convolution stack's input in the layout it runs fastest in: on the CPU channels-last (oneDNN convolves N, H, W,
   * C directly; a row-major input costs a reorder at every layer, ≈ 1.5× the encoder's time). Same values.
   */
  private convInput(x: Tensor): Tensor {
    return x.device === 'cpu' ? x.contiguous('channelsLast') : x;
  }

  /**
   * The dtype the convolutions after the first one of each stack run in: null for float32 (no cast). The first
   * convolution stays float32, input and output: with the standardised image rounded to bfloat16's 8-bit mantissa,
   * the NEUBIAS widefield PSF's RMS radius moved by 1.1 % (the widefield/confocal ratio 1.0135 → 1.0011), with a
   * two-part bfloat16 input (rounded value + rounding error) by 0.3 %, with a float32 first convolution by 0.05 %,
   * for ≈ 15 % of the bfloat16 network's time (session 11).
   */
  private lowPrecisionDtype(): DType | null {
    return this.convPrecision === 'bfloat16' ? 'bfloat16' : null;
  }
}

/** Positions of the even-order (twin-flipped) modes in the head's Noll 4–11 output: defocus, the astigmatisms, spherical. */
const EVEN_HEAD_POSITIONS = twinSigns(ZERNIKE_HEAD_NOLL).flatMap((s, k) => (s < 0 ? [k] : []));

/**
 * evenModes 'outer' (see IdentifierConfig): t [B, 8] = tanh(z) of the head, c [B, 10] the correction's upper
 * triangle (row-major) → [B, 8], the odd modes t's, the even modes read off M = t_e t_eᵀ + C.
 */
export function evenModesFromOuter(t: Tensor, c: Tensor): Tensor {
  const n = t.size(1);
  const E = EVEN_HEAD_POSITIONS;
  const m = E.length;
  const constants = evenOuterConstants(n, t.device);
  return tidy(() => {
    const te = t.matmul(constants.select); // [B, m]
    const sym = c.matmul(constants.symmetric).reshape([-1, m, m]); // [B, m, m]
    const M = te.unsqueeze(2).mul(te.unsqueeze(1)).add(sym);
    const diag = M.mul(constants.eye).sum(2); // [B, m]
    // The column of the largest diagonal entry (ties share it): M's direction, up to sign, for a rank-1 M.
    const pick = diag.eq(diag.amax(1, true)).float();
    const onehot = pick.div(pick.sum(1, true));
    const column = M.mul(onehot.unsqueeze(1)).sum(2);
    const scale = diag.mul(onehot).sum(1, true).clamp(0).add(1e-8).sqrt();
    const even = column.div(scale).clamp(-1, 1);
    return t.mul(constants.oddMask).add(even.matmul(constants.select.transpose(0, 1)));
  });
}

const evenOuterCache = new Map<string, { select: Tensor; symmetric: Tensor; eye: Tensor; oddMask: Tensor }>();
function evenOuterConstants(n: number, device: string): { select: Tensor; symmetric: Tensor; eye: Tensor; oddMask: Tensor } {
  const key = `${n}:${device}`;
  let c = evenOuterCache.get(key);
  if (!c) {
    const E = EVEN_HEAD_POSITIONS;
    const m = E.length;
    const select = new Float32Array(n * m);
    E.forEach((k, i) => (select[k * m + i] = 1));
    const pairs: [number, number][] = [];
    for (let i = 0; i < m; i++) for (let j = i; j < m; j++) pairs.push([i, j]);
    const symmetric = new Float32Array(pairs.length * m * m);
    pairs.forEach(([i, j], p) => {
      symmetric[p * m * m + i * m + j] = 1;
      symmetric[p * m * m + j * m + i] = 1;
    });
    const eye = new Float32Array(m * m);
    for (let i = 0; i < m; i++) eye[i * m + i] = 1;
    const oddMask = Float32Array.from({ length: n }, (_, k) => (E.includes(k) ? 0 : 1));
    c = {
      select: keep(tensor(select, [n, m]).to({ device })),
      symmetric: keep(tensor(symmetric, [pairs.length, m * m]).to({ device })),
      eye: keep(tensor(eye, [m, m]).to({ device })),
      oddMask: keep(tensor(oddMask, [1, n]).to({ device })),
    };
    evenOuterCache.set(key, c);
  }
  return c;
}

/** Module name of the 'outer' even modes' correction layer (evenModes). */
const EVEN_OUTER = 'evenOuter';

/** Module names of the pixel correction's layers. */
const RESIDUAL = 'residual';
const RADIAL = 'radial';
const RADIAL_HIDDEN = 'radialHidden';
/** Width of the radial profile branch's hidden layer. */
const RADIAL_WIDTH = 64;
const RESIDUAL_HIDDEN = 'residualHidden';
/** Module names of the mixture's offset and weight layers (psfMixture). */
const MIXTURE = 'mixture';
const MIXTURE_LOGITS = 'mixtureWeights';

/**
 * The residual head's output is scaled by this: PSF pixels are 10⁻⁴–0.2 (sum 1 over 31²), so unscaled, one Adam step
 * (lr 10⁻⁴ on each of 256 weights) could move a pixel by ~0.03.
 */
const RESIDUAL_SCALE = 0.01;

/** max(h + r, 0) renormalised to sum 1 per sample ([B, S, S]); h itself when r is null. Pure. */
export function withPsfResidual(h: Tensor, residual: Tensor | null): Tensor {
  if (!residual) return h;
  return tidy(() => {
    const c = h.add(residual).clampMin(0);
    return c.div(c.sum([1, 2], true).add(1e-12));
  });
}

/** Cached 2-D Hann window and frequency-coordinate channels for the spectral branch. */
const spectralConstants = new Map<string, { window: Tensor; coords: Tensor }>();
function spectralConstantsFor(n: number, dtype: DType, device: string): { window: Tensor; coords: Tensor } {
  const key = `${n}|${dtype}|${device}`;
  let c = spectralConstants.get(key);
  if (!c) {
    const w1 = Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n));
    const win = new Float32Array(n * n);
    const fx = new Float32Array(n * n);
    const fy = new Float32Array(n * n);
    for (let r = 0; r < n; r++) {
      for (let q = 0; q < n; q++) {
        win[r * n + q] = w1[r]! * w1[q]!;
        fx[r * n + q] = (q - n / 2) / (n / 2); // frequency along x, in units of Nyquist, after fftshift
        fy[r * n + q] = (r - n / 2) / (n / 2);
      }
    }
    const coords = new Float32Array(2 * n * n);
    coords.set(fx, 0);
    coords.set(fy, n * n);
    c = {
      window: keep(tensor(win, [1, 1, n, n], { dtype, device })),
      coords: keep(tensor(coords, [1, 2, n, n], { dtype, device })),
    };
    spectralConstants.set(key, c);
  }
  return c;
}

/** A one-line-per-layer summary and the parameter count, for `psfid model info`. */
export function describeModel(model: Identifier): { lines: string[]; parameters: number } {
  const lines = model.namedParameters().map(([name, t]) => `${name.padEnd(24)} ${t.shape.join('×').padEnd(18)} ${t.numel.toLocaleString('en-US')}`);
  return { lines, parameters: model.numParameters() };
}
