import { describe, expect, it } from 'vitest';
import { columnSum, columnSumSlices } from '../shaders/column-sum';
import { matmul, matmulBlock, matmulGrid, MATMUL_VARIANTS, type MatmulParams } from '../shaders/matmul';
import { matmulSplits } from '../shaders/matmul-tiled';
import { HOT_REGISTER_TILES } from '../shaders/matmul-register';
import { ACTIVATIONS, gradFromInput, type Activation } from '../shaders/activation';
import { sliceSum } from '../shaders/common';
import { expectClose, expectScaled, f32, scaledMismatches, testData } from './helpers/compare';
import { checkBindingLimits } from '../src/gpu/kernel-checks';
import { gpu, runKernels, TEST_HOST } from './helpers/gpu';
import { actRef, actDerivRef, columnSumRef, matmulRef } from './reference/dense';

const shapes: [number, number, number][] = [
  [1, 1, 1], [7, 5, 3], [33, 17, 9], [128, 40, 400], [129, 33, 65], [64, 64, 64],
];
// Every variant is enumerated. Register kernels (the defaults on software adapters) are checked
// specialized on every shape with every epilogue. The tiled family is built for GPUs: its
// 256-invocation workgroups take SwiftShader 2-5 s per pipeline to compile (the time grows with
// the workgroup size: 3.2, 1.6 and 0.6 s for 256, 64 and 16 invocations of the same kernel), so
// each tiled pipeline here has to earn its place. Each tiled variant is checked in its
// shape-generic form, one pipeline per operand layout, on every shape with both epilogues; and
// specialized, where it differs from the generic form (literal sizes, and vec4 storage loads of
// an operand whose contiguous side is a multiple of 4), on an unaligned shape (129x33x65: scalar
// loads) and an aligned one (132x68x64: vec4 loads of both operands in every layout); both have
// several blocks with a partial last one. The epilogue is the same code in both forms, so it is
// checked on the generic one. Also: tiles the autotuner tries (src/model/autotune.ts).
// In Chromium (4-11 s for each tiled pipeline on SwiftShader) and Deno, the tiled variants run a
// cut that still puts every variant through that host's compiler in both forms and every operand
// layout: specialized on the aligned shape only (vec4 loads; scalar loads are the generic form's),
// generic without the epilogue tests, split over K on its vec4 case, and no extra tiles. Node
// runs every case.
const TILED_CUT = TEST_HOST !== 'node';
type Config = Pick<MatmulParams, 'variant' | 'generic' | 'tile'>;
// Every activation the model fuses into a matmul epilogue ('none' is the plain product, tested throughout).
const REGISTER_ACTS = ACTIVATIONS.filter((a): a is Exclude<Activation, 'none'> => a !== 'none');
interface Case { config: Config; shapes: [number, number, number][]; acts: readonly (typeof REGISTER_ACTS)[number][] }
const fewShapes: [number, number, number][] = [[1, 1, 1], [129, 33, 65], [64, 64, 64]];
const tiledSpecializedShapes: [number, number, number][] = TILED_CUT ? [[132, 68, 64]] : [[129, 33, 65], [132, 68, 64]];
const cases: [string, Case][] = [
  ...MATMUL_VARIANTS.map((variant): [string, Case] => [variant, variant.startsWith('tiled')
    ? { config: { variant }, shapes: tiledSpecializedShapes, acts: [] }
    : { config: { variant }, shapes, acts: REGISTER_ACTS }]),
  ...MATMUL_VARIANTS.map((variant): [string, Case] => [`${variant} generic`, { config: { variant, generic: true }, shapes, acts: TILED_CUT && variant.startsWith('tiled') ? [] : ['tanh'] }]),
  ['register-subgroup 8x16 unrolled 4', { config: { variant: 'register-subgroup', tile: { TM: 8, TN: 16, UNROLL_K: 4 } }, shapes: fewShapes, acts: ['relu'] }],
  // The hot dense tile: 8 k steps an iteration, along k two vec4s of each operand, then a last
  // vec4 (K / 4 = 17 is odd) or, unaligned, single k steps.
  ['register-subgroup hot dense', { config: { variant: 'register-subgroup', tile: HOT_REGISTER_TILES.dense }, shapes: [[132, 68, 68]], acts: ['relu'] }],
  ['register-subgroup hot dense generic', { config: { variant: 'register-subgroup', tile: HOT_REGISTER_TILES.dense, generic: true }, shapes: [[129, 33, 65], [132, 68, 68]], acts: [] }],
  // The hot tall tile: 64-row blocks (16 a lane), partial on both sides here.
  ['register-subgroup hot tall generic', { config: { variant: 'register-subgroup', tile: HOT_REGISTER_TILES.tall, generic: true }, shapes: [[129, 33, 65], [132, 68, 68]], acts: ['relu'] }],
  ['register unrolled 8', { config: { variant: 'register', tile: { UNROLL_K: 8 } }, shapes: [[132, 68, 68]], acts: [] }],
  ...(TILED_CUT ? [] : [
    ['tiled-vec4 BK 8', { config: { variant: 'tiled-vec4', tile: { TILE_K: 8 } }, shapes: tiledSpecializedShapes, acts: [] }],
    // 64x128 blocks of 128 invocations, BK 12: on the aligned shape (vec4 loads) the prefetched A slice
    // is 1.5 vec4s an invocation, so its second register is guarded (unaligned, every share is whole).
    ['tiled-prefetch 64x128 BK 12', { config: { variant: 'tiled-prefetch', tile: { WGY: 8, TILE_K: 12 } }, shapes: [[132, 68, 64]], acts: [] }],
  ] as [string, Case][]),
];
const tol = { atol: 1e-5, rtol: 1e-5 };

