// Optimizers, written over libtorch's in-place ops to match PyTorch 1.13's single-tensor implementations step for
// step (same update order, same bias corrections), and learning-rate schedules as pure functions.
import { keep, noGrad, Tensor, zerosLike } from './tensor.js';

export interface OptimizerState {
  step: number;
  /** Per-parameter state tensors, by parameter index and slot name. */
  slots: Map<string, Tensor>;
}

export abstract class Optimizer {
  lr: number;
  protected stepCount = 0;
  protected readonly slots = new Map<string, Tensor>();
  constructor(readonly params: Tensor[], lr: number) {
    if (!(lr > 0)) throw new RangeError(`optimizer: lr must be > 0, got ${lr}`);
    this.lr = lr;
  }
  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }
  protected slot(i: number, name: string, like: Tensor): Tensor {
    const key = `${i}.${name}`;
    let t = this.slots.get(key);
    if (!t) {
      t = keep(zerosLike(like));
      this.slots.set(key, t);
    }
    return t;
  }
  /** Applies one update from the parameters' current gradients (parameters without a gradient are skipped). */
  step(): void {
    this.stepCount++;
    noGrad(() => {
      this.params.forEach((p, i) => {
        const g = p.grad;
        if (!g) return;
        try {
          this.update(i, p, g);
        } finally {
          g.dispose();
        }
      });
    });
  }
  protected abstract update(i: number, p: Tensor, g: Tensor): void;

  state(): OptimizerState {
    return { step: this.stepCount, slots: new Map(this.slots) };
  }
  loadState(s: OptimizerState): void {
    this.stepCount = s.step;
    noGrad(() => {
      for (const [k, t] of s.slots) {
        const i = Number(k.split('.')[0]);
        const p = this.params[i];
        if (!p) throw new Error(`optimizer state names parameter ${i}, but there are ${this.params.length}`);
        const mine = this.slot(i, k.slice(k.indexOf('.') + 1), p);
        mine.copy_(t);
      }
    });
  }
  dispose(): void {
    for (const t of this.slots.values()) t.free();
    this.slots.clear();
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

/** Adam (Kingma & Ba), L2 weight decay added to the gradient as torch.optim.Adam does. */
export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  protected readonly decoupled: boolean = false;
  constructor(params: Tensor[], o: AdamOptions = {}) {
    super(params, o.lr ?? 1e-3);
    this.betas = o.betas ?? [0.9, 0.999];
    this.eps = o.eps ?? 1e-8;
    this.weightDecay = o.weightDecay ?? 0;
  }
  protected update(i: number, p: Tensor, grad: Tensor): void {
    const [b1, b2] = this.betas;
    let g = grad;
    if (this.weightDecay !== 0) {
      if (this.decoupled) p.mul_(1 - this.lr * this.weightDecay);
      else g = grad.add(p, this.weightDecay);
    }
    const m = this.slot(i, 'exp_avg', p);
    const v = this.slot(i, 'exp_avg_sq', p);
    m.mul_(b1).add_(g, 1 - b1);
    v.mul_(b2).addcmul_(g, g, 1 - b2);
    const bc1 = 1 - b1 ** this.stepCount;
    const bc2 = 1 - b2 ** this.stepCount;
    const sq = v.sqrt();
    const denom = sq.div_(Math.sqrt(bc2)).add_(this.eps);
    p.addcdiv_(m, denom, -this.lr / bc1);
    denom.dispose();
    if (g !== grad) g.dispose();
  }
}

/** AdamW (Loshchilov & Hutter): decoupled weight decay, default 0.01 as in PyTorch. */
export class AdamW extends Adam {
  protected override readonly decoupled = true;
  constructor(params: Tensor[], o: AdamOptions = {}) {
    super(params, { weightDecay: 0.01, ...o });
  }
}

export interface SgdOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
  weightDecay?: number;
}

export class SGD extends Optimizer {
  constructor(params: Tensor[], readonly o: SgdOptions) {
    super(params, o.lr);
  }
  protected update(i: number, p: Tensor, grad: Tensor): void {
    const momentum = this.o.momentum ?? 0;
    const wd = this.o.weightDecay ?? 0;
    const temps: Tensor[] = [];
    let d = grad;
    if (wd !== 0) temps.push((d = grad.add(p, wd)));
    if (momentum !== 0) {
      const key = `${i}.momentum_buffer`;
      let buf = this.slots.get(key);
      if (!buf) {
        buf = keep(d.clone());
        this.slots.set(key, buf);
      } else {
        buf.mul_(momentum).add_(d, 1 - (this.o.dampening ?? 0));
      }
      if (this.o.nesterov) temps.push((d = d.add(buf, momentum)));
      else d = buf;
    }
    p.add_(d, -this.lr);
    for (const t of temps) t.dispose();
  }
}

// ---- learning-rate schedules: pure functions of the step -------------------------------------------------------

export type Schedule =
  | { kind: 'constant' }
  | { kind: 'cosine'; warmupSteps?: number; totalSteps: number; minFactor?: number }
  | { kind: 'step'; everySteps: number; gamma: number }
  | { kind: 'exponential'; gamma: number };

/** The learning rate at `step` (0-based) for base rate `lr`. */
export function scheduledLr(schedule: Schedule, lr: number, step: number): number {
  switch (schedule.kind) {
    case 'constant':
      return lr;
    case 'cosine': {
      const warm = schedule.warmupSteps ?? 0;
      if (step < warm) return (lr * (step + 1)) / warm;
      const t = Math.min(1, (step - warm) / Math.max(1, schedule.totalSteps - warm));
      const min = schedule.minFactor ?? 0;
      return lr * (min + (1 - min) * 0.5 * (1 + Math.cos(Math.PI * t)));
    }
    case 'step':
      return lr * schedule.gamma ** Math.floor(step / schedule.everySteps);
    case 'exponential':
      return lr * schedule.gamma ** step;
  }
}
