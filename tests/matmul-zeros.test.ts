// Zero skipping (shaders/matmul-zeros.ts): the lists of non-zero k steps against a TypeScript
// reference, and matmuls with `skipZeros` against the float64 product and bit for bit against the
// dense kernel of the same variant, on data shaped like pictures (mostly zeros, some blocks dense
// so that some lists hold every k), aligned and unaligned, in every operand layout.
import { describe, expect, it } from 'vitest';
import { matmul, matmulBlock, nonzeroStepsFor, resolvedVariant, type MatmulParams } from '../shaders/matmul';
import { nonzeroSteps, nonzeroStepsWords, type NonzeroStepsParams } from '../shaders/matmul-zeros';
import { ConfigError } from '../shaders/errors';
import { expectScaled, f32, testData } from './helpers/compare';
import { gpu, runKernels } from './helpers/gpu';
import { matmulRef } from './reference/dense';

/**
 * An operand shaped like pictures, stored [G, K] (`gk`) or [K, G] (`kg`): values in [-1, 1), of
 * which the first along G (one row of A, say) has no zeros, and the rest are zero with probability
 * `zeros`. The first block then lists every k and, where the blocks are a few dozen wide, the
 * others fewer: both of a skipping matmul's loops run.
 */
function pictureLike(G: number, K: number, layout: 'gk' | 'kg', seed: number, zeros = 0.97): Float64Array {
  const x = f32(testData(G * K, seed));
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let g = 0; g < G; g++) {
    for (let k = 0; k < K; k++) {
      s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
      const i = layout === 'gk' ? g * K + k : k * G + g;
      if (g > 0 && (s >>> 0) / 4294967296 < zeros) x[i] = 0;
      else if (x[i] === 0) x[i] = 0.5;
    }
  }
  return x;
}

/** For each block: the k at which one of its `block` rows (or columns) of x is non-zero. */
function nonzeroStepsRef(x: ArrayLike<number>, p: NonzeroStepsParams): number[][] {
  const lists: number[][] = [];
  for (let first = 0; first < p.G; first += p.block) {
    const list: number[] = [];
    for (let k = 0; k < p.K; k++) {
      let any = false;
      for (let i = first; i < Math.min(first + p.block, p.G); i++) any ||= (p.layout === 'gk' ? x[i * p.K + k] : x[k * p.G + i]) !== 0;
      if (any) list.push(k);
    }
    lists.push(list);
  }
  return lists;
}

/** The lists a `steps` buffer holds (each block's count, then its k). */
function readLists(steps: Float32Array, p: NonzeroStepsParams): number[][] {
  const words = new Uint32Array(steps.buffer, steps.byteOffset, steps.length);
  return Array.from({ length: Math.ceil(p.G / p.block) }, (_, g) => {
    const at = g * (p.K + 1);
    expect(words[at], `block ${g}'s count`).toBeLessThanOrEqual(p.K);
    return Array.from(words.subarray(at + 1, at + 1 + words[at]));
  });
}

describe('nonzeroSteps', () => {
  // Blocks of up to 64 rows are tested unrolled, wider ones in a loop (80).
  const shapes: [G: number, K: number, block: number][] = [[33, 17, 16], [16, 64, 16], [7, 5, 4], [129, 65, 32], [200, 9, 80]];
  for (const layout of ['gk', 'kg'] as const) {
    for (const generic of [false, true]) {
      it.each(shapes)(`${layout}${generic ? ' generic' : ''}: G=%i K=%i block=%i`, async (G, K, block) => {
        const p: NonzeroStepsParams = { G, K, layout, block, generic };
        const x = pictureLike(G, K, layout, G + K, 0.9);
        if (G > 2 * block) x.fill(0, ...(layout === 'gk' ? [block * K, 2 * block * K] : [0, 0])); // a block of zeros (gk)
        const { steps } = await runKernels([nonzeroSteps(p)], { x }, { steps: nonzeroStepsWords(p) });
        const ref = nonzeroStepsRef(x, p);
        expect(readLists(steps, p)).toEqual(ref);
        expect(ref[0].length, 'the first block lists every k').toBe(K);
        if (G > block) expect(ref.some((l) => l.length < K), 'a block lists fewer').toBe(true);
      });
    }
  }

  it('refuses a layout it does not know, and a zero size', () => {
    expect(() => nonzeroSteps({ G: 4, K: 4, layout: 'kn' as 'gk', block: 4 })).toThrow(/layout 'kn'.*'gk'.*'kg'/);
    expect(() => nonzeroSteps({ G: 4, K: 0, layout: 'gk', block: 4 })).toThrow(ConfigError);
  });
});

