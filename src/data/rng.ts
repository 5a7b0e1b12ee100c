// A small seeded PRNG for JavaScript-side draws (crop positions, procedural images). Written here rather than taken
// from npm because it is ten lines and must be bit-stable across versions: SplitMix64 for seeding, xoshiro128**
// for the stream. Tensor-side randomness uses libtorch's Generator (src/engine).
export class Rng {
  #s: Uint32Array;
  constructor(seed: number | bigint) {
    let x = BigInt.asUintN(64, BigInt(seed));
    const s = new Uint32Array(4);
    for (let i = 0; i < 2; i++) {
      x = BigInt.asUintN(64, x + 0x9e3779b97f4a7c15n);
      let z = x;
      z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
      z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
      z ^= z >> 31n;
      s[2 * i] = Number(z & 0xffffffffn);
      s[2 * i + 1] = Number(z >> 32n);
    }
    if (!(s[0] | s[1] | s[2] | s[3])) s[0] = 1;
    this.#s = s;
  }
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    const s = this.#s;
    const r = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return r;
  }
  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }
  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  normal(): number {
    const u = 1 - this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  /** Index drawn with probability proportional to `weights`. */
  pick(weights: readonly number[]): number {
    const total = weights.reduce((a, b) => a + b, 0);
    let u = this.next() * total;
    for (let i = 0; i < weights.length; i++) {
      u -= weights[i]!;
      if (u < 0) return i;
    }
    return weights.length - 1;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A seed for step `step` of a run with seed `seed`: every step's data is a pure function of (seed, step). */
export function stepSeed(seed: number, step: number, stream = 0): bigint {
  let z = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + BigInt(step) * 0xd1b54a32d192ed03n + BigInt(stream) * 0x8cb92ba72f3d8dd7n);
  z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
  z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
  return BigInt.asUintN(63, z ^ (z >> 31n));
}
