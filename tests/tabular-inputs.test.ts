// Data that are not pictures, as a data scientist gives them: binary columns written as 0 and 1,
// standardized features given to a model left at the default (Bernoulli) likelihood, and a flat
// parameter array assembled from another framework's tensors. Each mistake is refused with what
// to do instead, and the forms that are right keep working.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors';
import { VAE } from '../src/model/vae';
import { gpu } from './helpers/gpu';

const D = 10; // survey answers or features: not a square, not a picture
const config = { inputDim: D, hidden: [8], latent: 2 };

describe('binary data uploaded as 0 and 1', () => {
  it('is refused, naming the 0 and 255 it must be written as', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(config, { device, batch: 4, seed: 1 });
    try {
      const bits = Uint8Array.from({ length: 6 * D }, (_, i) => (i * 7) % 3 === 0 ? 1 : 0);
      // Read as levels, a 1 is 1/255: the model would learn nearly all-zero rows, without an error.
      expect(() => vae.upload({ images: bits, count: 6 })).toThrow(ConfigError);
      expect(() => vae.upload({ images: bits, count: 6 })).toThrow(
        /^dataset data: every value is 0 or 1, but images are 8-bit levels \(0-255\) that the model reads as level \/ 255, so a 1 would be 1\/255; write binary data as 0 and 255 \(Uint8Array\.from\(bits, \(b\) => b \* 255\)\)/,
      );
      // The same bits as 0 and 255 are binary pixels, with bits/dim of a Bernoulli model.
      const data = vae.upload({ images: Uint8Array.from(bits, (b) => b * 255), count: 6 });
      expect(data.binaryPixels).toBe(true);
      expect((await vae.logLikelihood(data, { samples: 2 })).bitsPerDim).not.toBeNull();
      // Levels that merely start at 0 and 1, and a set of zeros alone, are taken as they are.
      const dark = Uint8Array.from({ length: 6 * D }, (_, i) => (i === 6 * D - 1 ? 2 : i % 2));
      expect(vae.upload({ images: dark, count: 6 }).count).toBe(6);
      expect(vae.upload({ images: new Uint8Array(6 * D), count: 6 }).count).toBe(6);
    } finally {
      vae.destroy();
    }
  });
});

describe('real-valued rows given to a model left at the default likelihood', () => {
  it('are refused with the Gaussian likelihood named, and train once it is given', async () => {
    const { device } = await gpu();
    const standardized = Float32Array.from({ length: 4 * D }, (_, i) => Math.sin(i) * 1.5);
    const bernoulli = await VAE.create(config, { device, batch: 4, seed: 1 });
    try {
      await expect(bernoulli.trainStep(standardized)).rejects.toThrow(
        /^trainStep: the value at row 0, column 1 is 1\.26\d*, outside \[0, 1\]; a Bernoulli model takes pixel values in \[0, 1\] \(divide 8-bit pixels by 255\), and real-valued data needs a model created with likelihood: 'gaussian' \(the default likelihood is 'bernoulli'\)$/,
      );
      await expect(bernoulli.encode(standardized)).rejects.toThrow(/likelihood: 'gaussian'/);
    } finally {
      bernoulli.destroy();
    }
    const gaussian = await VAE.create({ ...config, likelihood: 'gaussian' }, { device, batch: 4, seed: 1 });
    try {
      await gaussian.trainStep(standardized);
      const [loss] = await gaussian.readLosses();
      expect(loss.flags).toBe(0);
      expect(loss.examples).toBe(4);
      // Evaluations read data sets: the refusal names the one for rows of values and what upload's holds.
      await expect(gaussian.elbo(standardized as never)).rejects.toThrow(/vae\.uploadRows\(\{ rows, count \}\) for a Float32Array of values, or vae\.upload\(\{ images, count \}\) for 8-bit pictures \(a Uint8Array of levels 0-255, which the model reads as level \/ 255\)$/);
    } finally {
      gaussian.destroy();
    }
  });
});

describe('a flat parameter array of the wrong length', () => {
  it('is told from the layout\'s padded length, and the parameters packed end to end are named as such', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ ...config, likelihood: 'gaussian', sigma: 'learned' }, { device, batch: 4, seed: 1 });
    try {
      const { paramCount, totalFloats } = vae.layout;
      expect(paramCount).toBe(8 * D + 8 + 4 * 8 + 4 + 8 * 2 + 8 + D * 8 + D + 1);
      expect(totalFloats).toBeGreaterThan(paramCount);
      // What concatenating PyTorch's parameters gives: every value, without the layout's padding.
      const packed = new Float32Array(paramCount);
      const message = `got ${paramCount} floats, which is the parameters written one after the other, but the flat layout holds ${totalFloats}: ` +
        `the model's ${paramCount} parameters, each tensor starting at a multiple of 64 floats`;
      expect(() => vae.setFlatParameters(packed)).toThrow(`setFlatParameters: ${message}`);
      await expect(VAE.create(vae.config, { device, batch: 4, initialParams: packed })).rejects.toThrow(`initialParams: ${message}`);
      expect(() => vae.setFlatParameters(new Float32Array(5))).toThrow(
        `setFlatParameters: got 5 floats, but the flat layout holds ${totalFloats}: the model's ${paramCount} parameters`,
      );
      // Placed at the layout's offsets, the same values are taken.
      const flat = new Float32Array(totalFloats);
      let at = 0;
      for (const t of vae.layout.tensors) flat.set(packed.subarray(at, (at += t.count)), t.offset);
      await vae.setFlatParameters(flat);
    } finally {
      vae.destroy();
    }
  });
});
