// Model-level behaviour of plans, conditional models and the objectives' settings: evaluation and
// drawing (the *ToBuffer forms) at odd row counts compile no new pipelines, an evaluation does not
// depend on its batches, the plan cache is bounded, a conditional model follows its labels, the KL schedules, capacity control and
// learning-rate decay act on each step, and bad objective settings are refused. Training,
// checkpoints, the API's shapes and device limits are in model.test.ts.
import { describe, expect, it, vi } from 'vitest';
import { loadMnistNode } from '../src/data/mnist-node';
import { klCapacityAt, klWeightAt } from '../src/model/config';
import { lrAt, VAE, type VaeOptions } from '../src/model/vae';
import { readFloats } from '../src/gpu/buffers';
import { expectClose } from './helpers/compare';
import { gpu } from './helpers/gpu';

describe('plans, conditional models and configuration of the objectives', async () => {
  const train = await loadMnistNode('train', { limit: 512 });

  // Evaluation runs in chunks of the training batch; a drawing of fewer rows runs in a plan of
  // its own size, whose kernels are the batch's.
  it.each([
    ['an MLP', { hidden: [48], latent: 6 }],
    ['a conv model', { arch: 'conv' as const, channels: [4, 8], latent: 6 }],
    ['a conv model with GroupNorm and nearest upsampling', { arch: 'conv' as const, channels: [4, 8], latent: 6, norm: 'group' as const, upsample: 'nearest' as const }],
  ])('evaluating and decoding %s at odd row counts after training compiles no new pipelines', async (_, config) => {
    const { device } = await gpu();
    const { pipelineCacheFor } = await import('../src/gpu/pipelines');
    const cache = pipelineCacheFor(device);
    const vae = await VAE.create(config, { device, batch: 32, seed: 4 });
    const data = vae.upload(train);
    await vae.trainStep({ data, index: 0 });
    const x = (n: number) => Float32Array.from(train.images.subarray(0, n * 784), (v) => v / 255);
    // First use of each kind compiles its own kernels (likelihood without gradients, sigmoid, ...).
    await vae.elbo(vae.upload({ images: train.images.subarray(0, 100 * 784), count: 100 }));
    await vae.encode(x(3));
    await vae.reconstruct(x(3));
    await vae.sample(3);
    const compiled = cache.size;
    const odd = vae.upload({ images: train.images.subarray(0, 77 * 784), count: 77 });
    const e = await vae.elbo(odd);
    expect(e.examples).toBe(77);
    await vae.encode(x(37));
    await vae.decode(new Float32Array(53 * 6));
    await vae.reconstruct(x(41));
    expect((await vae.sample(70)).length).toBe(70 * 784);
    expect(cache.size).toBe(compiled);
    // The *ToBuffer forms run in the same plans: new row counts, more and fewer than the batch,
    // compile nothing, and hold what the CPU forms return.
    const { readFloats } = await import('../src/gpu/buffers');
    const z = Float32Array.from({ length: 45 * 6 }, (_, i) => Math.sin(i));
    expect(await readFloats(device, await vae.sampleToBuffer(70, 5))).toEqual(await vae.sample(70, 5));
    expect(await readFloats(device, await vae.decodeToBuffer(z))).toEqual(await vae.decode(z));
    expect(await readFloats(device, await vae.reconstructToBuffer(x(5)))).toEqual(await vae.reconstruct(x(5)));
    expect(cache.size).toBe(compiled);
    // Fewer rows than the batch run in a plan of their own size, as that compiles nothing: the
    // products are shape-generic, and the other kernels read their row counts from their bindings.
    const padded = (await vae.reconstruct(x(32))).subarray(0, 5 * 784);
    const planned = vi.spyOn(vae, 'plan');
    const own = await readFloats(device, await vae.reconstructToBuffer(x(5)));
    expect(planned.mock.calls.map(([kind, rows]) => [kind, rows])).toEqual([['reconstruct', 5]]);
    expect(cache.size).toBe(compiled);
    // Its rows are those of the batch's plan: each kernel stops at the rows bound, none reads past them.
    expectClose(own, padded, { atol: 1e-6, rtol: 1e-5 }, 'reconstructed in a plan of 5 rows against the first 5 of 32');
    vae.destroy();
  });

  it('a draw of fewer rows than the batch never takes the memory that the batch\'s plan needs, nor swaps plans at a small maxPlans', async () => {
    const { device } = await gpu();
    const config = { hidden: [32], latent: 4 }, B = 16;
    const probe = await VAE.create(config, { device, batch: B, seed: 1 });
    const budget = probe.allocatedBytes + (await probe.plan('sample', B)).graph.memory.plannedBytes + 64;
    const reference = await probe.sample(21, 3);
    probe.destroy();
    // Room for the step and the batch's sample plan, not for a plan of 5 rows besides.
    const vae = await VAE.create(config, { device, batch: B, seed: 1, memoryBudget: budget });
    expect(await vae.sample(5, 3)).toEqual(reference.subarray(0, 5 * 784));
    expect(await vae.sample(21, 3)).toEqual(reference);
    vae.destroy();
    // With room for one plan, a 5-row draw runs padded in the batch's plan rather than evicting it.
    const one = await VAE.create(config, { device, batch: B, seed: 1, maxPlans: 1 });
    await one.sample(5, 3);
    const recorded = vi.spyOn(one, 'record');
    for (let i = 0; i < 4; i++) expect(await one.sample(5, 3)).toEqual(reference.subarray(0, 5 * 784));
    expect(recorded).not.toHaveBeenCalled();
    one.destroy();
  });

  it('a *ToBuffer draw refused by the memory budget names the buffers lent before, which a smaller batch would not free', async () => {
    const { device } = await gpu();
    const config = { hidden: [32], latent: 4 }, B = 16;
    const probe = await VAE.create(config, { device, batch: B, seed: 1 });
    await probe.sample(B);
    // Room for the step, the batch's sample plan and a few lent buffers of a batch's rows.
    const budget = probe.allocatedBytes + 4 * B * 784 * 4;
    probe.destroy();
    const vae = await VAE.create(config, { device, batch: B, seed: 1, memoryBudget: budget });
    await vae.sample(B);
    const drawn = async () => { for (let n = B; n < 4 * B; n += B) await vae.sampleToBuffer(n); };
    await expect(drawn()).rejects.toThrow(/^the buffer vae\.sampleToBuffer\(\) lends for 48 rows needs 147\.0 KiB of GPU memory, .*; the \*ToBuffer calls keep one buffer per call and row count until vae\.destroy\(\) \(2 held, 147\.0 KiB\): draw at fewer distinct row counts/);
    // The row counts drawn before still draw, into the buffers they hold.
    expect((await vae.sampleToBuffer(B)).size).toBe(B * 784 * 4);
    vae.destroy();
  });

  it('a conditional draw checks every label before its first chunk: a refused call names its row and leaves the last result whole', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ hidden: [16], latent: 2, classes: 10, inputDim: 64 }, { device, batch: 16, seed: 2 });
    const good = Array.from({ length: 20 }, (_, i) => i % 10);
    const lent = await vae.sampleToBuffer(20, 0, good);
    const before = await readFloats(device, lent);
    const bad = [...good];
    bad[18] = 99;
    await expect(vae.sampleToBuffer(20, 5, bad)).rejects.toThrow(/^sampleToBuffer: label 99 of row 18 is not a class of this model \(0\.\.9\)$/);
    await expect(vae.decode(new Float32Array(40), bad)).rejects.toThrow(/^decode: label 99 of row 18 /);
    await expect(vae.decodeToBuffer(new Float32Array(40))).rejects.toThrow(/^decodeToBuffer: this model is conditional on 10 classes; pass one label \(0\.\.9\) per row$/);
    expect(await readFloats(device, lent)).toEqual(before);
    vae.destroy();
  });

  it('an evaluation does not depend on how it is split into batches', async () => {
    const { device } = await gpu();
    const flat = await (async () => {
      const v = await VAE.create({ hidden: [32], latent: 4 }, { device, batch: 16, seed: 6 });
      const p = await v.flatParameters();
      v.destroy();
      return p;
    })();
    const test = { images: train.images.subarray(0, 60 * 784), count: 60 };
    const results = [];
    for (const batch of [16, 60]) {
      const v = await VAE.create({ hidden: [32], latent: 4 }, { device, batch, initialParams: flat });
      results.push(await v.elbo(v.upload(test), { seed: 9 }));
      v.destroy();
    }
    // Same noise per example whatever the batch: only the f32 summation order differs.
    for (const r of results.slice(1)) expectClose([r.loss, r.kl], [results[0].loss, results[0].kl], { atol: 0, rtol: 2e-6 }, 'eval by batch size');
  });

  it('the plan cache is bounded and frees the buffers of evicted plans', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ hidden: [16], latent: 2 }, { device, batch: 8, maxPlans: 2 });
    const base = vae.allocatedBytes;
    const buffers = vae.bufferCount;
    const sizes = [2000, 3000, 4000, 5000];
    for (const n of sizes) await vae.plan('sample', n);
    // Four sample graphs, but only the last two are kept: the first two's buffers were freed, so
    // the model holds exactly the memory the last two planned (asking for them again is a cache hit).
    const kept = await Promise.all(sizes.slice(2).map((n) => vae.plan('sample', n)));
    expect(vae.allocatedBytes - base).toBe(kept.reduce((sum, p) => sum + p.graph.memory.plannedBytes, 0));
    expect(vae.bufferCount - buffers).toBe(kept.reduce((sum, p) => sum + p.graph.memory.buffers.length, 0));
    // The training step's plan survives eviction.
    await vae.trainStep(new Float32Array(8 * 784));
    expect((await vae.readLosses()).length).toBe(1);
    vae.destroy();
  });

  it('a conditional model needs labels, and its samples depend on the label', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ hidden: [64], latent: 4, classes: 10 }, { device, batch: 64, seed: 2, lr: 3e-3 });
    const data = vae.upload(train);
    for (let i = 0; i < 40; i++) await vae.trainStep({ data, index: i % 8 });
    await expect(vae.sample(4)).rejects.toThrow(/conditional on 10 classes; pass one label/);
    await expect(vae.sample(2, 0, [1, 12])).rejects.toThrow(/label 12 of row 1 is not a class/);
    expect(() => vae.upload({ images: train.images, count: train.count })).toThrow(/no labels/);
    // The same prior draws decoded as class 0 and as class 1 differ; as class 0 twice they agree.
    const zeros = await vae.sample(8, 5, new Array(8).fill(0));
    const ones = await vae.sample(8, 5, new Array(8).fill(1));
    expect(await vae.sample(8, 5, new Array(8).fill(0))).toEqual(zeros);
    let diff = 0;
    for (let i = 0; i < zeros.length; i++) diff += Math.abs(zeros[i] - ones[i]);
    expect(diff / zeros.length).toBeGreaterThan(0.01);
    vae.destroy();
  });

  it('KL schedules: linear warm-up, and cyclical annealing restarting it every P steps', () => {
    const weights = (c: { beta: number; warmupSteps: number; klCycleSteps: number }, n: number) => Array.from({ length: n }, (_, i) => klWeightAt(c, i + 1));
    expect(weights({ beta: 3, warmupSteps: 0, klCycleSteps: 0 }, 3)).toEqual([3, 3, 3]);
    expect(weights({ beta: 2, warmupSteps: 4, klCycleSteps: 0 }, 6)).toEqual([0.5, 1, 1.5, 2, 2, 2]);
    expect(weights({ beta: 2, warmupSteps: 2, klCycleSteps: 3 }, 7)).toEqual([1, 2, 2, 1, 2, 2, 1]);
    expect(weights({ beta: 1, warmupSteps: 4, klCycleSteps: 4 }, 9)).toEqual([0.25, 0.5, 0.75, 1, 0.25, 0.5, 0.75, 1, 0.25]);
    // beta-TCVAE: beta weighs the total correlation inside the objective; the step weight is the ramp alone.
    expect(Array.from({ length: 5 }, (_, i) => klWeightAt({ objective: 'tcvae', beta: 6, warmupSteps: 4, klCycleSteps: 0 }, i + 1))).toEqual([0.25, 0.5, 0.75, 1, 1]);
    expect(klWeightAt({ objective: 'tcvae', beta: 6, warmupSteps: 0, klCycleSteps: 0 }, 3)).toBe(1);
  });

  it('capacity control: C grows linearly from klCapacity / N to klCapacity over N steps, then holds', () => {
    const caps = (c: { klCapacity: number; capacitySteps: number }, n: number) => Array.from({ length: n }, (_, i) => klCapacityAt(c, i + 1));
    expect(caps({ klCapacity: 0, capacitySteps: 0 }, 2)).toEqual([0, 0]);
    expect(caps({ klCapacity: 25, capacitySteps: 0 }, 2)).toEqual([25, 25]);
    expect(caps({ klCapacity: 20, capacitySteps: 4 }, 6)).toEqual([5, 10, 15, 20, 20, 20]);
  });

  it('each capacity-controlled step records loss = rec + beta |KL - C_t|, and its gradient pulls the KL towards C', async () => {
    const { device } = await gpu();
    const config = { inputDim: 12, hidden: [8], latent: 3, beta: 5, klCapacity: 12, capacitySteps: 6 };
    const x = Float32Array.from({ length: 4 * 12 }, (_, i) => ((i * 37) % 11) / 10);
    const vae = await VAE.create(config, { device, batch: 4, lr: 1e-2, seed: 1 });
    for (let i = 0; i < 40; i++) await vae.trainStep(x);
    const losses = await vae.readLosses();
    vae.destroy();
    expect(losses).toHaveLength(40);
    const want = losses.map((l, i) => l.rec + 5 * Math.abs(l.kl - klCapacityAt(config, i + 1)));
    expectClose(losses.map((l) => l.loss), want, { atol: 1e-3, rtol: 1e-5 });
    // A plain beta-5 ELBO drives this model's KL towards 0; under capacity control it climbs to C.
    const plain = await VAE.create({ ...config, klCapacity: 0, capacitySteps: 0 }, { device, batch: 4, lr: 1e-2, seed: 1 });
    for (let i = 0; i < 40; i++) await plain.trainStep(x);
    const plainKl = (await plain.readLosses()).at(-1)!.kl;
    plain.destroy();
    expect(losses.at(-1)!.kl).toBeGreaterThan(8);
    expect(plainKl).toBeLessThan(2);
  });

  it('learning-rate decay: constant, or half a cosine from lr to lrMin over lrDecaySteps, then lrMin', () => {
    const cosine = { lr: 1e-3, lrDecay: 'cosine' as const, lrDecaySteps: 10, lrMin: 1e-5 };
    expect(lrAt({ ...cosine, lrDecay: 'none' }, 7)).toBe(1e-3);
    expect(lrAt(cosine, 1)).toBeCloseTo(1e-3, 15);
    expect(lrAt(cosine, 6)).toBeCloseTo((1e-3 + 1e-5) / 2, 15);
    expect(lrAt(cosine, 11)).toBeCloseTo(1e-5, 15);
    expect(lrAt(cosine, 500)).toBeCloseTo(1e-5, 15);
    const falling = Array.from({ length: 11 }, (_, i) => lrAt(cosine, i + 1));
    expect(falling.every((v, i) => i === 0 || v < falling[i - 1])).toBe(true);
  });

  it('a cosine-decayed step moves the weights lrAt(t) / lr as far as a constant-rate step from the same state', async () => {
    const { device } = await gpu();
    const config = { inputDim: 12, hidden: [8], latent: 3 };
    const x = Float32Array.from({ length: 4 * 12 }, (_, i) => ((i * 37) % 11) / 10);
    const warm = await VAE.create(config, { device, batch: 4, lr: 1e-3, seed: 2 });
    for (let i = 0; i < 5; i++) await warm.trainStep(x);
    const params = await warm.flatParameters(), moments = await warm.optimizerState();
    warm.destroy();
    const oneMoreStep = async (decay: Partial<VaeOptions>) => {
      const vae = await VAE.create(config, { device, batch: 4, lr: 1e-3, seed: 2, initialParams: params, ...decay });
      vae.restoreOptimizer({ m: moments!.m, v: moments!.v, step: 5 });
      await vae.trainStep(x);
      const after = await vae.flatParameters();
      vae.destroy();
      return after.map((p, i) => p - params[i]);
    };
    const decay = { lrDecay: 'cosine' as const, lrDecaySteps: 8, lrMin: 1e-4 };
    const constant = await oneMoreStep({}), cosine = await oneMoreStep(decay);
    const ratio = lrAt({ lr: 1e-3, ...decay }, 6) / 1e-3; // step 6 of 8: about 0.35
    expect(ratio).toBeGreaterThan(0.2);
    expect(ratio).toBeLessThan(0.5);
    const compared = [...constant.keys()].filter((i) => Math.abs(constant[i]) > 1e-4);
    expect(compared.length).toBeGreaterThan(20);
    // expectClose fails on a NaN (a filter on "> tolerance" would let one through).
    expectClose(compared.map((i) => cosine[i]), compared.map((i) => constant[i] * ratio), { atol: 0, rtol: 1e-3 / ratio }, 'cosine-decayed step against ratio x the constant-rate step');
    expect(cosine.every(Number.isFinite), 'every weight of the decayed step is finite').toBe(true);
  });

  it('each training step weighs its KL by the schedule: loss = rec + w_t KL, read back per step', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ inputDim: 12, hidden: [8], latent: 3, beta: 2, warmupSteps: 3, klCycleSteps: 4 }, { device, batch: 4, lr: 1e-3, seed: 1 });
    const x = Float32Array.from({ length: 4 * 12 }, (_, i) => ((i * 37) % 11) / 10);
    for (let i = 0; i < 10; i++) await vae.trainStep(x);
    const losses = await vae.readLosses();
    vae.destroy();
    expect(losses).toHaveLength(10);
    const applied = losses.map((l) => (l.loss - l.rec) / l.kl);
    const want = [2 / 3, 4 / 3, 2, 2, 2 / 3, 4 / 3, 2, 2, 2 / 3, 4 / 3];
    expectClose(applied, want, { atol: 1e-4, rtol: 1e-4 });
  });

  it('objective settings are validated with messages that name the field', async () => {
    const { device } = await gpu();
    await expect(VAE.create({ objective: 'iwae', samples: 5, beta: 0.5 }, { device })).rejects.toThrow(/elbo and tcvae objectives only/);
    await expect(VAE.create({ objective: 'tcvae', beta: 6, klCapacity: 5 }, { device })).rejects.toThrow(/klCapacity controls the elbo objective's KL term; the tcvae objective has its own/);
    await expect(VAE.create({ samples: 100 }, { device })).rejects.toThrow(/samples must be an integer in 1\.\.64 for the elbo objective/);
    await expect(VAE.create({ freeBits: -1 }, { device })).rejects.toThrow(/freeBits must be/);
    await expect(VAE.create({ warmupSteps: 1.5 }, { device })).rejects.toThrow(/warmupSteps must be/);
    await expect(VAE.create({}, { device, lrDecay: 'cosine' })).rejects.toThrow(/lrDecay 'cosine' needs lrDecaySteps/);
    await expect(VAE.create({}, { device, lrDecay: 'cosine', lrDecaySteps: 10, lrMin: 0.1 })).rejects.toThrow(/lrMin must be a number in \[0, lr = 0.001\], got 0.1/);
    // Values the GPU's f32 uniform could not hold, and options of the wrong type, at creation rather than at the first step.
    await expect(VAE.create({}, { device, lr: 1e39 })).rejects.toThrow(/^lr must be a number > 0 within f32's range \(at most 3.4e38\), got 1e\+39$/);
    await expect(VAE.create({ beta: 1e39 }, { device })).rejects.toThrow(/^beta must be a number >= 0 within f32's range/);
    await expect(VAE.create({}, { device, lrDecay: 'cosine', lrDecaySteps: 5, lrMin: '1e-4' as never })).rejects.toThrow(/lrMin must be a number in \[0, lr = 0.001\], got '1e-4' \(a string\)/);
    await expect(VAE.create({}, { device, lrMin: 1e-5 })).rejects.toThrow(/^lrMin \(0.00001\) is the floor of a cosine decay; add lrDecay: 'cosine' and lrDecaySteps, or leave lrMin out$/);
    await expect(VAE.create({}, { device, memoryBudget: '1e9' as never })).rejects.toThrow(/^memoryBudget must be a positive number of bytes, got '1e9' \(a string\)$/);
    await expect(VAE.create({}, { device, signal: 'x' as never })).rejects.toThrow(/^signal must be an AbortSignal/);
    await expect(VAE.create({}, { device, autotuneCache: 5 as never })).rejects.toThrow(/^autotuneCache must be an object with get\(key\) and set\(key, record\)/);
    await expect(VAE.create({ klCycleSteps: 4 }, { device })).rejects.toThrow(/klCycleSteps 4 repeats the KL warm-up, so it needs warmupSteps between 1 and 4/);
    await expect(VAE.create({ klCycleSteps: 4, warmupSteps: 5 }, { device })).rejects.toThrow(/needs warmupSteps between 1 and 4 .*got 5/);
    await expect(VAE.create({ objective: 'iwae', samples: 2, klCycleSteps: 4, warmupSteps: 2 }, { device })).rejects.toThrow(/elbo and tcvae objectives only/);
    await expect(VAE.create({ binarize: 'always' as never }, { device })).rejects.toThrow(/binarize must be none, dynamic or fixed/);
    await expect(VAE.create({ klCapacity: -1 }, { device })).rejects.toThrow(/klCapacity must be a number of nats >= 0/);
    await expect(VAE.create({ klCapacity: 25, capacitySteps: 2.5 }, { device })).rejects.toThrow(/capacitySteps must be an integer >= 0/);
    await expect(VAE.create({ capacitySteps: 100 }, { device })).rejects.toThrow(/capacitySteps 100 ramps the KL capacity, but klCapacity is 0/);
    await expect(VAE.create({ klCapacity: 25, freeBits: 0.5 }, { device })).rejects.toThrow(/does not combine with free bits, KL warm-up or KL cycles/);
    await expect(VAE.create({ klCapacity: 25, warmupSteps: 10 }, { device })).rejects.toThrow(/does not combine with free bits, KL warm-up or KL cycles/);
    await expect(VAE.create({ klCapacity: 25, objective: 'tcvae', beta: 6 }, { device })).rejects.toThrow(/klCapacity controls the elbo objective's KL term; the tcvae objective/);
    await expect(VAE.create({ klCapacity: 25, objective: 'iwae' }, { device })).rejects.toThrow(/the iwae objective has its own/);
  });
});
