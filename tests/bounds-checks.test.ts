// Devices without WebGPU's bounds checks (acquireNodeDevice({ boundsChecks: false }) or
// WEBGPU_VAE_BOUNDS_CHECKS=0). The option must reach Dawn: a read past its binding returns the
// clamped element with the checks and the element beyond without them. And the library's kernels
// must not lean on the clamping: a model trained on an unchecked device takes the same steps, to
// the last bit, as on a checked one (a kernel reading past a binding would see other values
// there), through dense and convolutional layers, zero skipping, GroupNorm, nearest upsampling,
// IWAE, the stratified TC estimate, a predicted scale, labels and partial batches, under the
// software adapter's kernels and under a GPU's (tiled matmuls, implicit-GEMM convolutions, split
// sums). Such a device keeps saying so when passed on bare (autotune keys), and the library's own
// bindings are held to what their kernels read. Node only (second Dawn instances).
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors';
import { wrapDevice } from '../src/gpu/device';
import { checkLibraryBindingBytes } from '../src/gpu/kernel-checks';
import { acquireNodeDevice, BOUNDS_CHECKS_VARIABLE, boundsChecksWanted } from '../src/gpu/node-device';
import type { VaeConfig } from '../src/model/config';
import { autotuneAdapterKey } from '../src/model/autotune';
import { VAE } from '../src/model/vae';

