// Convolution kernels (shaders/conv.ts) against the float64 references (tests/reference/conv.ts),
// every kernel in every variant: Conv2d forward, input gradient (with act' of the layer below)
// and weight gradient; the channel sum for both biases; ConvTranspose2d forward (= the input
// gradient kernel on the transposed geometry), its input gradient (= the forward kernel) and its
// weight gradient (= the weight gradient kernel, roles swapped). Shapes are odd on purpose
// (7x9, 9x7, 13x13), with stride 1 and 2, padding 0 and 1, channels 1, 3 and 33 on both sides,
// kernels 3 and 4, batches 1 and 3, and an output padding for some transposes.
//
// Bound: the float32 error of an n-term sum, |got - ref| <= n 2^-24 sum |terms| (the same
// reference on absolute values gives the sum), plus a small slack where a transcendental
// activation runs on the GPU. Outputs start NaN-filled with a spare element past the end, so a
// skipped element fails and an out-of-bounds write shows.
import { describe, expect, it } from 'vitest';
import { gradFromInput, type Activation } from '../shaders/activation';
import { conv2dForward, conv2dInputGrad, conv2dWeightGrad, CONV_TILES, CONV_VARIANTS, weightGradSplits, type ConvGeometry, type ConvVariant } from '../shaders/conv';
import { biasGradThreads, convBiasGrad, convBiasGradSlices, convWeightGradSum } from '../shaders/conv-sums';
import { sliceSum, type Kernel } from '../shaders/common';
import { f32, testData } from './helpers/compare';
import { gpu, runKernels } from './helpers/gpu';
import { actDerivRef, actRef } from './reference/dense';
import {
  channelSumRef, conv2dInputGradRef, conv2dRef, conv2dWeightGradRef, convOutRef, convTranspose2dInputGradRef, convTranspose2dRef,
  convTranspose2dWeightGradRef, convTransposeOutRef, type ConvTransposeRefGeometry,
} from './reference/conv';

// `direct-subgroup` falls back to `direct` where the device lacks subgroups (wgpu on SwiftShader).
const subgroupsOn = async () => (await gpu()).device.features.has('subgroups');

type Case = ConvTransposeRefGeometry & { act: Activation };
const g = (batch: number, inChannels: number, inHeight: number, inWidth: number, outChannels: number, kernel: number, stride: number, padding: number, outputPadding: number, act: Activation): Case =>
  ({ batch, inChannels, inHeight, inWidth, outChannels, kernel, stride, padding, outputPadding, act });

const CASES: Case[] = [
  g(1, 1, 7, 9, 3, 3, 1, 0, 0, 'relu'),
  g(3, 3, 13, 13, 33, 4, 2, 1, 0, 'leaky_relu'),
  g(3, 33, 7, 9, 1, 3, 2, 1, 1, 'tanh'),
  g(1, 3, 13, 13, 3, 4, 1, 1, 0, 'sigmoid'),
  g(3, 1, 9, 7, 33, 3, 2, 0, 1, 'softplus'),
  g(1, 33, 13, 13, 33, 4, 2, 0, 0, 'none'),
  // act' from the pre-activation (GRAD_FROM_INPUT): 'below' binds it instead of the output.
  g(3, 3, 9, 7, 5, 3, 2, 1, 1, 'gelu'),
];
const label = (c: Case) => `N${c.batch} ${c.inChannels}x${c.inHeight}x${c.inWidth} -> ${c.outChannels} k${c.kernel} s${c.stride} p${c.padding}${c.outputPadding ? ` op${c.outputPadding}` : ''} ${c.act}`;

/** The convolution whose input gradient is this transposed convolution: its input side is the transpose's output. */
function transposedAsConv(c: Case): ConvGeometry {
  return {
    batch: c.batch, inChannels: c.outChannels, outChannels: c.inChannels, kernel: c.kernel, stride: c.stride, padding: c.padding,
    inHeight: convTransposeOutRef(c.inHeight, c.kernel, c.stride, c.padding, c.outputPadding),
    inWidth: convTransposeOutRef(c.inWidth, c.kernel, c.stride, c.padding, c.outputPadding),
  };
}

