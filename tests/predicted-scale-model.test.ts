// A Gaussian VAE whose decoder predicts a log-scale for every pixel, trained on uniformly
// dequantized 8-bit MNIST: the loss falls, pictures are the D means (not the 2D outputs), the
// checkpoint carries the doubled output layer, and bits/dim include the D log 256 of the bins.
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { loadMnistNode } from '../src/data/mnist-node';
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

  it('decodeOutput gives the raw decoder output: D means then D log-scales here, logits for Bernoulli', async () => {
    const { device } = await gpu();
    const relu = (v: number) => Math.max(0, v);
    // float64 reference of the one-hidden-layer decoder: out = W_out relu(W_1 z + b_1) + b_out.
    const reference = (p: Record<string, { shape: number[]; data: Float32Array }>, z: Float32Array, Z: number) => {
      const [H] = p['decoder.layers.0.weight'].shape, [O] = p['decoder.out.weight'].shape, rows = z.length / Z;
      const out = new Float64Array(rows * O);
      for (let r = 0; r < rows; r++) {
        const h = Array.from({ length: H }, (_, j) => relu(p['decoder.layers.0.bias'].data[j] + Array.from({ length: Z }, (_, k) => p['decoder.layers.0.weight'].data[j * Z + k] * z[r * Z + k]).reduce((a, b) => a + b, 0)));
        for (let o = 0; o < O; o++) out[r * O + o] = p['decoder.out.bias'].data[o] + h.reduce((a, hj, j) => a + p['decoder.out.weight'].data[o * H + j] * hj, 0);
      }
      return out;
    };
    const close = (got: ArrayLike<number>, ref: ArrayLike<number>) => {
      const bad = Array.from(got).findIndex((g, i) => !(Math.abs(g - ref[i]) <= 1e-5 + 1e-4 * Math.abs(ref[i])));
      expect(bad, bad < 0 ? '' : `index ${bad}: got ${got[bad]}, reference ${ref[bad]}`).toBe(-1);
    };
    const z = Float32Array.from({ length: 5 * 8 }, (_, i) => Math.sin(i * 1.7) * 2);
    for (const c of [config, { hidden: [64], latent: 8, likelihood: 'bernoulli' as const }]) {
      const vae = await VAE.create(c, { device, batch: 16, seed: 3 });
      const raw = await vae.decodeOutput(z);
      const predicted = c.likelihood === 'gaussian';
      expect(raw.length).toBe(5 * 784 * (predicted ? 2 : 1));
      close(raw, reference(await vae.parameters(), z, 8));
      const pictures = await vae.decode(z);
      if (predicted) close(pictures, Array.from({ length: 5 * 784 }, (_, i) => raw[Math.floor(i / 784) * 1568 + (i % 784)]));
      else close(pictures, Array.from(raw, (l) => 1 / (1 + Math.exp(-l))));
      vae.destroy();
    }
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