/** Element `index` of a 16-float buffer [0, 1, ..., 15] read through a binding of its first 4. */
async function readPastBinding(boundsChecks: boolean, index: number): Promise<number> {
  const { device } = await acquireNodeDevice({ boundsChecks });
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const data = device.createBuffer({ size: 64, usage });
  device.queue.writeBuffer(data, 0, Float32Array.from({ length: 16 }, (_, i) => i));
  const out = device.createBuffer({ size: 4, usage });
  const at = device.createBuffer({ size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(at, 0, Uint32Array.of(index, 0, 0, 0));
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read> a: array<f32>;
      @group(0) @binding(1) var<storage, read_write> o: array<f32>;
      @group(0) @binding(2) var<uniform> at: vec4<u32>;
      @compute @workgroup_size(1) fn main() { o[0] = a[at.x]; }`,
  });
  const pipeline = await device.createComputePipelineAsync({ layout: 'auto', compute: { module, entryPoint: 'main' } });
  const group = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: data, size: 16 } }, { binding: 1, resource: { buffer: out } }, { binding: 2, resource: { buffer: at } }],
  });
  const read = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const enc = device.createCommandEncoder();
  const pass = enc.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, group);
  pass.dispatchWorkgroups(1);
  pass.end();
  enc.copyBufferToBuffer(out, 0, read, 0, 4);
  device.queue.submit([enc.finish()]);
  await read.mapAsync(GPUMapMode.READ);
  const value = new Float32Array(read.getMappedRange())[0];
  device.destroy();
  return value;
}

describe('acquireNodeDevice({ boundsChecks })', () => {
  const saved = process.env[BOUNDS_CHECKS_VARIABLE];
  afterEach(() => {
    if (saved === undefined) delete process.env[BOUNDS_CHECKS_VARIABLE];
    else process.env[BOUNDS_CHECKS_VARIABLE] = saved;
  });

  it('reaches Dawn: past its binding a read is clamped with the checks and is not without them', async () => {
    expect(await readPastBinding(true, 6)).toBe(3);
    expect(await readPastBinding(false, 6)).toBe(6);
    // Inside the binding both read the element itself.
    expect(await readPastBinding(false, 2)).toBe(2);
  });

  it('takes the option, else WEBGPU_VAE_BOUNDS_CHECKS (0 or 1), else keeps the checks; refuses other values by name', async () => {
    delete process.env[BOUNDS_CHECKS_VARIABLE];
    expect(boundsChecksWanted({})).toBe(true);
    process.env[BOUNDS_CHECKS_VARIABLE] = '0';
    expect(boundsChecksWanted({})).toBe(false);
    expect(boundsChecksWanted({ boundsChecks: true })).toBe(true);
    process.env[BOUNDS_CHECKS_VARIABLE] = '1';
    expect(boundsChecksWanted({})).toBe(true);
    expect(boundsChecksWanted({ boundsChecks: false })).toBe(false);
    process.env[BOUNDS_CHECKS_VARIABLE] = 'off';
    expect(() => boundsChecksWanted({})).toThrow(/WEBGPU_VAE_BOUNDS_CHECKS=off: set it to 0 \(shaders without WebGPU's bounds checks\) or 1/);
    await expect(acquireNodeDevice()).rejects.toThrow(ConfigError);
    expect(() => boundsChecksWanted({ boundsChecks: 'no' as unknown as boolean })).toThrow(/boundsChecks takes true or false, got "no"/);
    // The device says it has none, for reports.
    delete process.env[BOUNDS_CHECKS_VARIABLE];
    const unchecked = await acquireNodeDevice({ boundsChecks: false });
    expect(unchecked.boundsChecks).toBe(false);
    unchecked.device.destroy();
    const checked = await acquireNodeDevice();
    expect(checked.boundsChecks).toBeUndefined();
    checked.device.destroy();
  });
});

/** Pixel bytes of `count` pictures, mostly zeros (so the first dense layer's zero skipping has lists to follow). */
const pictures = (count: number, size: number) => Uint8Array.from({ length: count * size }, (_, i) => (((i * 2654435761) >>> 7) % 5 < 3 ? 0 : ((i * 40503) >>> 3) & 255));

/** [label, config, batch, kernels: the software adapter's defaults, or a GPU's (this adapter presented as one)]. */
const models: [string, Partial<VaeConfig>, batch: number, kernels: 'software' | 'gpu'][] = [
  ['MLP skipping the input zeros, 3 classes', { inputDim: 64, imageShape: [8, 8], hidden: [24, 12], latent: 3, classes: 3 }, 16, 'software'],
  ['conv GroupNorm + nearest upsampling + IWAE K=3', { arch: 'conv', inputDim: 256, imageShape: [16, 16], channels: [4, 8], norm: 'group', normGroups: 2, upsample: 'nearest', latent: 3, objective: 'iwae', samples: 3 }, 5, 'software'],
  ['conv RGB, predicted scale, stratified TC, L=2', { arch: 'conv', inputDim: 192, imageShape: [8, 8], imageChannels: 3, channels: [16, 17], dense: [9], latent: 4, objective: 'tcvae', tcEstimator: 'mss', beta: 3, samples: 2, likelihood: 'gaussian', sigma: 'predicted' }, 6, 'software'],
  ["a GPU's kernels: MLP at batch 1030, free bits", { inputDim: 50, hidden: [33], latent: 5, freeBits: 0.1 }, 1030, 'gpu'],
  ["a GPU's kernels: conv RGB, GroupNorm, per-pixel scale", { arch: 'conv', inputDim: 3 * 12 * 12, imageShape: [12, 12], imageChannels: 3, channels: [5, 9], norm: 'group', normGroups: 1, latent: 3, likelihood: 'gaussian', sigma: 'learned-pixel' }, 7, 'gpu'],
];

describe('the kernels on a device without bounds checks', () => {
  it.each(models)('%s: the same steps and evaluation, bit for bit, as with the checks', async (_, config, batch, kernels) => {
    const results: { flat: Float32Array; losses: number[]; test: number }[] = [];
    for (const boundsChecks of [true, false]) {
      const acquired = await acquireNodeDevice({ boundsChecks });
      const device = kernels === 'gpu' ? { ...acquired, adapter: { ...acquired.adapter, isSoftware: false } } : acquired;
      const vae = await VAE.create(config, { device, batch, seed: 7, lossEvery: 1 });
      if (kernels === 'gpu') expect(vae.kernels.matmul).toBe('tiled-vec4');
      const count = 2 * batch + 3; // the last batch is partial
      const images = pictures(count, vae.config.inputDim);
      const data = vae.upload({ images, count, ...(vae.config.classes ? { labels: Uint8Array.from({ length: count }, (_, i) => i % 3) } : {}) });
      for (let s = 0; s < 3; s++) await vae.trainStep({ data, index: s });
      const losses = (await vae.readLosses()).map((l) => l.loss);
      const test = (await vae.elbo(data)).loss;
      results.push({ flat: await vae.flatParameters(), losses, test });
      vae.destroy();
    }
    const [checked, unchecked] = results;
    expect(checked.losses).toHaveLength(3);
    expect(checked.losses.every(Number.isFinite)).toBe(true);
    expect(unchecked.losses).toEqual(checked.losses);
    expect(unchecked.test).toBe(checked.test);
    const differing = checked.flat.findIndex((v, i) => !Object.is(v, unchecked.flat[i]));
    expect(differing, differing >= 0 ? `parameter ${differing}: ${checked.flat[differing]} with the checks, ${unchecked.flat[differing]} without` : '').toBe(-1);
  }, 300_000);
});

describe('autotune choices', () => {
  it('are kept apart for a device without bounds checks, whose fastest kernels may differ', async () => {
    const unchecked = await acquireNodeDevice({ boundsChecks: false });
    const keys = [autotuneAdapterKey(unchecked), autotuneAdapterKey({ adapter: unchecked.adapter })];
    expect(keys[0]).toBe(`${keys[1]} (no bounds checks)`);
    // Passed on bare, as a GPUDevice, the device still says it has no checks.
    expect(wrapDevice(unchecked.device).boundsChecks).toBe(false);
    expect(autotuneAdapterKey(wrapDevice(unchecked.device))).toBe(keys[0]);
    // A model on that device files its choices under that key.
    const seen: string[] = [];
    const cache = { get: async () => undefined, set: async (key: string) => { seen.push(key); } };
    const vae = await VAE.create({ inputDim: 16, hidden: [8], latent: 2 }, { device: unchecked.device, batch: 4, autotune: 'quick', autotuneCache: cache });
    vae.destroy();
    unchecked.device.destroy(); // given bare, the model did not own it
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((key) => key.includes('(no bounds checks)')), seen.join('\n')).toBe(true);
  }, 300_000);
});

describe("the library's own bindings", () => {
  it('are refused, as the library\'s bug, when one holds less than its kernel reads for its shape', async () => {
    const { matmul } = await import('../shaders/matmul');
    const kernel = matmul({ M: 4, N: 3, K: 5 });
    const buffer = { size: 4096 } as GPUBuffer;
    const enough = Object.fromEntries(kernel.bindings.map((b) => [b.name, { buffer, offset: 0, size: kernel.minBytes?.[b.name] ?? 256 }]));
    expect(() => checkLibraryBindingBytes(kernel, enough, 'train[4]')).not.toThrow();
    const shortA = { ...enough, a: { buffer, offset: 0, size: 4 * 4 * 5 - 4 } };
    expect(() => checkLibraryBindingBytes(kernel, shortA, 'train[4]')).toThrow(/kernel matmul\S* in train\[4\]: binding 'a' holds 76 bytes, but the kernel reads up to 80 for its shape; this is a bug in webgpu-vae's planning/);
  });
});
