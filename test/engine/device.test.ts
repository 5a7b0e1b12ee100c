// Devices: resolution of 'auto'/'cpu'/'cuda', clear errors without a GPU, and — only where a CUDA GPU is visible —
// the gradient checks and a conv-net training step on CUDA against the CPU.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Adam, conv2d, cudaAvailable, cudaDeviceCount, Generator, l1Loss, liveTensors, nn, noGrad, normal, poisson, full, resolveDevice, SGD,
  synchronize, tensor, tidy, uniform, zeros, type Tensor,
} from '../../src/engine/index.js';
import { assertClose, gradcheck, randn } from './helpers.js';
import { gradcheckCases } from './gradcheck-cases.js';

const hasCuda = cudaDeviceCount() > 0;
const NO_GPU = 'no CUDA GPU visible (cudaDeviceCount() = 0)';

describe('device resolution', () => {
  test("'auto' is 'cpu' without a GPU and 'cuda' with one; 'cpu' is 'cpu'", () => {
    assert.equal(cudaAvailable(), hasCuda);
    assert.equal(resolveDevice('auto'), hasCuda ? 'cuda' : 'cpu');
    assert.equal(resolveDevice(), hasCuda ? 'cuda' : 'cpu');
    assert.equal(resolveDevice('cpu'), 'cpu');
  });

  test("'cuda' without a GPU throws a clear error naming the way out", (t) => {
    if (hasCuda) {
      assert.equal(resolveDevice('cuda'), 'cuda');
      assert.equal(resolveDevice('cuda:0'), 'cuda:0');
      return;
    }
    for (const spec of ['cuda', 'cuda:0', 'cuda:1']) {
      assert.throws(() => resolveDevice(spec), (e: Error) => {
        assert.ok(e instanceof Error);
        assert.match(e.message, new RegExp(`device '${spec}' requested but (no CUDA GPU is visible|the libtorch psfid was built against has no CUDA)`));
        assert.match(e.message, /--device cpu/);
        return true;
      });
    }
    t.diagnostic('resolveDevice(\'cuda\') refused as expected on this GPU-less machine');
  });

  test('unknown device names are refused', () => {
    for (const spec of ['gpu', 'tpu', 'cuda:x', 'CPU', '']) assert.throws(() => resolveDevice(spec), /unknown device/);
  });

  test('tensors live on the CPU by default; synchronize() is a no-op there', () => {
    tidy(() => {
      assert.equal(zeros([2]).device, 'cpu');
      assert.equal(normal(new Generator(1), [2]).device, 'cpu');
      synchronize();
    });
  });

  test('asking libtorch for a CUDA tensor without a GPU throws an Error and the engine goes on', (t) => {
    if (hasCuda) return t.skip('a GPU is visible');
    const before = liveTensors();
    assert.throws(() => zeros([2], { device: 'cuda' }), (e: Error) => e instanceof Error && /CUDA/i.test(e.message));
    assert.equal(liveTensors(), before);
    tidy(() => assert.equal(zeros([2]).add(1).sum().item(), 2));
  });
});

describe('CUDA: gradient checks (float64) on the GPU', () => {
  const gen = new Generator(4242);
  const subset = gradcheckCases.filter((c) => c.cuda);
  test('the CUDA subset covers every op family', () => {
    assert.ok(subset.length >= 40, `only ${subset.length} cases marked for CUDA`);
  });
  for (const c of subset) {
    test(c.name, (t) => {
      if (!hasCuda) return t.skip(NO_GPU);
      const inputs = tidy(() => c.inputs(gen, 'cuda'));
      assert.match(inputs[0]!.device, /^cuda/);
      gradcheck(c.fn, inputs, { ...c.opts, device: 'cuda' });
      for (const x of inputs) x.dispose();
    });
  }
});

