// The training step's larger-block matmuls (src/model/hot-kernels.ts): swapped in after its first
// steps, they must leave every number as it was. A model that swaps mid-run takes the same steps,
// to the last bit, as one that never does (dense layers skipping the input's zeros, and, in Node,
// convolutions through im2col), and the swap keeps each kernel's bindings and zero-skipping list.
import { describe, expect, it } from 'vitest';
import { HOT_MIN_BLOCKS, hotMatmul, matmul, nonzeroStepsFor, type MatmulParams } from '../shaders/matmul';
import { KernelGraph } from '../src/graph';
import type { VaeConfig } from '../src/model/config';
import { HOT_AFTER_STEPS, HotKernels, hotKernel } from '../src/model/hot-kernels';
import { VAE } from '../src/model/vae';
import { gpu, TEST_HOST } from './helpers/gpu';

const product: MatmulParams = { M: 256, N: 256, K: 44, transB: true, bias: true, activation: 'relu', variant: 'register-subgroup', generic: true, subgroups: true };

describe('hotMatmul', () => {
  it('gives register-subgroup products larger blocks with the same bindings and constants', () => {
    const base = matmul(product), hot = hotMatmul(product)!;
    expect(hot.name).toContain('TM8TN32UNROLL_K4');
    expect(hot.bindings).toEqual(base.bindings);
    expect(hot.constants).toEqual(base.constants);
    expect(hot.minBytes).toEqual(base.minBytes);
    expect(hot.code).not.toBe(base.code);
    // A hot kernel has its tile: it is not enlarged again.
    expect(hotMatmul(hot.matmul)).toBeNull();
  });

  it('keeps the block side of a zero-skipping operand, so its list stays valid', () => {
    for (const skipZeros of ['a', 'b'] as const) {
      const p = { ...product, skipZeros };
      const hot = hotMatmul(p)!;
      expect(nonzeroStepsFor(hot.matmul)).toEqual(nonzeroStepsFor(p));
      expect(hot.minBytes).toEqual(matmul(p).minBytes);
      expect(hot.name).toContain(skipZeros === 'a' ? 'TN32UNROLL_K4' : 'TM16UNROLL_K4');
    }
  });

  it('has none for other variants, a chosen tile, f16 operands or a device without subgroups', () => {
    expect(hotMatmul({ ...product, variant: 'tiled-vec4' })).toBeNull();
    expect(hotMatmul({ ...product, variant: 'register' })).toBeNull();
    expect(hotMatmul({ ...product, tile: { TM: 8, TN: 8 } })).toBeNull();
    expect(hotMatmul({ ...product, f16: ['a'] })).toBeNull();
    expect(hotMatmul({ ...product, subgroups: false })).toBeNull();
    expect(hotKernel(matmul({ ...product, variant: 'tiled' }))).toBeNull();
  });

  it(`has none for products the larger blocks would pad by more than a tenth, or cut into fewer than ${HOT_MIN_BLOCKS} blocks`, () => {
    expect(hotMatmul({ ...product, N: 16 })).toBeNull(); // 16 columns padded to 32
    expect(hotMatmul({ ...product, M: 136 })).toBeNull(); // 144 rows padded to 160
    expect(hotMatmul({ ...product, M: 120, N: 120 })).toBeNull(); // 16 blocks of 32 x 32
    expect(hotMatmul({ ...product, M: 256, N: 128 })).not.toBeNull(); // 32 blocks
    expect(hotMatmul({ ...product, M: 128, N: 784 })).not.toBeNull(); // 800 columns for 784: 2%
  });
});

describe('HotKernels', () => {
  const fakeGraph = (result: Promise<string[]>) => {
    const calls: number[] = [];
    const graph = { swapKernels: () => { calls.push(1); return result; } } as unknown as KernelGraph;
    return { graph, calls };
  };
  const cache = {} as never;

  it(`starts the swap once, at step ${HOT_AFTER_STEPS}, and not when disabled`, async () => {
    const { graph, calls } = fakeGraph(Promise.resolve(['k']));
    const hot = new HotKernels(() => true);
    hot.afterStep(HOT_AFTER_STEPS - 1, graph, cache, () => true);
    expect(calls).toHaveLength(0);
    hot.afterStep(HOT_AFTER_STEPS, graph, cache, () => true);
    hot.afterStep(HOT_AFTER_STEPS + 1, graph, cache, () => true);
    expect(await hot.upgrade(graph, cache, () => true)).toEqual(['k']);
    expect(calls).toHaveLength(1);
    const off = fakeGraph(Promise.resolve(['k']));
    const disabled = new HotKernels(() => false);
    disabled.afterStep(HOT_AFTER_STEPS, off.graph, cache, () => true);
    expect(await disabled.upgrade(off.graph, cache, () => true)).toEqual([]);
    expect(off.calls).toHaveLength(0);
  });

  it('keeps a failed compile from the steps, and upgrade() rethrows it', async () => {
    const { graph } = fakeGraph(Promise.reject(new Error('compile failed: line 3')));
    const hot = new HotKernels(() => true);
    hot.afterStep(HOT_AFTER_STEPS, graph, cache, () => true); // no unhandled rejection
    await expect(hot.upgrade(graph, cache, () => true)).rejects.toThrow('compile failed: line 3');
  });
});

