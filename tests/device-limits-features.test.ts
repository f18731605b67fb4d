// Devices that allow smaller workgroups than the kernels use: WebGPU's compatibility mode gives
// 128 invocations a workgroup by default, where most kernels here take 256. Such a device is
// refused before anything compiles, with a DeviceLimitError naming the limit and how to request
// more (the adapter usually has it), in the model API and in the kernels API alike; the library's
// own device from the same adapter trains. And a device without the `subgroups` feature: a model
// asking for subgroups is refused, and subgroup variants asked for are reported as the fallbacks
// that run. Node only (second Dawn instances).
import { describe, expect, it } from 'vitest';
import { optimizerStep } from '../shaders/adam';
import { matmul } from '../shaders/matmul';
import { ConfigError, DeviceLimitError } from '../src/errors';
import { checkKernelLimits, workgroupSizesOf, workgroupStorageOf } from '../src/gpu/kernel-checks';
import { deviceFromAdapter } from '../src/gpu/device';
import { compile } from '../src/kernels';
import { VAE } from '../src/model/vae';
import type { TunedProduct } from '../src/model/autotune';
import { compatibilityAdapter, defaultLimitsDevice } from './helpers/default-limits';

const tiny = { hidden: [16], latent: 2 };

describe('workgroupSizesOf', () => {
  it('reads one, two or three literal sizes, with or without a suffix', () => {
    expect(workgroupSizesOf('@compute @workgroup_size(256)\nfn main() {}')).toEqual([[256, 1, 1]]);
    expect(workgroupSizesOf('@compute @workgroup_size(16, 16)\nfn main() {}')).toEqual([[16, 16, 1]]);
    expect(workgroupSizesOf('@compute @workgroup_size(8u, 4u, 2u) fn main() {}')).toEqual([[8, 4, 2]]);
  });
  it('reads every entry point, and none of the comments', () => {
    const code = '// An earlier version ran @workgroup_size(1024)\n/* and @workgroup_size(2048) */\n@compute @workgroup_size(64) fn a() {}\n@compute @workgroup_size(512) fn b() {}';
    expect(workgroupSizesOf(code)).toEqual([[64, 1, 1], [512, 1, 1]]);
    // Block comments nest in WGSL; a line comment may hold a /* that opens nothing.
    expect(workgroupSizesOf('/* outer /* inner */ was @workgroup_size(1024) */\n@compute @workgroup_size(64) fn a() {}')).toEqual([[64, 1, 1]]);
    expect(workgroupSizesOf('// see /* below\n@compute @workgroup_size(32) fn a() {}')).toEqual([[32, 1, 1]]);
  });
  it('skips an override constant or an expression, so nothing is refused on a guess', () => {
    expect(workgroupSizesOf('override W: u32 = 64;\n@compute @workgroup_size(W) fn main() {}')).toEqual([]);
    expect(workgroupSizesOf('@compute @workgroup_size(8 * 8) fn main() {}')).toEqual([]);
    expect(workgroupSizesOf('fn helper() {}')).toEqual([]);
  });
});

describe('a kernel whose workgroup the device does not allow', () => {
  const kernel = optimizerStep({ kind: 'adam', count: 1024 });
  const limits = (over: Partial<GPUSupportedLimits>) => ({ maxComputeWorkgroupsPerDimension: 65535, maxStorageBuffersPerShaderStage: 8, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupSizeZ: 64, ...over }) as GPUSupportedLimits;

  it('passes at the default limits', () => {
    expect(workgroupSizesOf(kernel.code)).toEqual([[256, 1, 1]]);
    expect(() => checkKernelLimits(kernel, limits({}))).not.toThrow();
  });
  it('is refused by its width, naming maxComputeWorkgroupSizeX and the fix', () => {
    expect(() => checkKernelLimits(kernel, limits({ maxComputeWorkgroupSizeX: 128 }))).toThrow(DeviceLimitError);
    expect(() => checkKernelLimits(kernel, limits({ maxComputeWorkgroupSizeX: 128 }))).toThrow(/workgroups 256 wide in X but this device allows 128 \(maxComputeWorkgroupSizeX\); request the device with requiredLimits/);
  });
  it('is refused by its invocations, naming maxComputeInvocationsPerWorkgroup', () => {
    expect(() => checkKernelLimits(kernel, limits({ maxComputeInvocationsPerWorkgroup: 128 }))).toThrow(/workgroups of 256 invocations but this device allows 128 \(maxComputeInvocationsPerWorkgroup\)/);
  });
});

