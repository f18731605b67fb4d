// Convolution kernels that read their batch from the output binding (`sizedByBinding`:
// shaders/conv.ts's forward and input gradient in every variant, conv-im2col.ts's layout
// passes, the GroupNorm and nearest-upsampling forwards), which let a model's forward graph of fewer rows than its training batch share the
// batch's pipelines. For each kernel: the source built for another batch is the same text (one
// pipeline serves both); dispatched with the grid of a batch 60 larger over this batch's buffers,
// it writes this batch's outputs, equal to the float64 reference, and nothing past them (the
// output's spare element stays NaN). The specialized forms are tested in conv.test.ts,
// conv-im2col.test.ts, group-norm.test.ts and upsample.test.ts.
import { describe, expect, it, vi } from 'vitest';
import { readFloats } from '../src/gpu/buffers';
import type { Activation } from '../shaders/activation';
import type { Kernel } from '../shaders/common';
import { conv2dForward, conv2dInputGrad, type ConvParams } from '../shaders/conv';
import { channelsToRows, col2im, im2col, rowsToChannels } from '../shaders/conv-im2col';
import { groupNormForward } from '../shaders/group-norm';
import { upsampleBackward, upsampleForward, type UpsampleBackwardParams } from '../shaders/upsample';
import { convOpKey, convOpsOf } from '../src/model/layers/conv-ops';
import { VAE } from '../src/model/vae';
import { expectClose, f32, testData } from './helpers/compare';
import { gpu, runKernels } from './helpers/gpu';
import { actDerivRef, actRef } from './reference/dense';
import { channelsToRowsRef, col2imRef, conv2dInputGradRef, conv2dRef, convOutRef, im2colRef, type ConvRefGeometry } from './reference/conv';
import { groupNormRef } from './reference/group-norm';
import { upsampleRef } from './reference/upsample';

type Case = ConvRefGeometry & { act: Activation };
const g = (batch: number, inChannels: number, inHeight: number, inWidth: number, outChannels: number, kernel: number, stride: number, padding: number, act: Activation): Case =>
  ({ batch, inChannels, inHeight, inWidth, outChannels, kernel, stride, padding, act });

// conv.test.ts's odd shapes: stride 1 and 2, padding 0 and 1, channels 1, 3 and 33, batches 1 and 3.
const CASES: Case[] = [
  g(1, 1, 7, 9, 3, 3, 1, 0, 'relu'),
  g(3, 3, 13, 13, 33, 4, 2, 1, 'leaky_relu'),
  g(3, 33, 7, 9, 1, 3, 2, 1, 'tanh'),
  g(3, 1, 9, 7, 33, 3, 2, 0, 'softplus'),
];
const label = (c: Case) => `N${c.batch} ${c.inChannels}x${c.inHeight}x${c.inWidth} -> ${c.outChannels} k${c.kernel} s${c.stride} p${c.padding} ${c.act}`;
const SPARE = 1;
const CLOSE = { atol: 2e-4, rtol: 1e-4 };

/**
 * `make(batch)` at this case's batch and at one 60 larger: the same source; the kernel run with the
 * larger batch's grid over `inputs` gives `count` outputs, the spare past them untouched.
 */
async function runAtLargerGrid(make: (batch: number) => Kernel, c: Case, inputs: Record<string, ArrayLike<number>>, out: string, count: number): Promise<Float32Array> {
  const own = make(c.batch), larger = make(c.batch + 60);
  expect(larger.code, `${own.name}: the source does not depend on the batch`).toBe(own.code);
  expect(larger.workgroups.reduce((a, b) => a * b)).toBeGreaterThan(own.workgroups.reduce((a, b) => a * b));
  const result = await runKernels([{ ...own, workgroups: larger.workgroups }], inputs, { [out]: count + SPARE });
  expect(Number.isNaN(result[out][count]), `${own.name}: the element past the batch stays NaN`).toBe(true);
  return result[out].subarray(0, count);
}

describe.each(['direct', 'direct-subgroup', 'implicit-gemm'] as const)('conv2d kernels sized by their output binding (%s)', (variant) => {
  it.each(CASES.map((c, i) => [label(c), c, i] as const))('%s: forward and input gradient', async (_, c, i) => {
    const sized: Partial<ConvParams> = { variant, subgroups: (await gpu()).device.features.has('subgroups'), sizedByBinding: true };
    const x = f32(testData(c.batch * c.inChannels * c.inHeight * c.inWidth, 500 + i, -2, 2));
    const w = f32(testData(c.outChannels * c.inChannels * c.kernel ** 2, 501 + i));
    const bias = f32(testData(c.outChannels, 502 + i));
    const ref = conv2dRef(x, w, bias, c).map((v) => actRef(c.act, v));
    const y = await runAtLargerGrid((batch) => conv2dForward({ ...c, batch, ...sized, bias: true, activation: c.act }), c, { x, w, bias }, 'y', ref.length);
    expectClose(y, ref, CLOSE, `forward ${label(c)}`);

    const dy = f32(testData(ref.length, 503 + i));
    const pre = testData(x.length, 504 + i, -3, 3);
    const below = f32(pre.map((v) => actRef(c.act, v)));
    const dxRef = conv2dInputGradRef(dy, w, c).map((v, e) => v * actDerivRef(c.act, pre[e]));
    const dx = await runAtLargerGrid((batch) => conv2dInputGrad({ ...c, batch, ...sized, gradActivation: c.act }), c, { dy, w, ...(c.act !== 'none' ? { below } : {}) }, 'dx', dxRef.length);
    expectClose(dx, dxRef, CLOSE, `input gradient ${label(c)}`);
  });
});