const subgroupsOn = async () => (await gpu()).device.features.has('subgroups');

describe.each([
  ['register', { variant: 'register' }],
  ['register generic', { variant: 'register', generic: true }],
  ['register-subgroup', { variant: 'register-subgroup' }],
  ['register-subgroup generic', { variant: 'register-subgroup', generic: true }],
] as [string, Pick<MatmulParams, 'variant' | 'generic'>][])('matmul with skipZeros (%s)', (_label, config) => {
  const shapes: [number, number, number][] = [[7, 5, 3], [129, 33, 65], [64, 64, 64]];
  for (const skipZeros of ['a', 'b'] as const) {
    for (const [M, N, K] of shapes) {
      for (const [transA, transB] of [[false, false], [false, true], [true, false]] as const) {
        it(`skip ${skipZeros}: ${M}x${N}x${K} transA=${transA} transB=${transB}`, async () => {
          const base: MatmulParams = { M, N, K, transA, transB, ...config, subgroups: await subgroupsOn() };
          const p: MatmulParams = { ...base, skipZeros };
          const list = nonzeroStepsFor(p);
          // The skipped operand is picture-like, with one dense stored row; the other is dense.
          const a = skipZeros === 'a' ? pictureLike(M, K, list.layout, M + K) : f32(testData(M * K, M + 3 * K));
          const b = skipZeros === 'b' ? pictureLike(N, K, list.layout, N + K) : f32(testData(K * N, N + 7 * K));
          const x = skipZeros === 'a' ? a : b;
          const kernel = matmul(p);
          expect(kernel.name).toContain(`_skip${skipZeros}`);
          const skipped = await runKernels([nonzeroSteps(list), kernel], { a, b, x }, { c: M * N, steps: nonzeroStepsWords(list) });
          const dense = await runKernels([matmul(base)], { a, b }, { c: M * N });
          const magnitude = matmulRef(a.map(Math.abs), b.map(Math.abs), M, N, K, transA, transB);
          expectScaled(skipped.c, matmulRef(a, b, M, N, K, transA, transB), magnitude, K * 2 ** -24, kernel.name);
          // The same fmas in the same order, less the ones that add 0 * finite.
          const differ = skipped.c.findIndex((v, i) => !Object.is(v, dense.c[i]));
          expect(differ, `first element that differs from the dense kernel: ${differ}`).toBe(-1);
          // Both loops ran where there are two blocks: the first listed every k, another fewer.
          const lists = readLists(skipped.steps, list);
          expect(lists[0].length).toBe(K);
          if (list.G > list.block) expect(lists.some((l) => l.length < K), 'a block lists fewer k').toBe(true);
        });
      }
    }
  }
});