describe('a kernel whose workgroup memory the device does not allow', () => {
  // Declarations at WebGPU's default 16 KiB, and past it by Tint's rounding of each variable to 16 bytes.
  const within = ['var<workgroup> a: array<f32, 4092>;\nvar<workgroup> n: atomic<u32>;', 'var<workgroup> a: array<vec3<f32>, 1023>;\nvar<workgroup> b: vec3<f32>;', 'var<workgroup> a: array<vec4<f32>, 1023>;\nvar<workgroup> b: f32;'];
  const past = ['var<workgroup> a: array<f32, 4093>;\nvar<workgroup> n: atomic<u32>;', 'var<workgroup> a: array<vec2<f32>, 2047>;\nvar<workgroup> b: vec2<f32>;\nvar<workgroup> c: u32;', 'var<workgroup> a: array<vec4f, 1024>;\nvar<workgroup> b: f32;'];
  /** A kernel using every workgroup variable of `decls`, so that none is left out of the count. */
  const kernelOf = (decls: string) => {
    const uses = [...decls.matchAll(/var<workgroup> (\w+): (\w+)/g)].map(([, name, type]) => (type === 'atomic' ? `atomicAdd(&${name}, 1u);` : type === 'array' ? `${name}[0] = ${name}[1];` : `${name} = ${name} + ${name};`));
    return { name: 'shared_memory', code: `${decls}\n@compute @workgroup_size(1) fn main() { ${uses.join(' ')} }`, bindings: [], workgroups: [1, 1, 1] as [number, number, number] };
  };

  it('counts the bytes as Dawn does, each variable rounded up to 16, comments left out', async () => {
    expect(within.map((d) => workgroupStorageOf(d))).toEqual([16384, 16384, 16384]);
    expect(past.map((d) => workgroupStorageOf(d))).toEqual([16400, 16416, 16400]);
    expect(workgroupStorageOf('// var<workgroup> old: array<f32, 99999>;\nvar<workgroup> a: array<f16, 9>;')).toBe(32);
    // A type this does not read leaves the kernel unchecked rather than refused on a guess.
    expect(workgroupStorageOf('var<workgroup> m: mat4x4<f32>;\nvar<workgroup> a: array<f32, 99999>;')).toBeNull();
    // Dawn's own verdict on the same declarations, made without the library's check in the way.
    const device = await defaultLimitsDevice();
    expect(device.limits.maxComputeWorkgroupStorageSize).toBe(16384);
    for (const decls of [...within, ...past]) {
      device.pushErrorScope('validation');
      device.createComputePipeline({ layout: 'auto', compute: { module: device.createShaderModule({ code: kernelOf(decls).code }), entryPoint: 'main' } });
      const refused = (await device.popErrorScope()) !== null;
      expect(refused, decls).toBe(workgroupStorageOf(decls)! > 16384);
    }
    device.destroy();
  });

  it('is refused by the kernels API\'s compile() with a DeviceLimitError naming maxComputeWorkgroupStorageSize, not a compile failure', async () => {
    // tiled-128 at BK 32: two 128 x 32 tiles of f32, 32 KiB.
    const kernel = matmul({ M: 256, N: 256, K: 256, variant: 'tiled-128', tile: { TILE_K: 32 } });
    const limits = { maxComputeWorkgroupsPerDimension: 65535, maxStorageBuffersPerShaderStage: 8, maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupSizeZ: 64 };
    expect(() => checkKernelLimits(kernel, { ...limits, maxComputeWorkgroupStorageSize: 32768 } as GPUSupportedLimits)).not.toThrow();
    expect(() => checkKernelLimits(kernel, { ...limits, maxComputeWorkgroupStorageSize: 16384 } as GPUSupportedLimits)).toThrow(
      /declares 32768 bytes of workgroup memory but this device allows 16384 \(maxComputeWorkgroupStorageSize\); request the device with requiredLimits: \{ maxComputeWorkgroupStorageSize: adapter\.limits\.maxComputeWorkgroupStorageSize \}.*or give the kernel a smaller tile/,
    );
    const device = await defaultLimitsDevice();
    await expect(compile(device, kernel)).rejects.toThrow(DeviceLimitError);
    await expect(compile(device, kernelOf(past[0]))).rejects.toThrow(/declares 16400 bytes of workgroup memory but this device allows 16384/);
    await compile(device, kernelOf(within[0]));
    device.destroy();
  });
});

