// What an app can get wrong with `webgpu-vae/kernels` on its own device, and what it can rely on:
// bad factory parameters and buffers refused at once with a message naming them (not silently
// wrong numbers, nor a WebGPU error later), a destroyed device refused by compile() and bind(),
// an app's mistakes in its own dispatches left to the app (never failing a model sharing the
// device), its own WebGPU errors never taken for a compile error, and no buffer made per bind().
import { describe, expect, it } from 'vitest';
import {
  ACTIVATIONS, activationBackward, activationForward, channelsToRows, col2im, columnSum, columnSumSlices, compile, conv2dForward, conv2dInputGrad, conv2dWeightGrad, convWeightGradSum, sliceSum,
  convBiasGrad, convBiasGradSlices, decoderMean, dspritesRaster, elboReduce, encodeStepParams, gatherBatch, gatherLabels, gradNormPartial, groupNormForward,
  groupNormInputGrad, groupNormParamGrad, im2col, iwaeChunk, iwaeReduce, iwaeWeights, KERNELS_LABEL_PREFIX, klDivergence, klFreeBits,
  likelihoodRows, matmul, optimizerStep, priorSample, reparamBackward, reparamForward, rowsToChannels, STEP_PARAMS, stepHealth, type Kernel,
  klCapacity, tcRows, tcPosteriorGrad, upsampleForward, upsampleBackward, concatForward, concatBackward, nonzeroSteps, KernelGraph, Tensor, pipelineCacheFor,
} from '../src/kernels';
import { readFloats } from '../src/gpu/buffers';
import { GpuError, ShaderCompileError } from '../src/errors';
import { VAE } from '../src/model/vae';
import { expectClose, f32, testData } from './helpers/compare';
import { defaultLimitsDevice } from './helpers/default-limits';
import { gpu } from './helpers/gpu';
import { matmulRef } from './reference/dense';

/** Storage usage with copies both ways (GPUBufferUsage exists once gpu() has loaded Dawn's globals). */
const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
const layout = { latent: 3, stride: 6, mu: 0, logvar: 3 };
const geometry = { batch: 2, inChannels: 3, inHeight: 5, inWidth: 5, outChannels: 4, kernel: 3, stride: 2, padding: 1 };