describe.each(CASES.map((c, i) => [label(c), c, i] as const))('im2col layout kernels sized by their output binding, %s', (_, c, i) => {
  const OHW = convOutRef(c.inHeight, c.kernel, c.stride, c.padding) * convOutRef(c.inWidth, c.kernel, c.stride, c.padding);
  const pixels = c.inHeight * c.inWidth, sized = { sizedByBinding: true };

  it('im2col and col2im', async () => {
    const x = f32(testData(c.batch * c.inChannels * pixels, 600 + i, -2, 2));
    const colRef = im2colRef(x, c);
    expectClose(await runAtLargerGrid((batch) => im2col({ ...c, batch, ...sized }), c, { x }, 'col', colRef.length), colRef, { atol: 0, rtol: 0 }, 'im2col');
    const dcol = f32(testData(colRef.length, 601 + i));
    const bias = f32(testData(c.inChannels, 602 + i));
    const dxRef = col2imRef(dcol, c).map((v, e) => actRef(c.act, v + bias[Math.floor(e / pixels) % c.inChannels]));
    const dx = await runAtLargerGrid((batch) => col2im({ ...c, batch, ...sized, bias: true, activation: c.act }), c, { dcol, bias }, 'dx', dxRef.length);
    expectClose(dx, dxRef, { atol: 1e-5, rtol: 1e-5 }, 'col2im');
    expect(OHW * c.inChannels * c.kernel ** 2 * c.batch).toBe(colRef.length);
  });

  it('channels to rows and back', async () => {
    const t = f32(testData(c.batch * c.inChannels * pixels, 700 + i));
    const rowsRef = channelsToRowsRef(t, c.batch, c.inChannels, pixels);
    const shape = (batch: number) => ({ batch, channels: c.inChannels, pixels, ...sized });
    expectClose(await runAtLargerGrid((batch) => channelsToRows(shape(batch)), c, { t }, 'rows', rowsRef.length), rowsRef, { atol: 0, rtol: 0 }, 'channels_to_rows');
    const back = await runAtLargerGrid((batch) => rowsToChannels(shape(batch)), c, { rows: f32(rowsRef) }, 't', t.length);
    expectClose(back, t, { atol: 0, rtol: 0 }, 'rows_to_channels');
  });
});

describe('GroupNorm and upsampling forwards sized by their output binding', () => {
  it('GroupNorm: y and the statistics of this batch, with the grid of a larger one', async () => {
    const shape = { batch: 3, channels: 6, pixels: 35, groups: 3 };
    const make = (batch: number) => groupNormForward({ ...shape, batch, activation: 'tanh', sizedByBinding: true });
    const own = make(3), larger = make(63);
    expect(larger.code).toBe(own.code);
    const x = f32(testData(3 * 6 * 35, 800, -2, 2)), gamma = f32(testData(6, 801)), beta = f32(testData(6, 802));
    const ref = groupNormRef(x, gamma, beta, shape, 'tanh');
    const out = await runKernels([{ ...own, workgroups: larger.workgroups }], { x, gamma, beta }, { y: x.length + SPARE, stats: 2 * 9 + SPARE });
    expectClose(out.y.subarray(0, x.length), ref.y, { atol: 1e-5, rtol: 1e-4 }, 'group_norm_forward y');
    expectClose(out.stats.subarray(0, 18), Array.from({ length: 18 }, (_, k) => (k % 2 ? ref.rstd : ref.mean)[k >> 1]), { atol: 1e-5, rtol: 1e-4 }, 'group_norm_forward stats');
    expect([out.y[x.length], out.stats[18]].every(Number.isNaN), 'nothing written past the batch').toBe(true);
  });

  it('nearest upsampling: this batch\'s blocks, with the grid of a larger one; its backward refuses the option', async () => {
    const c = { ...CASES[1], act: 'none' as const };
    const shape = { channels: 5, height: 7, width: 9, scale: 2 };
    const x = f32(testData(c.batch * 5 * 7 * 9, 900));
    const ref = upsampleRef(x, { ...shape, batch: c.batch });
    const y = await runAtLargerGrid((batch) => upsampleForward({ ...shape, batch, sizedByBinding: true }), c, { x }, 'y', ref.length);
    expectClose(y, ref, { atol: 0, rtol: 0 }, 'upsample_forward');
    expect(() => upsampleBackward({ ...shape, batch: 1, sizedByBinding: true } as UpsampleBackwardParams)).toThrow(/upsample_backward: sizedByBinding is for the forward/);
  });
});

