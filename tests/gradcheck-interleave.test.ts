// A training step's gradient (tests/helpers/whole-grad.ts) after other work on the same model
// between steps, started without waiting (an evaluation, an IWAE estimate, encode, decode, sample
// and reconstruct at other row counts, with at most 2 plans kept): the model orders them, and the
// step's loss and gradients are still the reference's.
import { describe, expect, it } from 'vitest';
import { readFloats } from '../src/gpu/buffers';
import { resolveConfig, type VaeConfig } from '../src/model/config';
import { VAE } from '../src/model/vae';
import { testData } from './helpers/compare';
import { gpu } from './helpers/gpu';
import { gradientMismatches, paramsByName, refOf, scaled, type StepCapture } from './helpers/whole-grad';

const cases: [string, Partial<VaeConfig>, number][] = [
  ['conditional TC predicted L=2', { inputDim: 7, hidden: [6], latent: 3, activation: 'tanh', classes: 3, objective: 'tcvae', beta: 4, samples: 2, likelihood: 'gaussian', sigma: 'predicted' }, 121],
  ['conv IWAE K=3 conditional', { arch: 'conv', inputDim: 16, imageShape: [4, 4], channels: [3], latent: 2, activation: 'softplus', objective: 'iwae', samples: 3, classes: 2 }, 122],
];

describe('training after other graphs ran between steps', () => {
  for (const [label, partial, seed] of cases) {
    it(label, async () => {
      const { device } = await gpu();
      const config = resolveConfig(partial);
      const D = config.inputDim, Z = config.latent, B = 5, valid = 4, C = config.classes;
      const vae = await VAE.create(config, { device, batch: B, seed, lr: 1e-3, initialParams: scaled(config, seed), maxPlans: 2 });
      const lab = (n: number) => (C ? Array.from({ length: n }, (_, i) => i % C) : undefined);
      await vae.trainStep(Float32Array.from(testData(B * D, seed + 100, 0, 1)), lab(B));
      const data = vae.upload({ images: Uint8Array.from(testData(11 * D, seed, 0, 255), Math.floor), count: 11, labels: C ? Uint8Array.from({ length: 11 }, (_, i) => i % C) : undefined });
      // Not awaited one by one: the model orders them.
      const others = [vae.elbo(data, { seed: 4 }), vae.logLikelihood(data, { samples: 4, batch: 3 }), vae.encode(Float32Array.from(testData(3 * D, 5, 0, 1)), lab(3)),
        vae.decode(Float32Array.from(testData(7 * Z, 6)), lab(7)), vae.sample(9, 2, lab(9)), vae.reconstruct(Float32Array.from(testData(2 * D, 7, 0, 1)), lab(2))];
      const flatP = vae.flatParameters();
      const x = Float32Array.from(testData(valid * D, seed, 0, 1));
      const labels = C ? Array.from({ length: valid }, (_, i) => (i * 2 + 1) % C) : [];
      const stepDone = vae.trainStep(x, C ? labels : undefined);
      await Promise.all([...others, stepDone]);
      const flat = Float64Array.from(await flatP);
      const losses = await vae.readLosses();
      const grads = await vae.flatGradients();
      const plan = await vae.plan('train', B);
      const eps = await readFloats(device, plan.tensors.eps.buffer);
      const params = paramsByName(vae, flat);
      const klWeight = vae.klWeightAt(2);
      vae.destroy();
      const xp = new Float64Array(B * D); xp.set(x);
      const s: StepCapture = { config, params, flat, grads, eps, record: losses[1], x: xp, labels: [...labels, ...Array(B - labels.length).fill(0)], batch: B, valid, klWeight, paramsAfter: new Float32Array() };
      const ref = refOf(s);
      expect(Math.abs(s.record.loss - ref.loss), `loss: GPU ${s.record.loss}, float64 ${ref.loss}`).toBeLessThan(1e-4 * Math.abs(ref.loss) + 1e-4);
      const bad = gradientMismatches(s, seed);
      expect(bad).toEqual([]);
    }, 120_000);
  }
});
