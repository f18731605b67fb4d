// What `webgpu-vae/kernels` refuses before a wrong value reaches the GPU, beside
// kernels-api-misuse.test.ts: each of these was once accepted, and gave wrong numbers or a
// later, vaguer error.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as kernels from '../src/kernels';
import {
  columnSum, compile, conv2dForward, elboReduce, encodeStepParams, iwaeChunk, iwaeWeights, kernelFeatures, klDivergence, klFreeBits, matmul, noiseAt,
  likelihoodRows, optimizerStep, Philox, type PosteriorLayout, reparamBackward, reparamForward, STEP_PARAMS, stepParamsFor, stepParamsRead, type StepParams,
} from '../src/kernels';
import * as errors from '../src/errors';
import { declareBindings, write } from '../shaders/common';
import * as model from '../src/index';
import { STEP_PARAMS_DEFAULTS } from '../src/step-params';
import { defaultLimitsDevice } from './helpers/default-limits';
import { gpu } from './helpers/gpu';

/** `expect(...).toThrow` matcher of an error by class name and message. */
const refusal = (name: string, message: RegExp) => expect.objectContaining({ name, message: expect.stringMatching(message) });

describe('factories refuse a shape or layout the kernel would index wrongly', () => {
  it('a size that is a string or 0 is a ConfigError showing its type, and a 0 says to skip the dispatch', () => {
    // M: '37' printed as M=37, as if a number had been refused.
    expect(() => matmul({ M: '37' as never, N: 3, K: 4 })).toThrow(refusal('ConfigError', /^matmul: M='37' \(a string\) must be a positive integer$/));
    expect(() => matmul({ M: 0, N: 3, K: 4 })).toThrow(refusal('ConfigError', /^matmul: M=0 must be a positive integer; a size of 0 leaves nothing to compute: skip the dispatch \(e\.g\. for an empty batch\) instead of building a kernel for it$/));
    expect(() => optimizerStep({ kind: 'adam', count: 0 })).toThrow(/count=0 must be a positive integer; a size of 0 leaves nothing to compute/);
    expect(() => conv2dForward({ batch: 1, inChannels: 1, inHeight: 4, inWidth: 4, outChannels: 2, kernel: 3, stride: 1, padding: true as never })).toThrow(refusal('ConfigError', /padding=true \(a boolean\) must be a non-negative integer/));
    expect(() => elboReduce({ batch: 2, samples: 1, capacity: true, freeBitsLatent: 2 })).toThrow(refusal('ConfigError', /capacity control does not combine/));
    expect(() => matmul({ M: 2, N: 2, K: 2, variant: 'tiled-2' as never })).toThrow(refusal('ConfigError', /unknown variant 'tiled-2'/));
  });

  it('a size or element count past u32, which a u32 literal cannot hold and a flat index would wrap', () => {
    expect(() => optimizerStep({ kind: 'adam', count: 2 ** 32 + 10 })).toThrow(refusal('ConfigError', /^optimizer.*: count=4294967306 is past what a u32 index reaches \(4294967295\); use a smaller batch/));
    // Every size fits on its own; the tensors they make do not.
    expect(() => conv2dForward({ batch: 70000, inChannels: 3, inHeight: 256, inWidth: 256, outChannels: 64, kernel: 4, stride: 1, padding: 0 }))
      .toThrow(refusal('ConfigError', /^conv2d_forward: input elements \(batch x channels x height x width\)=13762560000, output elements=\d+ are past what a u32 index reaches/));
    expect(() => conv2dForward({ batch: 64, inChannels: 3, inHeight: 256, inWidth: 256, outChannels: 64, kernel: 4, stride: 2, padding: 1 })).not.toThrow();
  });

  it('mu and logvar overlapping, or running past the stride into the next row, in every kernel that reads a posterior', () => {
    const layoutKernels: [string, (layout: PosteriorLayout) => unknown][] = [
      ['reparam_forward', (layout) => reparamForward({ batch: 2, samples: 1, layout })],
      ['reparam_backward', (layout) => reparamBackward({ batch: 2, samples: 1, layout })],
      ['kl_divergence', (layout) => klDivergence({ batch: 2, layout, gradients: true })],
      ['kl_free_bits', (layout) => klFreeBits({ batch: 2, layout })],
      ['iwae_weights', (layout) => iwaeWeights({ batch: 2, samples: 2, layout, gradients: true })],
      ['iwae_chunk', (layout) => iwaeChunk({ batch: 2, samples: 2, layout })],
    ];
    for (const [name, build] of layoutKernels) {
      // logvar of row b was mu of row b + 1.
      expect(() => build({ latent: 7, stride: 7, mu: 0, logvar: 7 }), name).toThrow(refusal('ConfigError', new RegExp(`^${name}: layout logvar \\[7, 14\\) runs past the row stride 7 into the next row; .* the stride must be at least 14`)));
      expect(() => build({ latent: 4, stride: 8, mu: 0, logvar: 2 }), name).toThrow(refusal('ConfigError', new RegExp(`^${name}: layout mu \\[0, 4\\) and logvar \\[2, 6\\) overlap`)));
      expect(() => build({ latent: 3, stride: 6, mu: 0, logvar: 0 }), name).toThrow(/layout mu \[0, 3\) and logvar \[0, 3\) overlap/);
      expect(() => build({ latent: 3, stride: 5, mu: 3, logvar: 0 }), name).toThrow(/layout mu \[3, 6\) runs past the row stride 5/);
      expect(() => build(undefined as never), name).toThrow(refusal('ConfigError', new RegExp(`^${name}: layout must be \\{ latent, stride, mu, logvar \\}, got undefined$`)));
      // Apart and inside the row, in either order and with room to spare: fine.
      for (const ok of [{ latent: 3, stride: 6, mu: 0, logvar: 3 }, { latent: 3, stride: 8, mu: 4, logvar: 1 }]) expect(() => build(ok), name).not.toThrow();
    }
  });
});

