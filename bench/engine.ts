// Engine benchmark: psfid's libtorch engine from TypeScript against PyTorch from Python (bench/python/engine_ref.py),
// the same work on the same machine in the same run, median milliseconds per call.
//   engine.train_small  one training step of convs 1→32→32→32→1 (3×3, ReLU), batch 8 of 1×64×64, L1, Adam 1e-3
//   engine.rfft2        rfft2 of a 16×256×256 float32 tensor
//   engine.train_unet   one step of a U-Net-sized block (64 channels, batch 8 of 1×128×128, LeakyReLU, max-pool,
//                       transposed conv, additive skip), L1, Adam 1e-3
// psfid uses all cores (2 here) unless PSFID_THREADS says; the reference uses as many (torch.set_num_threads).
// Both drop gradients at zero grad (PyTorch: set_to_none=True). Rounds of psfid and reference alternate
// (bench/util.ts compare); one long-lived Python process serves every round. PSFID_BENCH_ONLY=train_small,rfft2
// picks figures; PSFID_BENCH_ROUNDS sets the number of rounds (default 5); PSFID_BENCH_VERBOSE=1 prints each round's
// medians and both sides' CPU time per call on stderr. PSFID_BENCH_DEVICE=cuda runs both sides on the GPU (each timed
// call ends with a device synchronize on both sides, so the times are of finished work).
import {
  Adam, Generator, getNumThreads, keep, l1Loss, maxPool2d, nn, normal, resolveDevice, rfft2, synchronize, tidy, type Tensor,
} from '../src/engine/index.js';
import type { BenchLine } from './types.js';
import { compare, eachFigure, rounds, sampleMs, type Prepared, type ReferenceSamples, type TimingOptions } from './util.js';

const { Conv2d, ConvTranspose2d, Module, Sequential, ReLU } = nn;

const conv3 = (cin: number, cout: number): nn.Conv2d => new Conv2d(cin, cout, 3, { padding: 1 });

function smallNet(): nn.Module {
  return new Sequential(conv3(1, 32), ReLU(), conv3(32, 32), ReLU(), conv3(32, 32), ReLU(), conv3(32, 1));
}

/** Same layers as UNetish in engine_ref.py. */
class UNetish extends Module {
  readonly inc = this.registerModule('inc', conv3(1, 64));
  readonly enc1 = this.registerModule('enc1', conv3(64, 64));
  readonly enc2 = this.registerModule('enc2', conv3(64, 64));
  readonly mid1 = this.registerModule('mid1', conv3(64, 64));
  readonly mid2 = this.registerModule('mid2', conv3(64, 64));
  readonly up = this.registerModule('up', new ConvTranspose2d(64, 64, 2, { stride: 2 }));
  readonly dec = this.registerModule('dec', conv3(64, 64));
  readonly out = this.registerModule('out', conv3(64, 1));
  forward(x: Tensor): Tensor {
    const a = this.enc2.forward(this.enc1.forward(this.inc.forward(x).leakyRelu()).leakyRelu()).leakyRelu();
    const b = this.mid2.forward(this.mid1.forward(maxPool2d(a, 2)).leakyRelu()).leakyRelu();
    const u = this.dec.forward(this.up.forward(b).add(a)).leakyRelu();
    return this.out.forward(u);
  }
}

/** A figure's psfid side: state built once, then `sample` per round. */
/** Where both sides run: 'cpu' unless PSFID_BENCH_DEVICE names another ('cuda'). */
const DEVICE = resolveDevice(process.env.PSFID_BENCH_DEVICE ?? 'cpu');
const onGpu = DEVICE !== 'cpu';

/** Random normal data created on the CPU (same numbers on every device), then moved to DEVICE. */
function data(gen: Generator, shape: number[]): Tensor {
  return keep(tidy(() => normal(gen, shape).toDevice(DEVICE)));
}

