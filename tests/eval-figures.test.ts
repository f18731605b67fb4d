// Evaluation figures of conditional models with several latent dimensions against float64
// references built from the same noise (noiseAt, the TypeScript twin of the GPU's): vae.elbo()
// (L samples, the evaluation noise numbered by example and sample) and vae.logLikelihood() per
// example (IWAE, K = 5 samples in chunks of 3 and 2, batches of 2 with a short last one). Both
// are the same to the last bit at any batch, chunking or number of examples evaluated.
import { describe, expect, it } from 'vitest';
import { resolveConfig, type VaeConfig } from '../src/model/config';
import { VAE } from '../src/model/vae';
import { dequantizedPixel } from '../src/data/binarize';
import { noiseAt } from '../src/noise';
import { STREAM } from '../src/step-params';
import { expectClose, testData } from './helpers/compare';
import { gpu } from './helpers/gpu';
import { paramsByName, scaled } from './helpers/whole-grad';
import { encodeRef, logLikelihoodRef, type RefConfig } from './reference/vae';

const cases: [string, Partial<VaeConfig>, number][] = [
  ['mlp conditional, Z=3, predicted scale, dequantized, L=2, tcvae', { inputDim: 7, hidden: [6, 5], latent: 3, activation: 'tanh', classes: 3, samples: 2, likelihood: 'gaussian', sigma: 'predicted', dequantize: true, objective: 'tcvae', beta: 4 }, 91],
  ['conv conditional RGB, Z=2, learned-pixel, dequantized, iwae K=3', { arch: 'conv', inputDim: 48, imageShape: [4, 4], imageChannels: 3, channels: [2], latent: 2, activation: 'softplus', classes: 2, samples: 3, objective: 'iwae', likelihood: 'gaussian', sigma: 'learned-pixel', dequantize: true }, 92],
  ['mlp bernoulli conditional, Z=4, L=3, free bits', { inputDim: 6, hidden: [5], latent: 4, activation: 'elu', classes: 2, samples: 3, freeBits: 0.3 }, 93],
];

