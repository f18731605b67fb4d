// The kernels a GPU gets by default (kernelsFor a non-software adapter: tiled-vec4 matmuls
// specialized to their shapes, implicit-GEMM convolutions with `direct` input gradients and split
// weight gradients, 64-thread likelihood rows, bias sums split over the batch), run on this
// machine's adapter presented as a GPU: whole models train as they do under a software adapter's
// defaults (the adapter presented as software; on SwiftShader, itself). The kernels are tested one by one elsewhere; this guards the combination a
// lent GPU runs first, which no other test here builds.
import { describe, expect, it } from 'vitest';
import { summarizeAdapter, type AcquiredDevice } from '../src/gpu/device';
import { kernelsFor } from '../src/model/kernel-choice';
import { VAE } from '../src/model/vae';
import { expectClose, testData } from './helpers/compare';
import { gpu } from './helpers/gpu';

const CASES = [
  ['an MLP at batch 1024 (sums and weight gradients split over the batch)', { inputDim: 64, hidden: [48], latent: 4 }, 1024],
  ['a conv model with GroupNorm', { arch: 'conv', inputDim: 256, imageShape: [16, 16], channels: [4, 8], norm: 'group', normGroups: 2, latent: 3 }, 8],
  ['a colour conv model with a learned per-pixel Gaussian scale', { arch: 'conv', inputDim: 3 * 8 * 8, imageShape: [8, 8], imageChannels: 3, channels: [4, 8], likelihood: 'gaussian', sigma: 'learned-pixel', latent: 3 }, 8],
] as const;

describe('the GPU defaults, against the software defaults on the same adapter', () => {
  it.each(CASES)('%s trains as under the software defaults', async (_, config, batch) => {
    const { device } = await gpu();
    const adapter = summarizeAdapter(device.adapterInfo, device.features);
    const asGpu: AcquiredDevice = { device, adapter: { ...adapter, isSoftware: false }, owned: false };
    const asItself: AcquiredDevice = { device, adapter: { ...adapter, isSoftware: true }, owned: false };
    const x = Float32Array.from(testData(batch * config.inputDim, 31, 0, 1));
    const run = async (device: AcquiredDevice) => {
      const vae = await VAE.create(config as never, { device, batch, seed: 3, lossEvery: 1 });
      const names = (await vae.plan('train', batch)).graph.kernels.map((k) => k.name);
      for (let i = 0; i < 3; i++) await vae.trainStep(x);
      const losses = (await vae.readLosses()).map((l) => l.loss);
      const params = await vae.flatParameters();
      const kernels = vae.kernels;
      vae.destroy();
      return { names, losses, params, kernels };
    };
    const onGpuPath = await run(asGpu), onSoftwarePath = await run(asItself);
    expect(onGpuPath.kernels).toEqual(kernelsFor({ isSoftware: false, subgroups: device.features.has('subgroups') }));
    const has = (part: string) => onGpuPath.names.some((n) => n.includes(part));
    expect(has('_tiled-vec4') && !has('_generic'), onGpuPath.names.join(', ')).toBe(true);
    if ('arch' in config) expect(has('implicit_gemm') && has('conv2d_input_grad') && onGpuPath.names.some((n) => n.startsWith('conv2d_input_grad') && n.includes('_direct')), onGpuPath.names.join(', ')).toBe(true);
    if (batch === 1024) {
      // 64-48-(2x4) encoder, 4-48-64 decoder: each of the 4 weight gradients has one block of C and
      // K = 1,024, so it splits over the batch (a product into slices, then their sum), and each
      // layer's 1024-row bias gradient runs in slices and a sum; the software path splits nothing.
      const count = (names: string[], pick: (n: string) => boolean) => names.filter(pick).length;
      expect(count(onGpuPath.names, (n) => n.endsWith('_splitk')), onGpuPath.names.join(', ')).toBe(4);
      expect(count(onGpuPath.names, (n) => n === 'matmul_slice_sum')).toBe(4);
      expect(count(onGpuPath.names, (n) => n === 'column_sum_split')).toBe(4);
      expect(count(onGpuPath.names, (n) => n === 'column_slice_sum')).toBe(4);
      expect(count(onSoftwarePath.names, (n) => n.endsWith('_splitk') || n.includes('_slice_sum') || n === 'column_sum_split'), onSoftwarePath.names.join(', ')).toBe(0);
    }
    expect(onGpuPath.losses.length).toBe(3);
    expectClose(onGpuPath.losses, onSoftwarePath.losses, { atol: 0, rtol: 2e-5 }, 'losses of 3 steps, GPU defaults against software defaults');
    // After 3 Adam steps the parameters agree to float32 rounding of differently ordered sums.
    expectClose(onGpuPath.params, onSoftwarePath.params, { atol: 1e-5, rtol: 1e-4 }, 'parameters after 3 steps');
  }, 600_000);
});
