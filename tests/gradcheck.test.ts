// The whole model's gradient: a GPU training step's gradients against central finite differences
// of the independent float64 reference (tests/reference/vae.ts), with the step's own noise held
// fixed, for a sample of entries of EVERY parameter tensor, across likelihoods, activations (gelu's kept pre-activations included),
// objectives (ELBO with L samples, beta, warm-up, free bits and capacity control; IWAE with K = 1, 5, 50; beta-TCVAE, with free bits too), the conv
// architecture (grey and RGB, with a predicted per-pixel scale, dense layers, GroupNorm, nearest upsampling) and conditional models. Each case takes two steps and checks the second: its gradients must
// overwrite the first step's, not add to them, and they are taken at the parameters the first
// step left. Negative controls show that the check fails on a corrupted gradient.
import { describe, expect, it } from 'vitest';
import type { VaeConfig } from '../src/model/config';
import { expectClose, mismatches } from './helpers/compare';
import { compareGradients, GRAD_TOL, refOf, secondStep } from './helpers/whole-grad';

const cases: [string, Partial<VaeConfig>, number][] = [
  ['bernoulli relu, L=1', { inputDim: 12, hidden: [9], latent: 3, activation: 'relu' }, 1],
  ['bernoulli tanh, two hidden layers, L=2, beta=0.5', { inputDim: 10, hidden: [8, 6], latent: 2, activation: 'tanh', samples: 2, beta: 0.5 }, 2],
  ['gaussian learned per-pixel sigma, softplus', { inputDim: 9, hidden: [7], latent: 2, activation: 'softplus', likelihood: 'gaussian', sigma: 'learned-pixel' }, 3],
  ['gaussian learned global sigma, leaky_relu, L=3', { inputDim: 8, hidden: [6], latent: 3, activation: 'leaky_relu', likelihood: 'gaussian', sigma: 'learned', samples: 3 }, 4],
  ['gaussian predicted per-pixel scale, tanh, L=2', { inputDim: 7, hidden: [6], latent: 2, activation: 'tanh', likelihood: 'gaussian', sigma: 'predicted', samples: 2 }, 12],
  ['gaussian fixed sigma 0.5, sigmoid', { inputDim: 7, hidden: [5], latent: 2, activation: 'sigmoid', likelihood: 'gaussian', sigma: 0.5 }, 5],
  ['ELBO with KL warm-up over 4 steps and beta 2', { inputDim: 9, hidden: [6], latent: 3, activation: 'tanh', beta: 2, warmupSteps: 4 }, 6],
  ['ELBO with free bits 0.18 (two dimensions under the floor, two over)', { inputDim: 9, hidden: [6], latent: 4, activation: 'tanh', freeBits: 0.18 }, 7],
  ['ELBO with capacity control, beta 3, C ramping to 40 nats over 4 steps (over the KL: its gradient is reversed)', { inputDim: 9, hidden: [6], latent: 3, activation: 'tanh', beta: 3, klCapacity: 40, capacitySteps: 4 }, 19],
  ['ELBO with capacity control, C 0.05 nats from the start (under the KL), L=2', { inputDim: 8, hidden: [7], latent: 3, activation: 'softplus', samples: 2, klCapacity: 0.05 }, 20],
  ['beta-TCVAE beta 6, L=2, warm-up over 4 steps', { inputDim: 9, hidden: [6], latent: 3, activation: 'tanh', objective: 'tcvae', beta: 6, samples: 2, warmupSteps: 4 }, 17],
  // Rows given directly: N = n, where MSS's gradient is MWS's and its loss (Z - 1) log n lower; tc.test.ts checks N > n.
  ['beta-TCVAE beta 6, minibatch stratified estimate, L=2', { inputDim: 9, hidden: [6], latent: 3, activation: 'tanh', objective: 'tcvae', beta: 6, samples: 2, tcEstimator: 'mss' }, 26],
  ['beta-TCVAE beta 6 with free bits 0.2 (dimensions under the floor and over)', { inputDim: 9, hidden: [6], latent: 4, activation: 'tanh', objective: 'tcvae', beta: 6, freeBits: 0.2 }, 21],
  ['beta-TCVAE beta 4, conv 1x8x8 -> 3 channels', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [3], objective: 'tcvae', beta: 4, latent: 3, activation: 'softplus' }, 18],
  ['IWAE K=1', { inputDim: 8, hidden: [6], latent: 2, activation: 'tanh', objective: 'iwae', samples: 1 }, 8],
  ['IWAE K=5', { inputDim: 8, hidden: [6], latent: 2, activation: 'tanh', objective: 'iwae', samples: 5 }, 9],
  ['IWAE K=50, gaussian learned sigma', { inputDim: 6, hidden: [5], latent: 2, activation: 'softplus', objective: 'iwae', samples: 50, likelihood: 'gaussian', sigma: 'learned' }, 10],
  ['conv, 1x8x8 -> 3-4 channels, leaky_relu', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [3, 4], latent: 2, activation: 'leaky_relu' }, 13],
  ['conv, RGB 3x4x4, predicted scale, conditional (2 classes), tanh', { arch: 'conv', inputDim: 48, imageShape: [4, 4], imageChannels: 3, channels: [2], latent: 2, activation: 'tanh', likelihood: 'gaussian', sigma: 'predicted', classes: 2 }, 14],
  ['conv with dense layers 5,3, 1x8x8 -> 2 channels, conditional (2 classes), tanh', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [2], dense: [5, 3], latent: 2, activation: 'tanh', classes: 2 }, 15],
  ['conv with GroupNorm (at most 2 groups), 1x8x8 -> 4-6 channels, softplus', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [4, 6], norm: 'group', normGroups: 2, latent: 2, activation: 'softplus' }, 16],
  ['bernoulli elu, two hidden layers, L=2', { inputDim: 10, hidden: [8, 6], latent: 3, activation: 'elu', samples: 2 }, 22],
  ['conv, 1x8x8 -> 3-4 channels, dense 5, elu', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [3, 4], dense: [5], latent: 2, activation: 'elu' }, 23],
  ['conv with nearest upsampling, 1x8x8 -> 3-4 channels, relu', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [3, 4], upsample: 'nearest', latent: 2, activation: 'relu' }, 24],
  ['conv with nearest upsampling and GroupNorm, RGB 3x8x8 -> 4-6 channels, predicted scale, conditional (2 classes), leaky_relu', { arch: 'conv', inputDim: 192, imageShape: [8, 8], imageChannels: 3, channels: [4, 6], upsample: 'nearest', norm: 'group', normGroups: 2, latent: 2, activation: 'leaky_relu', likelihood: 'gaussian', sigma: 'predicted', classes: 2 }, 25],
  ['conditional (3 classes), L=2', { inputDim: 8, hidden: [6], latent: 2, activation: 'relu', classes: 3, samples: 2 }, 11],
  // gelu's act' reads the pre-activation each layer keeps (Tensor.gradSource): through dense, conv,
  // transposed conv, GroupNorm, upsampling (which upsamples the pre-activation too) and the label concatenation.
  ['bernoulli gelu, two hidden layers, L=2', { inputDim: 10, hidden: [8, 6], latent: 3, activation: 'gelu', samples: 2 }, 27],
  ['conv, 1x8x8 -> 3-4 channels, dense 5, gelu', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [3, 4], dense: [5], latent: 2, activation: 'gelu' }, 28],
  ['conv with nearest upsampling and GroupNorm, 1x8x8 -> 4-6 channels, conditional (2 classes), gelu', { arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [4, 6], upsample: 'nearest', norm: 'group', normGroups: 2, latent: 2, activation: 'gelu', classes: 2 }, 29],
];

