// An app's `KernelGraph` from `webgpu-vae/kernels`, on a device it shares with a model: the graph is
// the app's as `compile().bind()` is (its buffers checked before WebGPU sees them, misuse a
// ConfigError, what it makes labelled `webgpu-vae-kernels:`), so the app's mistakes in it stay the
// app's and the model goes on training.
import { afterAll, describe, expect, it } from 'vitest';
import { activationForward, compile, KERNELS_LABEL_PREFIX, KernelGraph, matmul, pipelineCacheFor } from '../src/kernels';
import { readFloats } from '../src/gpu/buffers';
import { VAE } from '../src/model/vae';
import { defaultLimitsDevice } from './helpers/default-limits';

const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
const refusal = (message: RegExp) => expect.objectContaining({ name: 'ConfigError', message: expect.stringMatching(message) });

/** One device an app made itself, with a trained model on it and every uncaptured error it raised. */
let shared: Promise<{ device: GPUDevice; vae: VAE; seen: string[] }> | null = null;
const appWithModel = () => (shared ??= (async () => {
  const device = await defaultLimitsDevice();
  const seen: string[] = [];
  device.addEventListener('uncapturederror', (e) => seen.push((e as GPUUncapturedErrorEvent).error.message));
  const vae = await VAE.create({ hidden: [16], latent: 2, inputDim: 64 }, { device, batch: 8 });
  await vae.trainStep(new Float32Array(8 * 64).fill(0.5));
  return { device, vae, seen };
})());
afterAll(async () => {
  if (!shared) return;
  const { device, vae } = await shared;
  vae.destroy();
  device.destroy();
});

/** The model still trains: a step, and its loss read back (a failed model throws its GpuError here). */
const modelTrains = async (vae: VAE) => {
  await vae.trainStep(new Float32Array(8 * 64).fill(0.25));
  expect(Number.isFinite((await vae.readLosses()).at(-1)?.loss)).toBe(true);
};

const settle = async (device: GPUDevice) => {
  await device.queue.onSubmittedWorkDone();
  await new Promise((r) => setTimeout(r, 50));
};

describe('an app\'s KernelGraph on a device shared with a model', () => {
  it('refuses a buffer without STORAGE, as compile().bind() does, and the model keeps training', async () => {
    const { device, vae, seen } = await appWithModel();
    const copyOnly = device.createBuffer({ size: 16, usage: GPUBufferUsage.COPY_DST });
    const graph = new KernelGraph('app-graph').add(activationForward({ kind: 'relu', count: 1024 }), { x: copyOnly, y: copyOnly });
    // The graph built and its bind group failed on the device, as the model's own failure.
    await expect(graph.build(pipelineCacheFor(device))).rejects.toThrow(refusal(/^kernel activation_forward_relu: binding 'x' is a storage binding and needs a buffer created with GPUBufferUsage.STORAGE; this one has COPY_DST$/));
    const short = device.createBuffer({ size: 16, usage: storageUsage() });
    await expect(new KernelGraph('short').add(activationForward({ kind: 'relu', count: 1024 }), { x: short, y: short }).build(pipelineCacheFor(device)))
      .rejects.toThrow(refusal(/binding 'x' needs at least 4096 bytes for this shape, but 16 were given/));
    await settle(device);
    expect(seen).toEqual([]);
    await modelTrains(vae);
    copyOnly.destroy();
    short.destroy();
  });

  it('a WebGPU error in the app graph is the app\'s, labelled as the kernels API\'s, and the model keeps training', async () => {
    const { device, vae, seen } = await appWithModel();
    // A buffer of another device, which bind() cannot tell: WebGPU refuses the bind group, on the device.
    const otherDevice = await defaultLimitsDevice();
    const foreign = otherDevice.createBuffer({ size: 256, usage: storageUsage() });
    const y = device.createBuffer({ size: 256, usage: storageUsage() });
    const graph = await new KernelGraph('foreign').add(activationForward({ kind: 'relu', count: 64 }), { x: foreign, y }).build(pipelineCacheFor(device));
    const enc = device.createCommandEncoder();
    graph.encode(enc);
    device.queue.submit([enc.finish()]);
    await settle(device);
    expect(seen.some((m) => m.includes(`"${KERNELS_LABEL_PREFIX}foreign:activation_forward_relu"`)), seen.join('\n')).toBe(true);
    expect(seen.some((m) => m.includes('"webgpu-vae:')), seen.join('\n')).toBe(false);
    // The model had taken the error for its own failure: every later call threw it as a GpuError.
    await modelTrains(vae);
    seen.length = 0;
    y.destroy();
    otherDevice.destroy();
  });

  it('misuse while recording is a ConfigError naming the binding, not a bare Error', async () => {
    const { device } = await appWithModel();
    const buffer = device.createBuffer({ size: 256, usage: storageUsage() });
    const relu = activationForward({ kind: 'relu', count: 64 });
    const binds = "kernel activation_forward_relu binds 'x', 'y'";
    expect(() => new KernelGraph('g').add(relu, { x: buffer })).toThrow(refusal(new RegExp(`^graph g: kernel activation_forward_relu needs a buffer for 'y'; ${binds}$`)));
    expect(() => new KernelGraph('g').add(relu, { x: buffer, y: buffer, Y: buffer })).toThrow(refusal(/has no binding named 'Y' \(did you mean 'y'\?\); /));
    // Misspelt alone: named, with the nearest name, and the binding it leaves without a buffer.
    expect(() => new KernelGraph('g').add(relu, { x: buffer, Y: buffer })).toThrow(refusal(new RegExp(`^graph g: kernel activation_forward_relu has no binding named 'Y' \\(did you mean 'y'\\?\\), and no buffer for 'y'; ${binds}$`)));
    expect(() => new KernelGraph('g').add(relu, { x: buffer, y: new Float32Array(64) as never })).toThrow(refusal(/binding 'y' must be a GPUBuffer, \{ buffer: GPUBuffer, offset\?, size\? \} or a Tensor/));
    expect(() => new KernelGraph('g').add(relu, { x: buffer, y: buffer }).encode(device.createCommandEncoder())).toThrow(refusal(/call build\(\) before encode\(\)/));
    const built = await new KernelGraph('g').add(relu, { x: buffer, y: { buffer, offset: 0, size: 256 } }).build(pipelineCacheFor(device));
    expect(() => built.add(relu, { x: buffer, y: buffer })).toThrow(refusal(/cannot add activation_forward_relu after build\(\)/));
    buffer.destroy();
  });

  it('computes on the app\'s buffers, a shape-generic kernel\'s sizes made by the cache under the kernels API\'s label', async () => {
    const { device } = await appWithModel();
    const made: string[] = [];
    const createBuffer = device.createBuffer;
    device.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) { made.push(d.label ?? ''); return createBuffer.call(this, d); };
    try {
      const upload = (values: number[]) => {
        const b = createBuffer.call(device, { size: values.length * 4, usage: storageUsage() });
        device.queue.writeBuffer(b, 0, new Float32Array(values));
        return b;
      };
      const a = upload([1, -2, 3, 4]), b = upload([1, 0, 0, 1]), c = upload([0, 0, 0, 0]), y = upload([9, 9, 9, 9]);
      const graph = new KernelGraph('chain')
        .add(matmul({ M: 2, N: 2, K: 2, generic: true }), { a, b, c })
        .add(activationForward({ kind: 'relu', count: 4 }), { x: c, y });
      await graph.build(pipelineCacheFor(device));
      const enc = device.createCommandEncoder();
      graph.encode(enc);
      device.queue.submit([enc.finish()]);
      expect(Array.from(await readFloats(device, y))).toEqual([1, 0, 3, 4]);
      expect(made.filter((l) => /MatmulDims/.test(l))).toEqual([`${KERNELS_LABEL_PREFIX}MatmulDims=2,2,2,0`]);
      for (const x of [a, b, c, y]) x.destroy();
    } finally {
      device.createBuffer = createBuffer;
    }
  });
});