const U = 2 ** -24;
const ACT_SLACK = 1e-5;
const SPARE = 1;
const nanFilled = (n: number) => new Float32Array(n + SPARE).fill(NaN);
const abs = (a: ArrayLike<number>) => Float64Array.from(a, Math.abs);

/** Indices where |got - ref| > bound, described; NaN or infinity always fails. */
function outOfBound(got: ArrayLike<number>, ref: ArrayLike<number>, bound: ArrayLike<number>, max = 8): string[] {
  const out: string[] = [];
  let count = 0;
  if (got.length !== ref.length) return [`length ${got.length} != reference length ${ref.length}`];
  for (let i = 0; i < ref.length; i++) {
    if (Number.isFinite(got[i]) && Math.abs(got[i] - ref[i]) <= bound[i]) continue;
    if (++count <= max) out.push(`[${i}] got ${got[i]} ref ${ref[i]} bound ${bound[i].toExponential(2)}`);
  }
  if (count > max) out.push(`... ${count} of ${ref.length}`);
  return out;
}

function expectWithin(got: ArrayLike<number>, ref: ArrayLike<number>, bound: ArrayLike<number>, what: string) {
  const bad = outOfBound(got, ref, bound);
  expect(bad, `${what}\n${bad.join('\n')}`).toEqual([]);
}

/** Runs one kernel with its output NaN-filled; returns the output and checks the spare past its end. */
async function run(k: Kernel, inputs: Record<string, Float64Array>, out: string, count: number): Promise<Float32Array> {
  const result = await runKernels([k], { ...inputs, [out]: nanFilled(count) }, {});
  expect(Number.isNaN(result[out][count]), `${k.name}: the element past the end stays NaN`).toBe(true);
  return result[out].subarray(0, count);
}

/** Bound for a result that went through act (Lipschitz <= 1 for every activation here). */
const forwardBound = (terms: number, mag: Float64Array, ref: ArrayLike<number>, act: Activation) =>
  mag.map((m, i) => terms * U * m + (act === 'none' ? 0 : ACT_SLACK * (1 + Math.abs(ref[i]))));

function data(c: Case, seed: number) {
  const OH = convOutRef(c.inHeight, c.kernel, c.stride, c.padding), OW = convOutRef(c.inWidth, c.kernel, c.stride, c.padding);
  const x = f32(testData(c.batch * c.inChannels * c.inHeight * c.inWidth, seed, -2, 2));
  const w = f32(testData(c.outChannels * c.inChannels * c.kernel ** 2, seed + 1));
  const b = f32(testData(c.outChannels, seed + 2));
  const dy = f32(testData(c.batch * c.outChannels * OH * OW, seed + 3));
  return { x, w, b, dy, OH, OW, terms: c.inChannels * c.kernel ** 2 + 1 };
}

// `implicit-gemm` is the GPU variant: 256-invocation workgroups, which SwiftShader takes 2-5 s
// to compile per pipeline (six pipelines a case). It runs on the four cases that together cover
// stride 1 and 2, padding 0 and 1, channels 1, 3 and 33, kernels 3 and 4, batches 1 and 3 and an
// output padding, each in all six kernels.
const IMPLICIT_GEMM_CASES = [1, 2, 3, 5];
const casesOf = (variant: ConvVariant) => CASES.map((c, i) => [label(c), c, i] as const).filter(([, , i]) => variant !== 'implicit-gemm' || IMPLICIT_GEMM_CASES.includes(i));

