// Optimizers step for step against torch.optim (python3-torch, float64, same initial values and loss), and the
// learning-rate schedules against their closed forms.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Adam, AdamW, Generator, SGD, scheduledLr, tensor, tidy, type Optimizer, type Schedule, type Tensor } from '../../src/engine/index.js';
import { assertClose, pythonHasTorch, randn, runPython } from './helpers.js';

interface Config {
  name: string;
  kind: 'adam' | 'adamw' | 'sgd';
  opts: { lr: number; betas?: [number, number]; eps?: number; weightDecay?: number; momentum?: number; dampening?: number; nesterov?: boolean };
  /** Learning rate per step (set on the optimizer before each step), if it changes. */
  lrs?: number[];
}

const STEPS = 6;
const gen = new Generator(606);
const problem = tidy(() => ({
  X: Array.from(randn(gen, [5, 4]).data() as Float64Array),
  Y: Array.from(randn(gen, [5, 3]).data() as Float64Array),
  p1: Array.from(randn(gen, [3, 4]).data() as Float64Array),
  p2: Array.from(randn(gen, [3]).data() as Float64Array),
}));

/** loss = mean((X·p1ᵀ + p2 − Y)²) + 0.1·Σp1⁴ + Σsin(p2): smooth, non-quadratic, both parameters matter. */
function loss(X: Tensor, Y: Tensor, p1: Tensor, p2: Tensor): Tensor {
  return X.matmul(p1.transpose(0, 1)).add(p2).sub(Y).square().mean().add(p1.pow(4).sum().mul(0.1)).add(p2.sin().sum());
}
const PY_LOSS = 'lambda X, Y, p1, p2: ((X @ p1.t() + p2 - Y) ** 2).mean() + (p1 ** 4).sum() * 0.1 + p2.sin().sum()';

function makeOptimizer(c: Config, params: Tensor[]): Optimizer {
  const o = c.opts;
  const clean = <T extends object>(x: T): T => Object.fromEntries(Object.entries(x).filter(([, v]) => v !== undefined)) as T;
  if (c.kind === 'adam') return new Adam(params, clean({ lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay }));
  if (c.kind === 'adamw') return new AdamW(params, clean({ lr: o.lr, betas: o.betas, eps: o.eps, weightDecay: o.weightDecay }));
  return new SGD(params, clean({ lr: o.lr, momentum: o.momentum, dampening: o.dampening, nesterov: o.nesterov, weightDecay: o.weightDecay }));
}

/** Runs `steps` optimizer steps in JS from the problem's initial values; returns [p1, p2] flattened after each step. */
function runJs(c: Config, steps = STEPS, resumeAt?: number): number[][] {
  const X = tensor(problem.X, [5, 4], { dtype: 'float64' });
  const Y = tensor(problem.Y, [5, 3], { dtype: 'float64' });
  const p1 = tensor(problem.p1, [3, 4], { dtype: 'float64', requiresGrad: true });
  const p2 = tensor(problem.p2, [3], { dtype: 'float64', requiresGrad: true });
  let opt = makeOptimizer(c, [p1, p2]);
  const traj: number[][] = [];
  for (let s = 0; s < steps; s++) {
    if (resumeAt === s) {
      // Checkpoint/restore: a fresh optimizer loaded with the state must continue identically.
      const fresh = makeOptimizer(c, [p1, p2]);
      fresh.loadState(opt.state());
      opt.dispose();
      opt = fresh;
    }
    if (c.lrs) opt.lr = c.lrs[s]!;
    opt.zeroGrad();
    tidy(() => loss(X, Y, p1, p2).backward());
    opt.step();
    traj.push([...p1.toArray(), ...p2.toArray()]);
  }
  opt.dispose();
  for (const t of [X, Y, p1, p2]) t.dispose();
  return traj;
}