/** One kernel of every factory `webgpu-vae/kernels` exports, with its optional bindings on. */
const everyFactory = (): Kernel[] => [
  matmul({ M: 5, N: 3, K: 4, bias: true, activation: 'relu' }),
  matmul({ M: 5, N: 3, K: 4, gradActivation: 'tanh', generic: true }),
  matmul({ M: 5, N: 3, K: 4, variant: 'register', skipZeros: 'b', generic: true }),
  nonzeroSteps({ G: 5, K: 4, layout: 'gk', block: 4, generic: true }),
  columnSum({ rows: 5, cols: 3 }),
  columnSum({ rows: 1000, cols: 70, slices: columnSumSlices(1000, 70) }),
  activationForward({ kind: 'relu', count: 7 }),
  activationBackward({ kind: 'relu', count: 7 }),
  reparamForward({ batch: 2, samples: 2, layout }),
  reparamForward({ batch: 2, samples: 2, layout, counterPerSample: true }),
  reparamForward({ batch: 2, samples: 1, layout, meanOnly: true }),
  reparamForward({ batch: 2, samples: 1, layout, meanOnly: true, sizedByBinding: true }),
  elboReduce({ batch: 2, samples: 2, examples: true }),
  reparamBackward({ batch: 2, samples: 2, layout, directZ: true }),
  priorSample({ count: 6, latent: 3 }),
  likelihoodRows({ batch: 2, samples: 2, dim: 5, likelihood: 'gaussian', scale: 'learned-pixel', gradients: true, rowWeights: true }),
  decoderMean({ rows: 2, dim: 5, likelihood: 'bernoulli' }),
  conv2dForward({ ...geometry, bias: true, activation: 'relu' }),
  conv2dInputGrad({ ...geometry, gradActivation: 'relu' }),
  conv2dWeightGrad(geometry),
  convWeightGradSum({ slices: 3, weights: 7 }),
  sliceSum({ name: 'matmul_slice_sum', from: 'cSlices', to: 'c', slices: 3, length: 7 }),
  convBiasGrad({ batch: 2, channels: 4, pixels: 9 }),
  convBiasGrad({ batch: 3, channels: 1, pixels: 3000, slices: convBiasGradSlices({ batch: 3, channels: 1, pixels: 3000 }) }),
  groupNormForward({ batch: 2, channels: 4, pixels: 9, groups: 2, activation: 'relu' }),
  groupNormInputGrad({ batch: 2, channels: 4, pixels: 9, groups: 2 }),
  groupNormParamGrad({ batch: 2, channels: 4, pixels: 9, groups: 2 }),
  im2col(geometry),
  col2im({ ...geometry, bias: true }),
  channelsToRows({ batch: 2, channels: 4, pixels: 9 }),
  rowsToChannels({ batch: 2, channels: 4, pixels: 9, gradActivation: 'relu' }),
  klDivergence({ batch: 2, layout, gradients: true }),
  klFreeBits({ batch: 2, layout }),
  elboReduce({ batch: 2, samples: 2, freeBitsLatent: 3 }),
  iwaeWeights({ batch: 2, samples: 3, layout, gradients: true }),
  iwaeReduce({ batch: 2, samples: 3 }),
  iwaeChunk({ batch: 2, samples: 3, layout }),
  optimizerStep({ kind: 'adam', count: 6, gated: true }),
  gradNormPartial({ count: 6 }),
  stepHealth(),
  gatherBatch({ rows: 2, dim: 6, binarize: 'dynamic' }),
  gatherLabels({ rows: 2, classes: 10 }),
  dspritesRaster({ rows: 2, gathered: true }),
  klCapacity({ batch: 2, layout }),
  tcRows({ batch: 2, samples: 2, layout, tcExcess: 5, gradients: true }),
  tcPosteriorGrad({ batch: 2, samples: 2, layout, tcExcess: 5 }),
  upsampleForward({ batch: 2, channels: 3, height: 2, width: 3, scale: 2 }),
  upsampleBackward({ batch: 2, channels: 3, height: 2, width: 3, scale: 2 }),
  concatForward({ rows: 4, features: 3, extra: 2, conditionRows: 2 }),
  concatBackward({ rows: 4, features: 3, extra: 2, conditionRows: 2 }),
];

describe('activation kernels name their activation as the other kernels do', () => {
  it('take `activation`, and `kind` (the 0.4 name) for the same kernel; refuse both disagreeing or neither', () => {
    expect(activationForward({ activation: 'tanh', count: 9 }).code).toBe(activationForward({ kind: 'tanh', count: 9 }).code);
    expect(activationBackward({ activation: 'elu', count: 9 }).name).toBe(activationBackward({ kind: 'elu', count: 9 }).name);
    expect(activationForward({ activation: 'relu', kind: 'relu', count: 9 }).name).toBe('activation_forward_relu');
    expect(() => activationForward({ activation: 'relu', kind: 'tanh', count: 4 })).toThrow(/activation_forward: activation 'relu' and kind 'tanh' disagree; give activation alone/);
    expect(() => activationBackward({ count: 4 })).toThrow(/activation_backward: no activation; give one/);
    expect(() => activationForward({ activation: 'relu6' as never, count: 4 })).toThrow(/activation_forward: unknown activation 'relu6'/);
  });
});

