// The importance-weighted log-likelihood estimate (VAE.logLikelihood, src/model/iwae-eval.ts) on a
// model small enough to integrate exactly: latent size 1, so log p(x) = log of the integral of
// p(x|z) N(z; 0, 1) dz and the ELBO = E_q[log p(x|z)] - KL are computed by quadrature in float64
// from the independent reference (tests/reference/vae.ts). The GPU estimate, chunked over many
// submits, must agree with the exact value within its Monte Carlo error, and for every example lie
// between the exact -log p(x) (up to that error) and the -ELBO.
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/model/config';
import { buildModel } from '../src/model/build';
import { initialParams } from '../src/model/params';
import type { Plan } from '../src/model/graphs';
import type { BatchSource } from '../src/model/resident-data';
import { VAE } from '../src/model/vae';
import { chunkOf } from '../src/model/iwae-eval';
import { noiseAt } from '../src/noise';
import { STREAM } from '../src/step-params';
import { testData } from './helpers/compare';
import { defaultLimitsDevice } from './helpers/default-limits';
import { gpu } from './helpers/gpu';
import { exactLogLikelihoodRef } from './reference/likelihood-estimate';
import { encodeRef, logLikelihoodRef, type RefConfig, type RefParams } from './reference/vae';

const config = resolveConfig({ inputDim: 6, hidden: [5], latent: 1, activation: 'tanh' });
const N = 8;

describe('evaluations and the training order', () => {
  it('give each example its own figure and noise whatever shuffle training set on the data', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(config, { device, batch: 3, initialParams: initialParams(buildModel(config).layout, 4), seed: 5 });
    const images = Uint8Array.from(testData(7 * config.inputDim, 3, 0, 1), (u) => (u < 0.5 ? 0 : 255));
    const data = vae.upload({ images, count: 7 });
    const before = { elbo: await vae.elbo(data), ll: await vae.logLikelihood(data, { samples: 4 }) };
    const buffers = vae.bufferCount;
    // An epoch's shuffle, as a training loop sets it; only trainStep follows it.
    data.setOrder(Uint32Array.from([6, 5, 4, 3, 2, 1, 0]));
    expect(await vae.elbo(data), 'the -ELBO after a reversed order').toEqual(before.elbo);
    expect((await vae.logLikelihood(data, { samples: 4 })).perExample, 'example i\'s estimate at index i').toEqual(before.ll.perExample);
    // The examples' own order is held only once a shuffled set is evaluated: one buffer more.
    expect(vae.bufferCount).toBe(buffers + 1);
    // An evaluation queued behind the set's destroy() is refused, and leaves nothing behind.
    const other = vae.upload({ images, count: 7 });
    other.setOrder(Uint32Array.from([1, 0, 2, 3, 4, 5, 6]));
    const held = vae.bufferCount;
    const queued = vae.elbo(other);
    other.destroy();
    await expect(queued).rejects.toThrow(/^elbo: this data set was destroyed/);
    expect(vae.bufferCount).toBe(held - 2); // its pixels and order freed, no identity order made
    vae.destroy();
  });
});

