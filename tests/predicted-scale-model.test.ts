// A Gaussian VAE whose decoder predicts a log-scale for every pixel, trained on uniformly
// dequantized 8-bit MNIST: the loss falls, pictures are the D means (not the 2D outputs), the
// checkpoint carries the doubled output layer, and bits/dim include the D log 256 of the bins.
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { loadMnistNode } from '../src/data/mnist';
import { resolveConfig } from '../src/model/config';
import { bitsPerDim } from '../src/model/iwae-eval';
import { VAE } from '../src/model/vae';
import { gpu } from './helpers/gpu';

const config = { hidden: [64], latent: 8, likelihood: 'gaussian' as const, sigma: 'predicted' as const, dequantize: true };

describe('Gaussian decoder with a predicted per-pixel scale on dequantized data', async () => {
  const train = await loadMnistNode('train', { limit: 512 });

  it('trains, draws D-wide pictures, and round-trips through a checkpoint', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(config, { device, batch: 64, seed: 2, lr: 2e-3 });
    const out = vae.layout.tensors.find((t) => t.name === 'decoder.out.weight')!;
    expect(out.shape).toEqual([2 * 784, 64]);
    const data = vae.upload(train);
    for (let i = 0; i < 48; i++) await vae.trainStep({ data, index: i % 8 });
    const losses = await vae.readLosses();
    const first = losses.slice(0, 4).reduce((s, l) => s + l.loss, 0) / 4;
    const last = losses.slice(-8).reduce((s, l) => s + l.loss, 0) / 8;
    expect(losses.every((l) => Number.isFinite(l.loss))).toBe(true);
    // At initialisation sigma = 1 everywhere: about 784 (log sqrt(2 pi) + E[(x - m)^2] / 2) ~ 800
    // nats. Learning per-pixel scales takes the background pixels, constant in MNIST, far below.
    expect(first).toBeGreaterThan(700);
    expect(last).toBeLessThan(first - 800);
    const pictures = await vae.sample(3, 5);
    expect(pictures.length).toBe(3 * 784);
    const e = await vae.elbo(data);
    expect(Number.isFinite(e.loss)).toBe(true);
    const bytes = await saveCheckpoint(vae);
    const loaded = await loadCheckpoint(bytes, { device });
    expect(loaded.config.sigma).toBe('predicted');
    expect(loaded.config.dequantize).toBe(true);
    expect(await loaded.sample(3, 5)).toEqual(pictures);
    loaded.destroy();
    data.destroy();
    vae.destroy();
  });

  it('bits/dim add D log 256 on dequantized data, and not otherwise', () => {
    const D = 784;
    expect(bitsPerDim(-D * Math.log(2), { inputDim: D, dequantize: true })).toBeCloseTo(7, 12);
    expect(bitsPerDim(D * Math.LN2, { inputDim: D, dequantize: false })).toBeCloseTo(1, 12);
  });

  it('refuses dequantization with a Bernoulli likelihood or with binarization', () => {
    expect(() => resolveConfig({ dequantize: true })).toThrow(/gaussian likelihood/);
    expect(() => resolveConfig({ likelihood: 'gaussian', dequantize: true, binarize: 'dynamic' })).toThrow(/exclude each other/);
  });
});