describe('CUDA vs CPU', () => {
  test('random samples are the same numbers on both devices', (t) => {
    if (!hasCuda) return t.skip(NO_GPU);
    tidy(() => {
      const a = normal(new Generator(9), [100], { device: 'cuda' });
      assert.match(a.device, /^cuda/);
      assert.deepEqual(a.toArray(), normal(new Generator(9), [100]).toArray());
      assert.deepEqual(uniform(new Generator(9), [50], { device: 'cuda', low: -1, high: 2 }).toArray(), uniform(new Generator(9), [50], { low: -1, high: 2 }).toArray());
      const rates = full([64], 3);
      assert.deepEqual(poisson(new Generator(9), rates.toDevice('cuda')).toArray(), poisson(new Generator(9), rates).toArray());
    });
  });

  test('a float64 conv-net training step (forward, backward, Adam) agrees to 1e-9', (t) => {
    if (!hasCuda) return t.skip(NO_GPU);
    const gen = new Generator(17);
    const init = tidy(() => [randn(gen, [8, 1, 3, 3]).mul(0.3), randn(gen, [8]).mul(0.1), randn(gen, [1, 8, 3, 3]).mul(0.1), randn(gen, [1]).mul(0.1)]);
    const x = randn(gen, [4, 1, 16, 16]);
    const y = randn(gen, [4, 1, 16, 16]);
    const run = (device: string): { losses: number[]; params: number[][]; grads: number[][] } => {
      // Copies (toDevice to the tensor's own device is an alias, and the optimizer updates in place).
      const params = tidy(() => init.map((p) => p.clone().toDevice(device)));
      for (const p of params) p.requiresGrad = true;
      const [w1, b1, w2, b2] = params as [Tensor, Tensor, Tensor, Tensor];
      const xd = x.toDevice(device);
      const yd = y.toDevice(device);
      const opt = new Adam(params, { lr: 1e-2 });
      const losses: number[] = [];
      let grads: number[][] = [];
      for (let s = 0; s < 3; s++) {
        opt.zeroGrad();
        losses.push(
          tidy(() => {
            const h = conv2d(xd, w1, b1, { padding: 1 }).relu();
            const l = l1Loss(conv2d(h, w2, b2, { padding: 1 }), yd).add(w1.square().sum().mul(1e-3));
            l.backward();
            return l.item();
          }),
        );
        if (s === 0) grads = tidy(() => params.map((p) => p.grad!.toArray()));
        opt.step();
      }
      const out = { losses, params: params.map((p) => p.toArray()), grads };
      opt.dispose();
      for (const p of [...params, xd, yd]) p.dispose();
      return out;
    };
    const cpu = run('cpu');
    const gpu = run('cuda');
    assertClose(gpu.losses, cpu.losses, { rtol: 1e-9, atol: 1e-12, what: 'losses' });
    cpu.grads.forEach((g, i) => assertClose(gpu.grads[i]!, g, { rtol: 1e-7, atol: 1e-10, what: `gradient ${i}` }));
    cpu.params.forEach((p, i) => assertClose(gpu.params[i]!, p, { rtol: 1e-9, atol: 1e-9, what: `parameter ${i} after 3 Adam steps` }));
    for (const p of [...init, x, y]) p.dispose();
  });

  test('an nn.Sequential moved with .to("cuda") trains like its CPU twin (float32, TF32 allowance)', (t) => {
    if (!hasCuda) return t.skip(NO_GPU);
    const make = () =>
      new nn.Sequential(new nn.Conv2d(1, 8, 3, { padding: 1, gen: new Generator(1) }), nn.ReLU(), new nn.GroupNorm(2, 8), new nn.Conv2d(8, 1, 3, { padding: 1, gen: new Generator(2) }));
    const gen = new Generator(3);
    const x = normal(gen, [4, 1, 24, 24]);
    const y = normal(gen, [4, 1, 24, 24]);
    const run = (device: string) => {
      const net = make().to(device);
      assert.ok(net.parameters().every((p) => p.device.startsWith(device) && p.requiresGrad));
      const xd = x.toDevice(device);
      const yd = y.toDevice(device);
      const out0 = noGrad(() => net.forward(xd));
      const first = out0.toArray();
      out0.dispose();
      const opt = new SGD(net.parameters(), { lr: 0.05, momentum: 0.9 });
      const losses: number[] = [];
      for (let s = 0; s < 5; s++) {
        opt.zeroGrad();
        losses.push(
          tidy(() => {
            const l = l1Loss(net.forward(xd), yd);
            l.backward();
            return l.item();
          }),
        );
        opt.step();
      }
      const params = net.parameters().map((p) => p.toArray());
      opt.dispose();
      net.dispose();
      xd.dispose();
      yd.dispose();
      return { first, losses, params };
    };
    const cpu = run('cpu');
    const gpu = run('cuda');
    // cuDNN may use TF32 (10-bit mantissa) for float32 convolutions: allow ~1e-3 relative.
    assertClose(gpu.first, cpu.first, { rtol: 5e-3, atol: 5e-3, what: 'initial outputs' });
    assertClose(gpu.losses, cpu.losses, { rtol: 5e-3, atol: 1e-4, what: 'losses' });
    cpu.params.forEach((p, i) => assertClose(gpu.params[i]!, p, { rtol: 2e-2, atol: 2e-3, what: `parameter ${i}` }));
    x.dispose();
    y.dispose();
  });

  test('tensors on the GPU copy back through data() and tensor(..., { device })', (t) => {
    if (!hasCuda) return t.skip(NO_GPU);
    tidy(() => {
      const a = tensor([1, 2, 3], [3], { dtype: 'float64', device: 'cuda' });
      assert.match(a.device, /^cuda/);
      assert.deepEqual(a.mul(2).toArray(), [2, 4, 6]);
      synchronize();
      assert.throws(() => a.add(tensor([1, 2, 3], [3], { dtype: 'float64' })), /device/);
    });
  });
});
