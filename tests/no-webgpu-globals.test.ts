// A Node app may make its device from the `webgpu` package without copying that package's
// globals (GPUBufferUsage, GPUMapMode, GPUShaderStage) onto globalThis: the library reads WebGPU's
// flag values from its own table (src/gpu/webgpu-flags.ts), so a model and an app's kernel both
// run with those globals gone.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compile, matmul } from '../src/kernels';
import { BufferUsage, MapMode, ShaderStage } from '../src/gpu/webgpu-flags';
import { VAE } from '../src/model/vae';
import { gpu } from './helpers/gpu';

const NAMES = ['GPUBufferUsage', 'GPUMapMode', 'GPUShaderStage'] as const;
const g = globalThis as Record<string, unknown>;
const saved: Record<string, unknown> = {};

describe('the library without WebGPU\'s globals', () => {
  beforeAll(async () => {
    await gpu();
    for (const name of NAMES) {
      saved[name] = g[name];
      delete g[name];
    }
  });
  afterAll(() => {
    for (const name of NAMES) g[name] = saved[name];
  });

  it('its table holds the values the globals hold', () => {
    for (const [name, table] of [['GPUBufferUsage', BufferUsage], ['GPUMapMode', MapMode], ['GPUShaderStage', ShaderStage]] as const) {
      const global = saved[name] as Record<string, number>;
      for (const [key, value] of Object.entries(table)) expect(global[key], `${name}.${key}`).toBe(value);
    }
  });

  it('trains a model, reads its losses and samples, and runs an app\'s kernel', async () => {
    expect(typeof g.GPUBufferUsage).toBe('undefined');
    const { device } = await gpu();
    const vae = await VAE.create({ hidden: [16], latent: 2 }, { device, batch: 8 });
    try {
      const x = new Float32Array(8 * 784).map((_, i) => (i % 7) / 7);
      await vae.trainStep(x);
      const [record] = await vae.readLosses();
      expect(Number.isFinite(record.loss)).toBe(true);
      expect((await vae.sample(2)).length).toBe(2 * 784);
    } finally {
      vae.destroy();
    }
    const kernel = await compile(device, matmul({ M: 2, N: 2, K: 2 }));
    const usage = BufferUsage.STORAGE | BufferUsage.COPY_DST;
    const a = device.createBuffer({ size: 16, usage }), b = device.createBuffer({ size: 16, usage }), c = device.createBuffer({ size: 16, usage: usage | BufferUsage.COPY_SRC });
    device.queue.writeBuffer(a, 0, new Float32Array([1, 2, 3, 4]));
    device.queue.writeBuffer(b, 0, new Float32Array([5, 6, 7, 8]));
    const encoder = device.createCommandEncoder();
    kernel.bind({ a, b, c }).encode(encoder);
    const read = device.createBuffer({ size: 16, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST });
    encoder.copyBufferToBuffer(c, 0, read, 0, 16);
    device.queue.submit([encoder.finish()]);
    await read.mapAsync(MapMode.READ);
    expect([...new Float32Array(read.getMappedRange())]).toEqual([19, 22, 43, 50]);
    read.unmap();
    for (const buffer of [a, b, c, read]) buffer.destroy();
  });
});