describe('importance-weighted log-likelihood estimate vs exact integration', () => {
  it('matches log p(x) by quadrature within its Monte Carlo error, and lies between it and the -ELBO', async () => {
    const { device } = await gpu();
    const layout = buildModel(config).layout;
    const flat = initialParams(layout, 4);
    for (let i = 0; i < flat.length; i++) flat[i] *= 3; // a decoder with a clearly non-Gaussian posterior
    const bits = testData(N * config.inputDim, 9, 0, 1).map((u) => (u < 0.5 ? 0 : 1));
    const images = Uint8Array.from(bits, (b) => b * 255);
    const x = (i: number) => Array.from(bits.subarray(i * config.inputDim, (i + 1) * config.inputDim));
    const ref = config as unknown as RefConfig;

    // Train a little, so the encoder's q is a sensible proposal (importance sampling with a poor
    // one is unbiased only in the limit and needs far more samples).
    const vae = await VAE.create(config, { device, batch: N, initialParams: flat, lr: 1e-2, seed: 2 });
    const data = vae.upload({ images, count: N });
    for (let s = 0; s < 150; s++) await vae.trainStep({ data, index: 0 });
    const trained = await vae.flatParameters();
    const params: RefParams = new Map(layout.tensors.map((t) => [t.name, Float64Array.from(trained.subarray(t.offset, t.offset + t.count))]));
    const exact = Array.from({ length: N }, (_, i) => -exactLogLikelihoodRef((z) => logLikelihoodRef(ref, params, x(i), z), 1, { points: 2000 }));
    // -ELBO by quadrature over q: E_q[-log p(x|z)] + KL(q || N(0, 1)).
    const negElbo = Array.from({ length: N }, (_, i) => {
      const { mu, logvar } = encodeRef(ref, params, x(i));
      const s = Math.exp(0.5 * logvar[0]);
      let e = 0, w = 0;
      for (let k = -4000; k <= 4000; k++) {
        const t = k / 500; // standard-normal grid over +-8
        const dens = Math.exp(-0.5 * t * t);
        e += dens * -logLikelihoodRef(ref, params, x(i), [mu[0] + s * t]);
        w += dens;
      }
      return e / w + 0.5 * (Math.exp(logvar[0]) + mu[0] ** 2 - 1 - logvar[0]);
    });

    const runs = [];
    let progressCalls = 0;
    for (const seed of [1, 2, 3, 4, 5]) {
      // maxRows forces several chunks per batch (and two batches), so the running logsumexp is
      // exercised: 400 samples in 4 chunks of 100; 401, a prime, in 3 chunks of 125 and one of 26
      // (drawing 500 and keeping 500 would be 0.22 nats off, log(500 / 401)).
      runs.push(await vae.logLikelihood(data, { samples: seed % 2 ? 400 : 401, seed, batch: 4, maxRows: 500, onProgress: () => progressCalls++ }));
    }
    vae.destroy();
    expect(progressCalls).toBeGreaterThan(0);
    for (const r of runs) {
      expect(r.examples).toBe(N);
      expect(r.samples).toBe(r === runs[1] || r === runs[3] ? 401 : 400);
      expect(r.perExample.every(Number.isFinite)).toBe(true);
    }
    for (let i = 0; i < N; i++) {
      const est = runs.map((r) => r.perExample[i]);
      const mean = est.reduce((a, b) => a + b, 0) / est.length;
      const sd = Math.sqrt(est.reduce((a, b) => a + (b - mean) ** 2, 0) / (est.length - 1));
      const se = sd / Math.sqrt(est.length);
      // The estimate is biased upwards by O(1/K); with K = 400 that is far below 0.02 nats here.
      expect(Math.abs(mean - exact[i]), `example ${i}: estimate ${mean} +- ${se}, exact ${exact[i]}`).toBeLessThan(4 * se + 0.02);
      expect(mean, `example ${i}: IWAE ${mean} vs -ELBO ${negElbo[i]}`).toBeLessThanOrEqual(negElbo[i] + 1e-3);
      expect(exact[i]).toBeLessThan(negElbo[i]);
    }
    // The tightest bound a 400-sample estimate can give is measurably better than the ELBO here.
    const gap = negElbo.reduce((a, b) => a + b, 0) / N - exact.reduce((a, b) => a + b, 0) / N;
    expect(gap).toBeGreaterThan(0.05);
  });
});

describe('which noise each batch and chunk draws', () => {
  it('sample k of example e draws counter k at element e (Z = 1), whatever the batch and chunk: each example\'s estimate from those draws in float64', async () => {
    // The estimates elsewhere agree with the exact value only statistically, which any noise
    // (shared between batches, or repeated between chunks) would pass.
    const { device } = await gpu();
    const layout = buildModel(config).layout;
    const flat = initialParams(layout, 4).map((v) => v * 3);
    const N = 4, B = 2, K = 6, Kc = 3, chunks = 2, seed = 7;
    const bits = [1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0];
    const vae = await VAE.create(config, { device, batch: B, initialParams: flat });
    const r = await vae.logLikelihood(vae.upload({ images: Uint8Array.from(bits, (b) => b * 255), count: N }), { samples: K, seed, batch: B, maxRows: B * Kc });
    vae.destroy();
    const ref = config as unknown as RefConfig;
    const params: RefParams = new Map(layout.tensors.map((t) => [t.name, Float64Array.from(flat.subarray(t.offset, t.offset + t.count))]));
    for (let ex = 0; ex < N; ex++) {
      const x = bits.slice(ex * 6, ex * 6 + 6);
      const { mu, logvar } = encodeRef(ref, params, x);
      const logW: number[] = [];
      for (let k = 0; k < chunks * Kc; k++) {
        const eps = noiseAt(ex, seed, k, STREAM.iwae);
        const z = mu[0] + Math.exp(0.5 * logvar[0]) * eps;
        // log p(x|z) + log N(z; 0, 1) - log N(z; mu, sigma^2), the constants cancelling.
        logW.push(logLikelihoodRef(ref, params, x, [z]) - 0.5 * z * z + 0.5 * eps * eps + 0.5 * logvar[0]);
      }
      const m = Math.max(...logW);
      const want = -(m + Math.log(logW.reduce((sum, v) => sum + Math.exp(v - m), 0)) - Math.log(K));
      expect(Math.abs(r.perExample[ex] - want), `example ${ex}: ${r.perExample[ex]} against ${want}`).toBeLessThan(1e-3);
    }
  });
});

