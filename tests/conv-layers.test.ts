// The convolution layers as modules (src/model/layers/conv2d.ts, conv-transpose2d.ts, reshape.ts):
// their shape rules and errors, their parameters (PyTorch names, layouts and default init bounds),
// and a gradient check of a whole stack of them on the GPU, in every kernel variant:
//   [27*... flat] -reshape-> conv2d(tanh) -> conv2d(softplus) -flatten-> dense(sigmoid)
//   -reshape-> conv-transpose2d(tanh, output padding) -> conv-transpose2d(none)
// with L = <r, output>. The gradients the modules record (every parameter tensor and the input)
// are compared with central differences of a float64 forward written from tests/reference/conv.ts
// and tests/reference/dense.ts, so act' folding across reshape views and across the dense/conv
// boundary, the transposed layers' weight layout and the zero-cost views are all exercised.
import { describe, expect, it } from 'vitest';
import type { Activation } from '../shaders/activation';
import { CONV_METHODS, type ConvMethod } from '../src/model/layers/conv-ops';
import { buildModel, paramLayout } from '../src/model/build';
import { resolveConfig } from '../src/model/config';
import { buildLayers, type LayerDecl } from '../src/model/layers';
import { GroupNorm } from '../src/model/layers/group-norm';
import type { KernelChoice } from '../src/model/kernel-choice';
import { initialParams, layoutOf } from '../src/model/params';
import { expectClose, testData } from './helpers/compare';
import { gpu, TEST_HOST } from './helpers/gpu';
import { expectStackGradients, runLayerStack } from './helpers/layer-stack';
import { conv2dRef, convTranspose2dRef } from './reference/conv';
import { actRef } from './reference/dense';

