// The whole model's gradient (tests/helpers/whole-grad.ts) for pairs of features and batch shapes
// that tests/gradcheck.test.ts leaves out: conditional models under IWAE, beta-TCVAE, capacity
// and free bits; conv models under IWAE, TC (both estimators) and free bits, with GroupNorm and
// nearest upsampling; a predicted scale under every objective; cyclical warm-up; non-square
// pictures; batches of 1 to 17 rows with 1 to 13 of them real.
import { describe, expect, it } from 'vitest';
import type { VaeConfig } from '../src/model/config';
import { gradientMismatches, refOf, secondStep } from './helpers/whole-grad';

const cases: [string, Partial<VaeConfig>, seed: number, batch: number, valid: number][] = [
  ['conditional (3 classes) + IWAE K=4', { inputDim: 8, hidden: [6], latent: 3, activation: 'tanh', classes: 3, objective: 'iwae', samples: 4 }, 31, 6, 5],
  ['conditional (2 classes) + beta-TCVAE beta 5, L=2', { inputDim: 9, hidden: [6], latent: 3, activation: 'tanh', classes: 2, objective: 'tcvae', beta: 5, samples: 2 }, 32, 6, 5],
  ['conditional (3 classes) + capacity C=0.05', { inputDim: 8, hidden: [7], latent: 3, activation: 'softplus', classes: 3, klCapacity: 0.05 }, 33, 6, 5],
  ['conv + conditional (2 classes), L=2', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [3], latent: 2, activation: 'tanh', classes: 2, samples: 2 }, 34, 6, 5],
  ['conv + IWAE K=3', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [3], latent: 3, activation: 'tanh', objective: 'iwae', samples: 3 }, 41, 6, 5],
  ['conv GroupNorm + predicted scale + free bits', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [4, 6], norm: 'group', normGroups: 2, latent: 4, activation: 'softplus', likelihood: 'gaussian', sigma: 'predicted', freeBits: 0.45 }, 42, 6, 5],
  ['TC beta 4 + L=3 + free bits 0.2 + warm-up 3', { inputDim: 9, hidden: [6], latent: 4, activation: 'tanh', objective: 'tcvae', beta: 4, samples: 3, freeBits: 0.2, warmupSteps: 3 }, 43, 6, 5],
  ['IWAE K=3 + predicted scale', { inputDim: 7, hidden: [6], latent: 3, activation: 'tanh', objective: 'iwae', samples: 3, likelihood: 'gaussian', sigma: 'predicted' }, 44, 6, 5],
  ['IWAE K=4 + learned per-pixel sigma', { inputDim: 7, hidden: [6], latent: 3, activation: 'softplus', objective: 'iwae', samples: 4, likelihood: 'gaussian', sigma: 'learned-pixel' }, 45, 6, 5],
  ['capacity (over the KL) + predicted scale, L=2', { inputDim: 7, hidden: [6], latent: 3, activation: 'tanh', klCapacity: 40, beta: 2, capacitySteps: 4, likelihood: 'gaussian', sigma: 'predicted', samples: 2 }, 46, 6, 5],
  ['conv RGB 3x4x8 (not square), learned per-pixel sigma, L=2', { arch: 'conv', inputDim: 96, imageShape: [4, 8], imageChannels: 3, channels: [2], latent: 3, activation: 'leaky_relu', likelihood: 'gaussian', sigma: 'learned-pixel', samples: 2 }, 47, 6, 5],
  ['batch 7 with no padding, latent 5, L=3, free bits', { inputDim: 9, hidden: [7, 5], latent: 5, activation: 'elu', samples: 3, freeBits: 0.15 }, 48, 7, 7],
  ['batch 5 with 3 real rows, IWAE K=7, conditional (4 classes)', { inputDim: 6, hidden: [5], latent: 3, activation: 'relu', objective: 'iwae', samples: 7, classes: 4 }, 49, 5, 3],
  // A beta-TCVAE trains at batches of 2 or more; one real row is the last batch of an epoch.
  ['batch 4 with 1 real row, TC, L=2', { inputDim: 6, hidden: [5], latent: 3, activation: 'tanh', objective: 'tcvae', beta: 3, samples: 2 }, 50, 4, 1],
  ['batch 9 with 2 real rows, fixed sigma 0.3, warm-up', { inputDim: 6, hidden: [5], latent: 3, activation: 'tanh', likelihood: 'gaussian', sigma: 0.3, warmupSteps: 5, beta: 0.7 }, 51, 9, 2],
  ['conv GroupNorm + dense + conditional + L=2', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [4], dense: [5], norm: 'group', normGroups: 2, latent: 3, activation: 'tanh', classes: 3, samples: 2 }, 52, 6, 5],
  ['conv TC + GroupNorm + L=2', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [4], norm: 'group', normGroups: 4, latent: 3, activation: 'elu', objective: 'tcvae', beta: 3, samples: 2 }, 53, 6, 5],
  ['conv IWAE + conditional + predicted scale, RGB', { arch: 'conv', inputDim: 48, imageShape: [4, 4], imageChannels: 3, channels: [2], latent: 2, activation: 'tanh', objective: 'iwae', samples: 3, classes: 2, likelihood: 'gaussian', sigma: 'predicted' }, 54, 6, 5],
  ['conditional + free bits + learned sigma, L=2', { inputDim: 8, hidden: [6], latent: 4, activation: 'tanh', classes: 3, freeBits: 0.08, likelihood: 'gaussian', sigma: 'learned', samples: 2 }, 55, 6, 5],
  ['TC + predicted scale + conditional', { inputDim: 7, hidden: [6], latent: 3, activation: 'softplus', objective: 'tcvae', beta: 4, likelihood: 'gaussian', sigma: 'predicted', classes: 2 }, 56, 6, 5],
  ['cyclical warm-up (3 of every 4 steps), beta 2', { inputDim: 8, hidden: [6], latent: 3, activation: 'tanh', warmupSteps: 3, klCycleSteps: 4, beta: 2 }, 57, 6, 5],
  ['conv with nearest upsampling + IWAE K=3 + conditional', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [3, 4], upsample: 'nearest', latent: 2, activation: 'softplus', objective: 'iwae', samples: 3, classes: 2 }, 58, 6, 5],
  ['conv GroupNorm + nearest upsampling + IWAE K=4', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [4, 6], norm: 'group', normGroups: 2, upsample: 'nearest', latent: 3, activation: 'tanh', objective: 'iwae', samples: 4 }, 59, 6, 5],
  ['conv TC (stratified) + conditional + predicted scale', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [3], latent: 3, activation: 'tanh', objective: 'tcvae', tcEstimator: 'mss', beta: 4, classes: 2, likelihood: 'gaussian', sigma: 'predicted' }, 60, 6, 5],
  ['TC (stratified) + GroupNorm + nearest upsampling, L=2', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [4, 4], norm: 'group', normGroups: 2, upsample: 'nearest', latent: 3, activation: 'elu', objective: 'tcvae', tcEstimator: 'mss', beta: 3, samples: 2 }, 61, 6, 4],
  ['batch 17 with 13 real rows, two layers, IWAE K=6, conditional (3 classes)', { inputDim: 9, hidden: [11, 7], latent: 4, activation: 'tanh', objective: 'iwae', samples: 6, classes: 3 }, 62, 17, 13],
];

describe('whole-model gradients of feature pairs and batch shapes', () => {
  for (const [label, partial, seed, batch, valid] of cases) {
    it(label, async () => {
      const s = await secondStep(partial, seed, { batch, valid });
      const ref = refOf(s);
      expect(Math.abs(s.record.loss - ref.loss), `loss: GPU ${s.record.loss}, float64 ${ref.loss}`).toBeLessThan(1e-4 * Math.abs(ref.loss) + 1e-4);
      // Free bits must have dimensions on both sides of the floor, and the warm-up must be mid-ramp.
      if (s.config.freeBits > 0) expect(ref.klPerDim!.some((v) => v < s.config.freeBits) && ref.klPerDim!.some((v) => v > s.config.freeBits), `KL per dimension ${Array.from(ref.klPerDim!)}`).toBe(true);
      if (s.config.warmupSteps > 0) expect(s.klWeight).toBeCloseTo(((s.config.objective === 'tcvae' ? 1 : s.config.beta) * 2) / s.config.warmupSteps, 12);
      expect(gradientMismatches(s, seed)).toEqual([]);
    });
  }
});
