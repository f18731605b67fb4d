// The whole model's gradient: one GPU training step's gradients (read before they are used) against
// central finite differences of the float64 reference -ELBO, with the step's own noise held fixed,
// for a sample of entries of EVERY parameter tensor, across likelihoods, activations, L and beta.
import { describe, expect, it } from 'vitest';
import { readFloats } from '../src/gpu/buffers';
import { resolveConfig, type VaeConfig } from '../src/model/config';
import { initialParams, paramLayout } from '../src/model/params';
import { VAE } from '../src/model/vae';
import { expectClose, testData } from './helpers/compare';
import { gpu } from './helpers/gpu';
import { vaeLossRef } from './reference/vae';

const cases: [string, Partial<VaeConfig>, number][] = [
  ['bernoulli relu, L=1', { inputDim: 12, hidden: [9], latent: 3, activation: 'relu' }, 1],
  ['bernoulli tanh, two hidden layers, L=2, beta=0.5', { inputDim: 10, hidden: [8, 6], latent: 2, activation: 'tanh', samples: 2, beta: 0.5 }, 2],
  ['gaussian learned per-pixel sigma, softplus', { inputDim: 9, hidden: [7], latent: 2, activation: 'softplus', likelihood: 'gaussian', sigma: 'learned-pixel' }, 3],
  ['gaussian learned global sigma, leaky_relu, L=3', { inputDim: 8, hidden: [6], latent: 3, activation: 'leaky_relu', likelihood: 'gaussian', sigma: 'learned', samples: 3 }, 4],
  ['gaussian fixed sigma 0.5, sigmoid', { inputDim: 7, hidden: [5], latent: 2, activation: 'sigmoid', likelihood: 'gaussian', sigma: 0.5 }, 5],
];

describe('gradient of -ELBO w.r.t. every parameter tensor (GPU vs float64 finite differences)', () => {
  for (const [label, partial, seed] of cases) {
    it(label, async () => {
      const { device } = await gpu();
      const config = resolveConfig(partial);
      const layout = paramLayout(config);
      const B = 6, valid = 5; // one padding row, which must not contribute
      const p0 = initialParams(layout, seed);
      // Scale the weights up a little so activations leave the near-linear regime.
      for (let i = 0; i < p0.length; i++) p0[i] *= 1.5;
      const vae = await VAE.create(config, { device, batch: B, seed, initialParams: p0, kernels: {}, lr: 1e-3 });
      const x = Float32Array.from(testData(valid * config.inputDim, seed, 0, 1));
      await vae.trainStep(x);
      const [gpuLoss] = await vae.readLosses();
      const grads = await vae.flatGradients();
      const plan = await vae.plan('train', B);
      const eps = await readFloats(device, plan.buffers.eps);
      vae.destroy();

      const xPadded = new Float64Array(B * config.inputDim);
      xPadded.set(x);
      const p = Float64Array.from(p0);
      const ref = vaeLossRef(config, layout, p, xPadded, eps, B, valid);
      expect(Math.abs(gpuLoss.loss - ref.loss)).toBeLessThan(1e-4 * Math.abs(ref.loss) + 1e-4);
      expect(gpuLoss.examples).toBe(valid);

      for (const t of layout.tensors) {
        const picks = Array.from(new Set(Array.from({ length: 6 }, (_, k) => Math.floor((k * 7919 + seed * 31) % t.count))));
        const fd = picks.map((i) => {
          const idx = t.offset + i, h = 1e-5, save = p[idx];
          p[idx] = save + h;
          const up = vaeLossRef(config, layout, p, xPadded, eps, B, valid).loss;
          p[idx] = save - h;
          const down = vaeLossRef(config, layout, p, xPadded, eps, B, valid).loss;
          p[idx] = save;
          return (up - down) / (2 * h);
        });
        const got = picks.map((i) => grads[t.offset + i]);
        expectClose(got, fd, { atol: 2e-5, rtol: 2e-3 }, `${label}: d loss / d ${t.name}[${picks.join(',')}]`);
      }
    });
  }
});