describe('KernelGraph.swapKernels', () => {
  it('swaps in kernels of the same interface with the same results, skips others, and nothing once unwanted', async () => {
    const { device, cache } = await gpu();
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const k = matmul({ ...product, subgroups: device.features.has('subgroups') });
    const buffers = Object.fromEntries(k.bindings.filter((b) => b.kind !== 'uniform').map((b) => [b.name, device.createBuffer({ size: k.minBytes![b.name], usage })]));
    for (const name of ['a', 'b', 'bias']) {
      const values = Float32Array.from({ length: k.minBytes![name] / 4 }, (_, i) => Math.sin(i * 0.37 + name.length) * 2);
      device.queue.writeBuffer(buffers[name], 0, values);
    }
    const graph = await new KernelGraph('swap-test').add(k, buffers).build(cache);
    const run = async () => {
      const read = device.createBuffer({ size: buffers.c.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder();
      graph.encode(enc);
      enc.copyBufferToBuffer(buffers.c, 0, read, 0, buffers.c.size);
      device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const c = new Float32Array(read.getMappedRange().slice(0));
      read.destroy();
      return c;
    };
    const before = await run();
    const other = matmul({ ...product, bias: false, subgroups: device.features.has('subgroups') }); // no bias binding
    expect(await graph.swapKernels(cache, () => other)).toEqual([]);
    const hot = hotMatmul(k.matmul);
    expect(await graph.swapKernels(cache, hotKernel, () => false)).toEqual([]);
    expect(graph.kernels[0].name).toBe(k.name);
    expect(await graph.swapKernels(cache, hotKernel)).toEqual(hot ? [hot.name] : []);
    expect(graph.kernels[0].name).toBe(hot ? hot.name : k.name);
    const after = await run();
    expect(before.some((v) => v !== 0) && before.every(Number.isFinite)).toBe(true);
    const differing = before.findIndex((v, i) => !Object.is(v, after[i]));
    expect(differing, differing >= 0 ? `c[${differing}]: ${before[differing]} before the swap, ${after[differing]} after` : '').toBe(-1);
    for (const b of Object.values(buffers)) b.destroy();
  }, 120_000);
});

/** Pixel bytes of `count` pictures, mostly zeros (so the first dense layer skips zeros). */
const pictures = (count: number, size: number) => Uint8Array.from({ length: count * size }, (_, i) => (((i * 2654435761) >>> 7) % 5 < 3 ? 0 : ((i * 40503) >>> 3) & 255));

const models: [string, Partial<VaeConfig>, number][] = [
  // Products of 128 x 784 and 784 x 128 (the first layer's skipping zeros): large enough for larger blocks.
  ['MLP skipping the input zeros', { inputDim: 784, imageShape: [28, 28], hidden: [128], latent: 3 }, 128],
  ...(TEST_HOST === 'node' ? [['conv through im2col', { arch: 'conv', inputDim: 1024, imageShape: [32, 32], channels: [32, 64], latent: 3 }, 8] as [string, Partial<VaeConfig>, number]] : []),
];

describe('a model swapping in its larger-block kernels mid-run', () => {
  it.each(models)('%s: takes the same steps, bit for bit, as one that never does', async (_, config, batch) => {
    const { device } = await gpu();
    const results: { flat: Float32Array; losses: number[]; test: number; swapped: string[] }[] = [];
    for (const hotMatmuls of [false, true]) {
      const vae = await VAE.create(config, { device, batch, seed: 3, lossEvery: 1, kernels: { hotMatmuls } });
      const count = 3 * batch;
      const data = vae.upload({ images: pictures(count, vae.config.inputDim), count });
      const swapped: string[] = [];
      for (let s = 0; s < 6; s++) {
        if (s === 3) swapped.push(...(await vae.upgradeKernels()));
        await vae.trainStep({ data, index: s % 3 });
      }
      const losses = (await vae.readLosses()).map((l) => l.loss);
      const running = (await vae.plan('train', batch)).graph.kernels.map((k) => k.name);
      for (const name of swapped) expect(running).toContain(name);
      results.push({ flat: await vae.flatParameters(), losses, test: (await vae.elbo(data)).loss, swapped });
      data.destroy();
      vae.destroy();
    }
    const [never, swapping] = results;
    expect(never.swapped).toEqual([]);
    if (device.features.has('subgroups')) {
      expect(swapping.swapped.length).toBeGreaterThan(0);
      if (config.arch !== 'conv') expect(swapping.swapped.some((n) => n.endsWith('_skipa') || n.endsWith('_skipb'))).toBe(true);
    }
    expect(never.losses).toHaveLength(6);
    expect(never.losses.every(Number.isFinite)).toBe(true);
    expect(swapping.losses).toEqual(never.losses);
    expect(swapping.test).toBe(never.test);
    const differing = never.flat.findIndex((v, i) => !Object.is(v, swapping.flat[i]));
    expect(differing, differing >= 0 ? `parameter ${differing}: ${never.flat[differing]} unswapped, ${swapping.flat[differing]} swapped` : '').toBe(-1);
  }, 300_000);

  it('swaps nothing into a model destroyed while they compile, and refuses a call after', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ inputDim: 784, hidden: [128], latent: 3 }, { device, batch: 128 });
    const swap = vae.upgradeKernels();
    vae.destroy();
    expect(await swap).toEqual([]);
    await expect(vae.upgradeKernels()).rejects.toThrow(/this VAE was destroyed/);
  }, 120_000);

  it('swaps nothing after an autotune, whose measured choices stay', async () => {
    const { device } = await gpu();
    const cache = { get: async () => undefined, set: async () => {} };
    const vae = await VAE.create({ inputDim: 16, hidden: [8], latent: 2 }, { device, batch: 4, autotune: 'quick', autotuneCache: cache });
    expect(await vae.upgradeKernels()).toEqual([]);
    vae.destroy();
  }, 120_000);
});