// Subgroup variants need the device feature; without it (e.g. Deno's wgpu) they must fall back to
// a kernel without subgroups, and that fallback is what gets tested there.
const subgroupsOn = async () => (await gpu()).device.features.has('subgroups');

describe.each(cases)('matmul (%s)', (_label, { config, shapes, acts }) => {
  for (const [M, N, K] of shapes) {
    for (const [transA, transB] of [[false, false], [false, true], [true, false]] as const) {
      it(`${M}x${N}x${K} transA=${transA} transB=${transB}`, async () => {
        const a = f32(testData(M * K, M + 3 * K));
        const b = f32(testData(K * N, N + 7 * K));
        const k = matmul({ M, N, K, transA, transB, ...config, subgroups: await subgroupsOn() });
        const { c } = await runKernels([k], { a, b }, { c: M * N });
        // The float32 error bound of a K-term dot product: |c - ref| <= K u sum_k |a_ik b_kj|
        // (u = 2^-24), so accumulating in lower precision, or dropping a term, fails.
        const magnitude = matmulRef(a.map(Math.abs), b.map(Math.abs), M, N, K, transA, transB);
        expectScaled(c, matmulRef(a, b, M, N, K, transA, transB), magnitude, K * 2 ** -24, k.name);
      });
    }
  }

  if (acts.length > 0) it('fused bias + activation epilogue (forward layer, unaligned)', async () => {
    const [M, N, K] = [33, 19, 21];
    for (const act of acts) {
      const x = f32(testData(M * K, 1, -2, 2)), w = f32(testData(N * K, 2)), bias = f32(testData(N, 3));
      const k = matmul({ M, N, K, transB: true, bias: true, activation: act, ...config, subgroups: await subgroupsOn() });
      const { c } = await runKernels([k], { a: x, b: w, bias }, { c: M * N });
      const pre = matmulRef(x, w, M, N, K, false, true);
      const ref = pre.map((v, i) => actRef(act, v + bias[i % N]));
      expectClose(c, ref, { atol: 2e-5, rtol: 2e-5 }, k.name);
    }
  });

  if (acts.length > 0) it('activation-gradient epilogue (backward through the layer below)', async () => {
    const [M, N, K] = [17, 23, 11];
    for (const act of acts) {
      const dy = f32(testData(M * K, 4)), w = f32(testData(K * N, 5));
      const pre = f32(testData(M * N, 6, -3, 3));
      // The layer below's output, or its pre-activation where act_grad reads that (gelu).
      const y = gradFromInput(act) ? pre : f32(pre.map((v) => actRef(act, v)));
      const k = matmul({ M, N, K, gradActivation: act, ...config, subgroups: await subgroupsOn() });
      const { c } = await runKernels([k], { a: dy, b: w, y }, { c: M * N });
      const ref = matmulRef(dy, w, M, N, K).map((v, i) => v * actDerivRef(act, pre[i]));
      expectClose(c, ref, { atol: 1e-4, rtol: 1e-4 }, k.name);
    }
  });
});