describe.each(CONV_VARIANTS)('conv2d kernels (%s)', (variant: ConvVariant) => {
  describe.each(casesOf(variant))('%s', (_, c, i) => {
    it('forward: act(conv(x, w) + b)', async () => {
      const { x, w, b, terms } = data(c, 10 + i);
      const k = conv2dForward({ ...c, variant, subgroups: await subgroupsOn(), bias: true, activation: c.act });
      const pre = conv2dRef(x, w, b, c);
      const ref = pre.map((v) => actRef(c.act, v));
      const y = await run(k, { x, w, bias: b }, 'y', ref.length);
      expectWithin(y, ref, forwardBound(terms, conv2dRef(abs(x), abs(w), abs(b), c), ref, c.act), k.name);
    });

    it("input gradient with act' of the layer below", async () => {
      const { w, dy } = data(c, 20 + i);
      const below = f32(testData(c.batch * c.inChannels * c.inHeight * c.inWidth, 30 + i, -3, 3));
      const y = gradFromInput(c.act) ? below : f32(below.map((v) => actRef(c.act, v)));
      const k = conv2dInputGrad({ ...c, variant, subgroups: await subgroupsOn(), gradActivation: c.act });
      const deriv = below.map((v) => actDerivRef(c.act, v));
      const ref = conv2dInputGradRef(dy, w, c).map((v, j) => v * deriv[j]);
      const mag = conv2dInputGradRef(abs(dy), abs(w), c).map((v, j) => v * Math.abs(deriv[j]));
      const dx = await run(k, { dy, w, ...(c.act !== 'none' ? { below: y } : {}) }, 'dx', ref.length);
      expectWithin(dx, ref, forwardBound(c.outChannels * c.kernel ** 2, mag, ref, c.act), k.name);
    });

    it('weight gradient', async () => {
      const { x, dy, OH, OW } = data(c, 40 + i);
      const k = conv2dWeightGrad({ ...c, variant, subgroups: await subgroupsOn() });
      const ref = conv2dWeightGradRef(dy, x, c);
      const dw = await run(k, { dy, x }, 'dw', ref.length);
      expectWithin(dw, ref, conv2dWeightGradRef(abs(dy), abs(x), c).map((m) => c.batch * OH * OW * U * m), k.name);
    });

    it('transpose forward: act(conv_transpose(x, w) + b) with w [in, out, k, k]', async () => {
      const conv = transposedAsConv(c);
      const x = f32(testData(c.batch * c.inChannels * c.inHeight * c.inWidth, 50 + i, -2, 2));
      const w = f32(testData(c.inChannels * c.outChannels * c.kernel ** 2, 51 + i));
      const b = f32(testData(c.outChannels, 52 + i));
      const k = conv2dInputGrad({ ...conv, variant, subgroups: await subgroupsOn(), bias: true, activation: c.act });
      const ref = convTranspose2dRef(x, w, b, c).map((v) => actRef(c.act, v));
      const y = await run(k, { dy: x, w, bias: b }, 'dx', ref.length);
      expectWithin(y, ref, forwardBound(c.inChannels * c.kernel ** 2 + 1, convTranspose2dRef(abs(x), abs(w), abs(b), c), ref, c.act), k.name);
    });

    it("transpose input gradient (the convolution's forward) with act' of the layer below", async () => {
      const conv = transposedAsConv(c);
      const dy = f32(testData(c.batch * c.outChannels * conv.inHeight * conv.inWidth, 60 + i));
      const w = f32(testData(c.inChannels * c.outChannels * c.kernel ** 2, 61 + i));
      const below = f32(testData(c.batch * c.inChannels * c.inHeight * c.inWidth, 62 + i, -3, 3));
      const deriv = below.map((v) => actDerivRef(c.act, v));
      const k = conv2dForward({ ...conv, variant, subgroups: await subgroupsOn(), gradActivation: c.act });
      const ref = convTranspose2dInputGradRef(dy, w, c).map((v, j) => v * deriv[j]);
      const mag = convTranspose2dInputGradRef(abs(dy), abs(w), c).map((v, j) => v * Math.abs(deriv[j]));
      const below32 = gradFromInput(c.act) ? below : f32(below.map((v) => actRef(c.act, v)));
      const dx = await run(k, { x: dy, w, ...(c.act !== 'none' ? { below: below32 } : {}) }, 'y', ref.length);
      expectWithin(dx, ref, forwardBound(c.outChannels * c.kernel ** 2, mag, ref, c.act), k.name);
    });

    it('transpose weight gradient (the weight gradient with dy and x swapped)', async () => {
      const conv = transposedAsConv(c);
      const x = f32(testData(c.batch * c.inChannels * c.inHeight * c.inWidth, 70 + i, -2, 2));
      const dy = f32(testData(c.batch * c.outChannels * conv.inHeight * conv.inWidth, 71 + i));
      const k = conv2dWeightGrad({ ...conv, variant, subgroups: await subgroupsOn() });
      const ref = convTranspose2dWeightGradRef(dy, x, c);
      const dw = await run(k, { dy: x, x: dy }, 'dw', ref.length);
      const terms = c.batch * c.inHeight * c.inWidth;
      expectWithin(dw, ref, convTranspose2dWeightGradRef(abs(dy), abs(x), c).map((m) => terms * U * m), k.name);
    });
  });
});

