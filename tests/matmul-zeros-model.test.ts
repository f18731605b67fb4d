// Zero skipping in whole models: a dense model's first layer on picture-like data (mostly exact
// zeros) lists the data's non-zero k steps for its forward and its weight gradient, and training
// with it is bit for bit training without it, for an MLP, a conditional MLP (the labels joined to
// the pictures) and rows that leave a partial block. Evaluation at another row count takes the
// same path. GPUs' tiled matmuls never skip (kernelsFor leaves skipInputZeros off there), nor do
// convolutions (docs/ARCHITECTURE.md, "Kernel variants").
import { describe, expect, it } from 'vitest';
import { kernelsFor } from '../src/model/kernel-choice';
import { NONZERO_SERIAL_LIMIT } from '../src/model/layers/matmul-op';
import { VAE } from '../src/model/vae';
import { testData } from './helpers/compare';
import { gpu } from './helpers/gpu';

/** Rows of 8x8 8-bit pictures: a blob of ink on a zero background, placed by the row. */
function pictures(rows: number, side = 8): Uint8Array {
  const x = new Uint8Array(rows * side * side);
  const ink = testData(rows * side * side, 5, 30, 255).map(Math.round);
  for (let r = 0; r < rows; r++) {
    const cy = 2 + (r % (side - 4)), cx = 2 + ((r * 3) % (side - 4));
    for (let y = 0; y < side; y++) for (let c = 0; c < side; c++) {
      if ((y - cy) ** 2 + (c - cx) ** 2 <= 3) x[(r * side + y) * side + c] = ink[(r * side + y) * side + c];
    }
  }
  return x;
}

const CASES = [
  ['an MLP, 40 rows', { inputDim: 64, hidden: [48], latent: 4 }, 40],
  ['a conditional MLP, 21 rows', { inputDim: 64, hidden: [24, 16], latent: 3, classes: 3 }, 21],
] as const;

describe('zero skipping in a model', () => {
  it.each(CASES)('%s trains bit for bit as without it', async (_, config, batch) => {
    const { device } = await gpu();
    const side = Math.sqrt(config.inputDim);
    const bytes = pictures(batch, side);
    const x = Float32Array.from(bytes, (b) => b / 255);
    const labels = Array.from({ length: batch }, (_, i) => i % 3);
    const zeros = x.filter((v) => v === 0).length / x.length;
    expect(zeros).toBeGreaterThan(0.7);
    const run = async (skipInputZeros: boolean) => {
      const vae = await VAE.create(config as never, { device, batch, seed: 7, lossEvery: 1, kernels: { skipInputZeros } });
      const names = (await vae.plan('train', batch)).graph.kernels.map((k) => k.name);
      for (let i = 0; i < 4; i++) await vae.trainStep(x, 'classes' in config ? labels : undefined);
      const losses = (await vae.readLosses()).map((l) => l.loss);
      const params = await vae.flatParameters();
      // Evaluation at another row count (a partial block of the lists) matches too.
      const evalRows = batch - 1;
      const data = vae.upload({ images: bytes.subarray(0, evalRows * config.inputDim), count: evalRows, ...('classes' in config ? { labels: Uint8Array.from(labels.slice(0, evalRows)) } : {}) });
      const elbo = (await vae.elbo(data, { seed: 1 })).loss;
      vae.destroy();
      return { names, losses, params, elbo };
    };
    const skipping = await run(true), dense = await run(false);
    const listed = skipping.names.filter((n) => n.startsWith('nonzero_steps'));
    expect(listed.length, skipping.names.join(', ')).toBe(2);
    expect(skipping.names.filter((n) => n.includes('_skipa')).length).toBe(1);
    expect(skipping.names.filter((n) => n.includes('_skipb')).length).toBe(1);
    expect(dense.names.some((n) => n.startsWith('nonzero_steps') || n.includes('_skip'))).toBe(false);
    expect(skipping.losses).toEqual(dense.losses);
    expect(skipping.losses.every(Number.isFinite)).toBe(true);
    const differ = skipping.params.findIndex((v, i) => !Object.is(v, dense.params[i]));
    expect(differ, `first parameter that differs: ${differ}`).toBe(-1);
    expect(Number.isFinite(skipping.elbo)).toBe(true);
    expect(skipping.elbo).toBe(dense.elbo);
  }, 300_000);

  it('leaves a product unskipped where its list would be too long to walk (NONZERO_SERIAL_LIMIT)', async () => {
    const { device } = await gpu();
    // The forward's list reads K x 16 = 4200 x 16 values an invocation, past the limit; the weight
    // gradient's reads batch x 16.
    const inputDim = Math.ceil(NONZERO_SERIAL_LIMIT / 16) + 104;
    const vae = await VAE.create({ inputDim, hidden: [8], latent: 2 }, { device, batch: 4, kernels: { skipInputZeros: true } });
    const names = (await vae.plan('train', 4)).graph.kernels.map((k) => k.name);
    vae.destroy();
    expect(names.some((n) => n.includes('_skipa')), names.join(', ')).toBe(false);
    expect(names.some((n) => n.includes('_skipb')), names.join(', ')).toBe(true);
  });

  it('lists nothing for dequantized data, which has no zeros', async () => {
    const { device } = await gpu();
    const names = async (dequantize: boolean) => {
      const vae = await VAE.create({ inputDim: 64, hidden: [8], latent: 2, likelihood: 'gaussian', dequantize }, { device, batch: 4, kernels: { skipInputZeros: true } });
      const kernels = (await vae.plan('train', 4)).graph.kernels.map((k) => k.name);
      vae.destroy();
      return kernels;
    };
    expect((await names(true)).some((n) => n.startsWith('nonzero_steps'))).toBe(false);
    expect((await names(false)).filter((n) => n.startsWith('nonzero_steps')).length).toBe(2);
  });

  it('is on for software adapters and off for GPUs', () => {
    expect(kernelsFor({ isSoftware: true, subgroups: true }).skipInputZeros).toBe(true);
    expect(kernelsFor({ isSoftware: false, subgroups: true }).skipInputZeros).toBeUndefined();
  });

  it('refuses a kernels.skipInputZeros that is not a boolean', async () => {
    const { device } = await gpu();
    await expect(VAE.create({ inputDim: 16, hidden: [8], latent: 2 }, { device, batch: 4, kernels: { skipInputZeros: 'yes' as never } })).rejects.toThrow(/skipInputZeros must be true or false/);
  });
});
