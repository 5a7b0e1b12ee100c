// The Tensor type: a JavaScript object holding an integer handle into the addon's tensor table.
//
// Lifetime is deterministic: `dispose()`, or `tidy(fn)`, which frees every tensor created inside `fn` except what
// `fn` returns. A FinalizationRegistry frees forgotten tensors as a backstop only: V8 does not see native memory,
// so relying on the garbage collector alone lets a training loop run out of memory (../shared/DESIGN.md).
import { native } from './native.js';

export type DType = 'uint8' | 'int8' | 'int16' | 'int32' | 'int64' | 'float16' | 'bfloat16' | 'float32' | 'float64' | 'complex64' | 'complex128' | 'bool';

/** c10::ScalarType codes. */
const DTYPE_CODE: Record<DType, number> = {
  uint8: 0, int8: 1, int16: 2, int32: 3, int64: 4, float16: 5, float32: 6, float64: 7, complex64: 9, complex128: 10, bool: 11, bfloat16: 15,
};
const CODE_DTYPE: Record<number, DType> = Object.fromEntries(Object.entries(DTYPE_CODE).map(([k, v]) => [v, k as DType]));

/** c10::MemoryFormat codes. */
const MEMORY_FORMAT_CONTIGUOUS = 0;
const MEMORY_FORMAT_CHANNELS_LAST = 2;

/** A bfloat16's raw bits as a number: they are the high half of the float32 with the same value. */
function bfloat16ToNumber(bits: number): number {
  BF16_SCRATCH_U32[0] = bits << 16;
  return BF16_SCRATCH_F32[0]!;
}
const BF16_SCRATCH_F32 = new Float32Array(1);
const BF16_SCRATCH_U32 = new Uint32Array(BF16_SCRATCH_F32.buffer);

export function dtypeCode(dtype: DType): number {
  const code = DTYPE_CODE[dtype];
  if (code === undefined) throw new TypeError(`unknown dtype '${String(dtype)}'`);
  return code;
}

export type TypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Int8Array | Int16Array | Uint16Array;

/** The typed array that holds each dtype's elements (complex: interleaved real, imaginary; float16, bfloat16: raw bits). */
function arrayFor(dtype: DType, buf: ArrayBuffer): TypedArray {
  switch (dtype) {
    case 'float16': case 'bfloat16': return new Uint16Array(buf);
    case 'float32': case 'complex64': return new Float32Array(buf);
    case 'float64': case 'complex128': return new Float64Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'uint8': case 'bool': return new Uint8Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'int16': return new Int16Array(buf);
    default: throw new TypeError(`no typed array for dtype ${dtype}`);
  }
}

function dtypeOfArray(a: ArrayBufferView): DType {
  if (a instanceof Float32Array) return 'float32';
  if (a instanceof Float64Array) return 'float64';
  if (a instanceof Int32Array) return 'int32';
  if (a instanceof BigInt64Array) return 'int64';
  if (a instanceof Uint8Array) return 'uint8';
  if (a instanceof Int8Array) return 'int8';
  if (a instanceof Int16Array) return 'int16';
  throw new TypeError(`unsupported typed array ${a.constructor.name}`);
}

// ---------------------------------------------------------------------------------------------------------------
// Scopes
// ---------------------------------------------------------------------------------------------------------------

const scopes: Tensor[][] = [];
const finalizer = new FinalizationRegistry<number>((h) => native.release(h));

/** Anything that may contain tensors: what `tidy` keeps when `fn` returns it. */
export type TensorContainer = Tensor | TensorContainer[] | { [key: string]: TensorContainer } | number | string | boolean | null | undefined | void;

function collect(value: unknown, into: Set<Tensor>): void {
  if (value instanceof Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, into);
  else if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, into);
}

/**
 * Runs `fn` and disposes every tensor created inside it, except those in its result (a tensor, or arrays/plain
 * objects of tensors), which move to the enclosing scope. Not for async functions.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Tensor[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    // A throwing fn returns nothing to keep: free what it created (except kept tensors), as on success.
    for (const t of scope) if (!t.kept) t.dispose();
    throw e;
  } finally {
    scopes.pop();
  }
  if (result instanceof Promise) {
    for (const t of scope) if (!t.kept) t.dispose();
    throw new TypeError('tidy: fn must be synchronous');
  }
  const keep = new Set<Tensor>();
  collect(result, keep);
  const outer = scopes[scopes.length - 1];
  for (const t of scope) {
    if (keep.has(t)) outer?.push(t);
    else if (!t.kept) t.dispose();
  }
  return result;
}

/** Moves `t` out of every tidy scope: no scope frees it; the caller disposes it (`dispose()` still works). */
export function keep<T extends Tensor>(t: T): T {
  t.kept = true;
  return t;
}

