// Counter-based Philox4x32-10 random numbers (Salmon et al., "Parallel random
// numbers: as easy as 1, 2, 3", SC 2011), with a WGSL twin in shaders/philox.ts.
//
// Because Philox is a pure function of (counter, key), the CPU and the GPU can
// draw the very same numbers without sharing any state: a shader thread only
// needs its own counter. Guarantees:
//   * the u32 stream is bit-exact between this file and the WGSL twin;
//   * uint32ToUnitFloat is bit-exact too (only exactly-representable f32 ops);
//   * normalPair emulates f32 arithmetic with Math.fround and avoids WGSL's
//     loosely specified log/cos/sin: it takes only +, -, *, one division and
//     one sqrt, each rounded once to f32. On SwiftShader the GPU normals equal
//     these bit for bit, which the sampler tests require
//     (tests/helpers/sampler.ts). WGSL allows division and sqrt an error of a
//     few ULP and lets a compiler fuse a multiply and an add into one fma,
//     which rounds once where this twin rounds twice, so on another GPU a
//     normal may differ in its last bits: the tests allow 2e-6 there.
import { BOX_MULLER_CONSTS } from '../shaders/philox';

export type U32x4 = [number, number, number, number];
export type U32x2 = [number, number];

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

const TWO_POW_32 = 4294967296;

/** High 32 bits of the 64-bit product a*b. JS doubles hold only 53 bits, so
 *  the product is rebuilt from 16-bit halves; every partial product is < 2^32
 *  and therefore exact. The WGSL twin uses the same decomposition. */
export function mulhi32(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const ll = aLo * bLo;
  const lh = aLo * bHi;
  const hl = aHi * bLo;
  const hh = aHi * bHi;
  // Carry out of bits 16..31 of the product, where the cross terms land.
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  return (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

/** Philox4x32 with 10 rounds. Inputs are u32 values; output is four u32. */
export function philox4x32(counter: readonly number[], key: readonly number[]): U32x4 {
  let c0 = counter[0] >>> 0;
  let c1 = counter[1] >>> 0;
  let c2 = counter[2] >>> 0;
  let c3 = counter[3] >>> 0;
  let k0 = key[0] >>> 0;
  let k1 = key[1] >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      k0 = (k0 + W0) >>> 0;
      k1 = (k1 + W1) >>> 0;
    }
    const hi0 = mulhi32(M0, c0);
    const lo0 = Math.imul(M0, c0) >>> 0;
    const hi1 = mulhi32(M1, c2);
    const lo1 = Math.imul(M1, c2) >>> 0;
    c0 = (hi1 ^ c1 ^ k0) >>> 0;
    c1 = lo1;
    c2 = (hi0 ^ c3 ^ k1) >>> 0;
    c3 = lo0;
  }
  return [c0, c1, c2, c3];
}

/** Maps a u32 to a float32 strictly inside (0, 1), safe to pass to log().
 *  Uses the top 23 bits: (k + 0.5) * 2^-23 needs at most 24 significant bits,
 *  so it is exact in f32 and identical on every GPU. (With 24 bits, k + 0.5
 *  would need 25 bits and round, and the top value could round up to 1.0.) */
export function uint32ToUnitFloat(u: number): number {
  return Math.fround(((u >>> 9) + 0.5) * 1.1920928955078125e-7);
}

// Box-Muller needs log, cos and sin, but WGSL only bounds their error loosely
// (cos/sin: 2^-11 absolute; SwiftShader is off by ~2e-4), so both twins use
// the same small polynomials built from +, -, * and one division, evaluated
// step by step in f32. GPU and CPU can then differ only by FMA contraction and
// WGSL's 2.5-ULP division and sqrt (see the header): bit for bit on SwiftShader,
// within 2e-6 elsewhere. The coefficients live with the WGSL twin in shaders/philox.ts.
const f32 = Math.fround;
const { LN2, SQRT2, TWO_PI } = BOX_MULLER_CONSTS;

const scratchF = new Float32Array(1);
const scratchU = new Uint32Array(scratchF.buffer);

/** ln(a) for a normal positive f32. Splitting off the exponent keeps the
 *  result accurate relative to its size even for a near 1, where r is small. */
function logF32(a: number): number {
  const { L } = BOX_MULLER_CONSTS;
  scratchF[0] = a;
  const bits = scratchU[0];
  let e = ((bits >>> 23) & 0xff) - 127;
  scratchU[0] = (bits & 0x7fffff) | 0x3f800000;
  let m = scratchF[0]; // in [1, 2)
  if (m > SQRT2) {
    m = f32(m * 0.5);
    e += 1;
  }
  const z = f32(f32(m - 1) / f32(m + 1));
  const z2 = f32(z * z);
  const poly = f32(L[0] + f32(z2 * f32(L[1] + f32(z2 * f32(L[2] + f32(z2 * L[3]))))));
  const twoZ = f32(2 * z);
  const lnM = f32(twoZ + f32(f32(twoZ * z2) * poly));
  return f32(f32(e * LN2) + lnM);
}

