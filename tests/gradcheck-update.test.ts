// A whole training step beyond its gradient (tests/helpers/whole-grad.ts):
// (1) the SGD update itself, with gradient clipping and weight decay, against the float64 loss's
//     full finite-difference gradient, with the step's reported gradient norm and clip scale;
// (2) steps on resident data: the gather of a permuted order (a short last batch), gathered labels,
//     grey levels, dequantization and binarization (the GPU's x against the CPU twins in
//     src/data/binarize.ts), then the loss and gradients against the reference, with beta-TCVAE's
//     log(N / n) term for a data set of N examples.
import { describe, expect, it } from 'vitest';
import { binarizedPixel, dequantizedPixel } from '../src/data/binarize';
import { readFloats } from '../src/gpu/buffers';
import { resolveConfig, type VaeConfig } from '../src/model/config';
import { VAE, type VaeOptions } from '../src/model/vae';
import { centralDiff, mismatches, testData } from './helpers/compare';
import { gpu } from './helpers/gpu';
import { gradientMismatches, paramsByName, refOf, scaled, secondStep, type StepCapture } from './helpers/whole-grad';

describe('an SGD step with clipping and weight decay', () => {
  const variants: [string, Partial<VaeConfig>, Partial<VaeOptions>, number][] = [
    ['clip 0.5 (clipped), weight decay 0.01, conditional, L=2', { inputDim: 7, hidden: [5], latent: 3, activation: 'tanh', classes: 2, samples: 2 }, { optimizer: 'sgd', lr: 0.05, clipGrad: 0.5, weightDecay: 0.01 }, 61],
    ['clip 1e6 (not clipped), IWAE K=3', { inputDim: 7, hidden: [5], latent: 3, activation: 'tanh', objective: 'iwae', samples: 3 }, { optimizer: 'sgd', lr: 0.05, clipGrad: 1e6 }, 62],
    ['clip 0.1, beta-TCVAE with a predicted scale', { inputDim: 6, hidden: [5], latent: 3, activation: 'softplus', objective: 'tcvae', beta: 3, likelihood: 'gaussian', sigma: 'predicted' }, { optimizer: 'sgd', lr: 0.05, clipGrad: 0.1 }, 63],
  ];
  for (const [label, partial, options, seed] of variants) {
    it(label, async () => {
      const s = await secondStep(partial, seed, { batch: 5, valid: 4 }, options);
      // Every parameter's gradient, by central differences of the reference.
      const grad = new Float64Array(s.flat.length);
      for (const values of s.params.values()) grad.set(centralDiff(() => refOf(s).loss, values, 1e-5), values.byteOffset / 8);
      const norm = Math.hypot(...grad);
      const clip = options.clipGrad ?? 0, lr = options.lr!, decay = options.weightDecay ?? 0;
      const scale = clip > 0 ? Math.min(1, clip / (norm + 1e-6)) : 1;
      expect(Math.abs(s.record.gradNorm - norm), `gradient norm: GPU ${s.record.gradNorm}, float64 ${norm}`).toBeLessThan(1e-3 * norm + 1e-5);
      expect(Math.abs(s.record.clipScale - scale), `clip scale: GPU ${s.record.clipScale}, float64 ${scale}`).toBeLessThan(1e-3 * scale);
      // The step each parameter took: -lr (scale g + decay p).
      const took = Array.from(s.paramsAfter, (v, i) => v - s.flat[i]);
      const want = Array.from(s.flat, (p, i) => -lr * (scale * grad[i] + decay * p));
      expect(mismatches(took, want, { atol: 2e-6, rtol: 3e-3 })).toEqual([]);
    });
  }
});

