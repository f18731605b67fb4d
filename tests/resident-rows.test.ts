// Rows of values uploaded as they are (vae.uploadRows): real-valued data trains resident exactly as
// the same rows given to trainStep one batch at a time, evaluates (elbo, logLikelihood), and rows
// of pixel values evaluate as the same pictures uploaded as 8-bit levels. Each misuse is refused.
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors';
import { VAE } from '../src/model/vae';
import { testData } from './helpers/compare';
import { gpu } from './helpers/gpu';

const D = 7, B = 4, COUNT = 10; // odd width, a last batch of 2 rows

/** COUNT rows of features far from [0, 1], of both signs. */
const features = () => Float32Array.from(testData(COUNT * D, 3, -40, 60));

describe('vae.uploadRows', () => {
  it('trains a Gaussian model bit for bit as the same rows given batch by batch, and evaluates', async () => {
    const { device } = await gpu();
    const config = { inputDim: D, hidden: [8], latent: 2, likelihood: 'gaussian' as const, sigma: 'learned' as const };
    const given = await VAE.create(config, { device, batch: B, seed: 5 });
    const resident = await VAE.create(config, { device, batch: B, seed: 5 });
    try {
      const x = features();
      const data = resident.uploadRows({ rows: x, count: COUNT });
      x.fill(Number.NaN); // uploaded at the call: changing the array afterwards changes nothing
      const rows = features();
      for (let epoch = 0; epoch < 2; epoch++) {
        for (let index = 0; index * B < COUNT; index++) {
          await given.trainStep(rows.subarray(index * B * D, Math.min(COUNT, (index + 1) * B) * D));
          await resident.trainStep({ data, index });
        }
      }
      expect(Array.from(await resident.flatParameters())).toEqual(Array.from(await given.flatParameters()));
      const r = await resident.elbo(data);
      expect(r.examples).toBe(COUNT);
      expect(Number.isFinite(r.loss)).toBe(true);
      expect(r.rec + r.kl).toBeCloseTo(r.loss, 3);
      const ll = await resident.logLikelihood(data, { samples: 8 });
      expect(ll.examples).toBe(COUNT);
      // The importance-weighted bound is at least as tight as the ELBO (same model, 8 samples).
      expect(ll.nll).toBeLessThanOrEqual(r.loss + 1e-3 * Math.abs(r.loss));
      expect(ll.bitsPerDim, 'a Gaussian density of real values is no likelihood of 8-bit pixels').toBeNull();
    } finally {
      given.destroy();
      resident.destroy();
    }
  }, 60_000);

  it('gives pixel values the figures of the same pictures uploaded as 8-bit levels', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ inputDim: D, hidden: [8], latent: 2 }, { device, batch: B, seed: 2 });
    try {
      const levels = Uint8Array.from(testData(COUNT * D, 9, 0, 256), Math.floor);
      const pictures = vae.upload({ images: levels, count: COUNT });
      const rows = vae.uploadRows({ rows: Float32Array.from(levels, (g) => g / 255), count: COUNT });
      const a = await vae.elbo(pictures), b = await vae.elbo(rows);
      expect(Math.abs(a.loss - b.loss)).toBeLessThanOrEqual(1e-6 * Math.abs(a.loss));
      // Rows of only 0 and 1 are binary data: a Bernoulli likelihood of them is discrete (bits/dim).
      const bits = vae.uploadRows({ rows: Float32Array.from(levels, (g) => g & 1), count: COUNT });
      expect(bits.binaryPixels).toBe(true);
      expect((await vae.logLikelihood(bits, { samples: 2 })).bitsPerDim).not.toBeNull();
    } finally {
      vae.destroy();
    }
  });

  it('refuses what it cannot hold, naming the fix', async () => {
    const { device } = await gpu();
    const bernoulli = await VAE.create({ inputDim: D, hidden: [8], latent: 2 }, { device, batch: B, seed: 1 });
    const binarized = await VAE.create({ inputDim: D, hidden: [8], latent: 2, binarize: 'dynamic' }, { device, batch: B, seed: 1 });
    const conditional = await VAE.create({ inputDim: D, hidden: [8], latent: 2, likelihood: 'gaussian', classes: 3 }, { device, batch: B, seed: 1 });
    try {
      const unit = Float32Array.from(testData(COUNT * D, 4, 0, 1));
      expect(() => bernoulli.uploadRows({ rows: new Uint8Array(COUNT * D) as never, count: COUNT })).toThrow(/rows must be a Float32Array, got .*; 8-bit pictures go to vae\.upload/);
      expect(() => bernoulli.uploadRows({ rows: unit, count: COUNT + 1 })).toThrow(ConfigError);
      expect(() => bernoulli.uploadRows({ rows: unit.subarray(1), count: COUNT })).toThrow(/has 69 values, expected 10 examples x 7 values/);
      expect(() => bernoulli.uploadRows({ rows: features(), count: COUNT })).toThrow(/outside \[0, 1\].*likelihood: 'gaussian'/);
      const nan = unit.slice();
      nan[3 * D + 2] = Number.NaN;
      expect(() => bernoulli.uploadRows({ rows: nan, count: COUNT })).toThrow(/row 3, column 2 is NaN/);
      expect(() => binarized.uploadRows({ rows: unit, count: COUNT })).toThrow(/binarize 'dynamic' draws from 8-bit levels.*vae\.upload/);
      expect(() => conditional.uploadRows({ rows: features(), count: COUNT })).toThrow(/no labels for its 10 examples/);
      expect(() => conditional.uploadRows({ rows: features(), count: COUNT, labels: Uint8Array.from({ length: COUNT }, (_, i) => i % 4) })).toThrow(/has label 3/);
      const labelled = conditional.uploadRows({ rows: features(), count: COUNT, labels: Uint8Array.from({ length: COUNT }, (_, i) => i % 3) });
      expect(Number.isFinite((await conditional.elbo(labelled)).loss)).toBe(true);
      // A refusal asking for the set again names uploadRows: upload takes 8-bit pictures only.
      const unlabelled = bernoulli.uploadRows({ rows: unit, count: COUNT });
      await expect(conditional.elbo(unlabelled)).rejects.toThrow(/the data set has no labels .*; upload it with this model: vae\.uploadRows\(\{ rows, count, labels \}\)$/);
      unlabelled.destroy();
      await expect(bernoulli.elbo(unlabelled)).rejects.toThrow(/^elbo: this data set was destroyed .*; upload it again with this model \(vae\.uploadRows\)$/);
      expect(() => unlabelled.setOrder(new Uint32Array(COUNT))).toThrow(/upload it again with this model \(vae\.uploadRows\)$/);
      // A data set of rows is one of pictures' kind: elbo refuses Float32Array rows, naming uploadRows.
      await expect(bernoulli.elbo(unit as never)).rejects.toThrow(/vae\.uploadRows\(\{ rows, count \}\) for a Float32Array of values/);
    } finally {
      bernoulli.destroy();
      binarized.destroy();
      conditional.destroy();
    }
  });
});