describe('factories refuse bad parameters', () => {
  it('an unknown kind, naming the valid ones, instead of compiling as some default', () => {
    expect(() => activationForward({ kind: 'relu6' as never, count: 4 })).toThrow(`activation_forward: unknown kind 'relu6'; use one of ${ACTIVATIONS.map((a) => `'${a}'`).join(', ')}`);
    expect(() => activationBackward({ kind: 'ReLU' as never, count: 4 })).toThrow(/activation_backward: unknown kind 'ReLU'/);
    expect(() => matmul({ M: 2, N: 2, K: 2, activation: 'relu6' as never })).toThrow(/matmul: unknown activation 'relu6'; use one of 'relu'/);
    expect(() => matmul({ M: 2, N: 2, K: 2, gradActivation: 'mish' as never })).toThrow(/matmul: unknown gradActivation 'mish'/);
    expect(() => matmul({ M: 2, N: 2, K: 2, f16: ['x' as never] })).toThrow(/matmul: unknown f16 operand 'x'; use one of 'a', 'b', 'c', 'y'/);
    // 'Adam' ran as SGD: no m and v bindings, and the SGD update.
    expect(() => optimizerStep({ kind: 'Adam' as never, count: 4 })).toThrow(/optimizer_step: unknown kind 'Adam'; use one of 'adam', 'sgd'/);
    expect(() => likelihoodRows({ batch: 2, samples: 1, dim: 4, likelihood: 'normal' as never, gradients: false })).toThrow(/likelihood_rows: unknown likelihood 'normal'; use one of 'bernoulli', 'gaussian'/);
    expect(() => likelihoodRows({ batch: 2, samples: 1, dim: 4, likelihood: 'gaussian', scale: 'learned' as never, gradients: false })).toThrow(/likelihood_rows: unknown scale 'learned'/);
    expect(() => decoderMean({ rows: 2, dim: 4, likelihood: 'Bernoulli' as never })).toThrow(/decoder_mean: unknown likelihood 'Bernoulli'/);
    expect(() => gatherBatch({ rows: 2, dim: 4, binarize: 'dyn' as never })).toThrow(/gather_batch: unknown binarize 'dyn'; use one of 'none', 'dynamic', 'fixed'/);
    expect(() => conv2dForward({ ...geometry, variant: 'gemm' as never })).toThrow(/conv: unknown variant 'gemm'; use one of 'direct', 'direct-subgroup', 'implicit-gemm'/);
    expect(() => conv2dForward({ ...geometry, activation: 'relu6' as never })).toThrow(/conv: unknown activation 'relu6'/);
    expect(() => groupNormForward({ batch: 1, channels: 2, pixels: 4, groups: 1, activation: 'swish' as never })).toThrow(/group_norm_forward: unknown activation 'swish'/);
  });

  it('an unknown parameter name, as a ConfigError with the nearest known one, instead of being ignored', () => {
    // transb read as nothing would build A·B where A·Bᵀ was meant.
    expect(() => matmul({ M: 2, N: 2, K: 2, transb: true } as never)).toThrow(expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(/^unknown matmul parameter 'transb' \(did you mean 'transB'\?\); the matmul parameters are M, N, K, transA, transB/) }));
    expect(() => conv2dForward({ ...geometry, activaton: 'relu' } as never)).toThrow(/unknown conv2dForward parameter 'activaton' \(did you mean 'activation'\?\)/);
    expect(() => gatherBatch({ rows: 2, dim: 4, binarise: 'dynamic' } as never)).toThrow(/unknown gatherBatch parameter 'binarise' \(did you mean 'binarize'\?\)/);
    // A misspelt tile field would leave on the vec4 loads it meant to turn off.
    expect(() => matmul({ M: 8, N: 8, K: 8, tile: { vec4: false } } as never)).toThrow(expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(/^unknown matmul tile field 'vec4' \(did you mean 'VEC4'\?\); the matmul tile fields are TM, TN, /) }));
    expect(() => matmul({ M: 8, N: 8, K: 8, tile: 8 } as never)).toThrow(/^matmul tile must be an object of tile fields \(TM, TN, .*\); got 8$/);
    expect(matmul({ M: 8, N: 8, K: 8, tile: { VEC4: false } }).name).toBe('matmul_nn_register_VEC40');
  });

  it('a flag that is not true or false (the string "false" from JSON would read as true)', () => {
    expect(() => matmul({ M: 1, N: 1, K: 1, transB: 'false' } as never)).toThrow(expect.objectContaining({ name: 'ConfigError', message: "matmul transB must be true or false (or left out), got 'false' (a string)" }));
    expect(() => matmul({ M: 1, N: 1, K: 1, bias: 'no' } as never)).toThrow(/^matmul bias must be true or false \(or left out\), got 'no' \(a string\)$/);
    expect(() => reparamForward({ batch: 1, samples: 1, layout: { latent: 1, stride: 2, mu: 0, logvar: 1 }, meanOnly: 0 } as never)).toThrow(/^reparamForward meanOnly must be true or false/);
    expect(() => klDivergence({ batch: 1, layout: { latent: 1, stride: 2, mu: 0, logvar: 1 }, gradients: 1 } as never)).toThrow(/^klDivergence gradients must be true or false/);
    // Booleans and a flag left out build as before.
    expect(matmul({ M: 1, N: 1, K: 1, transB: false, bias: undefined }).name).toBe(matmul({ M: 1, N: 1, K: 1 }).name);
    expect(matmul({ M: 1, N: 1, K: 1, transB: true }).name).toMatch(/^matmul_nt_/);
  });

  it('anything but an object of parameters, and anything but a kernel where one is asked for', async () => {
    const { device } = await gpu();
    expect(() => (matmul as (p?: unknown) => Kernel)()).toThrow(expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(/^matmul\(\) takes one object of parameters \(M, N, K, .*\), e\.g\. matmul\(\{ M: \.\.\., N: \.\.\., K: \.\.\. \}\); got undefined$/) }));
    expect(() => columnSum([3, 4] as never)).toThrow(/^columnSum\(\) takes one object of parameters .*; got an array$/);
    // A factory passed uncalled, or nothing: a ConfigError saying what to pass, not a TypeError from inside.
    await expect(compile(device, matmul as never)).rejects.toThrow(expect.objectContaining({ name: 'ConfigError', message: "compile's kernel must be a kernel, what a factory returns (e.g. matmul({ M: 64, N: 64, K: 64 })); got the function matmul: a factory, to call with its parameters" }));
    await expect(compile(device, undefined as never)).rejects.toThrow(/^compile's kernel must be a kernel, .*; got undefined$/);
    expect(() => new KernelGraph('g').add(columnSum as never, {})).toThrow(expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(/^graph g: add\(\)'s kernel must be a kernel, .*; got the function columnSum: a factory/) }));
  });

  it("a Tensor without memory in an app's graph: bind a buffer of the app's own", async () => {
    const { device } = await gpu();
    const out = device.createBuffer({ size: 16, usage: storageUsage() });
    const graph = new KernelGraph('g3').add(columnSum({ rows: 4, cols: 4 }), { x: new Tensor('x', [4, 4], true), out });
    await expect(graph.build(pipelineCacheFor(device))).rejects.toThrow(expect.objectContaining({ name: 'ConfigError', message: "graph g3: tensor 'x' has no memory: an app's graph binds GPUBuffers or { buffer, offset?, size? } slices; create a GPUBuffer (STORAGE usage) for each and bind it instead" }));
    out.destroy();
  });

  it('a count or size that is not a positive integer, before it reaches WGSL', () => {
    expect(() => optimizerStep({ kind: 'adam', count: -1 })).toThrow(/optimizer_step: count=-1 must be a positive integer/);
    expect(() => optimizerStep({ kind: 'sgd', count: 2.5 })).toThrow(/optimizer_step: count=2.5 must be a positive integer/);
    expect(() => activationForward({ kind: 'relu', count: 2.5 })).toThrow(/activation_forward: count=2.5/);
    expect(() => activationBackward({ kind: 'relu', count: 0 })).toThrow(/activation_backward: count=0/);
    expect(() => gatherBatch({ rows: 2, dim: -4 })).toThrow(/gather_batch: dim=-4/);
    expect(() => gatherLabels({ rows: 1.5, classes: 10 })).toThrow(/gather_labels: rows=1.5/);
    expect(() => likelihoodRows({ batch: 2, samples: 1, dim: 4, likelihood: 'bernoulli', gradients: false, threadsPerRow: 0 })).toThrow(/likelihood_rows: threadsPerRow=0/);
    expect(() => likelihoodRows({ batch: 2, samples: 1, dim: 4, likelihood: 'gaussian', scale: { fixedLogSigma: Number.NaN }, gradients: false })).toThrow(/scale.fixedLogSigma=NaN must be a finite number/);
    expect(() => reparamForward({ batch: 2, samples: 1, layout: { ...layout, mu: -1 } })).toThrow(/reparam_forward: layout mu=-1 must be a non-negative integer/);
    expect(() => klDivergence({ batch: 2, layout: { ...layout, stride: 0 }, gradients: false })).toThrow(/kl_divergence: layout stride=0 must be a positive integer/);
    expect(() => elboReduce({ batch: 2, samples: 1, freeBitsLatent: 2.5 })).toThrow(/elbo_reduce: freeBitsLatent=2.5 must be a non-negative integer/);
  });

  it('every factory declares the least bytes of each of its bindings', () => {
    for (const k of everyFactory()) {
      expect(Object.keys(k.minBytes ?? {}).sort(), k.name).toEqual(k.bindings.map((b) => b.name).sort());
      for (const [name, bytes] of Object.entries(k.minBytes!)) expect(Number.isInteger(bytes / 4) && bytes > 0, `${k.name} ${name}: ${bytes}`).toBe(true);
    }
    // What the shapes reach: whole matrices, whole vec4s, the StepParams struct.
    expect(matmul({ M: 8, N: 8, K: 8 }).minBytes).toEqual({ a: 256, b: 256, c: 256 });
    expect(matmul({ M: 5, N: 3, K: 4, generic: true }).minBytes).toEqual({ a: 80, b: 48, c: 60, dims: 16 });
    expect(optimizerStep({ kind: 'adam', count: 6 }).minBytes).toEqual({ params: STEP_PARAMS.bytes, p: 32, g: 32, m: 32, v: 32 });
    expect(reparamForward({ batch: 2, samples: 2, layout }).minBytes).toMatchObject({ q: 48, z: 48, eps: 48 });
    expect(activationBackward({ kind: 'relu', count: 3, f16: ['y'] }).minBytes).toEqual({ y: 8, dy: 12, dx: 12 });
  });
});