describe('steps on resident data: gather, order, labels, dequantization, binarization, a short batch', () => {
  const cases: [string, Partial<VaeConfig>, number][] = [
    ['conditional TC, dequantized, learned sigma', { inputDim: 7, hidden: [6], latent: 3, activation: 'tanh', classes: 3, objective: 'tcvae', beta: 4, samples: 2, likelihood: 'gaussian', sigma: 'learned', dequantize: true }, 71],
    ['conditional ELBO on grey levels, L=2', { inputDim: 7, hidden: [6], latent: 3, activation: 'tanh', classes: 3, samples: 2 }, 72],
    ['conditional TC, dynamic binarization, L=2', { inputDim: 7, hidden: [6], latent: 3, activation: 'elu', classes: 3, objective: 'tcvae', beta: 3, samples: 2, binarize: 'dynamic' }, 74],
    ['conv, fixed binarization, free bits', { arch: 'conv', inputDim: 16, imageShape: [4, 4], channels: [3], latent: 3, activation: 'tanh', classes: 2, freeBits: 0.1, binarize: 'fixed' }, 75],
    ['conv conditional IWAE, dequantized, predicted scale', { arch: 'conv', inputDim: 16, imageShape: [4, 4], channels: [2], latent: 2, activation: 'tanh', classes: 2, objective: 'iwae', samples: 3, likelihood: 'gaussian', sigma: 'predicted', dequantize: true }, 73],
  ];
  for (const [label, partial, seed] of cases) {
    it(label, async () => {
      const { device } = await gpu();
      const config = resolveConfig(partial);
      const D = config.inputDim, batch = 5, count = 12, valid = 2;
      const vae = await VAE.create(config, { device, batch, seed, lr: 1e-3, initialParams: scaled(config, seed) });
      const images = Uint8Array.from(testData(count * D, seed, 0, 255), (v) => Math.floor(v));
      const allLabels = Uint8Array.from({ length: count }, (_, i) => (i * 7 + seed) % config.classes);
      const data = vae.upload({ images, count, labels: allLabels });
      const order = Uint32Array.from({ length: count }, (_, i) => (i * 5 + 3) % count);
      data.setOrder(order);
      await vae.trainStep({ data, index: 1 });
      const flat = Float64Array.from(await vae.flatParameters());
      await vae.trainStep({ data, index: 2 }); // order positions 10 and 11: a batch of 2 real rows
      const record = (await vae.readLosses())[1];
      const grads = await vae.flatGradients();
      const plan = await vae.plan('train', batch);
      const eps = await readFloats(device, plan.tensors.eps.buffer);
      const xGpu = await readFloats(device, plan.input!.buffer);
      const conditionGpu = await readFloats(device, plan.condition!.buffer);
      const klWeight = vae.klWeightAt(2);
      const params = paramsByName(vae, flat);
      vae.destroy();
      const x = new Float64Array(batch * D), labels: number[] = Array(batch).fill(0);
      for (let r = 0; r < valid; r++) {
        const example = order[2 * batch + r];
        labels[r] = allLabels[example];
        for (let d = 0; d < D; d++) {
          const g = images[example * D + d];
          // The second step's draws: keyed by its step counter, 1 (fixed binarization: by 0).
          x[r * D + d] = config.dequantize ? dequantizedPixel(seed, 1, example, d, g)
            : config.binarize !== 'none' ? binarizedPixel(seed, config.binarize === 'dynamic' ? 1 : 0, example, d, g) : Math.fround(g / 255);
        }
      }
      // WGSL's division need not be correctly rounded (g / 255 may be 1 ulp off); the noise is bit for bit.
      expect(mismatches(xGpu.subarray(0, batch * D), x, { atol: config.dequantize || config.binarize !== 'none' ? 0 : 1e-7, rtol: 0 }), 'gathered x').toEqual([]);
      const oneHot = Array.from({ length: batch * config.classes }, (_, i) => (Math.floor(i / config.classes) < valid && labels[Math.floor(i / config.classes)] === i % config.classes ? 1 : 0));
      expect(Array.from(conditionGpu.subarray(0, batch * config.classes)), 'gathered one-hot labels').toEqual(oneHot);
      x.set(xGpu.subarray(0, batch * D));
      const s: StepCapture = { config, params, flat, grads, eps, record, x, labels, batch, valid, klWeight, paramsAfter: new Float32Array() };
      // beta-TCVAE's estimate takes N = the data set's size: the loss gains w (beta - 1) (Z - 1) log(N / n).
      const tc = config.objective === 'tcvae' ? klWeight * (config.beta - 1) * (config.latent - 1) * Math.log(count / valid) : 0;
      const want = refOf(s).loss + tc;
      expect(Math.abs(record.loss - want), `loss: GPU ${record.loss}, float64 ${want}`).toBeLessThan(1e-4 * Math.abs(want) + 1e-4);
      expect(gradientMismatches(s, seed)).toEqual([]);
    });
  }
});