describe('encodeStepParams refuses what a kernel would read wrongly', () => {
  it('an unknown field, with the field meant, instead of leaving that one at its default', () => {
    // validRows left at 0 made every KL gradient 0; lr at 0 kept Adam still; no step, no bias correction.
    expect(() => encodeStepParams({ validrows: 4 } as never)).toThrow(refusal('ConfigError', /^unknown StepParams field 'validrows' \(did you mean 'validRows'\?\); the StepParams fields are seed, counter, batchStart, validRows/));
    expect(() => encodeStepParams({ learningRate: 0.1 } as never)).toThrow(refusal('ConfigError', /^unknown StepParams field 'learningRate' \(use 'lr'\)/));
    expect(() => encodeStepParams({ lr: 0.1, t: 1 } as never)).toThrow(refusal('ConfigError', /^unknown StepParams field 't' \(use 'step'\)/));
    expect(() => encodeStepParams({ bias_c1: 2 } as never)).toThrow(/unknown StepParams field 'bias_c1' \(use 'step': the bias corrections are derived from it and the betas\)/);
    expect(() => encodeStepParams({ epoch: 3 } as never)).toThrow(/unknown StepParams field 'epoch' \(use 'counter': a training step's binarization and dequantization draws are keyed by its step counter/);
    expect(() => encodeStepParams({ valid_rows: 4 } as never)).toThrow(/did you mean 'validRows'/);
    expect(() => encodeStepParams(null as never)).toThrow(refusal('ConfigError', /^encodeStepParams takes an object of StepParams fields \(\{\} for the defaults\), got null$/));
  });

  it('a seed the CPU twins refuse, so that the GPU draws can always be reproduced', () => {
    // -1 encoded as 0xffffffff and 1.5 as 1, seeds which noiseAt and Philox throw for.
    for (const seed of [-1, 1.5, 2 ** 53, Number.NaN]) {
      expect(() => encodeStepParams({ seed }), `seed ${seed}`).toThrow(refusal('ConfigError', /^encodeStepParams: seed must be a non-negative safe integer \(0 to 2\^53 - 1\), got .*; the Philox key is its two u32 words, and noiseAt and Philox refuse any other seed/));
      expect(() => noiseAt(0, seed, 0, 0), `noiseAt seed ${seed}`).toThrow(refusal('ConfigError', /^noiseAt: seed must be a non-negative safe integer/));
    }
    expect(() => encodeStepParams({ seed: '3' as never })).toThrow(/got '3' \(a string\)/);
    // Every seed it takes, the twins take too.
    for (const seed of [0, 1, 2 ** 32, Number.MAX_SAFE_INTEGER]) {
      const words = STEP_PARAMS.decode(encodeStepParams({ seed }));
      expect(new Philox(seed).key).toEqual([words.seed_lo, words.seed_hi]);
      expect(Number.isFinite(noiseAt(5, seed, 0, 0))).toBe(true);
    }
  });

  it('counts that are not u32 integers, numbers that are not finite in f32, and betas outside [0, 1)', () => {
    expect(() => encodeStepParams({ validRows: -1 })).toThrow(refusal('ConfigError', /^encodeStepParams: validRows must be an integer from 0 to 4294967295 \(it fills the u32 StepParams\.valid_rows\), got -1$/));
    expect(() => encodeStepParams({ noiseRow0: 2 ** 32 })).toThrow(/noiseRow0 must be an integer from 0 to 4294967295 \(it fills the u32 StepParams\.noise_row0\)/);
    expect(() => encodeStepParams({ counter: 2.5 })).toThrow(/counter must be an integer/);
    expect(() => encodeStepParams({ step: -1 })).toThrow(/step must be a non-negative integer \(Adam's step number t, 1-based; 0 leaves the bias corrections at 1\), got -1/);
    expect(() => encodeStepParams({ lr: Number.POSITIVE_INFINITY })).toThrow(refusal('ConfigError', /^encodeStepParams: lr must be a finite number within f32's range \(it fills the f32 StepParams\.lr\), got Infinity$/));
    expect(() => encodeStepParams({ beta2: 0.99999999 })).toThrow(/^encodeStepParams: beta2 must be in \[0, 1\) as a float32 number .*, and it rounds to 1 in float32/);
    expect(() => encodeStepParams({ beta2: 0.99999994 })).not.toThrow();
    expect(() => encodeStepParams({ adamEps: 1e39 })).toThrow(/adamEps must be a finite number within f32's range \(it fills the f32 StepParams\.adam_eps\), got 1e\+39/);
    expect(() => encodeStepParams({ klWeight: '1' as never })).toThrow(/klWeight must be a finite number .*, got '1' \(a string\)/);
    // An eps a GPU flushes to 0 makes a zero gradient's update 0 / 0 (padding included).
    for (const adamEps of [0, 1e-40, -1e-8]) expect(() => encodeStepParams({ adamEps }), `adamEps ${adamEps}`).toThrow(refusal('ConfigError', /^encodeStepParams: adamEps must be at least 1\.2e-38 \(float32's smallest normal number/));
    expect(() => encodeStepParams({ adamEps: 1.2e-38 })).not.toThrow();
    expect(() => encodeStepParams({ beta2: 1, step: 1 })).toThrow(/beta2 must be in \[0, 1\) as a float32 number \(Adam's moment decay; the bias correction divides by 1 - beta2\^step\), got 1$/);
    expect(() => noiseAt(0, 1, -1, 0)).toThrow(/noiseAt: counter must be an integer from 0 to 4294967295/);
    expect(() => noiseAt(1.5, 1, 0, 0)).toThrow(/noiseAt: the element number e must be a non-negative safe integer, got 1\.5/);
  });

  it('takes every field at its limits, and undefined as the default', () => {
    const full: StepParams = {
      ...STEP_PARAMS_DEFAULTS, seed: Number.MAX_SAFE_INTEGER, counter: 2 ** 32 - 1, validRows: 0, noiseRow0: 2 ** 32 - 1, step: 2 ** 40,
      lr: -0.5, beta1: 0, beta2: 0.999999, klWeight: 3.4e38, klCapacity: 0,
    };
    expect(STEP_PARAMS.decode(encodeStepParams(full))).toMatchObject({ counter: 2 ** 32 - 1, noise_row0: 2 ** 32 - 1, seed_hi: 2 ** 21 - 1, lr: -0.5 });
    expect(STEP_PARAMS.decode(encodeStepParams({ validRows: undefined, lr: 0.5 }))).toMatchObject({ valid_rows: 0, lr: 0.5 });
  });

  it('stepParamsFor refuses a field left at a default that makes its kernels do nothing', () => {
    const rows = likelihoodRows({ batch: 4, samples: 1, dim: 6, likelihood: 'bernoulli', gradients: true });
    const adam = optimizerStep({ kind: 'adam', count: 8 });
    // What each kernel's code reads, by the fields' friendly names.
    expect(stepParamsRead(rows)).toEqual(['validRows']);
    expect(stepParamsRead(adam)).toEqual(expect.arrayContaining(['lr', 'beta1', 'beta2', 'adamEps', 'step', 'weightDecay']));
    expect(stepParamsRead(matmul({ M: 2, N: 2, K: 2 }))).toEqual([]);
    // The noise numbering of an evaluation takes no noiseRows: it is not listed as read.
    const layout = { latent: 2, stride: 4, mu: 0, logvar: 2 };
    // z = mu and the bound without gradients read no field (and bind no params).
    expect(stepParamsRead(reparamForward({ batch: 2, samples: 1, layout, meanOnly: true }))).toEqual([]);
    expect(stepParamsRead(iwaeWeights({ batch: 2, samples: 2, layout, gradients: false }))).toEqual([]);
    expect(stepParamsRead(iwaeWeights({ batch: 2, samples: 2, layout, gradients: true }))).toEqual(['validRows']);
    expect(stepParamsRead(reparamForward({ batch: 2, samples: 2, layout }))).toEqual(['seed', 'counter', 'stream', 'noiseRows', 'noiseRow0']);
    expect(stepParamsRead(reparamForward({ batch: 2, samples: 2, layout, counterPerSample: true }))).toEqual(['seed', 'counter', 'stream', 'noiseRow0']);
    expect(() => stepParamsFor([rows, adam], { lr: 1e-3 })).toThrow(refusal('ConfigError', /^stepParamsFor: kernel likelihood_rows_bernoulli_grad reads StepParams\.validRows, which is not given: its default 0 counts no row as real/));
    expect(() => stepParamsFor([rows, adam], { validRows: 4 })).toThrow(/kernel optimizer_adam reads StepParams\.lr, which is not given: its default 0 moves no parameter/);
    // Given, the bytes are encodeStepParams's; 0 given on purpose is taken.
    expect(new Uint8Array(stepParamsFor([rows, adam], { validRows: 4, lr: 1e-3 }))).toEqual(new Uint8Array(encodeStepParams({ validRows: 4, lr: 1e-3 })));
    expect(() => stepParamsFor([adam], { lr: 0 })).not.toThrow();
  });
});

describe('compile() refuses a kernel the device cannot run, naming what to request', () => {
  let device: GPUDevice;
  // requestDevice() with nothing asked for: no features, and WebGPU's default limits.
  beforeAll(async () => { device = await defaultLimitsDevice(); });
  afterAll(() => device?.destroy());

  it('a feature the kernel enables, instead of the WGSL compiler\'s error', async () => {
    expect(device.features.has('subgroups') || device.features.has('shader-f16')).toBe(false);
    const subgroup = matmul({ M: 8, N: 8, K: 8, variant: 'register-subgroup' });
    expect(kernelFeatures(subgroup).map((f) => f.feature)).toEqual(['subgroups']);
    await expect(compile(device, subgroup)).rejects.toThrow(refusal('ConfigError', /^kernel matmul_nn_register-subgroup_vec4abc needs the device feature 'subgroups', which this device was not created with; where the adapter has it \(adapter\.features\.has\('subgroups'\)\), request it: adapter\.requestDevice\(\{ requiredFeatures: \['subgroups'\] \}\); or build the kernel with subgroups: false/));
    await expect(compile(device, conv2dForward({ batch: 1, inChannels: 1, inHeight: 4, inWidth: 4, outChannels: 4, kernel: 3, stride: 1, padding: 1, variant: 'direct-subgroup' }))).rejects.toThrow(/needs the device feature 'subgroups'/);
    const half = matmul({ M: 8, N: 8, K: 8, f16: ['a'] });
    expect(kernelFeatures(half).map((f) => f.feature)).toEqual(['shader-f16']);
    await expect(compile(device, half)).rejects.toThrow(refusal('ConfigError', /^kernel matmul_nn_register_vec4bc_f16a needs the device feature 'shader-f16', .*requiredFeatures: \['shader-f16'\] \}\); or leave out the factory's f16 list, so every binding stays f32$/));
    // The alternative the message names compiles.
    const plain = matmul({ M: 8, N: 8, K: 8, variant: 'register-subgroup', subgroups: false });
    expect(kernelFeatures(plain)).toEqual([]);
    expect((await compile(device, plain)).name).toBe('matmul_nn_register_vec4abc');
  });

  it('an app\'s kernel with more workgroups in one dimension than the device allows is told to spread them (grid1D)', async () => {
    const out = [write('out')];
    const wide: kernels.Kernel = {
      name: 'wide_grid', bindings: out, workgroups: [device.limits.maxComputeWorkgroupsPerDimension + 1, 1, 1],
      code: `${declareBindings(out)}\n@compute @workgroup_size(1)\nfn main() {\n  out[0] = 1.0;\n}`,
    };
    await expect(compile(device, wide)).rejects.toThrow(refusal('DeviceLimitError', /^kernel wide_grid in compile\(\) needs 65536 workgroups in one dimension but this device's maxComputeWorkgroupsPerDimension is 65535; spread the workgroups over x, y and z \(grid1D from webgpu-vae\/kernels folds a long 1-D grid so/));
  });

  it('more storage buffers than the device allows per stage, as a DeviceLimitError naming the limit', async () => {
    // An app's own kernel writing nine outputs; every factory's kernels bind 8 or fewer.
    const outputs = Array.from({ length: 9 }, (_, i) => write(`out${i}`));
    const nine: kernels.Kernel = {
      name: 'nine_outputs', bindings: outputs, workgroups: [1, 1, 1],
      code: `${declareBindings(outputs)}\n@compute @workgroup_size(1)\nfn main() {\n${outputs.map((o) => `  ${o.name}[0] = 1.0;`).join('\n')}\n}`,
    };
    // It was a ShaderCompileError from the pipeline layout, naming no limit.
    await expect(compile(device, nine)).rejects.toThrow(refusal('DeviceLimitError', /^kernel nine_outputs in compile\(\) binds 9 storage buffers but this device allows 8 per shader stage \(maxStorageBuffersPerShaderStage\); request the device with requiredLimits: \{ maxStorageBuffersPerShaderStage: adapter\.limits\.maxStorageBuffersPerShaderStage \}/));
    // IWAE's training kernel keeps its log-weights in its row weights, so it fits.
    const layout = { latent: 2, stride: 4, mu: 0, logvar: 2 };
    expect((await compile(device, iwaeWeights({ batch: 2, samples: 2, layout, gradients: true }))).name).toBe('iwae_weights_grad');
  });
});

describe('bind() refuses slices WebGPU would refuse later, as a kernel user\'s fix', () => {
  const storage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;

  it('a storage slice that is not whole 4-byte values, or that runs past its buffer', async () => {
    const { device } = await gpu();
    const k = await compile(device, matmul({ M: 2, N: 2, K: 2 }));
    const buf = device.createBuffer({ size: 256, usage: storage() });
    // 22 bytes passed the 16-byte minimum, and WebGPU reported it on the device.
    expect(() => k.bind({ a: buf, b: buf, c: { buffer: buf, offset: 0, size: 22 } })).toThrow(refusal('ConfigError', /^kernel matmul_nn_register: binding 'c' binds 22 bytes \(a slice of size 22\), which is not a multiple of 4: a storage binding holds whole 4-byte values; give a size that is, e\.g\. 20$/));
    const odd = device.createBuffer({ size: 18, usage: storage() });
    expect(() => k.bind({ a: buf, b: buf, c: odd })).toThrow(/binding 'c' binds 18 bytes \(a buffer of 18 bytes\), which is not a multiple of 4/);
    expect(() => k.bind({ a: buf, b: { buffer: buf, offset: 0, size: 512 }, c: buf })).toThrow(refusal('ConfigError', /^kernel matmul_nn_register: binding 'b' is the slice \[0, 512\) of a buffer of 256 bytes, which runs past its end; give a size of at most 256$/));
    expect(() => k.bind({ a: buf, b: buf, c: { buffer: buf, size: '16' as never } })).toThrow(/binding 'c' has size '16' \(a string\); a slice's size is a whole number of bytes/);
    expect(() => k.bind({ a: buf, b: buf, c: { buffer: buf, offset: 0, size: 20 } })).not.toThrow();
    buf.destroy();
    odd.destroy();
  });

  it('a binding past maxStorageBufferBindingSize names the kernel once and a kernel user\'s fix', async () => {
    const device = await defaultLimitsDevice();
    try {
      const max = device.limits.maxStorageBufferBindingSize;
      const small = device.createBuffer({ size: 256, usage: storage() });
      // Stands in for a buffer past the limit; the check refuses it before WebGPU sees it.
      const huge = { size: 2 * max, usage: storage(), destroy() {} } as unknown as GPUBuffer;
      const k = await compile(device, matmul({ M: 2, N: 2, K: 2 }));
      const message = (() => { try { k.bind({ a: small, b: small, c: huge }); } catch (e) { return e as Error; } })();
      expect(message?.name).toBe('DeviceLimitError');
      expect(message!.message).toBe(
        `kernel matmul_nn_register: binding 'c' binds ${2 * max} bytes but this device allows ${max} per storage binding (maxStorageBufferBindingSize); ` +
          'bind a slice of it ({ buffer, offset, size }; the kernel reads 16 bytes), or split the work over several dispatches; ' +
          "or, where the adapter allows more, request the device with requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize } (acquire*Device() asks for the adapter's most)",
      );
      // A shape that alone needs more than the limit: a slice cannot help.
      const sum = await compile(device, columnSum({ rows: (2 * max) / 4, cols: 1 }));
      expect(() => sum.bind({ x: huge, out: small })).toThrow(/binding 'x' binds \d+ bytes .*; this shape alone needs \d+ bytes there: build the kernel for fewer rows and split the work over several dispatches/);
      small.destroy();
    } finally {
      device.destroy();
    }
  });
});

describe('what the kernels entry exports for an app without a model', () => {
  it('the error classes, the same as the model entry\'s, and the noise twin', () => {
    for (const name of ['ConfigError', 'DeviceLimitError', 'GpuError', 'ShaderCompileError'] as const) {
      expect(kernels[name], name).toBe(errors[name]);
      expect(kernels[name], name).toBe(model[name]);
    }
    expect(kernels.noiseAt).toBe(model.noiseAt);
    expect(typeof kernels.Philox).toBe('function');
    // A factory's refusal is the exported class.
    let thrown: unknown;
    try { matmul({ M: 0, N: 1, K: 1 }); } catch (e) { thrown = e; }
    expect(thrown).toBeInstanceOf(kernels.ConfigError);
  });

});

describe('f16 lists a kernel could not honour', () => {
  const conv = { batch: 2, inChannels: 3, inHeight: 6, inWidth: 6, outChannels: 4, kernel: 3, stride: 1, padding: 1 };
  it('a binding the kernel keeps in f32 is refused by name, where it built f32 code or WGSL that did not compile', () => {
    // activationForward dropped its f16 list: f16 data would have been read as f32.
    expect(() => kernels.activationForward({ activation: 'relu', count: 8, f16: ['y'] } as never)).toThrow(refusal('ConfigError', /^activation_forward: x and y are f32, so it has no f16 bindings/));
    expect(() => kernels.activationBackward({ activation: 'relu', count: 8, f16: ['dy'] })).toThrow(refusal('ConfigError', /^activation_backward: f16 names 'dy', which the kernel reads and writes as f32 only \(its f16 bindings: y\)/));
    expect(() => kernels.groupNormInputGrad({ batch: 2, channels: 4, pixels: 9, groups: 2, f16: ['dy'] })).toThrow(/^group_norm_input_grad: f16 names 'dy', which the kernel reads and writes as f32 only \(its f16 bindings: x\)/);
    expect(() => conv2dForward({ ...conv, f16: ['x', 'w'] })).toThrow(/^conv2d_forward\w*: f16 names 'w', which the kernel reads and writes as f32 only/);
    // The ones it does honour still build.
    expect(kernels.activationBackward({ activation: 'relu', count: 8, f16: ['y'] }).code).toContain('array<f16>');
    expect(conv2dForward({ ...conv, f16: ['x', 'y'] }).code).toContain('array<f16>');
    expect(kernels.rowsToChannels({ batch: 2, channels: 3, pixels: 5, f16: ['rows'] }).code).toMatch(/f32\(rows\[/);
  });

  it('a bias gradient of one invocation per channel takes no slices (it would bind db, not dbSlices)', () => {
    expect(() => kernels.convBiasGrad({ batch: 2, channels: 4, pixels: 9, threadsPerChannel: 1, slices: 3 })).toThrow(refusal('ConfigError', /^conv_bias_grad: slices 3 split the workgroup-tree form only/));
  });
});

describe('arguments named as the caller wrote them', () => {
  it('a factory\'s bad size is named by its parameter, not by the kernel\'s letter for it', () => {
    const layout = { stride: 4, mu: 0, logvar: 2, latent: 2 };
    expect(() => reparamForward({ batch: 2, layout } as never)).toThrow(refusal('ConfigError', /^reparam_forward: samples=undefined must be a positive integer$/));
    expect(() => likelihoodRows({ batch: 2, samples: 1, likelihood: 'bernoulli', gradients: false } as never)).toThrow(/^likelihood_rows: dim=undefined must be/);
    expect(() => iwaeWeights({ batch: 2, samples: 0, layout, gradients: false })).toThrow(/^iwae_weights: samples=0 must be a positive integer; a size of 0/);
    expect(() => klDivergence({ batch: 2.5, layout, gradients: false })).toThrow(/^kl_divergence: batch=2\.5 must be a positive integer$/);
    expect(() => elboReduce({ batch: 2, samples: -1 })).toThrow(/^elbo_reduce: samples=-1 must be/);
  });

  it('compile() and pipelineCacheFor() take a GPUDevice, and say what to pass instead of anything else', async () => {
    const { device } = await gpu();
    const acquired = { device, adapter: { vendor: 'v', isSoftware: true } };
    const k = matmul({ M: 2, N: 2, K: 2 });
    await expect(compile(acquired as never, k)).rejects.toThrow(refusal('ConfigError', /^compile's device is the result of acquire\*Device\(\) \(a device with its adapter summary\), not a GPUDevice; pass its \.device$/));
    await expect(compile({ requestDevice() {} } as never, k)).rejects.toThrow(/^compile's device is a GPUAdapter, not a GPUDevice; call adapter\.requestDevice\(\)/);
    await expect(compile(undefined as never, k)).rejects.toThrow(/^compile's device is not a GPUDevice \(got undefined, .*pass your GPUDevice, or the \.device of acquireNodeDevice\(\)/);
    expect(() => kernels.pipelineCacheFor(acquired as never)).toThrow(/^pipelineCacheFor's device is the result of acquire\*Device\(\)/);
  });

  it('a destroyed model lends no buffer, and a device its last model destroyed says why', async () => {
    const { acquireNodeDevice } = await import('../src/gpu/node-device');
    const acquired = await acquireNodeDevice();
    const vae = await model.VAE.create({ hidden: [8], latent: 2 }, { device: acquired, batch: 4 });
    expect(vae.parameterBuffer.size).toBeGreaterThan(0);
    vae.destroy();
    expect(() => vae.parameterBuffer).toThrow(refusal('ConfigError', /^vae\.parameterBuffer: this VAE was destroyed, and its buffers with it; read the buffer before destroy\(\), or create a new model$/));
    expect(() => vae.gradientBuffer).toThrow(/^vae\.gradientBuffer: this VAE was destroyed/);
    // The model owned the acquired device and took it down with it: the app's next compile says so.
    await expect(compile(acquired.device, matmul({ M: 2, N: 2, K: 2 }))).rejects.toThrow(refusal('GpuError', /^compile matmul_nn_register(-subgroup)?: this GPU device is gone \(the last model on it destroyed it: a model given the result of acquire\*Device\(\) owns that device; give models \{ \.\.\.acquired, owned: false \} to keep the device for your own work\)/));
  });
});