// ---------------------------------------------------------------------------------------------------------------
// Operators
// ---------------------------------------------------------------------------------------------------------------

const opIds = new Map<string, number>();

/**
 * An argument that the addon receives as an integer handle: a tensor ('t'), a list of tensors ('l') or a generator
 * ('g'). The addon cannot tell a handle from a number, so these positions are checked here: a number passed where a
 * tensor belongs would otherwise silently name whichever tensor holds that handle.
 */
interface HandleArg { pos: number; kind: 't' | 'l' | 'g'; name: string }
const opHandleArgs: HandleArg[][] = [];

/** The handle-typed arguments of a schema such as "aten::conv2d(Tensor input, Tensor? bias=None, int[2] stride=1) -> Tensor". */
function handleArgsOf(schema: string): HandleArg[] {
  const open = schema.indexOf('(');
  const parts: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < schema.length; i++) {
    const c = schema[i];
    if (c === '(' || c === '[') depth++;
    else if (c === ')' || c === ']') {
      if (--depth === 0) {
        parts.push(schema.slice(start, i));
        break;
      }
    } else if (c === ',' && depth === 1) {
      parts.push(schema.slice(start, i));
      start = i + 1;
    }
  }
  const out: HandleArg[] = [];
  let pos = 0;
  for (const part of parts) {
    const p = part.trim();
    if (p === '*' || p === '') continue;
    const [type = '', name = ''] = p.replace(/\([^)]*\)/g, '').trim().split(/\s+/);
    if (type.startsWith('Tensor')) out.push({ pos, kind: type.endsWith('[]') ? 'l' : 't', name: name.replace(/=.*/, '') });
    else if (type.startsWith('Generator')) out.push({ pos, kind: 'g', name: name.replace(/=.*/, '') });
    pos++;
  }
  return out;
}

/** The id of an ATen operator, "aten::name.overload" written as "name.overload". */
export function opId(qualified: string): number {
  let id = opIds.get(qualified);
  if (id === undefined) {
    const dot = qualified.indexOf('.');
    const name = dot < 0 ? qualified : qualified.slice(0, dot);
    const overload = dot < 0 ? '' : qualified.slice(dot + 1);
    id = native.op('aten::' + name, overload);
    opHandleArgs[id] = handleArgsOf(native.opSchema(id));
    opIds.set(qualified, id);
  }
  return id;
}

function describe(a: unknown): string {
  if (a === null) return 'null';
  if (Array.isArray(a)) return 'an array';
  if (typeof a === 'object') return (a as object).constructor?.name ?? 'an object';
  return `${typeof a} ${String(a)}`;
}

/** Throws a TypeError when a tensor, tensor-list or generator argument holds anything else (null/undefined pass). */
function checkArgs(id: number, op: string, args: unknown[], offset: number): void {
  for (const { pos, kind, name } of opHandleArgs[id]!) {
    const a = args[pos - offset];
    if (pos < offset || a === null || a === undefined) continue;
    if (kind === 't' ? a instanceof Tensor : kind === 'g' ? a instanceof Generator : Array.isArray(a) && a.every((x) => x instanceof Tensor || x === null)) continue;
    const want = kind === 't' ? 'a Tensor' : kind === 'g' ? 'a Generator' : 'an array of Tensors';
    throw new TypeError(`aten::${op} argument '${name}': expected ${want}, got ${describe(a)}`);
  }
}

function toArg(a: unknown): unknown {
  if (a instanceof Tensor) return a.handle;
  if (Array.isArray(a)) return a.map(toArg);
  if (a instanceof Generator) return a.handle;
  return a;
}

/** Calls an ATen operator; Tensor arguments become handles. Returns the raw result (handles as numbers). */
export function callRaw(op: string, args: unknown[]): unknown {
  const id = opId(op);
  checkArgs(id, op, args, 0);
  return native.call(id, args.map(toArg));
}

/** Calls an operator that returns one tensor. */
export function call(op: string, ...args: unknown[]): Tensor {
  const id = opId(op);
  checkArgs(id, op, args, 0);
  return new Tensor(native.call(id, args.map(toArg)) as number);
}

/** Calls an operator that returns several tensors (or a tensor list). */
export function callMany(op: string, ...args: unknown[]): Tensor[] {
  const id = opId(op);
  checkArgs(id, op, args, 0);
  const r = native.call(id, args.map(toArg)) as number[];
  return r.map((h) => new Tensor(h));
}

