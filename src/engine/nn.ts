// Neural-network building blocks: a Module with named parameters and buffers (PyTorch's names, so state dicts
// interoperate through safetensors), and the layers psfid's networks use.
import { Generator, keep, noGrad, Tensor, uniform, zeros, ones, tensor } from './tensor.js';
import { batchNorm, conv2d, convTranspose2d, groupNorm, instanceNorm, linear, type Conv2dOptions } from './ops.js';

let defaultInitGenerator: Generator | undefined;
/** Layers draw their initial weights from `gen`, or from one process-wide generator seeded 0. */
function initGen(gen?: Generator): Generator {
  return gen ?? (defaultInitGenerator ??= new Generator(0));
}

/** PyTorch's default init for conv/linear: U(−1/√fan_in, 1/√fan_in) (kaiming_uniform with a = √5). */
function initUniform(gen: Generator, shape: number[], fanIn: number): Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return uniform(gen, shape, { low: -bound, high: bound });
}

export abstract class Module {
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #children = new Map<string, Module>();

  protected registerParameter(name: string, t: Tensor): Tensor {
    keep(t);
    t.requiresGrad = true;
    this.#params.set(name, t);
    return t;
  }
  protected registerBuffer(name: string, t: Tensor): Tensor {
    keep(t);
    this.#buffers.set(name, t);
    return t;
  }
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.#children.set(name, m);
    return m;
  }
  protected param(name: string): Tensor {
    const t = this.#params.get(name);
    if (!t) throw new Error(`no parameter ${name}`);
    return t;
  }
  protected buffer(name: string): Tensor {
    const t = this.#buffers.get(name);
    if (!t) throw new Error(`no buffer ${name}`);
    return t;
  }

  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of this.#params) out.push([prefix + k, v]);
    for (const [k, m] of this.#children) out.push(...m.namedParameters(`${prefix}${k}.`));
    return out;
  }
  namedBuffers(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [k, v] of this.#buffers) out.push([prefix + k, v]);
    for (const [k, m] of this.#children) out.push(...m.namedBuffers(`${prefix}${k}.`));
    return out;
  }
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix.replace(/\.$/, ''), this]];
    for (const [k, m] of this.#children) out.push(...m.namedModules(`${prefix}${k}.`));
    return out;
  }
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }
  numParameters(): number {
    return this.parameters().reduce((n, t) => n + t.numel, 0);
  }

  /** Parameters and buffers by name (the tensors themselves, not copies). */
  stateDict(): Map<string, Tensor> {
    return new Map([...this.namedParameters(), ...this.namedBuffers()]);
  }

  /** Copies values in by name; `strict` refuses missing or unexpected names and shape mismatches. */
  loadStateDict(state: Map<string, Tensor>, strict = true): void {
    const own = this.stateDict();
    if (strict) {
      const missing = [...own.keys()].filter((k) => !state.has(k));
      const unexpected = [...state.keys()].filter((k) => !own.has(k));
      if (missing.length || unexpected.length) {
        throw new Error(`loadStateDict: missing [${missing.join(', ')}], unexpected [${unexpected.join(', ')}]`);
      }
    }
    noGrad(() => {
      for (const [k, t] of own) {
        const src = state.get(k);
        if (!src) continue;
        const a = t.shape.join('x');
        const b = src.shape.join('x');
        if (a !== b) throw new Error(`loadStateDict: ${k} has shape ${a} here and ${b} in the state`);
        t.copy_(src);
      }
    });
  }

  /** Moves every parameter and buffer to `device` (in place: do it before building an optimizer). */
  to(device: string): this {
    noGrad(() => {
      for (const m of this.namedModules().map(([, m]) => m)) {
        for (const map of [m.#params, m.#buffers]) {
          for (const [k, t] of map) {
            if (t.device === device) continue;
            const moved = keep(t.toDevice(device));
            if (t.requiresGrad) moved.requiresGrad = true;
            t.free();
            map.set(k, moved);
          }
        }
      }
    });
    return this;
  }

  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }
  eval(): this {
    return this.train(false);
  }
  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }
  dispose(): void {
    for (const [, t] of [...this.namedParameters(), ...this.namedBuffers()]) t.free();
  }

  abstract forward(...inputs: Tensor[]): Tensor;
}

type Pair = number | [number, number];

export interface Conv2dConfig extends Conv2dOptions {
  bias?: boolean;
  gen?: Generator;
}