describe('chunk sizes', () => {
  it('equal chunks where K has a divisor near the cap, else the cap and a shorter last chunk', () => {
    expect(chunkOf(400, 125)).toBe(100);
    expect(chunkOf(5000, 64)).toBe(50);
    expect(chunkOf(401, 125)).toBe(125);
    expect(chunkOf(4999, 64)).toBe(64);
    expect(chunkOf(7, 100)).toBe(7);
    expect(chunkOf(3, 1)).toBe(1);
  });

  it('a last chunk shorter than the others counts its own samples only', async () => {
    // Every weight 0: q(z|x) is the prior, so log p(z) - log q(z|x) is 0 for every sample, and the
    // decoder's output is its bias whatever z is. Every log-weight is then log p(x | bias), and
    // the estimate is exactly that, for any K and chunking; counting the drawn but unused rows of
    // the last chunk would move it by log(500 / 401) = 0.22 nats.
    const { device } = await gpu();
    const layout = buildModel(config).layout;
    const flat = new Float32Array(layout.totalFloats);
    const bias = layout.byName.get('decoder.out.bias')!;
    const logits = [-2, 1.5, 0.25, 3, -0.5, 1];
    flat.set(logits, bias.offset);
    const vae = await VAE.create(config, { device, batch: 4, initialParams: flat });
    const bits = [1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0];
    const data = vae.upload({ images: Uint8Array.from(bits, (b) => b * 255), count: 2 });
    const softplus = (v: number) => Math.max(v, 0) + Math.log1p(Math.exp(-Math.abs(v)));
    const exact = [0, 1].map((i) => logits.reduce((sum, l, j) => sum + softplus(l) - bits[i * 6 + j] * l, 0));
    for (const samples of [401, 400, 7]) {
      const r = await vae.logLikelihood(data, { samples, seed: 3, batch: 2, maxRows: 250 });
      for (let i = 0; i < 2; i++) expect(Math.abs(r.perExample[i] - exact[i]), `K = ${samples}, example ${i}: ${r.perExample[i]} against ${exact[i]}`).toBeLessThan(1e-4);
    }
    vae.destroy();
  });

  it('a conv model\'s chunks fit the binding limit by its widest tensor, a feature map, not its output', async () => {
    // 32x32 with 32 channels: the first feature map takes 32 KiB a row, 8x the output. At the
    // default 8192 rows a chunk's feature map would take 256 MiB, twice a default device's 128 MiB
    // per binding, which is where chunks sized by the output alone were refused.
    const device = await defaultLimitsDevice();
    try {
      const vae = await VAE.create({ inputDim: 1024, imageShape: [32, 32], arch: 'conv', channels: [32], latent: 2 }, { device, batch: 1 });
      const data = vae.upload({ images: new Uint8Array(8192 * 1024).fill(9), count: 8192 });
      // Stops once the chunk is planned (placed and compiled): running it is not the point here.
      let planned: Plan | undefined;
      const probe: BatchSource = { count: data.count, dim: data.dim, device, setOrder: () => {}, destroy: () => {}, gatherFor: async (plan) => { planned = plan; throw new Error('planned'); } };
      await expect(vae.logLikelihood(probe, { samples: 64 })).rejects.toThrow('planned');
      expect(planned!.rows * planned!.samples).toBe(device.limits.maxStorageBufferBindingSize / (32 * 1024));
      // A chunk asked too large (here by its batch) is refused in logLikelihood's own terms.
      await expect(vae.logLikelihood(data, { samples: 1, batch: 8192 })).rejects.toThrow(
        /maxStorageBufferBindingSize is 134217728; give logLikelihood fewer rows per chunk \(maxRows; 8192 here, 8192 examples x 1 samples\) or a smaller batch, or, where the adapter allows more, request the device with requiredLimits/,
      );
      vae.destroy();
    } finally {
      device.destroy();
    }
  });
});

describe('the plans of an evaluation over a larger data set', () => {
  it('free those bound to the smaller set\'s bounds buffer, which no call asks for again, rather than hold them until evicted', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(config, { device, batch: 3, initialParams: initialParams(buildModel(config).layout, 4), seed: 5, prepareTraining: false });
    const held: { buffers: number; bytes: number }[] = [];
    for (const count of [4, 8, 12]) {
      const data = vae.upload({ images: Uint8Array.from(testData(count * config.inputDim, 3, 0, 1), (u) => (u < 0.5 ? 0 : 255)), count });
      // The same batch and chunks each time: the plans differ only by the bounds buffer they write.
      await vae.logLikelihood(data, { samples: 4, batch: 2 });
      data.destroy();
      held.push({ buffers: vae.bufferCount, bytes: vae.allocatedBytes });
    }
    // One evaluation plan and one bounds buffer at a time: only the bounds grew, 4 bytes an example.
    expect(held.map((h) => h.buffers), 'buffers held after each evaluation').toEqual([held[0].buffers, held[0].buffers, held[0].buffers]);
    expect(held.map((h) => h.bytes - held[0].bytes), 'bytes held beyond the first evaluation\'s').toEqual([0, 16, 32]);
    vae.destroy();
  });
});
