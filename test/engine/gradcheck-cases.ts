// The gradient-check cases, shared by the CPU suite (gradcheck.test.ts) and the CUDA suite (device.test.ts).
// Each case builds float64 inputs on a device and maps them to a real output; constant tensors (conditions, indices)
// are built inside `fn` on the inputs' device. Inputs of non-smooth ops are kept away from their kinks.
import {
  adaptiveAvgPool2d, avgPool2d, batchNorm, cat, complex, conv2d, convTranspose2d, einsum, fft2, fftshift, type Generator, groupNorm, ifft2,
  ifftshift, instanceNorm, interpolate, irfft2, l1Loss, layerNorm, linear, maxPool2d, mseLoss, ones, polar, rfft2, stack, tensor, where,
  zeros, type Tensor,
} from '../../src/engine/index.js';
import { randn, type GradcheckOptions } from './helpers.js';

export interface GradcheckCase {
  name: string;
  inputs: (gen: Generator, device: string) => Tensor[];
  fn: (...xs: Tensor[]) => Tensor;
  opts?: GradcheckOptions;
  /** Part of the subset that the CUDA suite repeats. */
  cuda?: boolean;
}

/** Normal samples pushed at least `gap` away from zero (for abs, relu, … whose derivative jumps at 0). */
function awayFromZero(gen: Generator, shape: number[], device: string, gap = 0.2): Tensor {
  const z = randn(gen, shape, 'cpu');
  const v = Float64Array.from(z.data() as Float64Array, (x) => (x >= 0 ? x + gap : x - gap));
  z.dispose();
  return tensor(v, shape, { dtype: 'float64', device });
}

/** Positive samples in [lo, lo + spread·|N(0,1)|]. */
function positive(gen: Generator, shape: number[], device: string, lo = 0.5, spread = 1): Tensor {
  const z = randn(gen, shape, 'cpu');
  const v = Float64Array.from(z.data() as Float64Array, (x) => lo + spread * Math.abs(x));
  z.dispose();
  return tensor(v, shape, { dtype: 'float64', device });
}

const rn = (shape: number[]) => (gen: Generator, device: string) => [randn(gen, shape, device)];
const rn2 = (a: number[], b: number[]) => (gen: Generator, device: string) => [randn(gen, a, device), randn(gen, b, device)];

function ints(values: number[], shape: number[], like: Tensor): Tensor {
  return tensor(values, shape, { dtype: 'int64', device: like.device });
}