describe('a compatibility-mode device', () => {
  it('is refused by VAE.create with a DeviceLimitError, not a shader compilation failure', async () => {
    const device = await (await compatibilityAdapter()).requestDevice();
    expect(device.limits.maxComputeInvocationsPerWorkgroup).toBe(128);
    const created = VAE.create(tiny, { device, batch: 16 });
    await expect(created).rejects.toThrow(DeviceLimitError);
    await expect(created).rejects.toThrow(/maxComputeInvocationsPerWorkgroup|maxComputeWorkgroupSizeX/);
    device.destroy();
  });

  it('is refused by the kernels API\'s compile() the same way', async () => {
    const device = await (await compatibilityAdapter()).requestDevice();
    await expect(compile(device, optimizerStep({ kind: 'adam', count: 1024 }))).rejects.toThrow(/workgroups 256 wide in X but this device allows 128 \(maxComputeWorkgroupSizeX\)/);
    device.destroy();
  });

  it('trains on the device the library requests from the same adapter, which asks for its limits', async () => {
    const adapter = await compatibilityAdapter();
    const device = await deviceFromAdapter(adapter);
    expect(device.limits.maxComputeInvocationsPerWorkgroup).toBe(adapter.limits.maxComputeInvocationsPerWorkgroup);
    const vae = await VAE.create(tiny, { device, batch: 16 });
    await vae.trainStep(new Float32Array(16 * 784).fill(0.5));
    const [loss] = await vae.readLosses();
    expect(Number.isFinite(loss.loss)).toBe(true);
    vae.destroy();
    device.destroy();
  });
});

describe('a device without the subgroups feature', () => {
  it('refuses a model that asks for subgroups, naming the feature and how to request it', async () => {
    const device = await defaultLimitsDevice();
    expect(device.features.has('subgroups')).toBe(false);
    const created = VAE.create(tiny, { device, batch: 16, kernels: { subgroups: true } });
    await expect(created).rejects.toThrow(ConfigError);
    await expect(created).rejects.toThrow(/kernels\.subgroups: this device was not created with the 'subgroups' feature.*requiredFeatures: \['subgroups'\].*or leave kernels\.subgroups out/);
    device.destroy();
  });

  it('reports the fallback it runs for a subgroup variant asked for, and trains with it', async () => {
    const device = await defaultLimitsDevice();
    const vae = await VAE.create(tiny, { device, batch: 16, kernels: { matmul: 'register-subgroup', conv: 'direct-subgroup' } });
    expect(vae.kernels.matmul).toBe('register');
    expect(vae.kernels.conv).toBe('direct');
    expect(vae.kernels.subgroups).toBe(false);
    await vae.trainStep(new Float32Array(16 * 784).fill(0.5));
    expect(Number.isFinite((await vae.readLosses())[0].loss)).toBe(true);
    vae.destroy();
    const tiled = await VAE.create(tiny, { device, batch: 16, kernels: { matmul: 'tiled-subgroup' } });
    expect(tiled.kernels.matmul).toBe('tiled-128');
    tiled.destroy();
    // An app's own tuned tables are reported as what runs too.
    const tuned = await VAE.create(tiny, { device, batch: 16, kernels: {
      matmulTuned: { 'a-product': { variant: 'register-subgroup', tile: { TM: 8 }, ms: 1, candidates: 2 }, 'another': { variant: 'tiled', ms: 1, candidates: 2 } },
      convTuned: { 'a-conv': 'direct-subgroup', 'another': 'im2col' },
    } });
    expect(tuned.kernels.matmulTuned).toEqual({ 'a-product': { variant: 'register', tile: undefined, ms: 1, candidates: 2 }, 'another': { variant: 'tiled', ms: 1, candidates: 2 } });
    expect(tuned.kernels.convTuned).toEqual({ 'a-conv': 'direct', 'another': 'im2col' });
    tuned.destroy();
    // Checked whole at creation, on any device: a misspelt variant or an entry that is no choice.
    await expect(VAE.create(tiny, { device, batch: 16, kernels: { matmulTuned: { unused: { variant: 'regster' as 'register', ms: 1, candidates: 1 } } } })).rejects.toThrow(/kernels\.matmulTuned\['unused'\] must be \{ variant, tile\?, ms, candidates \} with variant one of register, .*; got/);
    await expect(VAE.create(tiny, { device, batch: 16, kernels: { matmulTuned: { unused: null as unknown as TunedProduct } } })).rejects.toThrow(ConfigError);
    await expect(VAE.create(tiny, { device, batch: 16, kernels: { convTuned: { unused: 'quads' as 'direct' } } })).rejects.toThrow(/kernels\.convTuned\['unused'\] must be one of direct, direct-subgroup, implicit-gemm, im2col; got 'quads'/);
    device.destroy();
  });
});

describe('a data set larger than one binding of an app\'s device', () => {
  it('is refused naming the limit, fewer examples, and how to request the adapter\'s larger limit', async () => {
    const device = await defaultLimitsDevice();
    const vae = await VAE.create(tiny, { device, batch: 16 });
    const count = Math.floor(device.limits.maxStorageBufferBindingSize / 784) + 1;
    expect(() => vae.upload({ images: new Uint8Array(count * 784), count })).toThrow(
      /needs \d+ bytes on the GPU but maxStorageBufferBindingSize is \d+; train on fewer examples .*, or, where the adapter allows more, request the device with requiredLimits: \{ maxStorageBufferBindingSize: adapter\.limits\.maxStorageBufferBindingSize/,
    );
    vae.destroy();
    device.destroy();
  });
});