describe("every factory's bindings are used by its code", () => {
  it("so that a pipeline of layout 'auto' has every binding the kernel declares", async () => {
    // A binding that the code declares but never uses (read only in a function nothing calls, say)
    // is left out of an 'auto' layout, and an app binding it from kernel.bindings then fails at
    // createBindGroup. Each kernel is compiled so, and bound whole from its own binding list.
    const { device } = await gpu();
    const kernels = [...everyFactory(), iwaeWeights({ batch: 2, samples: 3, layout, gradients: false })];
    const failures: string[] = [];
    for (const k of kernels) {
      device.pushErrorScope('validation');
      const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module: device.createShaderModule({ code: k.code }), entryPoint: 'main' } });
      const buffers = k.bindings.map((b) => device.createBuffer({
        size: Math.max(256, Math.ceil((k.minBytes?.[b.name] ?? 16) / 256) * 256),
        usage: b.kind === 'uniform' ? GPUBufferUsage.UNIFORM : GPUBufferUsage.STORAGE,
      }));
      device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: buffers.map((buffer, i) => ({ binding: i, resource: { buffer } })) });
      const error = await device.popErrorScope();
      if (error) failures.push(`${k.name} [${k.bindings.map((b) => b.name).join(', ')}]: ${error.message.split('\n')[0]}`);
      for (const b of buffers) b.destroy();
    }
    expect(failures).toEqual([]);
  }, 120_000);
});