// Channels-first stores (a convolution's im2col product writing its NCHW map): row m = n P + p of
// C goes to c[(n N + col) P + p], and act' reads y at the same place. Every variant stores through
// the same index function, checked on each with bias + activation (generic, one pipeline each);
// the epilogue's y read is variant-independent code, checked on the register kernels.
describe.each(MATMUL_VARIANTS)('matmul channels-first stores (%s)', (variant) => {
  const [P, examples, N, K] = [11, 3, 19, 21], M = P * examples;
  const toChannelsFirst = (rows: ArrayLike<number>) => {
    const out = new Float64Array(M * N);
    for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) out[(Math.floor(m / P) * N + n) * P + (m % P)] = rows[m * N + n];
    return out;
  };
  it('bias + relu, stored as [M / P, N, P]', async () => {
    const x = f32(testData(M * K, 11, -2, 2)), w = f32(testData(N * K, 12)), bias = f32(testData(N, 13));
    const k = matmul({ M, N, K, transB: true, bias: true, activation: 'relu', variant, generic: true, channelsFirstPixels: P, subgroups: await subgroupsOn() });
    const { c } = await runKernels([k], { a: x, b: w, bias }, { c: M * N });
    const ref = toChannelsFirst(matmulRef(x, w, M, N, K, false, true).map((v, i) => actRef('relu', v + bias[i % N])));
    expectClose(c, ref, { atol: 2e-5, rtol: 2e-5 }, k.name);
  });
  it.runIf(variant.startsWith('register'))("act' of y read channels-first", async () => {
    const dy = f32(testData(M * K, 14)), w = f32(testData(K * N, 15));
    const pre = f32(testData(M * N, 16, -3, 3)), y = f32(pre.map((v) => actRef('tanh', v)));
    const k = matmul({ M, N, K, gradActivation: 'tanh', variant, channelsFirstPixels: P, subgroups: await subgroupsOn() });
    const { c } = await runKernels([k], { a: dy, b: w, y }, { c: M * N });
    const ref = toChannelsFirst(matmulRef(dy, w, M, N, K)).map((v, i) => v * actDerivRef('tanh', pre[i]));
    expectClose(c, ref, { atol: 1e-4, rtol: 1e-4 }, k.name);
  });
  it('refuses pixels that do not divide M', () => {
    expect(() => matmul({ M, N, K, variant, channelsFirstPixels: 4 })).toThrow(/channelsFirstPixels=4 must be a positive integer dividing M=33/);
  });
});

// More row blocks than maxComputeWorkgroupsPerDimension (an im2col product of millions of rows)
// fold into z, and more column blocks (a layer of a million outputs) spread over all three
// dimensions; the kernels number their blocks flat over the grid, columns fastest. The folds are
// forced here on a small product: every row block along z, a y-by-z grid with spare blocks past
// the end, and a flat grid whose x is not the column blocks.
describe('matmulGrid', () => {
  it('folds row blocks past the per-dimension limit into z, covering every row', () => {
    for (const variant of MATMUL_VARIANTS) {
      for (const M of [1, 65535 * 16, 65535 * 16 + 1, 128 * 128 * 128, 50_000_000]) {
        const [x, y, z] = matmulGrid(variant, { M, N: 64, K: 8 });
        const { BM } = matmulBlock(variant);
        expect(Math.max(x, y, z), `${variant} M=${M}`).toBeLessThanOrEqual(65535);
        expect(y * z * BM, `${variant} M=${M}`).toBeGreaterThanOrEqual(M);
        expect((y * z - y) * BM, `${variant} M=${M}: no whole z-layer of spare blocks`).toBeLessThan(M);
      }
    }
  });

  it('folds column blocks past the per-dimension limit too, covering every block', () => {
    for (const variant of MATMUL_VARIANTS) {
      const { BM, BN } = matmulBlock(variant);
      for (const [M, N] of [[1, 65535 * BN], [1, 65535 * BN + 1], [3, 1024 * 1024 * 16], [5000, 65536 * BN], [65535 * BM + 1, 65536 * BN]]) {
        const [x, y, z] = matmulGrid(variant, { M, N, K: 8 });
        const blocks = Math.ceil(M / BM) * Math.ceil(N / BN);
        expect(Math.max(x, y, z), `${variant} ${M}x${N}`).toBeLessThanOrEqual(65535);
        expect(x * y * z, `${variant} ${M}x${N}`).toBeGreaterThanOrEqual(blocks);
        expect(x * y * (z - 1), `${variant} ${M}x${N}: no whole z-layer of spare blocks`).toBeLessThan(blocks);
      }
    }
  });

  it('a product with more column blocks than one dimension holds (65536 x BN + 5 outputs) is computed', async () => {
    const subgroups = await subgroupsOn();
    const variant = subgroups ? 'register-subgroup' : 'register';
    const [M, N, K] = [2, 65536 * matmulBlock(variant).BN + 5, 3];
    const a = f32(testData(M * K, 7)), b = f32(testData(N * K, 8));
    const k = matmul({ M, N, K, transB: true, variant, subgroups });
    expect(k.workgroups[0]).toBe(65535);
    const { c } = await runKernels([k], { a, b }, { c: M * N });
    // transB: C[m, n] = sum_k A[m, k] B[n, k]; checked at the first and last columns and around x's end.
    const cols = [0, 1, 65535 * matmulBlock(variant).BN - 1, 65535 * matmulBlock(variant).BN, N - 2, N - 1];
    const ref = (m: number, n: number) => Array.from({ length: K }, (_, kk) => a[m * K + kk] * b[n * K + kk]).reduce((s, v) => s + v, 0);
    for (let m = 0; m < M; m++) expectClose(cols.map((n) => c[m * N + n]), cols.map((n) => ref(m, n)), { atol: 1e-6, rtol: 1e-5 }, `row ${m}`);
    expect(Array.from(c).every(Number.isFinite), 'every element written').toBe(true);
  });
});