const cosine: Schedule = { kind: 'cosine', warmupSteps: 2, totalSteps: STEPS, minFactor: 0.1 };
const configs: Config[] = [
  { name: 'Adam', kind: 'adam', opts: { lr: 0.05 } },
  { name: 'Adam betas/eps/L2 weight decay', kind: 'adam', opts: { lr: 0.03, betas: [0.8, 0.99], eps: 1e-6, weightDecay: 0.1 } },
  { name: 'Adam with a cosine-scheduled lr', kind: 'adam', opts: { lr: 0.05 }, lrs: Array.from({ length: STEPS }, (_, s) => scheduledLr(cosine, 0.05, s)) },
  { name: 'AdamW default decay', kind: 'adamw', opts: { lr: 0.05 } },
  { name: 'AdamW decay 0.2', kind: 'adamw', opts: { lr: 0.02, weightDecay: 0.2, betas: [0.85, 0.995] } },
  { name: 'SGD', kind: 'sgd', opts: { lr: 0.01 } },
  { name: 'SGD weight decay', kind: 'sgd', opts: { lr: 0.01, weightDecay: 0.1 } },
  { name: 'SGD momentum', kind: 'sgd', opts: { lr: 0.01, momentum: 0.9 } },
  { name: 'SGD momentum + dampening', kind: 'sgd', opts: { lr: 0.01, momentum: 0.9, dampening: 0.3 } },
  { name: 'SGD nesterov', kind: 'sgd', opts: { lr: 0.01, momentum: 0.9, nesterov: true } },
  { name: 'SGD nesterov + weight decay', kind: 'sgd', opts: { lr: 0.02, momentum: 0.8, nesterov: true, weightDecay: 0.05 } },
];

const PY_RUN = String.raw`
import json, sys, torch
d = json.load(sys.stdin)
X = torch.tensor(d['X'], dtype=torch.float64).reshape(5, 4)
Y = torch.tensor(d['Y'], dtype=torch.float64).reshape(5, 3)
loss = ${PY_LOSS}
out = {}
for c in d['configs']:
    p1 = torch.tensor(d['p1'], dtype=torch.float64).reshape(3, 4).requires_grad_()
    p2 = torch.tensor(d['p2'], dtype=torch.float64).requires_grad_()
    o = c['opts']
    if c['kind'] == 'adam':
        opt = torch.optim.Adam([p1, p2], lr=o['lr'], betas=tuple(o.get('betas', (0.9, 0.999))), eps=o.get('eps', 1e-8), weight_decay=o.get('weightDecay', 0))
    elif c['kind'] == 'adamw':
        opt = torch.optim.AdamW([p1, p2], lr=o['lr'], betas=tuple(o.get('betas', (0.9, 0.999))), eps=o.get('eps', 1e-8), weight_decay=o.get('weightDecay', 0.01))
    else:
        opt = torch.optim.SGD([p1, p2], lr=o['lr'], momentum=o.get('momentum', 0), dampening=o.get('dampening', 0), nesterov=o.get('nesterov', False), weight_decay=o.get('weightDecay', 0))
    traj = []
    for s in range(d['steps']):
        if c.get('lrs'):
            for g in opt.param_groups: g['lr'] = c['lrs'][s]
        opt.zero_grad()
        loss(X, Y, p1, p2).backward()
        opt.step()
        traj.append(p1.detach().flatten().tolist() + p2.detach().flatten().tolist())
    out[c['name']] = traj
print(json.dumps(out))
`;

describe('optimizers vs torch.optim (float64, 6 steps)', () => {
  let reference: Record<string, number[][]> | undefined;
  const getReference = (): Record<string, number[][]> =>
    (reference ??= JSON.parse(runPython(PY_RUN, JSON.stringify({ ...problem, configs, steps: STEPS }))) as Record<string, number[][]>);

  for (const c of configs) {
    test(c.name, (t) => {
      if (!pythonHasTorch()) {
        t.skip('/usr/bin/python3 has no torch');
        return;
      }
      const ref = getReference()[c.name]!;
      const mine = runJs(c);
      assert.equal(mine.length, STEPS);
      for (let s = 0; s < STEPS; s++) assertClose(mine[s]!, ref[s]!, { rtol: 0, atol: 1e-6, what: `${c.name}, step ${s + 1}` });
      // The parameters did move, so the comparison means something.
      assert.ok(mine[STEPS - 1]!.some((v, i) => Math.abs(v - [...problem.p1, ...problem.p2][i]!) > 1e-3));
    });
  }
});