/** [cos, sin] of 2*pi*((k + 0.5) * 2^-23) for the 23-bit k = u >>> 9, i.e. of
 *  the angle uint32ToUnitFloat(u) turns. The nearest quarter turn is taken out
 *  with integer math, leaving |phi| <= pi/4 for the polynomials. */
function sinCosTurnsF32(u: number): [number, number] {
  const { S, C } = BOX_MULLER_CONSTS;
  const k = u >>> 9;
  const q = (k + 0x100000) >>> 21; // round(4 * t), in 0..4; never a tie
  const s = f32(uint32ToUnitFloat(u) - q * 0.25); // exact, |s| <= 1/8 turn
  const phi = f32(TWO_PI * s);
  const p2 = f32(phi * phi);
  const sinPoly = f32(S[0] + f32(p2 * f32(S[1] + f32(p2 * f32(S[2] + f32(p2 * S[3]))))));
  const sin = f32(phi + f32(f32(phi * p2) * sinPoly));
  const cosPoly = f32(C[0] + f32(p2 * f32(C[1] + f32(p2 * f32(C[2] + f32(p2 * f32(C[3] + f32(p2 * C[4]))))))));
  const cos = f32(1 + f32(p2 * cosPoly));
  switch (q & 3) {
    case 0: return [cos, sin];
    case 1: return [-sin, cos];
    case 2: return [-cos, -sin];
    default: return [sin, -cos];
  }
}

/** Box-Muller transform of two u32 into two standard normals, in emulated f32
 *  (see the note above on how closely the WGSL twin agrees). */
export function normalPair(u0: number, u1: number): [number, number] {
  const r = f32(Math.sqrt(f32(-2 * logF32(uint32ToUnitFloat(u0)))));
  const [c, s] = sinCosTurnsF32(u1);
  return [f32(r * c), f32(r * s)];
}

/** Splits a non-negative safe integer seed into the Philox key [lo, hi]. */
export function seedToKey(seed: number): U32x2 {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new RangeError(`Philox seed must be a non-negative safe integer, got ${seed}`);
  }
  return [seed >>> 0, Math.floor(seed / TWO_POW_32) >>> 0];
}

/**
 * Seeded sequential stream on top of philox4x32. The key comes from the seed;
 * the 128-bit counter is (block lo, block hi, stream lo, stream hi), so distinct
 * `stream` ids give independent streams for the same seed.
 */
export class Philox {
  readonly key: U32x2;
  private readonly ctr: U32x4;
  private block: U32x4 = [0, 0, 0, 0];
  private used = 4; // words of `block` already handed out; 4 = need a new block
  private spareNormal: number | null = null;

  constructor(seed: number, stream = 0) {
    this.key = seedToKey(seed);
    const [s0, s1] = seedToKey(stream);
    this.ctr = [0, 0, s0, s1];
  }

  nextU32(): number {
    if (this.used === 4) {
      this.block = philox4x32(this.ctr, this.key);
      this.used = 0;
      this.ctr[0] = (this.ctr[0] + 1) >>> 0;
      if (this.ctr[0] === 0) this.ctr[1] = (this.ctr[1] + 1) >>> 0;
    }
    return this.block[this.used++];
  }

  /** Uniform in [0, 1) on a 2^-24 grid, hence always representable as f32. */
  nextFloat(): number {
    return (this.nextU32() >>> 8) * 5.9604644775390625e-8;
  }

  /** Standard normal (f32-valued); the second value of each pair is cached. */
  nextNormal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    const [z0, z1] = normalPair(this.nextU32(), this.nextU32());
    this.spareNormal = z1;
    return z0;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.nextFloat();
  }

  /** Unbiased integer in [0, n) for 1 <= n <= 2^32, by rejecting the top
   *  partial bucket of the u32 range (a plain modulo would favour small values). */
  nextInt(n: number): number {
    if (!Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`nextInt bound must be an integer in [1, 2^32], got ${n}`);
    }
    const limit = TWO_POW_32 - (TWO_POW_32 % n);
    let u = this.nextU32();
    while (u >= limit) u = this.nextU32();
    return u % n;
  }

  /** In-place Fisher-Yates shuffle; returns the same array. */
  shuffle<T extends { length: number; [i: number]: unknown }>(array: T): T {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /** A uniformly random permutation of 0..n-1. */
  permutation(n: number): Uint32Array {
    const p = new Uint32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    return this.shuffle(p);
  }
}