describe.each(MATMUL_VARIANTS)('matmul row blocks folded into z (%s)', (variant) => {
  it('129x33x65, grids [x, 1, rows], [x, 2, rows/2 + 1] and a flat [1, 3, blocks/3 + 1]', async () => {
    const [M, N, K] = [129, 33, 65];
    const a = f32(testData(M * K, 5)), b = f32(testData(K * N, 6));
    const ref = matmulRef(a, b, M, N, K), magnitude = matmulRef(a.map(Math.abs), b.map(Math.abs), M, N, K);
    const k = matmul({ M, N, K, variant, subgroups: await subgroupsOn() });
    const [x, rows] = k.workgroups;
    expect(k.workgroups[2]).toBe(1);
    for (const grid of [[x, 1, rows], [x, 2, Math.floor(rows / 2) + 1], [1, 3, Math.floor((x * rows) / 3) + 1]] as [number, number, number][]) {
      const { c } = await runKernels([{ ...k, workgroups: grid }], { a, b }, { c: M * N });
      expectScaled(c, ref, magnitude, K * 2 ** -24, `${k.name} on grid ${grid}`);
    }
  });
});

describe('matmul tolerance (negative controls)', () => {
  it('the scaled bound fails a half-precision result and a dropped term', async () => {
    const [M, N, K] = [128, 40, 400];
    const a = f32(testData(M * K, 11)), b = f32(testData(K * N, 12));
    const { c } = await runKernels([matmul({ M, N, K, variant: 'register' })], { a, b }, { c: M * N });
    const ref = matmulRef(a, b, M, N, K), magnitude = matmulRef(a.map(Math.abs), b.map(Math.abs), M, N, K);
    const tol = K * 2 ** -24;
    expect(scaledMismatches(c, ref, magnitude, tol)).toEqual([]);
    // Rounding each output to 11 significant bits (f16's precision) is far outside the f32 bound.
    const half = Array.from(c, (v) => { const e = 2 ** (Math.floor(Math.log2(Math.abs(v) || 1)) - 10); return Math.round(v / e) * e; });
    expect(scaledMismatches(half, ref, magnitude, tol).length).toBeGreaterThan(0);
    // Leaving out the k = 0 term of element (0, 5).
    const dropped = Float64Array.from(c);
    dropped[5] -= a[0] * b[5];
    expect(scaledMismatches(dropped, ref, magnitude, tol).length).toBeGreaterThan(0);
  });
});