describe('bind() refuses what would go wrong on the device', () => {
  it('a buffer or slice smaller than the shape needs, naming the binding and the bytes', async () => {
    const { device } = await gpu();
    const k = await compile(device, matmul({ M: 8, N: 8, K: 8 }));
    const full = device.createBuffer({ size: 256, usage: storageUsage() });
    const short = device.createBuffer({ size: 16, usage: storageUsage() });
    const big = device.createBuffer({ size: 512, usage: storageUsage() });
    // 8x8 into 16 bytes wrote 4 values and dropped the rest; reading 4 of 64 values of a clamped the rest.
    expect(() => k.bind({ a: full, b: full, c: short })).toThrow(/kernel matmul_nn_register_vec4abc: binding 'c' needs at least 256 bytes for this shape, but 16 were given/);
    expect(() => k.bind({ a: short, b: full, c: full })).toThrow(/binding 'a' needs at least 256 bytes for this shape, but 16 were given/);
    expect(() => k.bind({ a: full, b: { buffer: big, offset: 256, size: 128 }, c: full })).toThrow(/binding 'b' needs at least 256 bytes for this shape, but 128 were given \(a slice of size 128\)/);
    // A buffer given with an offset and no size holds what lies past the offset.
    expect(() => k.bind({ a: full, b: { buffer: big, offset: 256 }, c: full })).not.toThrow();
    expect(() => k.bind({ a: full, b: { buffer: big, offset: 512 }, c: full })).toThrow(/binding 'b' needs at least 256 bytes for this shape, but 0 were given \(a buffer of 512 bytes from offset 512\)/);
    for (const b of [full, short, big]) b.destroy();
  });

  it('optimizerStep works on whole vec4s: count 6 needs 32-byte buffers, and then updates all 6', async () => {
    const { device } = await gpu();
    const count = 6;
    const k = await compile(device, optimizerStep({ kind: 'adam', count }));
    const params = device.createBuffer({ size: STEP_PARAMS.bytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(params, 0, encodeStepParams({ lr: 0.1, step: 1 }));
    const make = (bytes: number, values: number[]) => {
      const b = device.createBuffer({ size: bytes, usage: storageUsage() });
      device.queue.writeBuffer(b, 0, new Float32Array(bytes / 4).map((_, i) => values[i] ?? 0));
      return b;
    };
    const P = [1, 2, 3, 4, 5, 6], G = [-1, 1, -1, 1, -1, 1];
    // count * 4 bytes left the last two parameters untouched (the kernel's last vec4 was out of range).
    const tight = [P, G, [], []].map((v) => make(count * 4, v));
    expect(() => k.bind({ params, p: tight[0], g: tight[1], m: tight[2], v: tight[3] })).toThrow(/kernel optimizer_adam: binding 'p' needs at least 32 bytes for this shape, but 24 were given/);
    const [p, g, m, v] = [P, G, [], []].map((x) => make(32, x));
    k.bind({ params, p, g, m, v }).run();
    // First Adam step with bias correction: each parameter moves by lr against its gradient's sign.
    expectClose((await readFloats(device, p)).slice(0, count), P.map((w, i) => w - 0.1 * Math.sign(G[i])), { atol: 1e-5, rtol: 1e-5 }, 'adam count 6');
    // A uniform smaller than StepParams was a WebGPU error at dispatch.
    const small = device.createBuffer({ size: 64, usage: GPUBufferUsage.UNIFORM });
    expect(() => k.bind({ params: small, p, g, m, v })).toThrow(new RegExp(`binding 'params' needs at least ${STEP_PARAMS.bytes} bytes for this shape, but 64 were given`));
    for (const b of [params, small, p, g, m, v, ...tight]) b.destroy();
  });

  it('a binding misnamed, missing or not a buffer, as a ConfigError naming the kernel\'s bindings', async () => {
    const { device } = await gpu();
    const k = await compile(device, matmul({ M: 8, N: 8, K: 8 }));
    const full = device.createBuffer({ size: 256, usage: storageUsage() });
    const refusal = (message: RegExp) => expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(message) });
    const binds = "kernel matmul_nn_register_vec4abc binds 'a', 'b', 'c'";
    expect(() => k.bind({ a: full, b: full, C: full } as never)).toThrow(refusal(new RegExp(`^kernel matmul_nn_register_vec4abc has no binding named 'C' \\(did you mean 'c'\\?\\); ${binds}$`)));
    expect(() => k.bind({ a: full, b: full, out: full } as never)).toThrow(refusal(new RegExp(`has no binding named 'out'; ${binds}$`)));
    expect(() => k.bind({ a: full, b: full } as never)).toThrow(refusal(new RegExp(`^kernel matmul_nn_register_vec4abc needs a buffer for 'c'; ${binds}$`)));
    expect(() => k.bind({ a: full, b: full, c: new Float32Array(64) } as never)).toThrow(refusal(/^kernel matmul_nn_register_vec4abc: binding 'c' must be a GPUBuffer or \{ buffer: GPUBuffer, offset\?, size\? \}, got Float32Array, which lives on the CPU; create a GPUBuffer and fill it with device.queue.writeBuffer$/));
    expect(() => k.bind({ a: full, b: full, c: { buffer: null } } as never)).toThrow(refusal(/binding 'c' must be a GPUBuffer .*, got null$/));
    expect(() => k.bind([full, full, full] as never)).toThrow(refusal(new RegExp(`^bind\\(\\) takes an object of buffers by binding name, got an array; ${binds}$`)));
    expect(() => k.bind({ a: full, b: full, c: full })).not.toThrow();
    full.destroy();
  });

  it('a buffer without the usage its binding needs, and an offset off the device\'s alignment', async () => {
    const { device } = await gpu();
    const k = await compile(device, optimizerStep({ kind: 'sgd', count: 4 }));
    const storage = device.createBuffer({ size: 1024, usage: storageUsage() });
    const uniform = device.createBuffer({ size: STEP_PARAMS.bytes, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    expect(() => k.bind({ params: uniform, p: uniform, g: storage })).toThrow(/kernel optimizer_sgd: binding 'p' is a storage binding and needs a buffer created with GPUBufferUsage.STORAGE; this one has COPY_DST \| UNIFORM/);
    expect(() => k.bind({ params: storage, p: storage, g: storage })).toThrow(/binding 'params' is a uniform binding and needs a buffer created with GPUBufferUsage.UNIFORM/);
    const align = device.limits.minStorageBufferOffsetAlignment;
    expect(() => k.bind({ params: uniform, p: { buffer: storage, offset: 4, size: 16 }, g: storage }))
      .toThrow(`kernel optimizer_sgd: binding 'p' has offset 4, which is not a multiple of this device's minStorageBufferOffsetAlignment (${align})`);
    expect(() => k.bind({ params: uniform, p: { buffer: storage, offset: align, size: 16 }, g: storage })).not.toThrow();
    storage.destroy();
    uniform.destroy();
  });

  it('a shape-generic matmul makes its sizes\' uniform once per shape, not once per bind()', async () => {
    const { device } = await gpu();
    const made: GPUBufferDescriptor[] = [];
    const createBuffer = device.createBuffer;
    device.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) { made.push(d); return createBuffer.call(this, d); };
    try {
      const run = async (M: number, N: number, K: number, binds: number) => {
        const a = f32(testData(M * K, M)), b = f32(testData(K * N, N));
        const [ga, gb, gc] = [a, b, new Float64Array(M * N)].map((x) => {
          const g = createBuffer.call(device, { size: x.length * 4, usage: storageUsage() });
          device.queue.writeBuffer(g, 0, Float32Array.from(x));
          return g;
        });
        const k = await compile(device, matmul({ M, N, K, generic: true }));
        expect(k.bindings.map((x) => x.name)).toEqual(['a', 'b', 'c', 'dims']);
        for (let i = 0; i < binds; i++) k.bind({ a: ga, b: gb, c: gc }).run();
        expectClose(await readFloats(device, gc), matmulRef(a, b, M, N, K), { atol: 1e-5, rtol: 1e-5 }, `generic ${M}x${N}x${K}`);
        for (const g of [ga, gb, gc]) g.destroy();
      };
      await run(4, 5, 3, 5);
      await run(4, 5, 3, 2); // the same shape again: its buffer is already there
      await run(7, 2, 6, 3);
      // One uniform per distinct shape, whatever the number of binds; readFloats' staging buffers aside.
      const uniforms = made.filter((d) => d.usage & GPUBufferUsage.UNIFORM);
      expect(uniforms.map((d) => d.label)).toEqual([`${KERNELS_LABEL_PREFIX}MatmulDims=4,5,3,0`, `${KERNELS_LABEL_PREFIX}MatmulDims=7,2,6,0`]);
    } finally {
      device.createBuffer = createBuffer;
    }
  });
});

describe('a destroyed device', () => {
  it('compile() and bind() throw the device-lost GpuError instead of pretending to work', async () => {
    const device = await defaultLimitsDevice();
    const k = await compile(device, matmul({ M: 2, N: 2, K: 2 }));
    const buf = device.createBuffer({ size: 16, usage: storageUsage() });
    device.destroy();
    await new Promise((r) => setTimeout(r, 50));
    const refused = await compile(device, matmul({ M: 4, N: 4, K: 4 })).then(() => null, (e: unknown) => e);
    expect(refused).toBeInstanceOf(GpuError);
    expect(refused).toMatchObject({ kind: 'device-lost', message: expect.stringMatching(/compile matmul_nn_register_vec4abc: this GPU device is gone/) });
    expect(() => k.bind({ a: buf, b: buf, c: buf })).toThrow(/bind matmul_nn_register: this GPU device is gone/);
  });

  it('compile() on a device destroyed before its first use of this library', async () => {
    const device = await defaultLimitsDevice();
    device.destroy();
    await new Promise((r) => setTimeout(r, 50));
    await expect(compile(device, matmul({ M: 3, N: 3, K: 3 }))).rejects.toMatchObject({ name: 'GpuError', kind: 'device-lost' });
  });
});

describe('an app sharing its device with a model', () => {
  /** The app's own mistake, on its own unlabeled objects: a copy from a buffer onto itself. */
  const appMistake = (device: GPUDevice) => {
    const bad = device.createBuffer({ size: 64, usage: GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(bad, 0, bad, 0, 16);
    device.queue.submit([enc.finish()]);
  };
  const settle = async (device: GPUDevice) => {
    await device.queue.onSubmittedWorkDone();
    await new Promise((r) => setTimeout(r, 50));
  };

  it('a WebGPU error in the app\'s kernels-API dispatches is the app\'s, and the model keeps working', async () => {
    const device = await defaultLimitsDevice();
    const seen: string[] = [];
    device.addEventListener('uncapturederror', (e) => seen.push((e as GPUUncapturedErrorEvent).error.message));
    const vae = await VAE.create({ hidden: [16], latent: 2 }, { device, batch: 8 });
    try {
      const k = await compile(device, matmul({ M: 4, N: 4, K: 4 }));
      const shared = device.createBuffer({ size: 64, usage: storageUsage() });
      // One buffer bound as an input and as the output: valid bindings, an invalid pass.
      k.bind({ a: shared, b: shared, c: shared }).run();
      const enc = device.createCommandEncoder();
      const pass = enc.beginComputePass();
      k.bind({ a: shared, b: shared, c: shared }).record(pass);
      pass.end();
      device.queue.submit([enc.finish()]);
      await settle(device);
      // The model was failed for good by the first of these: every later call threw its GpuError.
      expect((await vae.sample(1, 1)).length).toBe(784);
      expect((await vae.sample(1, 2)).length).toBe(784);
      // The app heard of both, and the errors name none of the library's own objects.
      expect(seen.some((m) => m.includes(KERNELS_LABEL_PREFIX)), seen.join('\n')).toBe(true);
      expect(seen.some((m) => m.includes('"webgpu-vae:')), seen.join('\n')).toBe(false);
      shared.destroy();
    } finally {
      vae.destroy();
      device.destroy();
    }
  });

  it('the app\'s own error while a kernel compiles stays the app\'s, not a ShaderCompileError', async () => {
    const device = await defaultLimitsDevice();
    const seen: string[] = [];
    device.addEventListener('uncapturederror', (e) => seen.push((e as GPUUncapturedErrorEvent).error.message));
    try {
      const pending = compile(device, matmul({ M: 64, N: 64, K: 64, variant: 'tiled' }));
      appMistake(device);
      expect((await pending).name).toBe('matmul_nn_tiled');
      await settle(device);
      expect(seen.some((m) => /Source and destination are the same buffer/.test(m)), seen.join('\n')).toBe(true);
      // A kernel that does not compile still says why, beside its source lines, and its invalid
      // module raises no uncaptured error that a model on the device could take for its own.
      const relu = activationForward({ kind: 'relu', count: 8 });
      seen.length = 0;
      const broken = await compile(device, { ...relu, name: 'activation_broken', code: `${relu.code}\nfn broken( {` }).then(() => null, (e: unknown) => e);
      expect(broken).toBeInstanceOf(ShaderCompileError);
      expect((broken as Error).message).toMatch(/^kernel activation_broken failed to compile: .*\n[^]*error[^]*fn broken\( \{/);
      await settle(device);
      expect(seen).toEqual([]);
    } finally {
      device.destroy();
    }
  });
});
