// Which eval figures are bits/dim of a discrete likelihood: dequantized 8-bit levels and Bernoulli
// models of binary pixels are; a Gaussian density on continuous values and Bernoulli cross-entropy
// on grey levels are not (their "bits/dim" can be negative, or below any real code length). The
// rule is the library's (noBitsPerDim, which logLikelihood follows); the CLI prints it with flags.
import { describe, expect, it } from 'vitest';
import { noBitsPerDim } from '../src/model/iwae-eval';
import { resolveConfig } from '../src/model/config';
import { toFlags } from '../src/cli/messages';
import { VAE } from '../src/model/vae';
import { gpu } from './helpers/gpu';

describe('bits/dim only for a discrete likelihood', () => {
  const binary = { binaryPixels: true };
  const grey = { binaryPixels: false };

  it('says why not, and names the option (and the CLI flag) that makes one', () => {
    expect(noBitsPerDim(resolveConfig({}), binary)).toBeNull();
    expect(noBitsPerDim(resolveConfig({ binarize: 'dynamic' }), grey)).toBeNull();
    expect(noBitsPerDim(resolveConfig({ binarize: 'fixed' }), grey)).toBeNull();
    const greyBernoulli = noBitsPerDim(resolveConfig({}), grey)!;
    expect(greyBernoulli).toMatch(/grey levels taken as Bernoulli probabilities are not a likelihood of the pixels; binarizing them makes one \(binarize: 'dynamic'; --binarize dynamic in the CLI\)/);
    expect(toFlags(greyBernoulli)).toMatch(/binarizing them makes one \(--binarize dynamic\)$/);
    expect(noBitsPerDim(resolveConfig({ likelihood: 'gaussian', dequantize: true }), grey)).toBeNull();
    const density = noBitsPerDim(resolveConfig({ likelihood: 'gaussian' }), binary)!;
    expect(density).toMatch(/a density on continuous values is not a likelihood of the 8-bit pixels; dequantizing them makes one/);
    expect(toFlags(density)).toMatch(/dequantizing them makes one \(--dequantize\)$/);
    expect(noBitsPerDim(resolveConfig({ likelihood: 'gaussian', sigma: 'predicted' }), grey)).toMatch(/dequantizing them makes one/);
    // Binarized pixels cannot also be dequantized: the fix named is the likelihood.
    const binarized = noBitsPerDim(resolveConfig({ likelihood: 'gaussian', binarize: 'dynamic' }), grey)!;
    expect(binarized).toMatch(/^a density on continuous values is not a likelihood of binarized pixels; the bernoulli likelihood is one/);
    expect(toFlags(binarized)).toMatch(/the bernoulli likelihood is one \(--likelihood bernoulli\)$/);
  });

  it('logLikelihood gives bitsPerDim as a number for binary pictures and null for grey levels', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ hidden: [16], latent: 2, inputDim: 16 }, { device, batch: 4 });
    const images = (levels: number[]) => ({ images: Uint8Array.from({ length: 4 * 16 }, (_, i) => levels[i % levels.length]), count: 4 });
    const binaryData = vae.upload(images([0, 255, 255, 0, 255]));
    const greyData = vae.upload(images([0, 128, 255, 3]));
    expect(binaryData.binaryPixels).toBe(true);
    expect(greyData.binaryPixels).toBe(false);
    const onBinary = await vae.logLikelihood(binaryData, { samples: 2 });
    expect(onBinary.bitsPerDim).toBeCloseTo(onBinary.nll / (16 * Math.LN2), 10);
    expect((await vae.logLikelihood(greyData, { samples: 2 })).bitsPerDim).toBeNull();
    vae.destroy();
  });
});