describe('column sum (bias gradients)', () => {
  for (const [rows, cols] of [[1, 1], [7, 33], [128, 400], [129, 65]]) {
    it(`${rows}x${cols}`, async () => {
      const x = f32(testData(rows * cols, rows + cols));
      const k = columnSum({ rows, cols });
      const { out } = await runKernels([k], { x }, { out: cols });
      expectClose(out, columnSumRef(x, rows, cols), { atol: 1e-5 * rows, rtol: 1e-5 }, 'column_sum');
    });
  }

  // GPUs sum the rows in slices, then the slices (columnSumSlices): 1000 rows of 70 columns give 3
  // slices of 334 (the last 332), 4100 of 3 give 16 of 257 (the last 245).
  for (const [rows, cols, slices] of [[1000, 70, 3], [4100, 3, 16]]) {
    it(`${rows}x${cols} in ${slices} row slices, then their sum`, async () => {
      expect(columnSumSlices(rows, cols)).toBe(slices);
      const x = f32(testData(rows * cols, rows + 2 * cols));
      const k = columnSum({ rows, cols, slices });
      expect(k.name).toBe('column_sum_split');
      expect(k.workgroups).toEqual([Math.ceil(cols / 64), slices, 1]);
      const out = await runKernels([k, sliceSum({ name: 'column_slice_sum', from: 'outSlices', to: 'out', slices, length: cols })], { x }, { outSlices: slices * cols, out: cols + 1 });
      expect(Number.isNaN(out.out[cols]), 'the element past the end stays NaN').toBe(true);
      expectClose(out.out.subarray(0, cols), columnSumRef(x, rows, cols), { atol: 1e-5 * rows, rtol: 1e-5 }, 'column_sum_split');
      // The last slice holds only its own rows' sum.
      const len = Math.ceil(rows / slices), tail = columnSumRef(x.subarray(len * (slices - 1) * cols), rows - len * (slices - 1), cols);
      expectClose(out.outSlices.subarray((slices - 1) * cols, slices * cols), tail, { atol: 1e-5 * len, rtol: 1e-5 }, 'last slice');
    });
  }

  it('a million rows of one column, summed in blocks: within 2e-6 of the float64 sum (one running sum was 6e-4 off)', async () => {
    const rows = 2 ** 20;
    const x = f32(testData(rows, 71, 0.05, 0.15));
    const { out } = await runKernels([columnSum({ rows, cols: 1 })], { x }, { out: 1 });
    expectClose(out, columnSumRef(x, rows, 1), { atol: 0, rtol: 2e-6 }, 'column_sum of 2^20 rows');
  });

  it('splits only as columnSumSlices says, and not short or wide sums', () => {
    expect(columnSumSlices(128, 400)).toBe(1);
    expect(columnSumSlices(4096, 784)).toBe(16);
    expect(columnSumSlices(4096, 64 * 512)).toBe(1);
    expect(() => columnSum({ rows: 1000, cols: 70, slices: 2 })).toThrow(/column_sum: slices 2; use columnSumSlices\(rows, cols\), which gives 3/);
  });

  it('a grid over the limit names the layer width to change, not the batch', () => {
    const limits = { maxComputeWorkgroupsPerDimension: 65535, maxStorageBuffersPerShaderStage: 8, maxStorageBufferBindingSize: 2 ** 30 } as GPUSupportedLimits;
    const small = { buffer: { size: 16 } as GPUBuffer };
    expect(() => checkBindingLimits(columnSum({ rows: 1, cols: 65536 * 64 + 1 }), { x: small, out: small }, limits, 'train[1]'))
      .toThrow(/kernel column_sum in train\[1\] needs 65537 workgroups .*; use layers of at most 4194240 outputs$/);
    // Four columns an invocation where the width allows.
    expect(() => checkBindingLimits(columnSum({ rows: 1, cols: 4 * 65536 * 64 }), { x: small, out: small }, limits, 'train[1]'))
      .toThrow(/kernel column_sum in train\[1\] needs 65536 workgroups .*; use layers of at most 16776960 outputs$/);
  });
});

/**
 * Runs `p` split over K as matmulSplits says (at least `fewest` slices), then the slices' sum, and
 * checks the sum against the float64 product, every slice written, and nothing past c's end.
 */
async function expectSplitProduct(p: MatmulParams, fewest: number): Promise<void> {
  const { M, N, K } = p, transA = !!p.transA;
  const splits = matmulSplits(p);
  expect(splits).toBeGreaterThanOrEqual(fewest);
  const k = matmul({ ...p, splits });
  expect(k.name).toMatch(/_splitk$/);
  const a = f32(testData(M * K, M + 5 * K)), b = f32(testData(K * N, N + 11 * K));
  const out = await runKernels([k, sliceSum({ name: 'matmul_slice_sum', from: 'cSlices', to: 'c', slices: splits, length: M * N })], { a, b }, { cSlices: splits * M * N, c: M * N + 1 });
  expect(Array.from(out.cSlices).filter((v) => !Number.isFinite(v)).length, 'every slice written').toBe(0);
  expect(Number.isNaN(out.c[M * N]), 'the element past the end stays NaN').toBe(true);
  const magnitude = matmulRef(a.map(Math.abs), b.map(Math.abs), M, N, K, transA, false);
  expectScaled(out.c.subarray(0, M * N), matmulRef(a, b, M, N, K, transA, false), magnitude, K * 2 ** -24, k.name);
  // One slice alone is not the product.
  expect(Math.abs(out.cSlices[0] - out.c[0])).toBeGreaterThan(0);
}