describe.each(CASES.map((c) => [label(c), c] as const))('bias gradient (channel sum) %s', (_, c) => {
  // Both forms: the workgroup tree (GPUs) and one invocation per channel (software adapters).
  it.each([CONV_TILES.biasGrad.WORKGROUP, 1])('of the convolution and of the transpose, %i invocations per channel', async (threadsPerChannel) => {
    const OH = convOutRef(c.inHeight, c.kernel, c.stride, c.padding), OW = convOutRef(c.inWidth, c.kernel, c.stride, c.padding);
    const conv = transposedAsConv(c);
    for (const [channels, pixels] of [[c.outChannels, OH * OW], [c.outChannels, conv.inHeight * conv.inWidth]]) {
      const dy = f32(testData(c.batch * channels * pixels, channels + pixels));
      const ref = channelSumRef(dy, c.batch, channels, pixels);
      const k = convBiasGrad({ batch: c.batch, channels, pixels, threadsPerChannel });
      const db = await run(k, { dy }, 'db', channels);
      expectWithin(db, ref, channelSumRef(abs(dy), c.batch, channels, pixels).map((m) => c.batch * pixels * U * m), k.name);
    }
  });
});

describe('bias gradient over slices of each channel (GPUs, few channels)', () => {
  // 1 channel of 3 x 3,000 values: 2 slices of 4,544 (the last 4,456); 3 channels of 5 x 61 x 61 =
  // 18,605 values each: 4 slices of 4,672 (the last 4,589). Slices are whole 64-value strides.
  for (const [batch, channels, pixels] of [[3, 1, 3000], [5, 3, 3721]]) {
    it(`${batch}x${channels}x${pixels}: slices, then their sum`, async () => {
      const slices = convBiasGradSlices({ batch, channels, pixels });
      expect(slices).toBe(channels === 1 ? 2 : 4);
      const dy = f32(testData(batch * channels * pixels, channels + pixels, -1, 1));
      const k = convBiasGrad({ batch, channels, pixels, slices });
      expect(k.name).toBe('conv_bias_grad_split');
      expect(k.workgroups).toEqual([channels, slices, 1]);
      const out = await runKernels([k, sliceSum({ name: 'conv_bias_grad_sum', from: 'dbSlices', to: 'db', slices, length: channels })], { dy, db: nanFilled(channels) }, { dbSlices: slices * channels });
      expect(Number.isNaN(out.db[channels]), 'the element past the end stays NaN').toBe(true);
      expectWithin(out.db.subarray(0, channels), channelSumRef(dy, batch, channels, pixels), channelSumRef(abs(dy), batch, channels, pixels).map((m) => batch * pixels * U * m), k.name);
      expect(Math.abs(out.dbSlices[0] - out.db[0]), 'one slice alone is not the sum').toBeGreaterThan(0);
    });
  }

  it('splits only as convBiasGradSlices says: long sums over few channels', () => {
    expect(convBiasGradSlices({ batch: 64, channels: 1, pixels: 64 * 64 })).toBe(64);
    expect(convBiasGradSlices({ batch: 64, channels: 16, pixels: 32 * 32 })).toBe(16);
    expect(convBiasGradSlices({ batch: 64, channels: 256, pixels: 16 })).toBe(1);
    expect(convBiasGradSlices({ batch: 2, channels: 1, pixels: 64 })).toBe(1);
    expect(() => convBiasGrad({ batch: 3, channels: 1, pixels: 3000, slices: 3 })).toThrow(/conv_bias_grad: slices 3; use convBiasGradSlices\(shape\), which gives 2/);
  });
});