describe('conv layer shapes and parameters', () => {
  const build = (decls: LayerDecl[], input: number[]) => buildLayers(decls, input);

  it('28x28 down by stride-2 convolutions and back up by transposed ones', () => {
    const enc = build([
      { type: 'reshape', name: 'encoder.input', shape: [1, 28, 28] },
      { type: 'conv2d', name: 'encoder.layers.0', out: 32, kernel: 4, stride: 2, padding: 1, activation: 'relu' },
      { type: 'conv2d', name: 'encoder.layers.1', out: 64, kernel: 4, stride: 2, padding: 1, activation: 'relu' },
      { type: 'flatten', name: 'encoder.flatten' },
      { type: 'dense', name: 'encoder.head', out: 20, activation: 'none' },
    ], [784]);
    expect(enc.output).toEqual([20]);
    expect(enc.modules[2].outputShape([32, 14, 14])).toEqual([64, 7, 7]);
    const dec = build([
      { type: 'dense', name: 'decoder.layers.0', out: 64 * 7 * 7, activation: 'relu' },
      { type: 'reshape', name: 'decoder.unflatten', shape: [64, 7, 7] },
      { type: 'conv-transpose2d', name: 'decoder.layers.1', out: 32, kernel: 4, stride: 2, padding: 1, activation: 'relu' },
      { type: 'conv-transpose2d', name: 'decoder.out', out: 1, kernel: 3, stride: 2, padding: 1, outputPadding: 1, activation: 'none' },
      { type: 'flatten', name: 'decoder.flatten' },
    ], [10]);
    expect(dec.output).toEqual([784]);
    expect(dec.modules[2].outputShape([64, 7, 7])).toEqual([32, 14, 14]);
  });

  it('parameters: PyTorch names, layouts and default init bounds', () => {
    const { modules } = build([
      { type: 'conv2d', name: 'encoder.layers.0', out: 8, kernel: 3, padding: 1, activation: 'relu' },
      { type: 'conv-transpose2d', name: 'decoder.layers.0', out: 5, kernel: 4, stride: 2, padding: 1, activation: 'relu' },
      { type: 'flatten', name: 'f' },
    ], [3, 6, 6]);
    const specs = modules.flatMap((m) => m.params());
    expect(specs.map((s) => [s.name, s.shape])).toEqual([
      ['encoder.layers.0.weight', [8, 3, 3, 3]], ['encoder.layers.0.bias', [8]],
      ['decoder.layers.0.weight', [8, 5, 4, 4]], ['decoder.layers.0.bias', [5]],
    ]);
    // nn.Conv2d: fan_in = in * k * k; nn.ConvTranspose2d: fan_in = weight.size(1) * k * k = out * k * k.
    expect(specs.map((s) => (s.init.kind === 'uniform' ? s.init.bound : NaN))).toEqual([1 / Math.sqrt(27), 1 / Math.sqrt(27), 1 / Math.sqrt(80), 1 / Math.sqrt(80)]);
    const init = initialParams(layoutOf(specs), 3);
    expect(init.some((v) => v !== 0) && init.every((v) => Math.abs(v) <= 1 / Math.sqrt(27))).toBe(true);
  });

  it("init 'kaiming': the ReLU gain on PyTorch's fan-in, the conv architecture's default; biases as PyTorch's", () => {
    const { modules } = build([
      { type: 'conv2d', name: 'e', out: 8, kernel: 3, padding: 1, activation: 'relu', init: 'kaiming' },
      { type: 'conv-transpose2d', name: 'd', out: 5, kernel: 4, stride: 2, padding: 1, activation: 'relu', init: 'kaiming' },
    ], [3, 6, 6]);
    const bounds = modules.flatMap((m) => m.params()).map((s) => (s.init.kind === 'uniform' ? s.init.bound : NaN));
    const near = (got: number[], want: number[]) => { expect(got.length).toBe(want.length); got.forEach((g, i) => expect(g).toBeCloseTo(want[i], 12)); };
    near(bounds, [Math.sqrt(6 / 27), 1 / Math.sqrt(27), Math.sqrt(6 / 80), 1 / Math.sqrt(80)]);
    expect(resolveConfig({ arch: 'conv' }).init).toBe('kaiming');
    expect(resolveConfig({ arch: 'conv', init: 'pytorch' }).init).toBe('pytorch');
    expect(resolveConfig({}).init).toBe('pytorch');
    expect(() => resolveConfig({ init: 'kaiming' })).toThrow(/init kaiming sets the conv architecture's convolution weights/);
    const layout = paramLayout(resolveConfig({ arch: 'conv', inputDim: 256, imageShape: [16, 16], channels: [4, 8] }));
    // Hidden convolutions take the ReLU gain; decoder.out (no activation after it) PyTorch's default.
    const convBounds = (config: Parameters<typeof resolveConfig>[0]) => paramLayout(resolveConfig(config)).tensors
      .filter((t) => t.name.endsWith('.weight') && t.shape.length === 4).map((t) => [t.name, t.init.kind === 'uniform' ? t.init.bound : NaN] as const);
    const transposed = convBounds({ arch: 'conv', inputDim: 256, imageShape: [16, 16], channels: [4, 8] });
    expect(transposed.map(([name]) => name)).toEqual(['encoder.layers.0.weight', 'encoder.layers.1.weight', 'decoder.layers.0.weight', 'decoder.out.weight']);
    near(transposed.map(([, bound]) => bound), [Math.sqrt(6 / 16), Math.sqrt(6 / 64), Math.sqrt(6 / 64), 1 / Math.sqrt(16)]);
    const nearest = convBounds({ arch: 'conv', inputDim: 768, imageShape: [16, 16], imageChannels: 3, channels: [4, 8], upsample: 'nearest', norm: 'group', sigma: 'predicted', likelihood: 'gaussian' });
    expect(nearest.map(([name]) => name)).toEqual(['encoder.layers.0.weight', 'encoder.layers.1.weight', 'decoder.layers.0.weight', 'decoder.out.weight']);
    near(nearest.map(([, bound]) => bound), [Math.sqrt(6 / 48), Math.sqrt(6 / 64), Math.sqrt(6 / 72), 1 / Math.sqrt(36)]);
  });

  it('GroupNorm: PyTorch names, weight 1 and bias 0, and the conv model places one after each hidden convolution', () => {
    const { modules, output } = build([{ type: 'group-norm', name: 'encoder.norms.0', groups: 4, activation: 'relu' }], [12, 5, 3]);
    expect(output).toEqual([12, 5, 3]);
    expect(modules[0].params()).toEqual([
      { name: 'encoder.norms.0.weight', shape: [12], init: { kind: 'constant', value: 1 } },
      { name: 'encoder.norms.0.bias', shape: [12], init: { kind: 'zeros' } },
    ]);
    expect(() => build([{ type: 'group-norm', name: 'n', groups: 5, activation: 'relu' }], [12, 2, 2])).toThrow(/group-norm n: 5 groups must divide the 12 channels; choose a divisor such as 4/);
    const names = paramLayout(resolveConfig({ arch: 'conv', inputDim: 3 * 16 * 16, imageShape: [16, 16], imageChannels: 3, channels: [6, 12], norm: 'group', normGroups: 4 }))
      .tensors.map((t) => `${t.name} [${t.shape}]`);
    expect(names.filter((n) => n.includes('norms'))).toEqual([
      'encoder.norms.0.weight [6]', 'encoder.norms.0.bias [6]', 'encoder.norms.1.weight [12]', 'encoder.norms.1.bias [12]',
      'decoder.norms.0.weight [6]', 'decoder.norms.0.bias [6]',
    ]);
    const groups = buildModel(resolveConfig({ arch: 'conv', inputDim: 3 * 16 * 16, imageShape: [16, 16], imageChannels: 3, channels: [6, 12], norm: 'group', normGroups: 4 }))
      .encoder.filter((m): m is GroupNorm => m instanceof GroupNorm).map((m) => m.spec.groups);
    expect(groups).toEqual([3, 4]); // 6 channels: the largest divisor of 6 at most 4
    expect(() => resolveConfig({ norm: 'group' })).toThrow(/the mlp architecture has none/);
  });

  it('refuses what does not work out, saying what to change', () => {
    const conv = (input: number[], spec: Partial<{ kernel: number; stride: number; padding: number }>) =>
      build([{ type: 'conv2d', name: 'e.0', out: 4, kernel: 3, activation: 'relu', ...spec }], input);
    expect(() => conv([784], {})).toThrow(/conv2d e\.0: expects each example as \[channels, height, width\], got \[784\]; put a reshape layer/);
    expect(() => conv([1, 28, 28], { kernel: 3, stride: 2, padding: 0 })).toThrow(/input 28x28 with kernel 3, stride 2, padding 0 leaves input rows 27\.\.27 unread.*padding 1/);
    expect(() => conv([1, 2, 2], { kernel: 5 })).toThrow(/kernel is larger than the padded input/);
    expect(conv([1, 7, 7], { kernel: 4, stride: 2, padding: 1 }).output).toEqual([4, 3, 3]);
    expect(() => build([{ type: 'conv-transpose2d', name: 'd.0', out: 1, kernel: 3, stride: 2, outputPadding: 2, activation: 'none' }], [4, 7, 7])).toThrow(/outputPadding 2 must be smaller than the stride 2/);
    expect(() => build([{ type: 'conv-transpose2d', name: 'd.0', out: 1, kernel: 1, padding: 1, activation: 'none' }], [4, 1, 1])).toThrow(/empty -1x-1 output; reduce the padding/);
    expect(() => build([{ type: 'reshape', name: 'r', shape: [2, 14, 14] }], [784])).toThrow(/reshape r: cannot view \[784\] \(784 values per example\) as \[2,14,14\] \(392\)/);
  });

  it('a picture the conv architecture cannot halve as asked is refused with advice that works', () => {
    const conv = (rows: number, cols: number, channels: number[] = []) => () => resolveConfig({ arch: 'conv', inputDim: rows * cols, imageShape: [rows, cols], channels });
    // An odd side: no count of stride-2 convolutions works, so none is suggested.
    for (const [rows, cols, channels] of [[33, 33, [8]], [1, 1, []], [2, 7, []], [2, 7, [1]]] as const) {
      expect(conv(rows, cols, [...channels])).toThrow(new RegExp(`${rows}x${cols} has an odd side, which cannot be halved; use arch mlp, or images with even sides`));
    }
    // Too many halvings: the advice keeps the caller's widths, as many as the sides allow.
    expect(conv(12, 20, [8, 16, 32])).toThrow(/3 stride-2 convolutions need image sides divisible by 8; 12x20 is not: give at most 2 channels \(channels: \[8, 16\]; --channels 8,16 in the CLI\)/);
    // Too small for the default widths, yet halvable: the suggested widths are accepted.
    expect(conv(2, 2)).toThrow(/2x2 is too small for one halving of them; give the widths yourself, one per halving, at most 1 \(channels: \[32\]; --channels 32 in the CLI\)/);
    expect(conv(4, 4)).toThrow(/at most 2 \(channels: \[32, 64\]; --channels 32,64 in the CLI\)/);
    expect(conv(2, 2, [32])().channels).toEqual([32]);
    expect(conv(4, 4, [32, 64])().channels).toEqual([32, 64]);
    expect(conv(12, 20, [8, 16])().channels).toEqual([8, 16]);
  });
});

// ---- the stack, on the GPU ----

const ROWS = 3;
const IN = [3, 7, 9];
const STACK: LayerDecl[] = [
  { type: 'reshape', name: 's.input', shape: IN },
  { type: 'conv2d', name: 's.conv0', out: 4, kernel: 3, stride: 2, padding: 1, activation: 'tanh' },
  { type: 'conv2d', name: 's.conv1', out: 5, kernel: 4, stride: 1, padding: 1, activation: 'softplus' },
  { type: 'flatten', name: 's.flatten' },
  { type: 'dense', name: 's.dense', out: 24, activation: 'sigmoid' },
  { type: 'reshape', name: 's.unflatten', shape: [6, 2, 2] },
  { type: 'conv-transpose2d', name: 's.up0', out: 3, kernel: 3, stride: 2, padding: 1, outputPadding: 1, activation: 'tanh' },
  { type: 'conv-transpose2d', name: 's.up1', out: 2, kernel: 4, activation: 'none' },
];

/** The stack's forward in float64, from the references, per the declarations above. */
function stackRef(p: Map<string, Float64Array>, x: Float64Array): Float64Array {
  const act = (a: Activation, v: Float64Array) => v.map((e) => actRef(a, e));
  const conv = (name: string, v: Float64Array, c: number, h: number, w: number, out: number, k: number, s: number, pad: number) =>
    conv2dRef(v, p.get(`${name}.weight`)!, p.get(`${name}.bias`)!, { batch: ROWS, inChannels: c, inHeight: h, inWidth: w, outChannels: out, kernel: k, stride: s, padding: pad });
  const convT = (name: string, v: Float64Array, c: number, h: number, w: number, out: number, k: number, s: number, pad: number, op: number) =>
    convTranspose2dRef(v, p.get(`${name}.weight`)!, p.get(`${name}.bias`)!, { batch: ROWS, inChannels: c, inHeight: h, inWidth: w, outChannels: out, kernel: k, stride: s, padding: pad, outputPadding: op });
  let v = act('tanh', conv('s.conv0', x, 3, 7, 9, 4, 3, 2, 1)); // [4, 4, 5]
  v = act('softplus', conv('s.conv1', v, 4, 4, 5, 5, 4, 1, 1)); // [5, 3, 4] = 60 features
  const w = p.get('s.dense.weight')!, b = p.get('s.dense.bias')!;
  const d = new Float64Array(ROWS * 24);
  for (let r = 0; r < ROWS; r++) for (let o = 0; o < 24; o++) {
    let s = b[o];
    for (let i = 0; i < 60; i++) s += w[o * 60 + i] * v[r * 60 + i];
    d[r * 24 + o] = actRef('sigmoid', s);
  }
  v = act('tanh', convT('s.up0', d, 6, 2, 2, 3, 3, 2, 1, 1)); // [3, 4, 4]
  return convT('s.up1', v, 3, 4, 4, 2, 4, 1, 0, 0); // [2, 7, 7]
}

describe.each(CONV_METHODS)('gradient of a conv / dense / transposed-conv stack (%s)', (variant) => {
  it('every parameter tensor and the input against float64 finite differences', { timeout: 900_000 }, async () => {
    const { modules, output } = buildLayers(STACK, [IN.reduce((a, b) => a * b, 1)]);
    expect(output).toEqual([2, 7, 7]);
    const layout = layoutOf(modules.flatMap((m) => m.params()));
    const flat = initialParams(layout, 5).map((v) => v * 1.5);
    const x = Float32Array.from(testData(ROWS * 189, 6, -1, 1));
    const r = Float32Array.from(testData(ROWS * 98, 7, -1, 1));
    // The subgroup variant where the device has subgroups (Dawn, Chromium); Deno's wgpu runs its fallback.
    const subgroups = variant === 'direct-subgroup' && (await gpu()).device.features.has('subgroups');
    const kernels: KernelChoice = { matmul: 'register', conv: variant, likelihoodThreadsPerRow: 1, subgroups };
    const got = await runLayerStack(kernels, modules, layout, flat, ROWS, x, r);
    if (subgroups) expect(got.kernelNames.filter((n) => n.includes('direct_subgroup')).length, 'the subgroup kernels ran').toBeGreaterThan(0);
    // 5 forward dispatches (the reshapes and flatten record none); backward: dW, db and dx for
    // each of the 5 layers with weights (the last one's act' folded nowhere: it has none).
    // im2col: each conv-type forward is 3 dispatches (layout pass, matmul, layout pass), and each
    // conv-type backward 5 (a layout pass of dPre shared by dW and dx, two matmuls, the bias sum
    // and the pass back), the layout of the forward input being shared with the forward; less
    // the 4 passes back that the products writing channels-first replace (the two convolutions'
    // forwards, the two transposed convolutions' input gradients).
    expect(got.dispatches).toBe(variant === 'im2col' ? (4 * 3 + 1) + (4 * 5 + 3) - 4 : 5 + 5 * 3);

    expectStackGradients(got, layout, flat, x, r, stackRef);
  });
});

// How a model records its split sums is the same TypeScript in every host, and the split kernels
// themselves are checked in all three (conv.test.ts, matmul.test.ts): these whole-model runs,
// about 150 s of pipelines in Chromium, stay in Node.
describe.runIf(TEST_HOST === 'node')('split weight gradients inside a model', () => {
  it('a conv VAE whose end layers split their weight-gradient sums trains as the unsplit methods do', { timeout: 900_000 }, async () => {
    const { device } = await gpu();
    // 1x32x32 pictures at batch 4: the first conv (1 -> 4) and the last transposed conv (4 -> 1)
    // sum 4 x 16 x 16 = 1,024 positions into 64 weights, which the implicit GEMM cuts in two.
    const config = { arch: 'conv' as const, inputDim: 1024, imageShape: [32, 32] as [number, number], channels: [4, 8], latent: 3 };
    const x = Float32Array.from({ length: 4 * 1024 }, (_, i) => ((i * 7919) % 256) / 255);
    const run = async (conv: ConvMethod) => {
      const { VAE } = await import('../src/model/vae');
      const vae = await VAE.create(config, { device, batch: 4, seed: 11, kernels: { conv } });
      const names = (await vae.plan('train', 4)).graph.kernels.map((k) => k.name);
      for (let i = 0; i < 3; i++) await vae.trainStep(x);
      const losses = (await vae.readLosses()).map((l) => l.loss);
      const params = await vae.flatParameters();
      vae.destroy();
      return { names, losses, params };
    };
    const split = await run('implicit-gemm');
    expect(split.names.filter((n) => n.startsWith('conv2d_weight_grad_split')).length).toBe(2);
    expect(split.names.filter((n) => n === 'conv2d_weight_grad_sum').length).toBe(2);
    const whole = await run('direct');
    expect(whole.names.some((n) => n.startsWith('conv2d_weight_grad_split') || n === 'conv2d_weight_grad_sum')).toBe(false);
    expectClose(split.losses, whole.losses, { atol: 0, rtol: 1e-5 }, 'losses of 3 steps');
    // After 3 Adam steps the parameters agree to float32 rounding of differently ordered sums.
    expectClose(split.params, whole.params, { atol: 1e-5, rtol: 1e-4 }, 'parameters after 3 steps');
  });
});

describe.runIf(TEST_HOST === 'node')('split matmul sums inside a model', () => {
  const train = async (config: Record<string, unknown>, batch: number, kernels: Record<string, string | boolean>) => {
    const { device } = await gpu();
    const { VAE } = await import('../src/model/vae');
    const dim = config.inputDim as number;
    const x = Float32Array.from({ length: batch * dim }, (_, i) => ((i * 7919) % 256) / 255);
    const vae = await VAE.create(config, { device, batch, seed: 5, kernels });
    const names = (await vae.plan('train', batch)).graph.kernels.map((k) => k.name);
    for (let i = 0; i < 2; i++) await vae.trainStep(x);
    const losses = (await vae.readLosses()).map((l) => l.loss);
    const params = await vae.flatParameters();
    vae.destroy();
    return { names, losses, params };
  };
  const splitNames = (names: string[]) => names.filter((n) => n.endsWith('_splitk') || n === 'matmul_slice_sum');

  // An MLP at batch 1024 on specialized tiled matmuls, whose weight and bias gradients split over
  // the batch, trains as the register kernels do: tests/gpu-defaults.test.ts (a GPU's defaults).

  it('a learned per-pixel Gaussian scale splits its gradient\'s column sum over the batch and trains as the whole sum does', { timeout: 900_000 }, async () => {
    const config = { inputDim: 64, hidden: [32], latent: 3, likelihood: 'gaussian', sigma: 'learned-pixel' };
    const split = await train(config, 1024, { matmul: 'register', splitBatchSums: true });
    // The four dense layers' bias gradients and the scale's.
    expect(split.names.filter((n) => n === 'column_sum_split').length).toBe(5);
    const whole = await train(config, 1024, { matmul: 'register', splitBatchSums: false });
    expect(whole.names.filter((n) => n === 'column_sum_split').length).toBe(0);
    expectClose(split.losses, whole.losses, { atol: 0, rtol: 1e-5 }, 'losses of 2 steps');
    expectClose(split.params, whole.params, { atol: 1e-5, rtol: 1e-4 }, 'parameters after 2 steps');
  });

  it('a transposed conv to one channel splits its bias gradient\'s sum over the batch and trains as the whole sum does', { timeout: 900_000 }, async () => {
    // The decoder's last layer: 1 channel of 8 x 32 x 32 = 8,192 values, 2 slices of 4,096.
    const config = { arch: 'conv', inputDim: 1024, imageShape: [32, 32], channels: [4, 8], latent: 3 };
    const split = await train(config, 8, { conv: 'direct', matmul: 'register', splitBatchSums: true });
    expect(split.names.filter((n) => n === 'conv_bias_grad_split').length).toBe(1);
    expect(split.names.filter((n) => n === 'conv_bias_grad_sum').length).toBe(1);
    const whole = await train(config, 8, { conv: 'direct', matmul: 'register', splitBatchSums: false });
    expect(whole.names.filter((n) => n === 'conv_bias_grad_split' || n === 'conv_bias_grad_sum').length).toBe(0);
    expectClose(split.losses, whole.losses, { atol: 0, rtol: 1e-5 }, 'losses of 2 steps');
    expectClose(split.params, whole.params, { atol: 1e-5, rtol: 1e-4 }, 'parameters after 2 steps');
  });

  it("on a CPU's register kernels, an im2col layer's weight gradient of one block splits its K and trains as direct convolutions do", { timeout: 900_000 }, async () => {
    // The 1-channel layers' im2col weight gradients (4 x 16 and 16 x 4 values) are one block over
    // K = 64 x 256 pixels: split into slices so that each core gets some (REGISTER_SPLIT).
    const config = { arch: 'conv', inputDim: 1024, imageShape: [32, 32], channels: [4, 8], latent: 3 };
    const split = await train(config, 64, { conv: 'im2col', matmul: 'register' });
    expect(split.names.filter((n) => n.startsWith('matmul_tn_register') && n.endsWith('_splitk')).length, split.names.join(', ')).toBeGreaterThanOrEqual(1);
    const whole = await train(config, 64, { conv: 'direct', matmul: 'register' });
    expect(splitNames(whole.names)).toEqual([]);
    expectClose(split.losses, whole.losses, { atol: 0, rtol: 1e-5 }, 'losses of 2 steps');
    expectClose(split.params, whole.params, { atol: 1e-5, rtol: 1e-4 }, 'parameters after 2 steps');
  });

  it('an im2col conv layer with few weights splits its weight-gradient product too', { timeout: 900_000 }, async () => {
    const config = { arch: 'conv', inputDim: 1024, imageShape: [32, 32], channels: [4, 8], latent: 3 };
    const split = await train(config, 4, { conv: 'im2col', matmul: 'tiled-vec4', matmulGeneric: false });
    expect(split.names.filter((n) => n.startsWith('matmul_tn') && n.endsWith('_splitk')).length).toBeGreaterThanOrEqual(2);
    const whole = await train(config, 4, { conv: 'direct', matmul: 'register' });
    expectClose(split.losses, whole.losses, { atol: 0, rtol: 1e-5 }, 'losses of 2 steps');
    expectClose(split.params, whole.params, { atol: 1e-5, rtol: 1e-4 }, 'parameters after 2 steps');
  });
});