// On a CPU (register kernels), a weight gradient of few blocks splits its K so that every core
// gets a slice: one block over K = 20,000 (16 x 16, a 1-channel conv layer's im2col weight
// gradient in miniature) and 37 x 19 over K = 9,001 (partial blocks, and a slice length that
// leaves every slice a tail after its unrolled steps).
describe('register matmul split over K (a weight gradient of few blocks)', () => {
  const REGISTER_VARIANTS = MATMUL_VARIANTS.filter((v) => v.startsWith('register'));
  const CASES: [number, number, number][] = [[16, 16, 20000], [37, 19, 9001]];
  for (const variant of REGISTER_VARIANTS) {
    for (const generic of [false, true]) {
      for (const [M, N, K] of CASES) {
        it(`${variant}${generic ? ' generic' : ''} ${M}x${N}x${K} transA=true: slices, then their sum`, async () => {
          await expectSplitProduct({ M, N, K, transA: true, variant, generic, subgroups: await subgroupsOn() }, 2);
        });
      }
    }
  }

  it('only weight gradients of few blocks and a long K split, and not with an epilogue or a zero list', () => {
    const p: MatmulParams = { M: 16, N: 16, K: 65536, transA: true, variant: 'register-subgroup', generic: true, subgroups: true };
    expect(matmulSplits(p)).toBe(8);
    for (const other of [{ transA: false }, { bias: true }, { skipZeros: 'b' as const }, { K: 8000 }, { M: 64, N: 32 }]) {
      expect(matmulSplits({ ...p, ...other }), JSON.stringify(other)).toBe(1);
    }
    expect(() => matmul({ ...p, splits: 3 })).toThrow(/matmul: splits 3; use matmulSplits\(params\), which gives 8/);
  });
});

describe('matmul split over K (few blocks, long K: a weight gradient at a large batch)', () => {
  const TILED = MATMUL_VARIANTS.filter((v) => v.startsWith('tiled'));
  // 37x70 (one or two blocks, scalar loads, A not transposed) and 64x128 (vec4 loads, A
  // transposed: a weight gradient's layout) over K = 2600 and 2048.
  const SPLIT_CASES: [number, number, number, boolean][] = TILED_CUT ? [[64, 128, 2048, true]] : [[64, 128, 2048, true], [37, 70, 2600, false]];
  for (const variant of TILED) {
    for (const [M, N, K, transA] of SPLIT_CASES) {
      it(`${variant} ${M}x${N}x${K} transA=${transA}: slices, then their sum`, async () => {
        await expectSplitProduct({ M, N, K, transA, variant, subgroups: await subgroupsOn() }, 4);
      });
    }
  }

  it('only specialized tiled products without epilogue split, and only as matmulSplits says', () => {
    const p: MatmulParams = { M: 37, N: 70, K: 2600, transA: true, variant: 'tiled-vec4' };
    expect(matmulSplits(p)).toBe(5);
    // A register product of 37 x 70 (6 blocks) splits only past REGISTER_SPLIT's K.
    for (const other of [{ variant: 'register' as const }, { generic: true }, { bias: true }, { activation: 'relu' as const }, { gradActivation: 'relu' as const }, { f16: ['c' as const] }]) {
      expect(matmulSplits({ ...p, ...other }), JSON.stringify(other)).toBe(1);
    }
    expect(matmulSplits({ ...p, K: 900 }), 'a short K stays whole').toBe(1);
    expect(matmulSplits({ ...p, M: 2048, N: 2048 }), 'enough blocks stay whole').toBe(1);
    expect(() => matmul({ ...p, splits: 3 })).toThrow(/matmul: splits 3; use matmulSplits\(params\), which gives 5/);
    expect(() => matmul({ ...p, variant: 'register', splits: 5 })).toThrow(/which gives 1/);
  });
});
