// The layout kernels of the im2col convolution method (shaders/conv-im2col.ts) against float64
// references (tests/reference/conv.ts): im2col (a gather, exact), col2im (its adjoint, written
// in the reference as a scatter-add) with each epilogue, and the NCHW <-> rows transposes with
// each epilogue. Shapes are conv.test.ts's odd ones: 7x9, 9x7, 13x13, stride 1 and 2, padding 0
// and 1, kernels 3 and 4, channels 1, 3 and 33. Outputs start NaN-filled with a spare element
// past the end. The composed convolution (these passes around the matmuls) is checked layer by
// layer, gradients included, in conv-layers.test.ts and in the whole-model gradient check.
import { describe, expect, it } from 'vitest';
import type { Activation } from '../shaders/activation';
import type { Kernel } from '../shaders/common';
import { channelsToRows, col2im, im2col, rowsToChannels } from '../shaders/conv-im2col';
import { expectClose, f32, testData } from './helpers/compare';
import { runKernels } from './helpers/gpu';
import { channelsToRowsRef, col2imRef, convOutRef, im2colRef, type ConvRefGeometry } from './reference/conv';
import { actDerivRef, actRef } from './reference/dense';

type Case = ConvRefGeometry & { act: Activation };
const g = (batch: number, inChannels: number, inHeight: number, inWidth: number, kernel: number, stride: number, padding: number, act: Activation): Case =>
  ({ batch, inChannels, inHeight, inWidth, outChannels: 1, kernel, stride, padding, act });

const CASES: Case[] = [
  g(1, 1, 7, 9, 3, 1, 0, 'relu'),
  g(3, 3, 13, 13, 4, 2, 1, 'leaky_relu'),
  g(3, 33, 7, 9, 3, 2, 1, 'tanh'),
  g(1, 3, 13, 13, 4, 1, 1, 'sigmoid'),
  g(3, 1, 9, 7, 3, 2, 0, 'softplus'),
  g(1, 33, 13, 13, 4, 2, 0, 'none'),
];
const label = (c: Case) => `N${c.batch} ${c.inChannels}x${c.inHeight}x${c.inWidth} k${c.kernel} s${c.stride} p${c.padding} ${c.act}`;

const SPARE = 1;
const EXACT = { atol: 0, rtol: 0 };

async function run(k: Kernel, inputs: Record<string, ArrayLike<number>>, out: string, count: number): Promise<Float32Array> {
  const result = await runKernels([k], inputs, { [out]: count + SPARE });
  expect(Number.isNaN(result[out][count]), `${k.name}: the element past the end stays NaN`).toBe(true);
  return result[out].subarray(0, count);
}

describe.each(CASES.map((c, i) => [label(c), c, i] as const))('im2col layout kernels, %s', (_, c, i) => {
  const OHW = convOutRef(c.inHeight, c.kernel, c.stride, c.padding) * convOutRef(c.inWidth, c.kernel, c.stride, c.padding);
  const pixels = c.inHeight * c.inWidth;
  const colCount = c.batch * OHW * c.inChannels * c.kernel ** 2;

  it('im2col copies every tap exactly, zeros in the padding', async () => {
    const x = f32(testData(c.batch * c.inChannels * pixels, 100 + i, -2, 2));
    const ref = im2colRef(x, c);
    expect(ref.length).toBe(colCount);
    expectClose(await run(im2col(c), { x }, 'col', ref.length), ref, EXACT, `im2col ${label(c)}`);
  });

  it('col2im sums the entries that read each pixel, then bias and activation', async () => {
    const dcol = f32(testData(colCount, 200 + i));
    const bias = f32(testData(c.inChannels, 201 + i));
    const ref = col2imRef(dcol, c).map((v, e) => actRef(c.act, v + bias[Math.floor(e / pixels) % c.inChannels]));
    const k = col2im({ ...c, bias: true, activation: c.act });
    expectClose(await run(k, { dcol, bias }, 'dx', ref.length), ref, { atol: 1e-5, rtol: 1e-5 }, k.name);
  });

  it("col2im with act' of the layer below", async () => {
    const dcol = f32(testData(colCount, 300 + i));
    const pre = testData(c.batch * c.inChannels * pixels, 301 + i, -3, 3);
    const below = f32(pre.map((v) => actRef(c.act, v)));
    const ref = col2imRef(dcol, c).map((v, e) => v * actDerivRef(c.act, pre[e]));
    const k = col2im({ ...c, gradActivation: c.act });
    expectClose(await run(k, { dcol, ...(c.act !== 'none' ? { below } : {}) }, 'dx', ref.length), ref, { atol: 1e-5, rtol: 1e-4 }, k.name);
  });

  it('channels to rows and back, exactly; back with bias and activation, or with act\'', async () => {
    const shape = { batch: c.batch, channels: c.inChannels, pixels };
    const t = f32(testData(c.batch * c.inChannels * pixels, 400 + i));
    const rowsRef = channelsToRowsRef(t, c.batch, c.inChannels, pixels);
    const rows = await run(channelsToRows(shape), { t }, 'rows', rowsRef.length);
    expectClose(rows, rowsRef, EXACT, 'channels_to_rows');
    expectClose(await run(rowsToChannels(shape), { rows: f32(rowsRef) }, 't', t.length), t, EXACT, 'rows_to_channels');
    const bias = f32(testData(c.inChannels, 401 + i));
    const withAct = t.map((v, e) => actRef(c.act, v + bias[Math.floor(e / pixels) % c.inChannels]));
    expectClose(await run(rowsToChannels({ ...shape, bias: true, activation: c.act }), { rows: f32(rowsRef), bias }, 't', t.length), withAct, { atol: 1e-6, rtol: 1e-5 }, 'rows_to_channels + bias, act');
    const pre = testData(t.length, 402 + i, -3, 3);
    const below = f32(pre.map((v) => actRef(c.act, v)));
    const dact = t.map((v, e) => v * actDerivRef(c.act, pre[e]));
    expectClose(await run(rowsToChannels({ ...shape, gradActivation: c.act }), { rows: f32(rowsRef), ...(c.act !== 'none' ? { below } : {}) }, 't', t.length), dact, { atol: 1e-6, rtol: 1e-5 }, "rows_to_channels * act'");
  });
});
