// Tolerance comparison used by every kernel test: |got - ref| <= atol + rtol * |ref|, NaN fails,
// so do a length mismatch and an empty comparison, and a failure lists the first mismatches with
// their indices.
import { expect } from 'vitest';

export interface Tolerance { atol: number; rtol: number }

export function mismatches(got: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance, max = 8): string[] {
  const out: string[] = [];
  if (got.length !== ref.length) return [`length ${got.length} != reference length ${ref.length}`];
  // A comparison of nothing checks nothing: a test that computed an empty reference is wrong.
  if (ref.length === 0) return ['nothing compared: the reference is empty'];
  let count = 0;
  for (let i = 0; i < ref.length; i++) {
    const g = got[i], r = ref[i];
    const ok = Number.isFinite(g) && Math.abs(g - r) <= tol.atol + tol.rtol * Math.abs(r);
    if (!ok) {
      count++;
      if (out.length < max) out.push(`[${i}] got ${g} ref ${r} (diff ${Math.abs(g - r).toExponential(2)})`);
    }
  }
  if (count > out.length) out.push(`... ${count} mismatches of ${ref.length}`);
  return out;
}

export function expectClose(got: ArrayLike<number>, ref: ArrayLike<number>, tol: Tolerance, label = 'values'): void {
  const bad = mismatches(got, ref, tol);
  expect(bad, `${label}: atol=${tol.atol} rtol=${tol.rtol}\n${bad.join('\n')}`).toEqual([]);
}

/** Deterministic test data (a tiny LCG, so tests do not depend on the library's RNG). */
export function testData(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const out = new Float64Array(n);
  let s = (seed * 2654435761 + 12345) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((s >>> 8) / 16777216) * (hi - lo);
  }
  return out;
}

/** Rounds float64 data to float32 values, so the reference sees exactly what the GPU sees. */
export const f32 = (x: ArrayLike<number>) => Float64Array.from(Float32Array.from(x as ArrayLike<number>));

/** mismatches() after dividing both sides by a per-element scale (0 means none): |got - ref| <= tol * scale. */
export function scaledMismatches(got: ArrayLike<number>, ref: ArrayLike<number>, scale: ArrayLike<number>, tol: number): string[] {
  const s = (i: number) => scale[i] || 1;
  return mismatches(Array.from(got, (v, i) => v / s(i)), Array.from(ref, (v, i) => v / s(i)), { atol: tol, rtol: 0 });
}

export function expectScaled(got: ArrayLike<number>, ref: ArrayLike<number>, scale: ArrayLike<number>, tol: number, label: string): void {
  const bad = scaledMismatches(got, ref, scale, tol);
  expect(bad, `${label}: |got - ref| <= ${tol} * scale\n${bad.join('\n')}`).toEqual([]);
}

/** Central differences of f in every coordinate of x (x is restored afterwards). */
export function centralDiff(f: (x: Float64Array) => number, x: Float64Array, h = 1e-6): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const save = x[i];
    x[i] = save + h;
    const up = f(x);
    x[i] = save - h;
    const down = f(x);
    x[i] = save;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}