describe('evaluation figures', () => {
  for (const [label, partial, seed] of cases) {
    it(label, async () => {
      const { device } = await gpu();
      const config = resolveConfig(partial);
      const D = config.inputDim, Z = config.latent, B = 3, count = 7, evalSeed = 11;
      const init = scaled(config, seed);
      const vae = await VAE.create(config, { device, batch: B, seed, initialParams: init });
      const images = Uint8Array.from(testData(count * D, seed, 0, 255), (v) => Math.floor(v));
      const labels = Uint8Array.from({ length: count }, (_, i) => (i * 5 + 1) % config.classes);
      const data = vae.upload({ images, count, labels });
      const elbo = await vae.elbo(data, { seed: evalSeed });
      const K = 5;
      const ll = await vae.logLikelihood(data, { samples: K, seed: evalSeed, batch: 2, maxRows: 6 });
      const flat = Float64Array.from(await vae.flatParameters());
      const params = paramsByName(vae, flat);
      vae.destroy();
      const rc = config as unknown as RefConfig;
      const L = config.objective === 'iwae' ? 1 : config.samples;
      const xOf = (ex: number) => Array.from({ length: D }, (_, d) => {
        const g = images[ex * D + d];
        return config.dequantize ? dequantizedPixel(evalSeed, 0, ex, d, g, STREAM.dequantizeEval) : Math.fround(g / 255);
      });
      let recSum = 0, klSum = 0;
      const perEx: number[] = [];
      for (let ex = 0; ex < count; ex++) {
        const x = xOf(ex);
        const { mu, logvar } = encodeRef(rc, params, x, labels[ex]);
        for (let j = 0; j < Z; j++) klSum += 0.5 * (mu[j] ** 2 + Math.exp(logvar[j]) - 1 - logvar[j]);
        for (let l = 0; l < L; l++) {
          // Sample l of example ex: counter l, element ex * Z + j (reparam.ts, counterPerSample).
          const z = mu.map((m, j) => m + Math.exp(0.5 * logvar[j]) * noiseAt(ex * Z + j, evalSeed, l, STREAM.eval));
          recSum -= logLikelihoodRef(rc, params, x, z, labels[ex]) / L;
        }
        // IWAE: sample k of example ex draws counter k at element ex * Z + j, whatever the batches
        // (2 here, the last short) and chunks (3 and 2 samples) it is computed in.
        const logW: number[] = [];
        for (let k = 0; k < K; k++) {
          const eps = Array.from({ length: Z }, (_, j) => noiseAt(ex * Z + j, evalSeed, k, STREAM.iwae));
          const z = mu.map((m, j) => m + Math.exp(0.5 * logvar[j]) * eps[j]);
          let lw = logLikelihoodRef(rc, params, x, z, labels[ex]);
          for (let j = 0; j < Z; j++) lw += -0.5 * z[j] ** 2 + 0.5 * eps[j] ** 2 + 0.5 * logvar[j];
          logW.push(lw);
        }
        const m = Math.max(...logW);
        perEx.push(-(m + Math.log(logW.reduce((s, v) => s + Math.exp(v - m), 0)) - Math.log(K)));
      }
      const want = { loss: (recSum + klSum) / count, rec: recSum / count, kl: klSum / count };
      expect(elbo.examples).toBe(count);
      for (const k of ['loss', 'rec', 'kl'] as const) expect(Math.abs(elbo[k] - want[k]), `${k}: GPU ${elbo[k]}, float64 ${want[k]}`).toBeLessThan(1e-4 * Math.abs(want[k]) + 1e-4);
      for (let ex = 0; ex < count; ex++) expect(Math.abs(ll.perExample[ex] - perEx[ex]), `-log p(x) of example ${ex}: GPU ${ll.perExample[ex]}, float64 ${perEx[ex]}`).toBeLessThan(1e-4 * Math.abs(perEx[ex]) + 1e-4);
    }, 120_000);
  }

  it('are the same at any batch, chunk size or number of examples evaluated: the ELBO to the last bit, IWAE to float32 rounding across chunk sizes', async () => {
    const { device } = await gpu();
    const config = resolveConfig({ inputDim: 6, hidden: [5], latent: 3, samples: 3 });
    const count = 11, seed = 94;
    const images = Uint8Array.from(testData(count * config.inputDim, seed, 0, 255), (v) => Math.floor(v));
    const figures: { elbo: number[]; ll: number[]; first: number[] }[] = [];
    // Chunks of K = 7 samples: 2 (3 examples x 2 rows <= 6), all 7, 2 (2 x 2 <= 4), 2 again at another batch.
    for (const [batch, llBatch, maxRows] of [[4, 3, 6], [11, 11, 1000], [1, 2, 4], [2, 1, 2]]) {
      const vae = await VAE.create(config, { device, batch, seed, initialParams: scaled(config, seed) });
      const data = vae.upload({ images, count });
      const head = vae.upload({ images: images.subarray(0, 5 * config.inputDim), count: 5 });
      const e = await vae.elbo(data);
      const ll = await vae.logLikelihood(data, { samples: 7, batch: llBatch, maxRows });
      const firstFive = await vae.logLikelihood(head, { samples: 7, batch: llBatch, maxRows });
      figures.push({ elbo: [e.loss, e.rec, e.kl], ll: Array.from(ll.perExample), first: Array.from(firstFive.perExample) });
      vae.destroy();
    }
    for (const f of figures.slice(1)) expect(f.elbo, 'vae.elbo at another batch').toEqual(figures[0].elbo);
    // The same samples: chunks of another size only merge their log-sum-exps in another order.
    for (const f of figures.slice(1)) expectClose(f.ll, figures[0].ll, { atol: 1e-5, rtol: 1e-6 }, 'each example\'s IWAE estimate at another chunk size');
    // The same chunk size at another batch, and fewer examples evaluated: the same bits.
    expect(figures[3].ll).toEqual(figures[2].ll);
    for (const f of figures) expect(f.first).toEqual(f.ll.slice(0, 5));
  }, 120_000);
});