export class Conv2d extends Module {
  readonly options: Conv2dOptions;
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: Pair, cfg: Conv2dConfig = {}) {
    super();
    const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    const groups = cfg.groups ?? 1;
    const fanIn = (inChannels / groups) * kh * kw;
    const gen = initGen(cfg.gen);
    this.registerParameter('weight', initUniform(gen, [outChannels, inChannels / groups, kh, kw], fanIn));
    if (cfg.bias ?? true) this.registerParameter('bias', initUniform(gen, [outChannels], fanIn));
    this.options = { stride: cfg.stride, padding: cfg.padding, dilation: cfg.dilation, groups };
  }
  /**
   * Computes in x's floating dtype: a bfloat16 input gets bfloat16 copies of the (float32) weights, differentiably,
   * as PyTorch's autocast does, so a network can run its convolutions at lower precision with one set of weights.
   */
  forward(x: Tensor): Tensor {
    const bias = this.namedParameters().find(([k]) => k === 'bias')?.[1] ?? null;
    const asInput = (t: Tensor): Tensor => (t.dtype === x.dtype ? t : t.to({ dtype: x.dtype }));
    const lowPrecision = x.dtype === 'bfloat16' || x.dtype === 'float16';
    return conv2d(x, lowPrecision ? asInput(this.param('weight')) : this.param('weight'), bias && lowPrecision ? asInput(bias) : bias, this.options);
  }
}

export class ConvTranspose2d extends Module {
  constructor(readonly inChannels: number, readonly outChannels: number, readonly kernelSize: Pair, readonly cfg: Conv2dConfig & { outputPadding?: Pair } = {}) {
    super();
    const [kh, kw] = typeof kernelSize === 'number' ? [kernelSize, kernelSize] : kernelSize;
    const groups = cfg.groups ?? 1;
    // PyTorch computes fan_in of a transposed conv's weight (in, out/groups, kh, kw) from its dim 1.
    const fanIn = (outChannels / groups) * kh * kw;
    const gen = initGen(cfg.gen);
    this.registerParameter('weight', initUniform(gen, [inChannels, outChannels / groups, kh, kw], fanIn));
    if (cfg.bias ?? true) this.registerParameter('bias', initUniform(gen, [outChannels], fanIn));
  }
  forward(x: Tensor): Tensor {
    const bias = this.namedParameters().find(([k]) => k === 'bias')?.[1] ?? null;
    return convTranspose2d(x, this.param('weight'), bias, { ...this.cfg });
  }
}

export class Linear extends Module {
  constructor(readonly inFeatures: number, readonly outFeatures: number, cfg: { bias?: boolean; gen?: Generator } = {}) {
    super();
    const gen = initGen(cfg.gen);
    this.registerParameter('weight', initUniform(gen, [outFeatures, inFeatures], inFeatures));
    if (cfg.bias ?? true) this.registerParameter('bias', initUniform(gen, [outFeatures], inFeatures));
  }
  forward(x: Tensor): Tensor {
    const bias = this.namedParameters().find(([k]) => k === 'bias')?.[1] ?? null;
    return linear(x, this.param('weight'), bias);
  }
}

export class BatchNorm2d extends Module {
  constructor(readonly channels: number, readonly momentum = 0.1, readonly eps = 1e-5) {
    super();
    this.registerParameter('weight', ones([channels]));
    this.registerParameter('bias', zeros([channels]));
    this.registerBuffer('running_mean', zeros([channels]));
    this.registerBuffer('running_var', ones([channels]));
    this.registerBuffer('num_batches_tracked', tensor([0], [], { dtype: 'int64' }));
  }
  forward(x: Tensor): Tensor {
    if (this.training) noGrad(() => this.buffer('num_batches_tracked').add_(1));
    return batchNorm(x, this.buffer('running_mean'), this.buffer('running_var'), this.param('weight'), this.param('bias'), this.training, this.momentum, this.eps);
  }
}

export class GroupNorm extends Module {
  constructor(readonly groups: number, readonly channels: number, readonly eps = 1e-5) {
    super();
    this.registerParameter('weight', ones([channels]));
    this.registerParameter('bias', zeros([channels]));
  }
  forward(x: Tensor): Tensor {
    return groupNorm(x, this.groups, this.param('weight'), this.param('bias'), this.eps);
  }
}

/** Instance normalisation with affine parameters (PyTorch's InstanceNorm2d(affine=True), no running stats). */
export class InstanceNorm2d extends Module {
  constructor(readonly channels: number, readonly eps = 1e-5) {
    super();
    this.registerParameter('weight', ones([channels]));
    this.registerParameter('bias', zeros([channels]));
  }
  forward(x: Tensor): Tensor {
    return instanceNorm(x, this.param('weight'), this.param('bias'), this.eps);
  }
}

/** An activation or any parameter-free function as a module. */
export class Lambda extends Module {
  constructor(readonly name: string, readonly fn: (x: Tensor) => Tensor) {
    super();
  }
  forward(x: Tensor): Tensor {
    return this.fn(x);
  }
}
export const LeakyReLU = (slope = 0.01): Lambda => new Lambda(`LeakyReLU(${slope})`, (x) => x.leakyRelu(slope));
export const ReLU = (): Lambda => new Lambda('ReLU', (x) => x.relu());

export class Sequential extends Module {
  readonly layers: Module[];
  constructor(...layers: Module[]) {
    super();
    this.layers = layers;
    layers.forEach((m, i) => this.registerModule(String(i), m));
  }
  forward(x: Tensor): Tensor {
    let h = x;
    for (const m of this.layers) {
      const next = m.forward(h);
      if (h !== x && next !== h) h.dispose(); // an identity layer returns its input: keep it
      h = next;
    }
    return h;
  }
}