describe('optimizers: behaviour without Python', () => {
  test('state()/loadState() into a fresh optimizer continues the same trajectory', () => {
    for (const c of [configs[1]!, configs[4]!, configs[10]!]) {
      const straight = runJs(c);
      const resumed = runJs(c, STEPS, 3);
      assert.deepEqual(resumed, straight, c.name);
    }
  });

  test('parameters without a gradient are left alone; bad lr is refused', () => {
    tidy(() => {
      const a = tensor([1, 2], [2], { dtype: 'float64', requiresGrad: true });
      const b = tensor([3, 4], [2], { dtype: 'float64', requiresGrad: true });
      const opt = new SGD([a, b], { lr: 0.5 });
      a.mul(a).sum().backward();
      opt.step();
      assert.deepEqual(a.toArray(), [0, 0]);
      assert.deepEqual(b.toArray(), [3, 4]);
      opt.zeroGrad();
      assert.equal(a.grad, null);
      assert.throws(() => new Adam([a], { lr: 0 }), RangeError);
    });
  });
});

describe('learning-rate schedules vs closed forms', () => {
  const lr = 0.1;
  test('constant', () => {
    for (const s of [0, 1, 100]) assert.equal(scheduledLr({ kind: 'constant' }, lr, s), lr);
  });
  test('step: lr·γ^⌊s/every⌋', () => {
    const got = Array.from({ length: 8 }, (_, s) => scheduledLr({ kind: 'step', everySteps: 3, gamma: 0.5 }, lr, s));
    assertClose(got, [0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025], { rtol: 1e-15, atol: 0 });
  });
  test('exponential: lr·γ^s', () => {
    const got = Array.from({ length: 5 }, (_, s) => scheduledLr({ kind: 'exponential', gamma: 0.9 }, lr, s));
    assertClose(got, [0.1, 0.09, 0.081, 0.0729, 0.06561], { rtol: 1e-14, atol: 0 });
  });
  test('cosine without warmup: lr·(m + (1 − m)(1 + cos(πs/T))/2), flat at lr·m after T', () => {
    const T = 10;
    const m = 0.2;
    for (let s = 0; s <= 15; s++) {
      const t = Math.min(s, T) / T;
      const want = lr * (m + ((1 - m) * (1 + Math.cos(Math.PI * t))) / 2);
      assertClose([scheduledLr({ kind: 'cosine', totalSteps: T, minFactor: m }, lr, s)], [want], { rtol: 1e-14, atol: 0, what: `step ${s}` });
    }
    assert.equal(scheduledLr({ kind: 'cosine', totalSteps: T }, lr, 0), lr);
    assertClose([scheduledLr({ kind: 'cosine', totalSteps: T }, lr, 5)], [lr / 2], { rtol: 1e-14, atol: 0 });
    assertClose([scheduledLr({ kind: 'cosine', totalSteps: T }, lr, T)], [0], { atol: 1e-17 });
  });
  test('cosine with linear warmup: lr·(s+1)/W during warmup, then the cosine over the remaining steps', () => {
    const sch: Schedule = { kind: 'cosine', warmupSteps: 4, totalSteps: 12 };
    assertClose([0, 1, 2, 3].map((s) => scheduledLr(sch, lr, s)), [0.025, 0.05, 0.075, 0.1], { rtol: 1e-14, atol: 0 });
    assertClose([scheduledLr(sch, lr, 4)], [lr], { rtol: 1e-14, atol: 0 });
    assertClose([scheduledLr(sch, lr, 8)], [lr / 2], { rtol: 1e-14, atol: 0 });
    assertClose([scheduledLr(sch, lr, 12)], [0], { atol: 1e-17 });
  });
});