describe('zero lists wider than the kernel\'s block (skipBlock)', () => {
  // A list of two of the kernel's blocks (as a first-step kernel reads the list made for its
  // larger-block form): every k where either block has a non-zero, so more k than each block's own.
  for (const generic of [false, true]) {
    for (const skipZeros of ['a', 'b'] as const) {
      for (const [transA, transB] of [[false, false], [false, true], [true, false]] as const) {
        it(`register-subgroup${generic ? ' generic' : ''}, skip ${skipZeros}: 129x133x65 transA=${transA} transB=${transB}, the dense product's bits`, async () => {
          // Several lists on either side, also where the variant falls back to `register` (32 x 32 blocks).
          const [M, N, K] = [129, 133, 65];
          const base: MatmulParams = { M, N, K, transA, transB, variant: 'register-subgroup', generic, subgroups: await subgroupsOn() };
          const { variant, tile } = resolvedVariant(base);
          const { BM, BN } = matmulBlock(variant, tile);
          const p: MatmulParams = { ...base, skipZeros, skipBlock: 2 * (skipZeros === 'a' ? BM : BN) };
          const list = nonzeroStepsFor(p);
          expect(list.block).toBe(p.skipBlock);
          const a = skipZeros === 'a' ? pictureLike(M, K, list.layout, M + K) : f32(testData(M * K, M + 3 * K));
          const b = skipZeros === 'b' ? pictureLike(N, K, list.layout, N + K) : f32(testData(K * N, N + 7 * K));
          const skipped = await runKernels([nonzeroSteps(list), matmul(p)], { a, b, x: skipZeros === 'a' ? a : b }, { c: M * N, steps: nonzeroStepsWords(list) });
          const dense = await runKernels([matmul(base)], { a, b }, { c: M * N });
          const differ = skipped.c.findIndex((v, i) => !Object.is(v, dense.c[i]));
          expect(differ, `first element that differs from the dense kernel: ${differ}`).toBe(-1);
          const lists = readLists(skipped.steps, list);
          expect(lists.some((l) => l.length < K), 'a list leaves k out').toBe(true);
        });
      }
    }
  }

  it('refuses a width that is not a multiple of the block, or one without skipZeros', () => {
    const p: MatmulParams = { M: 64, N: 64, K: 64, variant: 'register', skipZeros: 'a' };
    const { BM } = matmulBlock('register', resolvedVariant(p).tile);
    expect(() => matmul({ ...p, skipBlock: BM + 1 })).toThrow(/skipBlock \d+ must be a multiple of the kernel's BM/);
    expect(() => matmul({ ...p, skipZeros: undefined, skipBlock: BM })).toThrow(/skipBlock is the width of a zero list and needs skipZeros/);
    expect(matmul({ ...p, skipBlock: 2 * BM }).name).toContain('_skipa');
  });
});

describe('skipZeros on a grid folded past 65,535 row blocks', () => {
  it('the spare workgroups read a list that exists (not an unwritten count) and store nothing', async () => {
    const subgroups = await subgroupsOn();
    const variant = 'register-subgroup';
    const { BM } = matmulBlock(resolvedVariant({ variant, subgroups }).variant, resolvedVariant({ variant, subgroups }).tile);
    const M = 65536 * BM + 16, N = 4, K = 3;
    const p: MatmulParams = { M, N, K, variant, subgroups, generic: true, skipZeros: 'a' };
    const kernel = matmul(p), list = nonzeroStepsFor(p);
    expect(kernel.workgroups[1] * kernel.workgroups[2], 'the grid folds').toBeGreaterThan(Math.ceil(M / BM) / kernel.workgroups[0]);
    // A dense row at the start of every block but the last, which is all zeros: its list is empty
    // and the words after its count stay unwritten (NaN bits, over 2e9 as a count). Unclamped, the
    // spare workgroup read one of them as its trip count.
    const a = Float64Array.from({ length: M * K }, (_, i) => (Math.floor(i / K) % BM === 0 && i < (M - 16) * K ? 1 + (i % K) : 0));
    const b = Float64Array.from({ length: K * N }, (_, i) => 0.5 + i);
    const r = await runKernels([nonzeroSteps(list), kernel], { a, b, x: a }, { c: M * N, steps: nonzeroStepsWords(list) });
    const ref = matmulRef(a, b, M, N, K);
    const bad = r.c.findIndex((v, i) => v !== ref[i]);
    expect(bad, `first wrong element ${bad}`).toBe(-1);
  }, 120_000);
});

describe('skipZeros refusals', () => {
  it('needs a register variant, an f32 operand and an unsplit K', () => {
    expect(() => matmul({ M: 64, N: 64, K: 64, variant: 'tiled-vec4', skipZeros: 'a' })).toThrow(/register variant.*'tiled-vec4'/);
    expect(() => matmul({ M: 64, N: 64, K: 64, variant: 'register', skipZeros: 'b', f16: ['b'] })).toThrow(/'b' is f16/);
    expect(() => matmul({ M: 64, N: 64, K: 64, variant: 'register', skipZeros: 'c' as 'a' })).toThrow(ConfigError);
    expect(() => nonzeroStepsFor({ M: 64, N: 64, K: 64 })).toThrow(/no skipZeros operand/);
  });

  it('lists blocks as the product blocks C, also where a subgroup variant falls back', () => {
    for (const subgroups of [true, false]) {
      const p: MatmulParams = { M: 100, N: 50, K: 30, variant: 'register-subgroup', subgroups, skipZeros: 'a' };
      const { BM, BN } = matmulBlock(resolvedVariant(p).variant, resolvedVariant(p).tile);
      expect(nonzeroStepsFor(p)).toMatchObject({ G: 100, K: 30, layout: 'gk', block: BM });
      expect(nonzeroStepsFor({ ...p, skipZeros: 'b' })).toMatchObject({ G: 50, K: 30, layout: 'kg', block: BN });
      expect(nonzeroStepsFor({ ...p, transA: true })).toMatchObject({ layout: 'kg' });
      expect(nonzeroStepsFor({ ...p, skipZeros: 'b', transB: true })).toMatchObject({ layout: 'gk' });
    }
  });
});