/** Calls an in-place operator on `self` (its first argument) and returns `self`. */
function callInPlace(self: Tensor, op: string, ...rest: unknown[]): Tensor {
  const id = opId(op);
  checkArgs(id, op, rest, 1);
  native.call(id, [self.handle, ...rest.map(toArg)], true);
  return self;
}

// ---------------------------------------------------------------------------------------------------------------
// Generators
// ---------------------------------------------------------------------------------------------------------------

/** Module-private: lets fork() wrap a native generator handle it made (the constructor's second argument). */
const ADOPT_HANDLE = Symbol('adopt a native generator handle');

/**
 * A seeded random generator (libtorch's CPU generator, MT19937). Samplers draw on the generator's device: a
 * Generator made from a seed draws on the CPU and moves the numbers to their device, so one seed gives the same
 * numbers on every device; a fork (fork()) draws on its own device. Same seed → same sample, every run.
 */
export class Generator {
  #h: number;
  #device = 'cpu';
  constructor(seed: number | bigint, adopt?: typeof ADOPT_HANDLE) {
    if (adopt === ADOPT_HANDLE) {
      this.#h = Number(seed);
      this.#device = native.generatorDevice(this.#h);
    } else {
      if (typeof seed === 'number' && (!Number.isInteger(seed) || seed < 0)) throw new TypeError(`Generator: seed must be a non-negative integer, got ${seed}`);
      this.#h = native.newGenerator(seed);
    }
    generatorFinalizer.register(this, this.#h, this);
  }
  get handle(): number {
    if (this.#h < 0) throw new Error('Generator used after dispose()');
    return this.#h;
  }
  /** Where it draws: 'cpu' for a Generator made from a seed; a fork's device ('cuda:0', …). */
  get device(): string {
    return this.#device;
  }
  /**
   * A new, independent Generator on `device`, seeded with one 64-bit draw of this one (which must be a CPU
   * Generator): this Generator's state still determines what the fork draws, so checkpoints and --resume stay exact,
   * but a device fork draws with that device's own engine (CUDA: Philox), so its numbers differ from a CPU fork's.
   * Samplers given a fork on a GPU draw there, without the CPU draw and copy (the acquisition's noise, for speed).
   * Dispose of it when done.
   */
  fork(device: string): Generator {
    if (this.#device !== 'cpu') throw new TypeError(`Generator.fork: only a CPU Generator can be forked, this one draws on ${this.#device}`);
    return new Generator(native.forkGenerator(this.handle, device), ADOPT_HANDLE);
  }
  /** The full state (for checkpoints). */
  getState(): Uint8Array {
    return new Uint8Array(native.generatorState(this.handle));
  }
  setState(state: Uint8Array): void {
    native.setGeneratorState(this.handle, state);
  }
  dispose(): void {
    if (this.#h >= 0) {
      native.releaseGenerator(this.#h);
      generatorFinalizer.unregister(this);
      this.#h = -1;
    }
  }
}
const generatorFinalizer = new FinalizationRegistry<number>((h) => native.releaseGenerator(h));

// ---------------------------------------------------------------------------------------------------------------
// Tensor
// ---------------------------------------------------------------------------------------------------------------

export type Scalar = number | boolean;
export type TensorLike = Tensor | Scalar;

export class Tensor {
  #h: number;
  #shape: number[] | undefined;
  /** Set by `keep()`: the tensor leaves tidy scopes. */
  kept = false;

  constructor(handle: number) {
    this.#h = handle;
    const scope = scopes[scopes.length - 1];
    if (scope) scope.push(this);
    finalizer.register(this, handle, this);
  }

  get handle(): number {
    if (this.#h < 0) throw new Error('Tensor used after dispose()');
    return this.#h;
  }
  get isDisposed(): boolean {
    return this.#h < 0;
  }
  dispose(): void {
    if (this.#h >= 0) {
      native.release(this.#h);
      finalizer.unregister(this);
      this.#h = -1;
    }
  }
  /** Same as dispose() (kept tensors included). */
  free(): void {
    this.kept = false;
    this.dispose();
  }

  get shape(): number[] {
    return (this.#shape ??= native.shape(this.handle)).slice();
  }
  get ndim(): number {
    return (this.#shape ??= native.shape(this.handle)).length;
  }
  size(dim: number): number {
    const s = (this.#shape ??= native.shape(this.handle));
    const d = dim < 0 ? dim + s.length : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`size: dim ${dim} out of range for ${s.length}-d tensor`);
    return s[d]!;
  }
  get numel(): number {
    return (this.#shape ??= native.shape(this.handle)).reduce((a, b) => a * b, 1);
  }
  get dtype(): DType {
    return CODE_DTYPE[native.dtype(this.handle)]!;
  }
  get device(): string {
    return native.device(this.handle);
  }
  get isComplex(): boolean {
    const d = this.dtype;
    return d === 'complex64' || d === 'complex128';
  }
  toString(): string {
    return `Tensor(${this.isDisposed ? 'disposed' : `[${this.shape.join(', ')}], ${this.dtype}, ${this.device}`})`;
  }

  // ---- data ---------------------------------------------------------------------------------------------------
  /** A copy of the elements (row-major, on the CPU). Complex tensors give interleaved (re, im). */
  data(): TypedArray {
    return arrayFor(this.dtype, native.toData(this.handle));
  }
  /** Elements as a plain number array (int64 converted to number, float16 and bfloat16 decoded). */
  toArray(): number[] {
    const d = this.data();
    if (d instanceof Uint16Array) return Array.from(d, this.dtype === 'bfloat16' ? bfloat16ToNumber : halfToNumber);
    return d instanceof BigInt64Array ? Array.from(d, Number) : Array.from(d as ArrayLike<number>);
  }
  item(): number {
    const v = native.item(this.handle);
    return typeof v === 'boolean' ? Number(v) : v;
  }

  // ---- autograd -----------------------------------------------------------------------------------------------
  get requiresGrad(): boolean {
    return native.requiresGrad(this.handle);
  }
  set requiresGrad(on: boolean) {
    native.setRequiresGrad(this.handle, on);
  }
  requiresGrad_(on = true): this {
    native.setRequiresGrad(this.handle, on);
    return this;
  }
  /** The accumulated gradient (a new handle each call; dispose it), or null. */
  get grad(): Tensor | null {
    const g = native.grad(this.handle);
    return g === null ? null : new Tensor(g);
  }
  set grad(g: Tensor | null) {
    native.setGrad(this.handle, g === null ? null : g.handle);
  }
  backward(gradient?: Tensor, opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    native.backward([this.handle], gradient ? [gradient.handle] : null, opts.retainGraph ?? false, opts.createGraph ?? false);
  }
  detach(): Tensor { return call('detach', this); }

  // ---- conversion ---------------------------------------------------------------------------------------------
  to(target: { device?: string; dtype?: DType }): Tensor {
    return call('to.dtype_layout', this, target.dtype === undefined ? null : dtypeCode(target.dtype), null, target.device ?? null);
  }
  toDevice(device: string): Tensor { return this.to({ device }); }
  float(): Tensor { return this.to({ dtype: 'float32' }); }
  double(): Tensor { return this.to({ dtype: 'float64' }); }
  clone(): Tensor { return call('clone', this); }
  /**
   * A contiguous copy (or this tensor if it already is). 'channelsLast' stores a 4-D tensor as N, H, W, C (same shape
   * and values): oneDNN's convolutions run on that layout without reordering their input at every call.
   */
  contiguous(format: 'rowMajor' | 'channelsLast' = 'rowMajor'): Tensor {
    return call('contiguous', this, format === 'channelsLast' ? MEMORY_FORMAT_CHANNELS_LAST : MEMORY_FORMAT_CONTIGUOUS);
  }

  // ---- elementwise arithmetic ---------------------------------------------------------------------------------
  add(o: TensorLike, alpha: number = 1): Tensor { return o instanceof Tensor ? call('add.Tensor', this, o, alpha) : call('add.Scalar', this, o, alpha); }
  sub(o: TensorLike, alpha: number = 1): Tensor { return o instanceof Tensor ? call('sub.Tensor', this, o, alpha) : call('sub.Scalar', this, o, alpha); }
  mul(o: TensorLike): Tensor { return o instanceof Tensor ? call('mul.Tensor', this, o) : call('mul.Scalar', this, o); }
  div(o: TensorLike): Tensor { return o instanceof Tensor ? call('div.Tensor', this, o) : call('div.Scalar', this, o); }
  /** `o - this` for a scalar o. */
  rsub(o: Scalar): Tensor { return call('rsub.Scalar', this, o); }
  pow(e: TensorLike): Tensor { return e instanceof Tensor ? call('pow.Tensor_Tensor', this, e) : call('pow.Tensor_Scalar', this, e); }
  neg(): Tensor { return call('neg', this); }
  abs(): Tensor { return call('abs', this); }
  sign(): Tensor { return call('sign', this); }
  sqrt(): Tensor { return call('sqrt', this); }
  rsqrt(): Tensor { return call('rsqrt', this); }
  square(): Tensor { return call('square', this); }
  exp(): Tensor { return call('exp', this); }
  log(): Tensor { return call('log', this); }
  log10(): Tensor { return call('log10', this); }
  log1p(): Tensor { return call('log1p', this); }
  sin(): Tensor { return call('sin', this); }
  cos(): Tensor { return call('cos', this); }
  tan(): Tensor { return call('tan', this); }
  atan2(o: Tensor): Tensor { return call('atan2', this, o); }
  reciprocal(): Tensor { return call('reciprocal', this); }
  floor(): Tensor { return call('floor', this); }
  ceil(): Tensor { return call('ceil', this); }
  round(): Tensor { return call('round', this); }
  clamp(min: number | null, max: number | null = null): Tensor { return call('clamp', this, min, max); }
  clampMin(min: number): Tensor { return call('clamp_min', this, min); }
  maximum(o: Tensor): Tensor { return call('maximum', this, o); }
  minimum(o: Tensor): Tensor { return call('minimum', this, o); }
  lerp(end: Tensor, weight: number): Tensor { return call('lerp.Scalar', this, end, weight); }

  // ---- comparisons and logic ----------------------------------------------------------------------------------
  eq(o: TensorLike): Tensor { return o instanceof Tensor ? call('eq.Tensor', this, o) : call('eq.Scalar', this, o); }
  ne(o: TensorLike): Tensor { return o instanceof Tensor ? call('ne.Tensor', this, o) : call('ne.Scalar', this, o); }
  lt(o: TensorLike): Tensor { return o instanceof Tensor ? call('lt.Tensor', this, o) : call('lt.Scalar', this, o); }
  le(o: TensorLike): Tensor { return o instanceof Tensor ? call('le.Tensor', this, o) : call('le.Scalar', this, o); }
  gt(o: TensorLike): Tensor { return o instanceof Tensor ? call('gt.Tensor', this, o) : call('gt.Scalar', this, o); }
  ge(o: TensorLike): Tensor { return o instanceof Tensor ? call('ge.Tensor', this, o) : call('ge.Scalar', this, o); }
  logicalAnd(o: Tensor): Tensor { return call('logical_and', this, o); }
  logicalOr(o: Tensor): Tensor { return call('logical_or', this, o); }
  logicalNot(): Tensor { return call('logical_not', this); }
  isfinite(): Tensor { return call('isfinite', this); }

  // ---- reductions ---------------------------------------------------------------------------------------------
  sum(dim?: number | number[], keepdim = false): Tensor { return dim === undefined ? call('sum', this) : call('sum.dim_IntList', this, asList(dim), keepdim); }
  mean(dim?: number | number[], keepdim = false): Tensor { return dim === undefined ? call('mean', this) : call('mean.dim', this, asList(dim), keepdim); }
  /** Variance; `unbiased` divides by n − 1. */
  var(dim?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return call('var.dim', this, dim === undefined ? null : asList(dim), opts.unbiased ?? true, opts.keepdim ?? false);
  }
  std(dim?: number | number[], opts: { unbiased?: boolean; keepdim?: boolean } = {}): Tensor {
    return call('std.dim', this, dim === undefined ? null : asList(dim), opts.unbiased ?? true, opts.keepdim ?? false);
  }
  amax(dim: number | number[] = [], keepdim = false): Tensor { return call('amax', this, asList(dim), keepdim); }
  amin(dim: number | number[] = [], keepdim = false): Tensor { return call('amin', this, asList(dim), keepdim); }
  max(): Tensor { return call('max', this); }
  min(): Tensor { return call('min', this); }
  argmax(dim?: number, keepdim = false): Tensor { return call('argmax', this, dim ?? null, keepdim); }
  norm(p = 2): Tensor { return call('norm.Scalar', this, p); }
  cumsum(dim: number): Tensor { return call('cumsum', this, dim); }
  prod(): Tensor { return call('prod', this); }

  // ---- linear algebra -----------------------------------------------------------------------------------------
  matmul(o: Tensor): Tensor { return call('matmul', this, o); }

  // ---- shape --------------------------------------------------------------------------------------------------
  reshape(shape: number[]): Tensor { return call('reshape', this, shape); }
  view(shape: number[]): Tensor { return call('view', this, shape); }
  flatten(startDim = 0, endDim = -1): Tensor { return call('flatten.using_ints', this, startDim, endDim); }
  permute(dims: number[]): Tensor { return call('permute', this, dims); }
  transpose(d0: number, d1: number): Tensor { return call('transpose.int', this, d0, d1); }
  unsqueeze(dim: number): Tensor { return call('unsqueeze', this, dim); }
  squeeze(dim?: number): Tensor { return dim === undefined ? call('squeeze', this) : call('squeeze.dim', this, dim); }
  expand(shape: number[]): Tensor { return call('expand', this, shape); }
  repeat(times: number[]): Tensor { return call('repeat', this, times); }
  /** Elements start..end (exclusive) with a step along `dim`; negative indices count from the end. */
  slice(dim: number, start: number | null, end: number | null = null, step = 1): Tensor { return call('slice.Tensor', this, dim, start, end, step); }
  narrow(dim: number, start: number, length: number): Tensor { return call('narrow', this, dim, start, length); }
  select(dim: number, index: number): Tensor { return call('select.int', this, dim, index); }
  indexSelect(dim: number, index: Tensor): Tensor { return call('index_select', this, dim, index); }
  gather(dim: number, index: Tensor): Tensor { return call('gather', this, dim, index); }
  flip(dims: number[]): Tensor { return call('flip', this, dims); }
  roll(shifts: number | number[], dims: number | number[]): Tensor { return call('roll', this, asList(shifts), asList(dims)); }
  split(size: number, dim = 0): Tensor[] { return callMany('split.Tensor', this, size, dim); }
  chunk(chunks: number, dim = 0): Tensor[] { return callMany('chunk', this, chunks, dim); }
  /** torch.nn.functional.pad: `pad` lists (before, after) pairs from the last dimension backwards. */
  pad(pad: number[], mode: 'constant' | 'reflect' | 'replicate' | 'circular' = 'constant', value = 0): Tensor {
    return call('pad', this, pad, mode, mode === 'constant' ? value : null);
  }

  // ---- activations --------------------------------------------------------------------------------------------
  relu(): Tensor { return call('relu', this); }
  leakyRelu(slope = 0.01): Tensor { return call('leaky_relu', this, slope); }
  gelu(): Tensor { return call('gelu', this); }
  sigmoid(): Tensor { return call('sigmoid', this); }
  tanh(): Tensor { return call('tanh', this); }
  silu(): Tensor { return call('silu', this); }
  softplus(beta = 1, threshold = 20): Tensor { return call('softplus', this, beta, threshold); }
  elu(alpha = 1): Tensor { return call('elu', this, alpha); }
  softmax(dim: number): Tensor { return call('softmax.int', this, dim); }
  logSoftmax(dim: number): Tensor { return call('log_softmax.int', this, dim); }

  // ---- complex ------------------------------------------------------------------------------------------------
  /** Complex → real view with a trailing dimension of 2 (re, im). */
  viewAsReal(): Tensor { return call('view_as_real', this); }
  /** Real with a trailing dimension of 2 → complex. */
  viewAsComplex(): Tensor { return call('view_as_complex', this); }
  real(): Tensor { return call('real', this); }
  imag(): Tensor { return call('imag', this); }
  angle(): Tensor { return call('angle', this); }
  conj(): Tensor { return call('conj_physical', this); }

  // ---- in-place (for optimizers and buffers; not differentiable through leaves) -------------------------------
  zero_(): this { callInPlace(this, 'zero_'); return this; }
  fill_(v: number): this { callInPlace(this, 'fill_.Scalar', v); return this; }
  copy_(src: Tensor): this { callInPlace(this, 'copy_', src); return this; }
  add_(o: TensorLike, alpha: number = 1): this { if (o instanceof Tensor) callInPlace(this, 'add_.Tensor', o, alpha); else callInPlace(this, 'add_.Scalar', o, alpha); return this; }
  sub_(o: TensorLike, alpha: number = 1): this { if (o instanceof Tensor) callInPlace(this, 'sub_.Tensor', o, alpha); else callInPlace(this, 'sub_.Scalar', o, alpha); return this; }
  mul_(o: TensorLike): this { if (o instanceof Tensor) callInPlace(this, 'mul_.Tensor', o); else callInPlace(this, 'mul_.Scalar', o); return this; }
  div_(o: TensorLike): this { if (o instanceof Tensor) callInPlace(this, 'div_.Tensor', o); else callInPlace(this, 'div_.Scalar', o); return this; }
  addcmul_(t1: Tensor, t2: Tensor, value = 1): this { callInPlace(this, 'addcmul_', t1, t2, value); return this; }
  addcdiv_(t1: Tensor, t2: Tensor, value = 1): this { callInPlace(this, 'addcdiv_', t1, t2, value); return this; }
  lerp_(end: Tensor, weight: number): this { callInPlace(this, 'lerp_.Scalar', end, weight); return this; }
  clamp_(min: number | null, max: number | null = null): this { callInPlace(this, 'clamp_', min, max); return this; }
  sqrt_(): this { callInPlace(this, 'sqrt_'); return this; }
}

/** The value of IEEE-754 half-precision bits. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

function asList(v: number | number[]): number[] {
  return typeof v === 'number' ? [v] : v;
}

// ---------------------------------------------------------------------------------------------------------------
// Creation
// ---------------------------------------------------------------------------------------------------------------

export interface CreateOptions {
  dtype?: DType;
  device?: string;
  requiresGrad?: boolean;
}

function finish(t: Tensor, opts: CreateOptions): Tensor {
  if (opts.requiresGrad) t.requiresGrad = true;
  return t;
}

/**
 * A tensor from a typed array (copied) or nested/flat number array. `shape` defaults to the flat length.
 * Plain number arrays become float32 unless `dtype` says otherwise.
 */
export function tensor(values: ArrayBufferView | number[], shape?: readonly number[], opts: CreateOptions = {}): Tensor {
  let data: ArrayBufferView;
  let dtype: DType;
  if (Array.isArray(values)) {
    dtype = opts.dtype ?? 'float32';
    switch (dtype) {
      case 'float32': data = Float32Array.from(values); break;
      case 'float64': data = Float64Array.from(values); break;
      case 'int32': data = Int32Array.from(values); break;
      case 'int64': data = BigInt64Array.from(values, (v) => BigInt(Math.trunc(v))); break;
      case 'bool': case 'uint8': data = Uint8Array.from(values); break;
      default: throw new TypeError(`tensor: cannot build ${dtype} from a number array`);
    }
  } else if (ArrayBuffer.isView(values)) {
    data = values;
    // A Uint16Array is accepted only as the raw bits of float16 elements (what data() gives for float16).
    dtype = values instanceof Uint16Array && opts.dtype === 'float16' ? 'float16' : dtypeOfArray(values);
    if (opts.dtype === 'bool' && dtype === 'uint8') dtype = 'bool';
  } else {
    throw new TypeError('tensor: values must be a typed array or a number array');
  }
  const n = (data as unknown as { length: number }).length;
  const dims = shape ?? [n];
  for (const d of dims) if (!Number.isInteger(d) || d < 0) throw new TypeError(`tensor: bad shape [${dims.join(', ')}]`);
  const t = new Tensor(native.fromData(data, dims, dtypeCode(dtype)));
  let out = t;
  if ((opts.dtype && opts.dtype !== dtype) || (opts.device && opts.device !== 'cpu')) {
    out = t.to({ dtype: opts.dtype, device: opts.device });
    t.dispose();
  }
  return finish(out, opts);
}

export function scalarTensor(v: number, opts: CreateOptions = {}): Tensor {
  return full([], v, opts);
}

function factoryArgs(opts: CreateOptions): unknown[] {
  return [dtypeCode(opts.dtype ?? 'float32'), null, opts.device ?? 'cpu', null];
}

export function zeros(shape: number[], opts: CreateOptions = {}): Tensor { return finish(call('zeros', shape, ...factoryArgs(opts)), opts); }
export function ones(shape: number[], opts: CreateOptions = {}): Tensor { return finish(call('ones', shape, ...factoryArgs(opts)), opts); }
export function full(shape: number[], value: number, opts: CreateOptions = {}): Tensor { return finish(call('full', shape, value, ...factoryArgs(opts)), opts); }
export function empty(shape: number[], opts: CreateOptions = {}): Tensor { return finish(call('empty.memory_format', shape, ...factoryArgs(opts)), opts); }
export function zerosLike(t: Tensor): Tensor { return call('zeros_like', t); }
export function onesLike(t: Tensor): Tensor { return call('ones_like', t); }
/** start, start + step, … < end. */
export function arange(start: number, end: number, step = 1, opts: CreateOptions = {}): Tensor {
  return call('arange.start_step', start, end, step, ...factoryArgs(opts));
}
export function linspace(start: number, end: number, steps: number, opts: CreateOptions = {}): Tensor {
  return call('linspace', start, end, steps, ...factoryArgs(opts));
}

// ---------------------------------------------------------------------------------------------------------------
// Random (always from an explicit generator)
// ---------------------------------------------------------------------------------------------------------------

function onDevice(t: Tensor, device: string | undefined): Tensor {
  if (!device || device === t.device) return t;
  const moved = t.toDevice(device);
  t.dispose();
  return moved;
}

/** U[low, high) samples, drawn on the generator's device (a CPU Generator draws on the CPU and moves them). */
export function uniform(gen: Generator, shape: number[], opts: CreateOptions & { low?: number; high?: number } = {}): Tensor {
  const u = call('rand.generator', shape, gen, dtypeCode(opts.dtype ?? 'float32'), null, gen.device, null);
  const low = opts.low ?? 0;
  const high = opts.high ?? 1;
  // In place: out-of-place mul().add() left the intermediate product unfreed outside a tidy scope.
  if (low !== 0 || high !== 1) u.mul_(high - low).add_(low);
  return finish(onDevice(u, opts.device), opts);
}

/** N(mean, std²) samples, drawn on the generator's device. */
export function normal(gen: Generator, shape: number[], opts: CreateOptions & { mean?: number; std?: number } = {}): Tensor {
  const z = call('randn.generator', shape, gen, dtypeCode(opts.dtype ?? 'float32'), null, gen.device, null);
  if ((opts.mean ?? 0) !== 0 || (opts.std ?? 1) !== 1) z.mul_(opts.std ?? 1).add_(opts.mean ?? 0);
  return finish(onDevice(z, opts.device), opts);
}

/** Poisson samples (torch.poisson) with the given (non-negative) rates, drawn on the generator's device, returned on
 * the rates' device. */
export function poisson(gen: Generator, rates: Tensor): Tensor {
  const device = rates.device;
  if (device === gen.device) return call('poisson', rates, gen);
  const moved = rates.toDevice(gen.device);
  const p = call('poisson', moved, gen);
  moved.dispose();
  return onDevice(p, device);
}

/**
 * Poisson samples with the given rates, drawn by psfid's own exact sampler (native/psfid_torch.cc): inversion for
 * λ < 10 and Hörmann's PTRS transformed rejection for λ ≥ 10, on xoshiro256++ streams keyed by one 64-bit draw from
 * `gen`. Exactly Poisson-distributed (no normal approximation), but not the same numbers as `poisson`
 * (torch.poisson); about twice as fast on one CPU thread, and it uses all of them. The same Generator state gives the
 * same samples whatever the thread count. Rates: float32 or float64, finite, 0 ≤ λ ≤ 1e15 (anything else throws).
 * The result has the rates' dtype, shape and device (other devices draw on the CPU and move, like every sampler
 * here); never records gradients.
 */
export function poissonExact(gen: Generator, rates: Tensor): Tensor {
  if (!(gen instanceof Generator)) throw new TypeError(`poissonExact: expected a Generator, got ${describe(gen)}`);
  if (!(rates instanceof Tensor)) throw new TypeError(`poissonExact: expected a Tensor of rates, got ${describe(rates)}`);
  if (gen.device !== 'cpu') throw new TypeError(`poissonExact: draws on the CPU and needs a CPU Generator, got one on ${gen.device} (use poisson)`);
  const device = rates.device;
  if (device === 'cpu') return new Tensor(native.poissonExact(gen.handle, rates.handle));
  const cpuRates = rates.toDevice('cpu');
  try {
    return onDevice(new Tensor(native.poissonExact(gen.handle, cpuRates.handle)), device);
  } finally {
    cpuRates.dispose();
  }
}

/** Integers uniform in [low, high). */
export function randint(gen: Generator, low: number, high: number, shape: number[], opts: CreateOptions = {}): Tensor {
  const r = call('randint.low_generator', low, high, shape, gen, dtypeCode(opts.dtype ?? 'int64'), null, gen.device, null);
  return onDevice(r, opts.device);
}

/** A random permutation of 0..n−1 (int64). */
export function randperm(gen: Generator, n: number): Tensor {
  return call('randperm.generator', n, gen, dtypeCode('int64'), null, 'cpu', null);
}

// ---------------------------------------------------------------------------------------------------------------
// Global state
// ---------------------------------------------------------------------------------------------------------------

/** Runs `fn` with gradient recording off (like torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const prev = native.isGradEnabled();
  native.setGradEnabled(false);
  try {
    return fn();
  } finally {
    native.setGradEnabled(prev);
  }
}

export function isGradEnabled(): boolean {
  return native.isGradEnabled();
}

/** Seeds libtorch's global generator (used only by ops not given an explicit Generator). */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}

export function setNumThreads(n: number): void {
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
/**
 * Threads of the BLAS when it is OpenBLAS (null otherwise). setNumThreads sets it too: OpenBLAS keeps its own
 * threads, which spin between matrix products, so without that a 1-thread psfid kept two cores busy.
 */
export function blasThreads(): number | null {
  const n = native.blasNumThreads();
  return n < 0 ? null : n;
}
/** Number of live native tensors (for leak tests). */
export function liveTensors(): number {
  return native.liveTensors();
}
export function torchVersion(): string {
  return native.version();
}

/** Backward through several outputs at once. */
export function backward(outputs: Tensor[], grads?: Tensor[], opts: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
  native.backward(outputs.map((t) => t.handle), grads ? grads.map((t) => t.handle) : null, opts.retainGraph ?? false, opts.createGraph ?? false);
}