describe('bias gradient form', () => {
  it('one invocation per channel on software adapters from 4 channels, else the workgroup tree', () => {
    expect([1, 3, 4, 33].map((c) => biasGradThreads(c, true))).toEqual([64, 64, 1, 1]);
    expect([1, 4, 33].map((c) => biasGradThreads(c, false))).toEqual([64, 64, 64]);
    expect(() => convBiasGrad({ batch: 2, channels: 3, pixels: 4, threadsPerChannel: 8 })).toThrow(/threadsPerChannel 8; use 1 or 64/);
  });
});

describe('conv references (float64) against finite differences and each other', () => {
  const c = g(2, 2, 5, 6, 3, 3, 2, 1, 1, 'none');
  const OH = convOutRef(c.inHeight, c.kernel, c.stride, c.padding), OW = convOutRef(c.inWidth, c.kernel, c.stride, c.padding);
  const TH = convTransposeOutRef(c.inHeight, c.kernel, c.stride, c.padding, c.outputPadding), TW = convTransposeOutRef(c.inWidth, c.kernel, c.stride, c.padding, c.outputPadding);
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, v, i) => s + v * b[i], 0);

  /** Central differences of L(v) = <r, f(v)> at every entry of v. */
  function numericGrad(v: Float64Array, r: ArrayLike<number>, f: () => ArrayLike<number>): Float64Array {
    return v.map((save, i) => {
      const h = 1e-4;
      v[i] = save + h; const up = dot(r, f());
      v[i] = save - h; const down = dot(r, f());
      v[i] = save;
      return (up - down) / (2 * h);
    });
  }
  const TOL = 1e-8;
  const expectNear = (got: ArrayLike<number>, want: ArrayLike<number>, what: string) => expectWithin(got, want, Array.from(want, (v) => TOL * (1 + Math.abs(v))), what);

  it('conv2d: input, weight and bias gradients are the derivatives of <r, conv(x, w) + b>', () => {
    const x = testData(c.batch * c.inChannels * c.inHeight * c.inWidth, 1), w = testData(c.outChannels * c.inChannels * 9, 2), b = testData(c.outChannels, 3);
    const r = testData(c.batch * c.outChannels * OH * OW, 4);
    const forward = () => conv2dRef(x, w, b, c);
    expectNear(conv2dInputGradRef(r, w, c), numericGrad(x, r, forward), 'dx');
    expectNear(conv2dWeightGradRef(r, x, c), numericGrad(w, r, forward), 'dw');
    expectNear(channelSumRef(r, c.batch, c.outChannels, OH * OW), numericGrad(b, r, forward), 'db');
  });

  it('conv_transpose2d: input, weight and bias gradients are the derivatives of <r, convT(x, w) + b>', () => {
    const x = testData(c.batch * c.inChannels * c.inHeight * c.inWidth, 5), w = testData(c.inChannels * c.outChannels * 9, 6), b = testData(c.outChannels, 7);
    const r = testData(c.batch * c.outChannels * TH * TW, 8);
    const forward = () => convTranspose2dRef(x, w, b, c);
    expectNear(convTranspose2dInputGradRef(r, w, c), numericGrad(x, r, forward), 'dx');
    expectNear(convTranspose2dWeightGradRef(r, x, c), numericGrad(w, r, forward), 'dw');
    expectNear(channelSumRef(r, c.batch, c.outChannels, TH * TW), numericGrad(b, r, forward), 'db');
  });

  it("the transpose's forward is the input gradient of the convolution with the sides swapped (what the kernels reuse)", () => {
    const conv = transposedAsConv(c);
    const x = testData(c.batch * c.inChannels * c.inHeight * c.inWidth, 9), w = testData(c.inChannels * c.outChannels * 9, 10);
    expectNear(convTranspose2dRef(x, w, null, c), conv2dInputGradRef(x, w, conv), 'convT(x) = conv^T(x)');
    const dy = testData(c.batch * c.outChannels * TH * TW, 11);
    expectNear(convTranspose2dInputGradRef(dy, w, c), conv2dRef(dy, w, null, conv), 'convT input grad = conv(dy)');
    expectNear(convTranspose2dWeightGradRef(dy, x, c), conv2dWeightGradRef(x, dy, conv), 'convT weight grad = conv weight grad, swapped');
  });
});

