// IEEE 754 half precision in float64 arithmetic, for checking kernels that store f16: rounding to
// the nearest f16 (ties to even, overflow to infinity, subnormals below 2^-14), decoding, and
// packing f16 bit patterns two to a 32-bit word, as a storage buffer of array<f16> holds them;
// the error bound the kernels with f16 storage are held to, and a runner for such a kernel.
import { expect } from 'vitest';
import type { Kernel } from '../../shaders/common';
import { runKernels } from './gpu';

const roundHalfEven = (v: number) => {
  const f = Math.floor(v), d = v - f;
  return d > 0.5 ? f + 1 : d < 0.5 ? f : f % 2 === 0 ? f : f + 1;
};

/** The f16 bit pattern nearest to x. */
export function toF16Bits(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24); // subnormal (1024 is the smallest normal's pattern)
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  let m = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (m === 1024) { m = 0; e++; }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | m;
}

export function fromF16Bits(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? Number.NaN : s * Number.POSITIVE_INFINITY;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export const roundF16 = (x: number) => fromF16Bits(toF16Bits(x));

/** f16 values packed two per u32 (element 2i in the low half), padded to whole words. */
export function packF16(values: ArrayLike<number>): Uint32Array {
  const halves = new Uint16Array(Math.ceil(values.length / 2) * 2);
  for (let i = 0; i < values.length; i++) halves[i] = toF16Bits(values[i]);
  return new Uint32Array(halves.buffer);
}

/** The first n f16 values of a buffer's bytes (as read back into a Float32Array). */
export function unpackF16(words: Float32Array, n: number): Float64Array {
  const halves = new Uint16Array(words.buffer, words.byteOffset, n);
  return Float64Array.from(halves, fromF16Bits);
}

/** A 32-bit fill whose two halves are both f16 NaN, so an unwritten f16 output reads as NaN. */
export const F16_NAN_FILL = new Float32Array(new Uint32Array([0x7e007e00]).buffer)[0];

/**
 * got within: the f32 sum's error bound K 2^-24 sum|a b| (on the f16-rounded inputs), plus, for an
 * f16 output, half an f16 ulp of the result (2^-11 relative, 2^-25 absolute for subnormals).
 */
export function expectHalfClose(got: Float64Array, ref: Float64Array, magnitude: Float64Array, K: number, cHalf: boolean, label: string) {
  const bad: string[] = [];
  if (got.length !== ref.length || ref.length === 0) bad.push(`length ${got.length} against a reference of ${ref.length}`);
  for (let i = 0; i < ref.length; i++) {
    const bound = K * 2 ** -24 * magnitude[i] * (cHalf ? 1 + 2 ** -11 : 1) + (cHalf ? 2 ** -11 * Math.abs(ref[i]) + 2 ** -25 : 1e-30);
    if (!(Math.abs(got[i] - ref[i]) <= bound)) bad.push(`[${i}] got ${got[i]} ref ${ref[i]} bound ${bound.toExponential(2)}`);
  }
  expect(bad.slice(0, 8), `${label}: ${bad.length} of ${ref.length} outside the bound`).toEqual([]);
}

/**
 * Runs one kernel on float64 inputs: the bindings it declares as array<f16> get f16-packed data,
 * the others f32; returns output `out` (n values) decoded, an f16 output from a NaN-filled buffer
 * so that an unwritten value fails. Checks that the kernel enables f16 exactly when it binds some.
 */
export async function runHalfKernel(k: Kernel, inputs: Record<string, Float64Array>, out: string, n: number): Promise<Float64Array> {
  const half = new Set(k.bindings.filter((b) => b.type === 'array<f16>').map((b) => b.name));
  expect(k.code.startsWith('enable f16;'), `${k.name} declares f16`).toBe(half.size > 0);
  const data = Object.fromEntries(Object.entries(inputs).map(([name, v]) => [name, half.has(name) ? packF16(v) : Float32Array.from(v)]));
  const outHalf = half.has(out);
  const r = await runKernels([k], data, { [out]: outHalf ? Math.ceil(n / 2) : n }, { fill: outHalf ? F16_NAN_FILL : Number.NaN });
  return outHalf ? unpackF16(r[out], n) : Float64Array.from(r[out]);
}

