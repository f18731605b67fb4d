// Negative controls for the NaN-filled outputs of tests/helpers/gpu.ts: a kernel that regressed
// from `c[i] = v` to `c[i] += v` passes on a zeroed output buffer (0 + v = v), so the kernel
// tests give every output buffer NaN first. Here real kernels are broken that way on purpose and
// the comparison the kernel tests use must fail on the NaN fill, while the same broken kernel on
// a zeroed buffer would pass (which is why zero-filling hid it). A kernel that skips an element
// is caught the same way.
import { describe, expect, it } from 'vitest';
import { activationForward } from '../shaders/activation';
import type { Kernel } from '../shaders/common';
import { matmul } from '../shaders/matmul';
import { f32, mismatches, testData } from './helpers/compare';
import { runKernels, untouched, UNWRITTEN } from './helpers/gpu';
import { actRef, matmulRef } from './reference/dense';

/** The same kernel with one WGSL statement rewritten; throws if the statement is not there. */
function sabotage(k: Kernel, from: RegExp, to: string): Kernel {
  const code = k.code.replace(from, to);
  if (code === k.code) throw new Error(`${k.name}: ${from} not found, so the sabotage did nothing`);
  return { ...k, name: `${k.name}_sabotaged`, code };
}

const tol = { atol: 1e-5, rtol: 1e-5 };

describe('outputs start as NaN, so accumulating or skipping kernels fail', () => {
  it('the shared default fill is NaN', async () => {
    expect(Number.isNaN(UNWRITTEN)).toBe(true);
    const { y } = await runKernels([activationForward({ kind: 'none', count: 4 })], { x: [1, 2, 3, 4] }, { y: 7 });
    expect(Array.from(y.subarray(0, 4))).toEqual([1, 2, 3, 4]);
    expect(untouched(y.subarray(4)), 'elements past the kernel’s count keep the fill').toBe(true);
  });

  it('an activation that accumulates (y[i] += ...) fails on the NaN fill, though it passes on zeros', async () => {
    const count = 37;
    const x = f32(testData(count, 5, -3, 3));
    const ref = Array.from(x, (v) => actRef('tanh', v));
    const good = activationForward({ kind: 'tanh', count });
    const bad = sabotage(good, /y\[i\] = act\(x\[i\]\);/, 'y[i] += act(x[i]);');
    expect(mismatches((await runKernels([good], { x }, { y: count })).y, ref, tol)).toEqual([]);
    expect(mismatches((await runKernels([bad], { x }, { y: count })).y, ref, tol).length, 'accumulating kernel on NaN').toBeGreaterThan(0);
    expect(mismatches((await runKernels([bad], { x }, { y: count }, { fill: 0 })).y, ref, tol), 'on zeros it hides').toEqual([]);
  });

  it('a matmul that accumulates into C fails on the NaN fill, though it passes on zeros', async () => {
    const [M, N, K] = [9, 13, 7];
    const a = f32(testData(M * K, 11)), b = f32(testData(K * N, 12));
    const ref = matmulRef(a, b, M, N, K, false, false);
    const good = matmul({ M, N, K, variant: 'register', subgroups: false });
    const bad = sabotage(good, /c\[([^\]]+)\] = epilogue/g, 'c[$1] += epilogue');
    expect(mismatches((await runKernels([good], { a, b }, { c: M * N })).c, ref, tol)).toEqual([]);
    const onNaN = mismatches((await runKernels([bad], { a, b }, { c: M * N })).c, ref, tol);
    expect(onNaN.at(-1), 'every element of the accumulating matmul is wrong').toBe(`... ${M * N} mismatches of ${M * N}`);
    expect(mismatches((await runKernels([bad], { a, b }, { c: M * N }, { fill: 0 })).c, ref, tol), 'on zeros it hides').toEqual([]);
  });

  it('a kernel that skips its last element fails on the NaN fill', async () => {
    const count = 20;
    const x = f32(testData(count, 6));
    const bad = sabotage(activationForward({ kind: 'none', count }), /if \(i >= \d+u\)/, `if (i >= ${count - 1}u)`);
    const { y } = await runKernels([bad], { x }, { y: count });
    expect(mismatches(y, x, tol)).toEqual([`[${count - 1}] got NaN ref ${x[count - 1]} (diff NaN)`]);
  });
});