describe('conv checks', () => {
  const c = CASES[1];

  it('negative controls: a perturbed element, a dropped tap and an untouched output fail the bound', async () => {
    const { x, w, b, terms } = data(c, 10 + 1);
    const ref = conv2dRef(x, w, b, c).map((v) => actRef(c.act, v));
    const bound = forwardBound(terms, conv2dRef(abs(x), abs(w), abs(b), c), ref, c.act);
    const y = await run(conv2dForward({ ...c, variant: 'direct', bias: true, activation: c.act }), { x, w, bias: b }, 'y', ref.length);
    expect(outOfBound(y, ref, bound)).toEqual([]);
    const perturbed = Float64Array.from(y);
    perturbed[100] += 1e-4 * (1 + Math.abs(perturbed[100]));
    expect(outOfBound(perturbed, ref, bound).length).toBe(1);
    // Output (0, 0, 1, 1) without the tap (ci 0, ky 1, kx 1), which reads x[0, 0, 2, 2]: as if a loop bound were off by one.
    const OW = convOutRef(c.inWidth, c.kernel, c.stride, c.padding);
    const dropped = Float64Array.from(y);
    dropped[OW + 1] -= w[1 * c.kernel + 1] * x[2 * c.inWidth + 2] * (ref[OW + 1] > 0 ? 1 : 0.01);
    expect(Math.abs(w[1 * c.kernel + 1] * x[2 * c.inWidth + 2])).toBeGreaterThan(1e-3);
    expect(outOfBound(dropped, ref, bound).length).toBe(1);
    expect(outOfBound(nanFilled(ref.length).subarray(0, ref.length), ref, bound, Infinity).length).toBe(ref.length);
  });

  it.each(CONV_VARIANTS)('extreme inputs stay finite and match (%s): |x| up to 1e3 through sigmoid, tiny values through relu', async (variant) => {
    const e = { ...CASES[3], act: 'sigmoid' as const };
    const { w, b, terms } = data(e, 90);
    for (const [scale, act] of [[1e3, 'sigmoid'], [1e-30, 'relu']] as const) {
      const x = f32(testData(e.batch * e.inChannels * e.inHeight * e.inWidth, 91).map((v) => v * scale));
      const pre = conv2dRef(x, w, b, e);
      const ref = pre.map((v) => actRef(act, v));
      const y = await run(conv2dForward({ ...e, variant, subgroups: await subgroupsOn(), bias: true, activation: act }), { x, w, bias: b }, 'y', ref.length);
      expectWithin(y, ref, forwardBound(terms, conv2dRef(abs(x), abs(w), abs(b), e), ref, act), `scale ${scale} ${act}`);
    }
  });

  it('implicit-gemm: row blocks past the 65535 of one grid dimension continue along z', async () => {
    // 1x2048x2048 with a 1x1 kernel: 4194304 output pixels, 65536 blocks of 64 rows. Too slow to
    // run on a software adapter, so the z path runs below on a small shape with the same rows
    // spread over z by hand (the kernel reads the split from num_workgroups): all rows along z,
    // and a grid with more row slots than rows, whose extra workgroups must write nothing.
    const big = conv2dForward({ batch: 1, inChannels: 1, inHeight: 2048, inWidth: 2048, outChannels: 1, kernel: 1, stride: 1, padding: 0, variant: 'implicit-gemm' });
    expect(big.workgroups).toEqual([1, 32768, 2]);
    const { x, w, b, terms } = data(c, 12);
    const ref = conv2dRef(x, w, b, c).map((v) => actRef(c.act, v));
    const bound = forwardBound(terms, conv2dRef(abs(x), abs(w), abs(b), c), ref, c.act);
    const k = conv2dForward({ ...c, variant: 'implicit-gemm', bias: true, activation: c.act });
    const [nx, rowBlocks] = k.workgroups;
    expect(rowBlocks).toBe(2);
    for (const split of [[nx, 1, 2], [nx, 2, 2]] as const) {
      const y = await run({ ...k, workgroups: [...split] }, { x, w, bias: b }, 'y', ref.length);
      expectWithin(y, ref, bound, `${k.name} on a ${split.join('x')} grid`);
    }
  });

  it('implicit-gemm: a weight gradient with few weights and a long sum runs in K slices, then adds them', async () => {
    // 135 weights (one 64x64 block) summed over 4 x 33 x 31 = 4,092 positions: 7 slices of 592,
    // the last 540 long (not a whole tile).
    const c = g(4, 3, 33, 31, 5, 3, 1, 1, 0, 'none');
    const splits = weightGradSplits({ ...c, variant: 'implicit-gemm' });
    expect(splits).toBe(7);
    expect(weightGradSplits({ ...c, variant: 'direct' })).toBe(1);
    expect(weightGradSplits({ ...c, batch: 1, inHeight: 9, inWidth: 9, variant: 'implicit-gemm' }), 'a short sum stays whole').toBe(1);
    const weights = c.outChannels * c.inChannels * c.kernel ** 2;
    const k = conv2dWeightGrad({ ...c, variant: 'implicit-gemm', splits });
    expect(k.workgroups).toEqual([1, 1, splits]);
    const { x, dy, OH, OW } = data(c, 77);
    const ref = conv2dWeightGradRef(dy, x, c);
    const out = await runKernels([k, convWeightGradSum({ slices: splits, weights })], { dy, x }, { dwSlices: splits * weights, dw: weights + SPARE });
    expect(Number.isNaN(out.dw[weights]), 'the element past the end stays NaN').toBe(true);
    expect(Array.from(out.dwSlices).filter((v) => !Number.isFinite(v)).length, 'every slice written').toBe(0);
    expectWithin(out.dw.subarray(0, weights), ref, conv2dWeightGradRef(abs(dy), abs(x), c).map((m) => c.batch * OH * OW * U * m), `${k.name} + sum`);
    // Each slice holds a part of the sum, not the whole: the parts differ and add up to it.
    const slice = (s: number) => out.dwSlices.subarray(s * weights, (s + 1) * weights);
    expect(Math.abs(slice(0)[0] - ref[0])).toBeGreaterThan(1e-3 * Math.abs(ref[0]));
    expect(() => conv2dWeightGrad({ ...c, variant: 'implicit-gemm', splits: 3 })).toThrow(/splits 3 for implicit-gemm; use weightGradSplits\(geometry\), which gives 7/);
    expect(() => conv2dWeightGrad({ ...c, variant: 'direct', splits: 7 })).toThrow(/splits 7 for direct.*gives 1/);
    expect(() => convWeightGradSum({ slices: 1, weights })).toThrow(/conv2d_weight_grad_sum: slices 1 and weights 135 must be integers, slices at least 2/);
  });

  it('every variant builds whole-number u32 literals for 1 to 40 channels on either side (a fraction does not compile)', () => {
    // Block sizes derived from the channel counts reach the WGSL as numbers: 64 / 12 once wrote
    // '* 5.333333333333333u', which no compiler takes. Checked on the text, for every pair, fast.
    const bad: string[] = [];
    for (const variant of CONV_VARIANTS) {
      for (let cin = 1; cin <= 40; cin++) {
        for (const cout of [1, 2, 3, 4, 5, 8, 9, 10, 11, 12, 13, 16, 17, 20, 24, 32, 33, 40]) {
          // The decoder's 3x3 stride-1 layers and the encoder's 4x4 stride-2 ones.
          for (const [kernel, stride] of [[3, 1], [4, 2]]) {
            const geo = { batch: 2, inChannels: cin, inHeight: 6, inWidth: 5, outChannels: cout, kernel, stride, padding: 1 };
            for (const k of [conv2dForward({ ...geo, variant, subgroups: true }), conv2dInputGrad({ ...geo, variant, subgroups: true }), conv2dWeightGrad({ ...geo, variant, subgroups: true })]) {
              const fraction = /\b\d+\.\d+[ui]\b/.exec(k.code);
              if (fraction) bad.push(`${k.name} Cin ${cin} Cout ${cout} k${kernel} s${stride}: '${fraction[0]}'`);
            }
          }
        }
      }
    }
    expect(bad.slice(0, 5), `${bad.length} kernels with a fractional integer literal`).toEqual([]);
  });

  it('direct-subgroup: 9 to 12 channels share a 12-channel block (5 pixels a lane), forward and input gradient', async () => {
    // sharedChannels gives 12 for 9-12 channels, and 64 accumulators / 12 is not a whole number of pixels.
    for (const e of [g(2, 12, 7, 9, 10, 3, 1, 1, 0, 'relu'), g(3, 9, 5, 6, 12, 4, 2, 1, 0, 'none')]) {
      const sub = await subgroupsOn();
      const { x, w, b, dy, terms } = data(e, 95);
      const ref = conv2dRef(x, w, b, e).map((v) => actRef(e.act, v));
      const y = await run(conv2dForward({ ...e, variant: 'direct-subgroup', subgroups: sub, bias: true, activation: e.act }), { x, w, bias: b }, 'y', ref.length);
      expectWithin(y, ref, forwardBound(terms, conv2dRef(abs(x), abs(w), abs(b), e), ref, e.act), `forward ${label(e)}`);
      const dxRef = conv2dInputGradRef(dy, w, e);
      const dx = await run(conv2dInputGrad({ ...e, variant: 'direct-subgroup', subgroups: sub }), { dy, w }, 'dx', dxRef.length);
      expectWithin(dx, dxRef, conv2dInputGradRef(abs(dy), abs(w), e).map((m) => e.outChannels * e.kernel ** 2 * U * m), `input gradient ${label(e)}`);
    }
  });

  it('rejects bad geometry with the problem and the fix', () => {
    const base = { batch: 1, inChannels: 1, inHeight: 4, inWidth: 4, outChannels: 1, kernel: 3, stride: 1, padding: 0 };
    expect(() => conv2dForward({ ...base, kernel: 7 })).toThrow(/kernel 7 is larger than the padded input \(4 \+ 2\*0\).*more padding/);
    expect(() => conv2dForward({ ...base, padding: -1 })).toThrow(/padding=-1/);
    expect(() => conv2dWeightGrad({ ...base, inChannels: 0 })).toThrow(/conv2d_weight_grad: inChannels=0/);
    expect(() => conv2dInputGrad({ ...base, stride: 1.5 })).toThrow(/stride=1.5/);
    expect(() => conv2dForward({ ...base, activation: 'relu', gradActivation: 'tanh' })).toThrow(/exclusive/);
    expect(() => convBiasGrad({ batch: 2, channels: 3, pixels: 0 })).toThrow(/pixels=0/);
  });
});