describe('sizing by the output binding', () => {
  it('refuses examples of one f16 value, which a binding rounded up to 4 bytes cannot count', () => {
    const one = { batch: 9, inChannels: 1, inHeight: 3, inWidth: 3, outChannels: 1, kernel: 3, stride: 1, padding: 0 };
    expect(() => conv2dForward({ ...one, variant: 'direct', f16: ['x', 'y'], sizedByBinding: true })).toThrow(/conv2d \(direct\): sizedByBinding cannot count examples of one f16 value.*store y as f32/);
    expect(() => conv2dForward({ ...one, variant: 'direct-subgroup', f16: ['y'], sizedByBinding: true })).toThrow(/cannot count examples of one f16 value/);
    expect(() => conv2dForward({ ...one, variant: 'implicit-gemm', f16: ['y'], sizedByBinding: true })).toThrow(/conv2d \(implicit-gemm\): sizedByBinding cannot count/);
    expect(conv2dForward({ ...one, variant: 'direct', f16: ['y'] }).code).toMatch(/enable f16/); // unsized, it builds
    expect(() => conv2dForward({ ...one, outChannels: 2, variant: 'direct', f16: ['y'], sizedByBinding: true })).not.toThrow();
  });

  it('leaves the specialized kernels as they were: their source names the batch', () => {
    const c = CASES[1];
    expect(conv2dForward({ ...c, variant: 'direct' }).code).not.toBe(conv2dForward({ ...c, batch: 7, variant: 'direct' }).code);
    expect(conv2dInputGrad({ ...c, variant: 'implicit-gemm' }).code).not.toBe(conv2dInputGrad({ ...c, batch: 7, variant: 'implicit-gemm' }).code);
    expect(im2col(c).code).not.toBe(im2col({ ...c, batch: 7 }).code);
  });
});

describe('a forward graph of fewer rows than the batch', () => {
  it('runs the convolution methods tuned at the batch, so it needs no pipeline the batch did not', async () => {
    const { device } = await gpu();
    const config = { arch: 'conv' as const, inputDim: 64, imageShape: [8, 8] as [number, number], channels: [4, 8], latent: 2 };
    const probe = await VAE.create(config, { device, batch: 16, seed: 1, prepareTraining: false });
    const ops = convOpsOf((await probe.plan('reconstruct', 16)).graph);
    probe.destroy();
    expect(ops.length).toBeGreaterThan(0);
    // Tuned to `direct` at the batch, where a software adapter's default is im2col.
    const convTuned = Object.fromEntries(ops.map((op) => [convOpKey(op), 'direct' as const]));
    const vae = await VAE.create(config, { device, batch: 16, seed: 1, prepareTraining: false, kernels: { convTuned } });
    const methods = async (rows: number) => (await vae.plan('reconstruct', rows)).graph.kernels.map((k) => k.name).filter((n) => /^(conv2d|im2col|col2im)/.test(n)).sort();
    const atBatch = await methods(16);
    expect(atBatch.every((n) => n.includes('_direct')), atBatch.join(', ')).toBe(true);
    expect(await methods(5)).toEqual(atBatch);
    vae.destroy();
  });

  it('runs at its own size in a GPU\'s kernels too (implicit GEMMs, generic tiled matmuls), compiling nothing', async () => {
    const { device } = await gpu();
    const { pipelineCacheFor } = await import('../src/gpu/pipelines');
    const cache = pipelineCacheFor(device);
    const config = { arch: 'conv' as const, inputDim: 64, imageShape: [8, 8] as [number, number], channels: [4, 8], latent: 2 };
    const kernels = { conv: 'implicit-gemm' as const, matmul: 'tiled-vec4' as const, matmulGeneric: true };
    const vae = await VAE.create(config, { device, batch: 16, seed: 3, prepareTraining: false, kernels });
    const x = Float32Array.from({ length: 16 * 64 }, (_, i) => (Math.sin(i * 0.37) + 1) / 2);
    const padded = (await vae.reconstruct(x)).subarray(0, 5 * 64);
    const gemms = (await vae.plan('reconstruct', 16)).graph.kernels.map((k) => k.name).filter((n) => n.startsWith('conv2d'));
    expect(gemms.length).toBeGreaterThan(0);
    expect(gemms.every((n) => n.includes('implicit_gemm') && n.endsWith('_any_batch')), gemms.join(', ')).toBe(true);
    const compiled = cache.size;
    const planned = vi.spyOn(vae, 'plan');
    const own = await readFloats(device, await vae.reconstructToBuffer(x.subarray(0, 5 * 64)));
    expect(planned.mock.calls.map(([kind, rows]) => [kind, rows])).toEqual([['reconstruct', 5]]);
    expect(cache.size).toBe(compiled);
    expectClose(own, padded, { atol: 1e-6, rtol: 1e-5 }, 'reconstructed in a plan of 5 rows against the first 5 of 16');
    vae.destroy();
  });
});
