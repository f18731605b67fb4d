// Kernels that count their work from a binding's length (`sizedByBinding`) give wrong numbers, with
// no error, when that binding is longer than their parameters say: `bind()` for an app, and an
// app's KernelGraph, refuse any size but the exact one, naming the binding, both sizes and the fix.
import { describe, expect, it } from 'vitest';
import {
  activationForward, channelsToRows, col2im, compile, concatForward, conv2dForward, conv2dInputGrad, CONV_VARIANTS, decoderMean, groupNormForward,
  im2col, KernelGraph, pipelineCacheFor, priorSample, reparamForward, rowsToChannels, upsampleForward, type Kernel,
} from '../src/kernels';
import { readFloats } from '../src/gpu/buffers';
import { gpu } from './helpers/gpu';

const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
const layout = { latent: 2, stride: 4, mu: 0, logvar: 2 };
const geometry = { batch: 2, inChannels: 3, inHeight: 5, inWidth: 5, outChannels: 4, kernel: 3, stride: 2, padding: 1 };
const channels = { batch: 2, channels: 4, pixels: 9 };

/** Every factory that takes `sizedByBinding`, built with it (or without, `sized` false). */
const sizedKernels = (sized: boolean): Kernel[] => [
  activationForward({ kind: 'relu', count: 7, sizedByBinding: sized }),
  reparamForward({ batch: 2, samples: 2, layout, sizedByBinding: sized }),
  reparamForward({ batch: 2, samples: 2, layout, meanOnly: true, sizedByBinding: sized }),
  priorSample({ count: 6, latent: 3, sizedByBinding: sized }),
  decoderMean({ rows: 2, dim: 5, likelihood: 'bernoulli', sizedByBinding: sized }),
  concatForward({ rows: 4, features: 3, extra: 2, conditionRows: 2, sizedByBinding: sized }),
  ...CONV_VARIANTS.flatMap((variant) => [
    conv2dForward({ ...geometry, variant, bias: true, activation: 'relu', sizedByBinding: sized }),
    conv2dInputGrad({ ...geometry, variant, gradActivation: 'relu', sizedByBinding: sized }),
  ]),
  im2col({ ...geometry, sizedByBinding: sized }),
  col2im({ ...geometry, bias: true, sizedByBinding: sized }),
  channelsToRows({ ...channels, sizedByBinding: sized }),
  rowsToChannels({ ...channels, gradActivation: 'relu', sizedByBinding: sized }),
  groupNormForward({ ...channels, groups: 2, activation: 'relu', sizedByBinding: sized }),
  upsampleForward({ batch: 2, channels: 3, height: 2, width: 3, scale: 2, sizedByBinding: sized }),
];

/** The bindings whose length the WGSL reads. */
const lengthsRead = (k: Kernel) => [...new Set([...k.code.matchAll(/arrayLength\(&(\w+)\)/g)].map((m) => m[1]))];

describe('kernels sized by a binding', () => {
  it('declare the binding they count from as exact, and only with sizedByBinding', () => {
    for (const k of sizedKernels(true)) {
      expect(k.exactBindings, k.name).toEqual(lengthsRead(k));
      expect(k.exactBindings!.length, k.name).toBe(1);
    }
    for (const k of sizedKernels(false)) expect([k.exactBindings, lengthsRead(k)], k.name).toEqual([undefined, []]);
  });

  it('bind() refuses a longer binding of what the kernel counts from, naming the sizes and the fix; an exact slice gives the right rows', async () => {
    const { device } = await gpu();
    const k = await compile(device, reparamForward({ batch: 2, samples: 2, layout, meanOnly: true, sizedByBinding: true }));
    const make = (bytes: number, usage = storageUsage()) => device.createBuffer({ size: bytes, usage });
    const q = make(32);
    device.queue.writeBuffer(q, 0, new Float32Array([1, 2, 0, 0, 3, 4, 0, 0]));
    const long = make(64);
    // Bound whole, z's 64 bytes were read as 4 rows: sample 1 landed at z[8], past the 2 rows' 8 values.
    expect(() => k.bind({ q, z: long })).toThrow(expect.objectContaining({
      name: 'ConfigError',
      message: "kernel reparam_forward_mean: binding 'z' binds 64 bytes (the buffer), but the kernel (sizedByBinding) counts its work from this binding's length, " +
        'so it must be exactly 32 bytes, the size its parameters give; a longer binding gives wrong results. Bind a slice of exactly that size ({ buffer, offset, size: 32 }), or build the kernel for the size you bind',
    }));
    expect(() => k.bind({ q, z: { buffer: long, offset: 0, size: 48 } })).toThrow(/binding 'z' binds 48 bytes \(a slice of size 48\), but .* must be exactly 32 bytes/);
    expect(() => k.bind({ q, z: { buffer: long, offset: 0, size: 16 } })).toThrow(/binding 'z' needs at least 32 bytes for this shape, but 16 were given/);
    device.queue.writeBuffer(long, 0, new Float32Array(16).fill(-1));
    k.bind({ q, z: { buffer: long, offset: 0, size: 32 } }).run();
    // meanOnly: z = mu for each sample; the rest of the buffer is left alone.
    expect(Array.from(await readFloats(device, long))).toEqual([1, 2, 3, 4, 1, 2, 3, 4, ...new Array(8).fill(-1)]);
    for (const b of [q, long]) b.destroy();
  });

  it('a binding the kernel does not count from may still be longer (concatForward\'s condition)', async () => {
    const { device } = await gpu();
    const k = await compile(device, concatForward({ rows: 4, features: 3, extra: 2, conditionRows: 2, sizedByBinding: true }));
    const [x, c, y] = [k.minBytes!.x, k.minBytes!.c * 4, k.minBytes!.y].map((bytes) => device.createBuffer({ size: bytes, usage: storageUsage() }));
    expect(() => k.bind({ x, c, y })).not.toThrow();
    const longY = device.createBuffer({ size: k.minBytes!.y + 20, usage: storageUsage() });
    expect(() => k.bind({ x, c, y: longY })).toThrow(new RegExp(`binding 'y' binds ${k.minBytes!.y + 20} bytes .* must be exactly ${k.minBytes!.y} bytes`));
    for (const b of [x, c, y, longY]) b.destroy();
  });

  it('an app\'s KernelGraph refuses the same binding, before anything is dispatched', async () => {
    const { device } = await gpu();
    const kernel = groupNormForward({ ...channels, groups: 2, activation: 'relu', sizedByBinding: true });
    const buffers = Object.fromEntries(kernel.bindings.map((b) => [b.name, device.createBuffer({ size: kernel.minBytes![b.name] + (b.name === 'stats' ? 16 : 0), usage: storageUsage() })]));
    const graph = new KernelGraph('norm').add(kernel, buffers);
    await expect(graph.build(pipelineCacheFor(device))).rejects.toThrow(expect.objectContaining({
      name: 'ConfigError', message: expect.stringMatching(new RegExp(`binding 'stats' binds ${kernel.minBytes!.stats + 16} bytes .* must be exactly ${kernel.minBytes!.stats} bytes`)),
    }));
    for (const b of Object.values(buffers)) b.destroy();
  });
});
