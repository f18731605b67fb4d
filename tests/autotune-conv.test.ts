// The convolution autotuner (src/model/autotune-conv.ts): it times every method on an operation,
// keeps the fastest and caches it (a second run measures nothing); a cached record of the wrong
// kind is measured again, not trusted; and a conv model whose cache names a method for some
// operations records exactly those operations in it and trains as the default methods do.
import { describe, expect, it } from 'vitest';
import { type AutotuneCache, type AutotuneRecord } from '../src/model/autotune';
import { autotuneConvs, convMethodCandidates } from '../src/model/autotune-conv';
import { memoryAutotuneCache } from '../src/model/autotune-cache';
import { kernelsFor, withKernelOverrides } from '../src/model/kernel-choice';
import { convOpKey, isNarrowConv, type ConvMethod, type ConvOpShape } from '../src/model/layers/conv-ops';
import { VAE } from '../src/model/vae';
import { describeAutotune } from '../src/cli/train-report';
import { gpu } from './helpers/gpu';

const SHAPE: ConvOpShape = { geometry: { batch: 2, inChannels: 3, inHeight: 8, inWidth: 6, outChannels: 5, kernel: 4, stride: 2, padding: 1 }, op: 'dX' };

describe('conv autotune measurement', () => {
  it('times every method, keeps the fastest, caches it, and a second run measures nothing', async () => {
    const { cache: pipelines, device } = await gpu();
    const kernels = kernelsFor({ isSoftware: true, subgroups: device.features.has('subgroups') });
    const store = memoryAutotuneCache();
    const sets: [string, AutotuneRecord][] = [];
    const spy: AutotuneCache = { get: store.get, set: async (k, v) => { sets.push([k, v]); await store.set(k, v); } };
    const opts = { mode: 'full' as const, adapterKey: 'test', isSoftware: true, cache: spy };
    const first = await autotuneConvs(pipelines, [SHAPE], kernels, opts);
    const choice = first[convOpKey(SHAPE)];
    const methods = convMethodCandidates(true, kernels.subgroups);
    expect(methods).toContain(choice.method);
    expect(choice.candidates).toBe(methods.length);
    expect(choice.ms).toBeGreaterThan(0);
    expect(sets.map(([k]) => k.split('|').slice(0, 3))).toEqual([['conv', 'test', convOpKey(SHAPE)]]);
    const again = await autotuneConvs(pipelines, [SHAPE], kernels, opts);
    expect(again).toEqual(first);
    expect(sets).toHaveLength(1);
    // A record that is not a convolution's (e.g. a matmul product's under the same key) is measured again.
    await store.set(sets[0][0], { variant: 'register', ms: 1, candidates: 1 });
    const remeasured = await autotuneConvs(pipelines, [SHAPE], kernels, opts);
    expect(remeasured[convOpKey(SHAPE)].candidates).toBe(methods.length);
    expect(sets).toHaveLength(2);
  }, 600_000);
});

describe('a conv model on autotuned methods', () => {
  it('records the cached method for exactly the operations it names, and trains as the defaults do', async () => {
    const { device } = await gpu();
    const asked: string[] = [];
    // The forward operations directly; everything else left to the model's base method, im2col on
    // every adapter (a GPU's own default is the implicit GEMM).
    const cache: AutotuneCache = {
      async get(key) {
        asked.push(key);
        const [kind, , op] = key.split('|');
        return kind === 'conv' && op.startsWith('forward:') ? { method: 'direct', ms: 1, candidates: 3 } : undefined;
      },
      async set() { /* quick's budget is spent before any measurement completes */ },
    };
    const x = Float32Array.from({ length: 4 * 64 }, (_, i) => ((i * 7919) % 256) / 255);
    const run = async (autotune: 'off' | 'quick') => {
      const vae = await VAE.create({ arch: 'conv', inputDim: 64, imageShape: [8, 8], channels: [2, 4], latent: 2 }, { device, batch: 4, seed: 3, autotune, autotuneCache: cache, kernels: { conv: 'im2col' } });
      const names = (await vae.plan('train', 4)).graph.kernels.map((k) => k.name);
      await vae.trainStep(x);
      const [loss] = await vae.readLosses();
      vae.destroy();
      return { names, loss: loss.loss };
    };
    const tuned = await run('quick');
    const convKeys = new Set(asked.filter((k) => k.startsWith('conv|')).map((k) => k.split('|')[2]));
    // Encoder convs: 2 forwards, 2 weight gradients, 1 input gradient (none for the image); the
    // decoder's transposed convs: a dX-shaped forward each, a forward-shaped input gradient, a
    // weight gradient; shared geometries collapse to one key each.
    expect([...convKeys].some((k) => k.startsWith('forward:'))).toBe(true);
    expect([...convKeys].some((k) => k.startsWith('dW:'))).toBe(true);
    expect(tuned.names.some((n) => n.startsWith('conv2d_forward'))).toBe(true);
    expect(tuned.names.some((n) => n.startsWith('conv2d_input_grad') || n.startsWith('conv2d_weight_grad'))).toBe(false);
    const plain = await run('off');
    expect(plain.names.some((n) => n.startsWith('conv2d_'))).toBe(false);
    expect(Math.abs(tuned.loss - plain.loss)).toBeLessThan(1e-4 * Math.abs(plain.loss));
  }, 600_000);
});