/** One training step (forward, L1, backward, Adam step, zero grad), each step inside tidy(). */
function trainStep(makeModel: () => nn.Module, shape: [number, number, number, number]): Prepared {
  const gen = new Generator(0);
  const model = makeModel().to(DEVICE);
  const x = data(gen, shape);
  const target = data(gen, [shape[0], 1, shape[2], shape[3]]);
  const opt = new Adam(model.parameters(), { lr: 1e-3 });
  const step = (): void => {
    tidy(() => {
      l1Loss(model.forward(x), target).backward();
      opt.step();
      opt.zeroGrad();
    });
    if (onGpu) synchronize();
  };
  return {
    sample: (t) => sampleMs(step, t),
    dispose: () => {
      opt.dispose();
      model.dispose();
      x.free();
      target.free();
      gen.dispose();
    },
  };
}

/**
 * rfft2 of a 16×256×256 float32 tensor. The time of this one kernel depends by ±10 % on where its input and output
 * happen to lie in memory (same process, same tensor, new buffer: 4.9–6.2 ms here), and a process that reuses one
 * buffer keeps its luck for the whole run; so both sides cycle over 4 inputs and keep the last 8 outputs alive,
 * which spreads every call over different buffers (engine_ref.py does the same).
 */
function rfft2Call(): Prepared {
  const gen = new Generator(0);
  const inputs = Array.from({ length: 4 }, () => data(gen, [16, 256, 256]));
  const outputs: Tensor[] = [];
  let i = 0;
  const call = (): void => {
    outputs.push(keep(rfft2(inputs[i++ % inputs.length]!)));
    if (outputs.length > 8) outputs.shift()!.free();
    if (onGpu) synchronize();
  };
  return {
    sample: (t) => sampleMs(call, t),
    dispose: () => {
      for (const t of [...inputs, ...outputs]) t.free();
      gen.dispose();
    },
  };
}

interface Figure {
  name: string;
  /** Warm-up before the first round. */
  warmup: number;
  /** Per round: a short re-warm (after the other process ran) and the timed calls. */
  round: TimingOptions;
  /** Rounds beyond the default (PSFID_BENCH_ROUNDS): long steps interleave in small rounds, more of them. */
  extraRounds?: number;
  prepare: () => Prepared;
}

const FIGURES: Figure[] = [
  { name: 'train_small', warmup: 10, round: { warmup: 2, repeats: 20 }, prepare: () => trainStep(smallNet, [8, 1, 64, 64]) },
  { name: 'rfft2', warmup: 20, round: { warmup: 3, repeats: 40 }, prepare: rfft2Call },
  { name: 'train_unet', warmup: 2, round: { warmup: 0, repeats: 2 }, extraRounds: 2, prepare: () => trainStep(() => new UNetish(), [8, 1, 128, 128]) },
];

export async function run(): Promise<BenchLine[]> {
  return eachFigure(
    'engine',
    'engine_ref.py',
    FIGURES,
    (server, f) => server.request({ figure: f.name, warmup: f.warmup, repeats: 0, threads: getNumThreads(), device: DEVICE }),
    async (f, ours, server) => {
      // CPU time per timed call (warm-up included) of each side, for PSFID_BENCH_VERBOSE: on a shared machine, wall
      // time also measures the neighbours.
      const cpu: { psfid: number[]; reference: number[] } = { psfid: [], reference: [] };
      const line = await compare(
        {
          name: onGpu ? `engine.${f.name}.${DEVICE.replace(':', '')}` : `engine.${f.name}`,
          psfid: () => {
            const c0 = process.cpuUsage();
            const s = ours.sample(f.round);
            const c = process.cpuUsage(c0);
            cpu.psfid.push((c.user + c.system) / 1000 / Math.max(1, f.round.repeats));
            return s;
          },
          reference: async () => {
            const r = await server.request<ReferenceSamples & { cpu_ms_per_call: number }>({ figure: f.name, ...f.round, threads: getNumThreads(), device: DEVICE });
            cpu.reference.push(r.cpu_ms_per_call);
            return r.samples_ms;
          },
        },
        rounds() + (f.extraRounds ?? 0),
      );
      if (process.env.PSFID_BENCH_VERBOSE) {
        const fmt = (xs: number[]): string => xs.map((x) => x.toPrecision(4)).join(' ');
        process.stderr.write(`bench: engine.${f.name} CPU ms per call: psfid ${fmt(cpu.psfid)} | reference ${fmt(cpu.reference)}\n`);
      }
      return line;
    },
  );
}