export const gradcheckCases: GradcheckCase[] = [
  // ---- elementwise arithmetic ----------------------------------------------------------------------------------
  { name: 'add (broadcast, alpha)', inputs: rn2([3, 4], [4]), fn: (a, b) => a.add(b, 2.5), cuda: true },
  { name: 'add scalar', inputs: rn([5]), fn: (a) => a.add(3) },
  { name: 'sub (broadcast, alpha)', inputs: rn2([2, 1, 4], [3, 1]), fn: (a, b) => a.sub(b, -0.5) },
  { name: 'rsub', inputs: rn([6]), fn: (a) => a.rsub(2) },
  { name: 'mul (broadcast)', inputs: rn2([3, 4], [3, 1]), fn: (a, b) => a.mul(b), cuda: true },
  { name: 'mul scalar', inputs: rn([4]), fn: (a) => a.mul(-1.75) },
  { name: 'div', inputs: (g, d) => [randn(g, [3, 4], d), awayFromZero(g, [4], d, 0.5)], fn: (a, b) => a.div(b), cuda: true },
  { name: 'div scalar', inputs: rn([4]), fn: (a) => a.div(3) },
  { name: 'pow scalar exponents', inputs: (g, d) => [positive(g, [6], d)], fn: (a) => a.pow(3).add(a.pow(0.5)).add(a.pow(-1.5)) },
  { name: 'pow tensor^tensor', inputs: (g, d) => [positive(g, [5], d), randn(g, [5], d)], fn: (a, b) => a.pow(b), cuda: true },
  { name: 'neg, square, reciprocal', inputs: (g, d) => [awayFromZero(g, [6], d, 0.5)], fn: (a) => stack([a.neg(), a.square(), a.reciprocal()]) },
  { name: 'exp', inputs: rn([7]), fn: (a) => a.exp(), cuda: true },
  { name: 'log, log10, log1p', inputs: (g, d) => [positive(g, [6], d)], fn: (a) => stack([a.log(), a.log10(), a.log1p()]), cuda: true },
  { name: 'sqrt, rsqrt', inputs: (g, d) => [positive(g, [6], d)], fn: (a) => stack([a.sqrt(), a.rsqrt()]), cuda: true },
  { name: 'sin, cos, tan', inputs: (g, d) => [randn(g, [6], d).mul(0.5)], fn: (a) => stack([a.sin(), a.cos(), a.tan()]), cuda: true },
  { name: 'abs', inputs: (g, d) => [awayFromZero(g, [8], d)], fn: (a) => a.abs(), cuda: true },
  { name: 'atan2', inputs: (g, d) => [awayFromZero(g, [6], d), awayFromZero(g, [6], d)], fn: (a, b) => a.atan2(b) },
  { name: 'clamp (inside and outside the bounds)', inputs: (g, d) => [tensor([-2.1, -0.7, -0.2, 0.3, 0.8, 1.9], [6], { dtype: 'float64', device: d })], fn: (a) => a.clamp(-1, 1).add(a.clampMin(0.1)) },
  { name: 'maximum, minimum', inputs: (g, d) => [randn(g, [8], d), randn(g, [8], d)], fn: (a, b) => stack([a.maximum(b), a.minimum(b)]) },
  { name: 'lerp', inputs: rn2([5], [5]), fn: (a, b) => a.lerp(b, 0.3) },
  { name: 'where (tensor/tensor, scalar branches)', inputs: rn2([2, 3], [2, 3]), cuda: true, fn: (a, b) => {
    const cond = tensor([1, 0, 1, 0, 0, 1], [2, 3], { dtype: 'bool', device: a.device });
    return stack([where(cond, a, b), where(cond, a, 0.5), where(cond, -2, b)]);
  } },

  // ---- reductions ----------------------------------------------------------------------------------------------
  { name: 'sum (all, dims, keepdim)', inputs: rn([2, 3, 4]), fn: (a) => cat([a.sum().reshape([1]), a.sum([0, 2]).flatten(), a.sum(1, true).flatten()]), cuda: true },
  { name: 'mean (all, dim)', inputs: rn([3, 5]), fn: (a) => cat([a.mean().reshape([1]), a.mean(1)]), cuda: true },
  { name: 'var / std (unbiased and biased)', inputs: rn([3, 6]), cuda: true, fn: (a) => cat([
    a.var(1), a.var(0, { unbiased: false }), a.var().reshape([1]), a.std(1), a.std(undefined, { unbiased: false }).reshape([1]),
  ]) },
  { name: 'amax / amin / max / min', inputs: rn([3, 5]), fn: (a) => cat([a.amax(1), a.amin(0), a.max().reshape([1]), a.min().reshape([1]), a.amax().reshape([1])]), cuda: true },
  { name: 'norm, prod, cumsum', inputs: (g, d) => [awayFromZero(g, [2, 4], d, 0.3)], fn: (a) => cat([a.norm().reshape([1]), a.norm(1).reshape([1]), a.prod().reshape([1]), a.cumsum(1).flatten()]) },

  // ---- linear algebra ------------------------------------------------------------------------------------------
  { name: 'matmul 2-D', inputs: rn2([3, 4], [4, 2]), fn: (a, b) => a.matmul(b), cuda: true },
  { name: 'matmul batched with broadcast', inputs: rn2([2, 3, 4], [4, 5]), fn: (a, b) => a.matmul(b) },
  { name: 'matmul vector·matrix', inputs: rn2([4], [4, 3]), fn: (a, b) => a.matmul(b) },
  { name: 'linear', inputs: (g, d) => [randn(g, [2, 5], d), randn(g, [3, 5], d), randn(g, [3], d)], fn: (x, w, b) => linear(x, w, b) },
  { name: 'einsum', inputs: rn2([2, 3, 4], [2, 4]), fn: (a, b) => einsum('bij,bj->bi', a, b) },

  // ---- convolutions --------------------------------------------------------------------------------------------
  { name: 'conv2d stride, padding, dilation, groups, bias', cuda: true,
    inputs: (g, d) => [randn(g, [2, 4, 7, 6], d), randn(g, [6, 2, 3, 2], d), randn(g, [6], d)],
    fn: (x, w, b) => conv2d(x, w, b, { stride: [2, 1], padding: [1, 2], dilation: [1, 2], groups: 2 }) },
  { name: 'conv2d plain, no bias', inputs: rn2([1, 3, 5, 5], [2, 3, 2, 3]), fn: (x, w) => conv2d(x, w) },
  { name: 'conv2d depthwise', inputs: rn2([1, 3, 5, 4], [3, 1, 3, 3]), fn: (x, w) => conv2d(x, w, null, { padding: 1, groups: 3 }) },
  { name: 'conv_transpose2d stride, padding, output padding, groups, bias', cuda: true,
    inputs: (g, d) => [randn(g, [2, 4, 3, 4], d), randn(g, [4, 3, 3, 3], d), randn(g, [6], d)],
    fn: (x, w, b) => convTranspose2d(x, w, b, { stride: 2, padding: 1, outputPadding: [1, 0], groups: 2 }) },
  { name: 'conv_transpose2d dilation, stride', inputs: rn2([1, 2, 4, 3], [2, 3, 2, 3]), fn: (x, w) => convTranspose2d(x, w, null, { stride: [1, 2], dilation: [2, 1], padding: [1, 0] }) },

  // ---- pooling and resampling ----------------------------------------------------------------------------------
  { name: 'max_pool2d kernel 3, stride 2, padding 1', inputs: rn([2, 3, 6, 7]), fn: (x) => maxPool2d(x, 3, 2, 1), cuda: true },
  { name: 'max_pool2d kernel 2', inputs: rn([1, 2, 4, 6]), fn: (x) => maxPool2d(x, 2) },
  { name: 'avg_pool2d kernel 3, stride 2, padding 1', inputs: rn([2, 3, 6, 7]), fn: (x) => avgPool2d(x, 3, 2, 1), cuda: true },
  { name: 'avg_pool2d kernel [2, 3]', inputs: rn([1, 2, 4, 6]), fn: (x) => avgPool2d(x, [2, 3]) },
  { name: 'adaptive_avg_pool2d to a non-divisor size', inputs: rn([1, 2, 7, 9]), fn: (x) => adaptiveAvgPool2d(x, [3, 4]), cuda: true },
  { name: 'interpolate bilinear up/down, align_corners false', inputs: rn([1, 2, 4, 5]), fn: (x) => interpolate(x, [7, 3]), cuda: true },
  { name: 'interpolate bilinear, align_corners true', inputs: rn([2, 1, 3, 4]), fn: (x) => interpolate(x, [5, 6], 'bilinear', true) },
  { name: 'interpolate nearest', inputs: rn([1, 2, 3, 4]), fn: (x) => interpolate(x, [5, 8], 'nearest') },

  // ---- normalisation -------------------------------------------------------------------------------------------
  { name: 'batch_norm training (batch statistics, affine)', cuda: true,
    inputs: (g, d) => [randn(g, [4, 3, 2, 3], d), randn(g, [3], d), randn(g, [3], d)],
    fn: (x, w, b) => batchNorm(x, zeros([3], { dtype: 'float64', device: x.device }), ones([3], { dtype: 'float64', device: x.device }), w, b, true) },
  { name: 'batch_norm eval (running statistics)',
    inputs: (g, d) => [randn(g, [2, 3, 2, 2], d), randn(g, [3], d), randn(g, [3], d)],
    fn: (x, w, b) => batchNorm(x, tensor([0.1, -0.2, 0.3], [3], { dtype: 'float64', device: x.device }), tensor([0.5, 2, 1.5], [3], { dtype: 'float64', device: x.device }), w, b, false) },
  { name: 'group_norm', inputs: (g, d) => [randn(g, [2, 6, 3, 2], d), randn(g, [6], d), randn(g, [6], d)], fn: (x, w, b) => groupNorm(x, 3, w, b), cuda: true },
  { name: 'instance_norm', inputs: (g, d) => [randn(g, [2, 3, 3, 4], d), randn(g, [3], d), randn(g, [3], d)], fn: (x, w, b) => instanceNorm(x, w, b), cuda: true },
  { name: 'instance_norm without affine', inputs: rn([1, 2, 4, 3]), fn: (x) => instanceNorm(x) },
  { name: 'layer_norm', inputs: (g, d) => [randn(g, [2, 3, 4], d), randn(g, [3, 4], d), randn(g, [3, 4], d)], fn: (x, w, b) => layerNorm(x, [3, 4], w, b), cuda: true },

  // ---- activations ---------------------------------------------------------------------------------------------
  { name: 'relu', inputs: (g, d) => [awayFromZero(g, [10], d)], fn: (a) => a.relu(), cuda: true },
  { name: 'leaky_relu', inputs: (g, d) => [awayFromZero(g, [10], d)], fn: (a) => a.leakyRelu(0.1).add(a.leakyRelu()), cuda: true },
  { name: 'gelu', inputs: rn([10]), fn: (a) => a.gelu(), cuda: true },
  { name: 'sigmoid', inputs: rn([10]), fn: (a) => a.sigmoid(), cuda: true },
  { name: 'tanh', inputs: rn([10]), fn: (a) => a.tanh(), cuda: true },
  { name: 'softplus (beta 1 and 2)', inputs: rn([10]), fn: (a) => a.softplus().add(a.softplus(2)), cuda: true },
  { name: 'silu, elu', inputs: (g, d) => [awayFromZero(g, [10], d)], fn: (a) => a.silu().add(a.elu(0.7)) },
  { name: 'softmax', inputs: rn([3, 5]), fn: (a) => a.softmax(1).add(a.softmax(0)), cuda: true },
  { name: 'log_softmax', inputs: rn([3, 5]), fn: (a) => a.logSoftmax(-1), cuda: true },

  // ---- losses --------------------------------------------------------------------------------------------------
  { name: 'l1_loss / mse_loss (mean, sum, none)', inputs: (g, d) => [randn(g, [3, 4], d), randn(g, [3, 4], d)], cuda: true,
    fn: (a, b) => cat([l1Loss(a, b).reshape([1]), l1Loss(a, b, 'sum').reshape([1]), mseLoss(a, b).reshape([1]), mseLoss(a, b, 'none').flatten()]) },

  // ---- shape ---------------------------------------------------------------------------------------------------
  { name: 'reshape, view, flatten', inputs: rn([2, 3, 4]), fn: (a) => cat([a.reshape([4, 6]).mul(a.reshape([4, 6]).flip([0])).flatten(), a.view([6, 4]).sum(0), a.flatten(1).sum(1)]), cuda: true },
  { name: 'permute, transpose', inputs: rn([2, 3, 4]), fn: (a) => a.permute([2, 0, 1]).mul(a.transpose(0, 2).transpose(1, 2)), cuda: true },
  { name: 'slice (step, negative start), narrow, select', inputs: rn([4, 7]), cuda: true,
    fn: (a) => cat([a.slice(1, 1, null, 2).flatten(), a.slice(0, -2).flatten(), a.narrow(1, 2, 3).flatten(), a.select(0, 2)]) },
  { name: 'squeeze, unsqueeze, expand, repeat', inputs: rn([3, 1, 2]), fn: (a) => a.squeeze(1).unsqueeze(0).expand([4, 3, 2]).add(a.squeeze().repeat([4, 1, 1])) },
  { name: 'gather, index_select', inputs: rn([3, 4]), fn: (a) => {
    const gi = ints([0, 3, 3, 1, 2, 0], [3, 2], a);
    const si = ints([2, 0, 2], [3], a);
    return cat([a.gather(1, gi).flatten(), a.indexSelect(0, si).flatten()]);
  } },
  { name: 'split, chunk', inputs: rn([5, 3]), fn: (a) => {
    const parts = a.split(2);
    const chunks = a.chunk(3, 1);
    return cat([parts[0]!.mul(2).flatten(), parts[2]!.flatten(), chunks[1]!.mul(chunks[2]!).flatten()]);
  } },
  { name: 'cat (three inputs, dim 1)', inputs: (g, d) => [randn(g, [2, 1, 3], d), randn(g, [2, 3, 3], d), randn(g, [2, 2, 3], d)], fn: (a, b, c) => cat([a, b, c], 1), cuda: true },
  { name: 'stack (dim 1)', inputs: rn2([2, 3], [2, 3]), fn: (a, b) => stack([a, b, a], 1), cuda: true },
  { name: 'pad constant (uneven, value, negative = crop)', inputs: rn([1, 2, 3, 4]), fn: (a) => cat([a.pad([1, 2, 0, 3], 'constant', 0.5).flatten(), a.pad([-1, 1, 1, -1]).flatten()]), cuda: true },
  { name: 'pad reflect', inputs: rn([1, 2, 4, 5]), fn: (a) => a.pad([2, 1, 1, 3], 'reflect'), cuda: true },
  { name: 'pad replicate', inputs: rn([1, 2, 3, 4]), fn: (a) => a.pad([2, 3, 1, 0], 'replicate'), cuda: true },
  { name: 'pad circular', inputs: rn([1, 2, 3, 4]), fn: (a) => a.pad([1, 2, 2, 1], 'circular'), cuda: true },
  { name: 'roll', inputs: rn([3, 5]), fn: (a) => a.roll([1, -2], [-1, -2]).add(a.roll(4, 1)), cuda: true },
  { name: 'flip', inputs: rn([2, 3, 4]), fn: (a) => a.flip([0, 2]).mul(a), cuda: true },

  // ---- Fourier transforms (complex outputs through view_as_real) -------------------------------------------
  { name: 'fft2 of a real input', inputs: rn([2, 4, 5]), fn: (a) => fft2(a).viewAsReal(), cuda: true },
  { name: 'fft2 of a complex input, ortho, with size s', inputs: rn2([3, 4], [3, 4]), fn: (re, im) => fft2(complex(re, im), [4, 6], 'ortho').viewAsReal(), cuda: true },
  { name: 'ifft2 (backward and forward norms)', inputs: rn2([4, 3], [4, 3]), cuda: true,
    fn: (re, im) => { const z = complex(re, im); return stack([ifft2(z).viewAsReal(), ifft2(z, null, 'forward').viewAsReal()]); } },
  { name: 'rfft2 (even and odd last dim)', inputs: rn2([3, 4, 6], [5, 5]), fn: (a, b) => cat([rfft2(a).viewAsReal().flatten(), rfft2(b, null, 'ortho').viewAsReal().flatten()]), cuda: true },
  { name: 'irfft2 to an even size', inputs: rn2([4, 4], [4, 4]), fn: (re, im) => irfft2(complex(re, im), [4, 6]), cuda: true },
  { name: 'irfft2 to an odd size, ortho', inputs: rn2([5, 4], [5, 4]), fn: (re, im) => irfft2(complex(re, im), [5, 7], 'ortho'), cuda: true },
  { name: 'fftshift / ifftshift (odd sizes, real and complex)', inputs: rn2([3, 5], [3, 5]), cuda: true,
    fn: (re, im) => cat([fftshift(re).flatten(), ifftshift(re).mul(re).flatten(), fftshift(complex(re, im)).viewAsReal().flatten(), fftshift(re, [0]).flatten()]) },

  // ---- complex -------------------------------------------------------------------------------------------------
  { name: 'complex abs', inputs: (g, d) => [awayFromZero(g, [6], d), randn(g, [6], d)], fn: (re, im) => complex(re, im).abs(), cuda: true },
  { name: 'complex angle', inputs: (g, d) => [awayFromZero(g, [6], d), awayFromZero(g, [6], d)], fn: (re, im) => complex(re, im).angle(), cuda: true },
  { name: 'polar', inputs: (g, d) => [positive(g, [5], d), randn(g, [5], d)], fn: (r, th) => polar(r, th).viewAsReal(), cuda: true },
  { name: 'real, imag, conj', inputs: rn2([4], [4]), fn: (re, im) => { const z = complex(re, im); return cat([z.real().mul(z.imag()), z.conj().viewAsReal().flatten()]); } },
  { name: 'complex products and view_as_complex', inputs: rn2([4, 2], [4, 2]), cuda: true,
    fn: (a, b) => { const z = a.viewAsComplex(); const w = b.viewAsComplex(); return z.mul(w).add(z.mul(z.conj())).div(w).viewAsReal(); } },
  { name: 'spectral pipeline: |irfft2(rfft2(x)·H)|', inputs: rn2([6, 6], [6, 4]),
    fn: (x, h) => irfft2(rfft2(x).mul(polar(h.exp(), h)), [6, 6]).square() },
];