describe('the default method of narrow layers', () => {
  it('software adapters with subgroups run layers of 16-64 channels (and from a picture\'s 2-4) as direct-subgroup and the rest as im2col; a conv override alone covers all', async () => {
    const { device } = await gpu();
    const narrow = (inChannels: number, outChannels: number) => isNarrowConv({ ...SHAPE.geometry, inChannels, outChannels });
    for (const [cin, cout] of [[16, 64], [3, 16], [2, 64], [4, 32]]) expect(narrow(cin, cout), `${cin} -> ${cout}`).toBe(true);
    for (const [cin, cout] of [[64, 128], [1, 16], [8, 16], [16, 8], [3, 8]]) expect(narrow(cin, cout), `${cin} -> ${cout}`).toBe(false);
    // A stride-1 layer from 4-64 channels into fewer than 16 (a nearest-upsampling decoder's near the picture), not a stride-2 one.
    const keeping = (inChannels: number, outChannels: number, stride: number) => isNarrowConv({ ...SHAPE.geometry, kernel: 3, padding: 1, stride, inChannels, outChannels });
    expect([keeping(16, 1, 1), keeping(64, 3, 1), keeping(8, 1, 1), keeping(16, 6, 1), keeping(16, 8, 1)]).toEqual([true, true, true, true, true]);
    expect([keeping(16, 1, 2), keeping(2, 1, 1), keeping(128, 1, 1)]).toEqual([false, false, false]);
    const software = kernelsFor({ isSoftware: true, subgroups: true });
    expect(software.convNarrow).toBe('direct-subgroup');
    expect(kernelsFor({ isSoftware: true, subgroups: false }).convNarrow).toBeUndefined();
    expect(kernelsFor({ isSoftware: false, subgroups: true }).convNarrow).toBeUndefined();
    // GPUs: the implicit GEMM, but input gradients direct; a conv override alone covers those too.
    const gpuChoice = kernelsFor({ isSoftware: false, subgroups: true });
    expect([gpuChoice.matmul, gpuChoice.conv, gpuChoice.convInputGrad, software.convInputGrad]).toEqual(['tiled-vec4', 'implicit-gemm', 'direct', undefined]);
    expect(withKernelOverrides(gpuChoice, { conv: 'im2col' }).convInputGrad).toBeUndefined();
    expect(withKernelOverrides(gpuChoice, { matmul: 'tiled-vec4' }).convInputGrad).toBe('direct');
    expect(withKernelOverrides(software, { conv: 'direct' }).convNarrow).toBeUndefined();
    expect(withKernelOverrides(software, { conv: 'direct', convNarrow: 'im2col' }).convNarrow).toBe('im2col');
    expect(withKernelOverrides(software, { matmul: 'register' }).convNarrow).toBe('direct-subgroup');
    if (!device.features.has('subgroups')) return;
    // 1 -> 16 -> 16 channels: the second conv (and the decoder's transposed conv mirroring it) is
    // narrow; the 1-channel layers at both ends stay im2col.
    const config = { arch: 'conv' as const, inputDim: 64, imageShape: [8, 8] as [number, number], channels: [16, 16], latent: 2 };
    // A software adapter's choice, given explicitly so that a GPU (whose default is the implicit
    // GEMM everywhere) runs the same plan.
    const names = async (kernels: { conv: ConvMethod; convNarrow?: ConvMethod; convInputGrad?: ConvMethod } = { conv: software.conv, convNarrow: 'direct-subgroup' }) => {
      const vae = await VAE.create(config, { device, batch: 2, seed: 3, kernels });
      const plan = (await vae.plan('train', 2)).graph.kernels.map((k) => k.name);
      vae.destroy();
      return plan;
    };
    const defaults = await names();
    for (const kernel of ['conv2d_forward', 'conv2d_input_grad', 'conv2d_weight_grad']) {
      expect(defaults.some((n) => n.startsWith(kernel) && n.includes('direct_subgroup')), kernel).toBe(true);
    }
    expect(defaults.some((n) => n.startsWith('im2col'))).toBe(true);
    expect((await names({ conv: 'im2col' })).some((n) => n.startsWith('conv2d_'))).toBe(false);
    // A GPU's choice, explicitly: forwards and weight gradients as the implicit GEMM, input
    // gradients (and the transposed convolutions' forwards) direct.
    const gpuPlan = await names({ conv: gpuChoice.conv, convInputGrad: gpuChoice.convInputGrad });
    const methods = (kernel: string) => new Set(gpuPlan.filter((n) => n.startsWith(kernel)).map((n) => n.replace(/^.*_(implicit_gemm|direct)(_any_batch)?$/, '$1')));
    expect(methods('conv2d_forward')).toEqual(new Set(['implicit_gemm']));
    expect(methods('conv2d_weight_grad')).toEqual(new Set(['implicit_gemm']));
    expect(methods('conv2d_input_grad')).toEqual(new Set(['direct']));
  }, 600_000);
});

describe('the autotune report line', () => {
  it('counts the choices by kind and names the defaults the rest keep', () => {
    const base = { matmul: 'register-subgroup' as const, matmulGeneric: true, conv: 'im2col' as const, likelihoodThreadsPerRow: 1, subgroups: true };
    const mlp = describeAutotune({ ...base, matmulTuned: { a: { variant: 'register', tile: { TM: 4, TN: 4, UNROLL_K: 1 }, ms: 1, candidates: 2 } } });
    expect(mlp).toBe("matmul 1 product (1 register 4x4/thread unroll 1); the rest keep the adapter's defaults (register-subgroup generic, conv im2col)");
    const conv = describeAutotune({ ...base, matmulTuned: {}, convTuned: { a: 'direct', b: 'im2col', c: 'direct' } });
    expect(conv).toBe("no matmul product decided; conv 3 operations (2 direct, 1 im2col); the rest keep the adapter's defaults (register-subgroup generic, conv im2col)");
    expect(describeAutotune({ ...base, matmulTuned: {}, convTuned: {} })).toContain('no convolution decided');
  });
});