describe('pipelineCacheFor(device).clear()', () => {
  it('drops what the app compiled and keeps what the model uses; what the app still holds keeps working', async () => {
    const { device, vae } = await appWithModel();
    const cache = pipelineCacheFor(device);
    const modelKernels = vae.record('train', 8).graph.kernels;
    expect(modelKernels.every((k) => cache.has(k, 'library'))).toBe(true);
    const pictures = await vae.sample(2, 7);
    const upload = (values: number[]) => {
      const b = device.createBuffer({ size: values.length * 4, usage: storageUsage() });
      device.queue.writeBuffer(b, 0, new Float32Array(values));
      return b;
    };
    const a = upload([1, 2, 3, 4]), b = upload([0, 1, 1, 0]), c = upload([0, 0, 0, 0]);
    const generic = matmul({ M: 2, N: 2, K: 2, generic: true }), relu = activationForward({ kind: 'relu', count: 5 });
    const compiled = await compile(device, generic);
    await compile(device, relu);
    const bound = compiled.bind({ a, b, c });
    expect([cache.has(generic), cache.has(relu)]).toEqual([true, true]);

    cache.clear();
    expect([cache.has(generic), cache.has(relu)]).toEqual([false, false]);
    expect(modelKernels.every((k) => cache.has(k, 'library'))).toBe(true);
    // The dispatch bound before, with the sizes' uniform the cache made for it, still runs.
    bound.run();
    expect(Array.from(await readFloats(device, c))).toEqual([2, 1, 4, 3]);
    // The model compiles nothing again and draws the same pictures.
    const compiles = cache.compiles;
    expect(await vae.sample(2, 7)).toEqual(pictures);
    await modelTrains(vae);
    expect(cache.compiles).toBe(compiles);
    // The app's kernel is a new compile, and its sizes a new uniform.
    const made: string[] = [];
    const createBuffer = device.createBuffer;
    device.createBuffer = function (this: GPUDevice, d: GPUBufferDescriptor) { made.push(d.label ?? ''); return createBuffer.call(this, d); };
    try {
      const again = await compile(device, generic);
      expect(cache.compiles).toBe(compiles + 1);
      expect(again.pipeline).not.toBe(compiled.pipeline);
      again.bind({ a, b, c });
      expect(made).toEqual([`${KERNELS_LABEL_PREFIX}MatmulDims=2,2,2,0`]);
    } finally {
      device.createBuffer = createBuffer;
    }
    for (const x of [a, b, c]) x.destroy();
  });
});