describe('gradient of the training loss w.r.t. every parameter tensor (GPU vs float64 finite differences)', () => {
  for (const [label, partial, seed] of cases) {
    it(label, async () => {
      const s = await secondStep(partial, seed);
      const ref = refOf(s).loss;
      expect(Math.abs(s.record.loss - ref)).toBeLessThan(1e-4 * Math.abs(ref) + 1e-4);
      if (s.config.freeBits > 0) {
        // The case must exercise both sides of the floor: some dimensions under it, some over.
        const perDim = refOf(s).klPerDim!;
        expect(perDim.some((v) => v < s.config.freeBits) && perDim.some((v) => v > s.config.freeBits), `KL per dim ${Array.from(perDim)}`).toBe(true);
      }
      if (s.klCapacity !== undefined) {
        // C at step 2 is the ramp's (2/4 of 40 nats), and the case is on the side its label says.
        expect(s.klCapacity).toBe(s.config.capacitySteps ? (2 / s.config.capacitySteps) * s.config.klCapacity : s.config.klCapacity);
        const { kl } = refOf(s);
        expect(kl < s.klCapacity, `KL ${kl} against C ${s.klCapacity}`).toBe(label.includes('over the KL'));
      }
      for (const r of compareGradients(s, seed)) expectClose(r.got, r.fd, GRAD_TOL, `${label}: d loss / d ${r.name}`);
    });
  }

  it('negative controls: a corrupted gradient, a flipped reference sign or a dropped KL term fail the check', async () => {
    const s = await secondStep(cases[0][1], 1);
    const rows = compareGradients(s, 1);
    const head = rows.find((r) => r.name === 'encoder.head.weight')!;
    const corrupted = [...head.got];
    corrupted[0] += 1e-3;
    expect(mismatches(corrupted, head.fd, GRAD_TOL).length).toBeGreaterThan(0);
    expect(mismatches(head.got, head.fd.map((v) => -v), GRAD_TOL).length).toBeGreaterThan(0);
    // Without the KL term (beta = 0 in the reference only) the encoder's gradients differ.
    const noKl = { ...s, klWeight: 0 };
    const dropped = compareGradients(noKl, 1).find((r) => r.name === 'encoder.head.bias')!;
    const withKl = rows.find((r) => r.name === 'encoder.head.bias')!;
    expect(mismatches(withKl.got, dropped.fd, GRAD_TOL).length).toBeGreaterThan(0);
  });
});
