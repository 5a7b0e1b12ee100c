// An exponential moving average of the network's weights during training (Polyak–Ruppert averaging, as in
// torch.optim.swa_utils.AveragedModel with an EMA rule): with batches of 8 on a CPU the gradient noise is large, and
// the average of the recent iterates sits nearer the minimum than any one of them. Validation, the exported model and
// the returned network use the average; the raw weights keep training. A pure function of the step, so a resumed
// run matches an uninterrupted one.
import { keep, noGrad, type Tensor } from '../engine/index.js';
import type { nn } from '../engine/index.js';

/**
 * Decay at (0-based) update `step`: min(decay, (1 + step)/(10 + step)), the usual warm-up, so that the first
 * updates are not held near the starting weights for thousands of steps.
 */
export function averageDecay(decay: number, step: number): number {
  return Math.min(decay, (1 + step) / (10 + step));
}

export class WeightAverage {
  readonly #average = new Map<string, Tensor>();

  /** Starts the average at the model's current weights. */
  constructor(model: nn.Module, readonly decay: number) {
    if (!(decay > 0 && decay < 1)) throw new RangeError(`weight average: decay must be in (0, 1), got ${decay}`);
    noGrad(() => {
      for (const [k, t] of model.stateDict()) this.#average.set(k, keep(t.detach().clone()));
    });
  }

  /** avg ← d·avg + (1 − d)·w for the floating-point weights (d = averageDecay(decay, step)); other buffers copied. */
  update(model: nn.Module, step: number): void {
    const d = averageDecay(this.decay, step);
    noGrad(() => {
      for (const [k, t] of model.stateDict()) {
        const a = this.#average.get(k)!;
        if (t.dtype === 'float32' || t.dtype === 'float64') a.mul_(d).add_(t, 1 - d);
        else a.copy_(t);
      }
    });
  }

  /** The averaged weights by name (the tensors themselves: for checkpoints). */
  state(): Map<string, Tensor> {
    return new Map(this.#average);
  }

  /** Restores the average from a checkpoint's tensors (names and shapes must be the model's). */
  load(state: Map<string, Tensor>): void {
    noGrad(() => {
      for (const [k, a] of this.#average) {
        const t = state.get(k);
        if (!t) throw new Error(`weight average: the checkpoint has no average of ${k}`);
        a.copy_(t);
      }
    });
  }

  /** Runs `fn` with the averaged weights in the model, then puts the trained weights back. */
  withAverage<T>(model: nn.Module, fn: () => T): T {
    const saved = noGrad(() => new Map([...model.stateDict()].map(([k, t]) => [k, keep(t.detach().clone())])));
    model.loadStateDict(this.#average);
    try {
      return fn();
    } finally {
      model.loadStateDict(saved);
      for (const t of saved.values()) t.free();
    }
  }

  /** Copies the averaged weights into the model for good (the end of training). */
  copyInto(model: nn.Module): void {
    model.loadStateDict(this.#average);
  }

  dispose(): void {
    for (const t of this.#average.values()) t.free();
    this.#average.clear();
  }
}
