// The autotuner: which candidates a device gets, a measurement that picks one of them and is cached
// (a second run measures nothing), the Node file cache, and a model built on an autotuned choice,
// which must train exactly as the default kernels do.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { matmul, matmulWorkgroupBytes, matmulTile } from '../shaders/matmul';
import { autotuneMatmuls, chooseCandidate, describeTuning, GENERIC_SLACK, matmulCandidates, matmulProducts, productKey, sourceHash, type AutotuneCache, type TunedProduct } from '../src/model/autotune';
import { memoryAutotuneCache } from '../src/model/autotune-cache';
import { autotuneConvs } from '../src/model/autotune-conv';
import { kernelsFor } from '../src/model/kernel-choice';
import { fileAutotuneCache } from '../src/model/autotune-file-cache';
import { VAE } from '../src/model/vae';
import { expectClose } from './helpers/compare';
import { workgroupSizesOf } from '../src/gpu/kernel-checks';
import { gpu } from './helpers/gpu';
import { tempDir } from './helpers/temp-dir';

const limits = (over: Partial<Record<string, number>> = {}) => ({
  maxComputeInvocationsPerWorkgroup: 256, maxComputeWorkgroupSizeX: 256, maxComputeWorkgroupSizeY: 256, maxComputeWorkgroupStorageSize: 16384, ...over,
}) as unknown as GPUSupportedLimits;
const features = (...names: string[]) => new Set(names) as unknown as GPUSupportedFeatures;

describe('autotune candidates', () => {
  it('leave out subgroup variants without the feature and tiles beyond the workgroup memory limit', () => {
    const all = matmulCandidates('full', { features: features('subgroups'), limits: limits() }, false);
    const noSub = matmulCandidates('full', { features: features(), limits: limits() }, false);
    expect(all.some((c) => c.variant === 'tiled-subgroup')).toBe(true);
    expect(noSub.some((c) => c.variant.includes('subgroup'))).toBe(false);
    // BK 32 with a 64x64 block needs 16 KiB + 16 KiB: only where the device allows 32 KiB.
    const big = (c: (typeof all)[number]) => matmulWorkgroupBytes(c.variant, matmulTile(c.variant, c.tile)) > 16384;
    expect(all.some(big)).toBe(false);
    expect(matmulCandidates('full', { features: features('subgroups'), limits: limits({ maxComputeWorkgroupStorageSize: 32768 }) }, false).some(big)).toBe(true);
    expect(matmulCandidates('quick', { features: features('subgroups'), limits: limits() }, true).every((c) => !c.tile)).toBe(true);
  });

  it('leave out tiles whose workgroup is wider along x than the device allows: a tiled kernel\'s is one row of WGX x WGY', () => {
    // Compatibility mode's 128-wide x, on a device that asked for 256 invocations.
    const kinds = [{ isSoftware: false, limits: limits({ maxComputeWorkgroupSizeX: 128 }) }, { isSoftware: true, limits: limits({ maxComputeWorkgroupSizeX: 128, maxComputeWorkgroupSizeY: 2 }) }];
    for (const { isSoftware, limits: l } of kinds) {
      const list = matmulCandidates('full', { features: features('subgroups'), limits: l }, isSoftware);
      expect(list.some((c) => c.variant.startsWith('tiled'))).toBe(true);
      for (const c of list) {
        for (const [x, y] of workgroupSizesOf(matmul({ M: 64, N: 64, K: 64, ...c, subgroups: true }).code)) {
          expect(x, describeTuning(c)).toBeLessThanOrEqual(l.maxComputeWorkgroupSizeX);
          expect(y, describeTuning(c)).toBeLessThanOrEqual(l.maxComputeWorkgroupSizeY);
        }
      }
    }
    expect(matmulCandidates('full', { features: features('subgroups'), limits: limits() }, false).some((c) => c.variant === 'tiled-vec4' && !c.tile)).toBe(true);
  });

  it('full mode on a software adapter also tries every register tile in its shape-generic form', () => {
    const full = matmulCandidates('full', { features: features('subgroups'), limits: limits() }, true);
    const tiledRegister = full.filter((c) => c.tile && !c.variant.startsWith('tiled'));
    expect(tiledRegister.length).toBeGreaterThan(0);
    for (const c of tiledRegister.filter((t) => !t.generic)) {
      expect(full.some((g) => g.generic && g.variant === c.variant && JSON.stringify(g.tile) === JSON.stringify(c.tile)), JSON.stringify(c)).toBe(true);
    }
    expect(full.some((c) => c.generic && c.tile && c.variant.startsWith('tiled'))).toBe(false);
    // A weight gradient reads scalars either way, and stores vec4s where N is a multiple of 4:
    // elsewhere its scalar candidate is the same kernel, which the autotuner times once; reports
    // tell the two apart.
    const tn = { M: 400, N: 784, K: 128, transA: true, subgroups: true };
    expect(matmul({ ...tn, variant: 'register-subgroup', tile: { VEC4: false } }).code).not.toBe(matmul({ ...tn, variant: 'register-subgroup' }).code);
    expect(matmul({ ...tn, N: 785, variant: 'register-subgroup', tile: { VEC4: false } }).code).toBe(matmul({ ...tn, N: 785, variant: 'register-subgroup' }).code);
    expect(describeTuning({ variant: 'register-subgroup', tile: { VEC4: false }, generic: true })).toBe('register-subgroup 4x16/thread unroll 1 scalar loads generic');
    expect(describeTuning({ variant: 'register-subgroup', generic: true })).toBe('register-subgroup 4x16/thread unroll 1 generic');
    // Vec4 loads are the register kernels' default; scalar loads are tried too, in both forms.
    for (const variant of ['register', 'register-subgroup'] as const) {
      for (const generic of [undefined, true]) expect(full.some((c) => c.variant === variant && c.tile?.VEC4 === false && c.generic === generic), `${variant} generic=${generic}`).toBe(true);
    }
  });

  it('a product that skips zeros is tuned among register variants only, and the graph says which do', async () => {
    const full = matmulCandidates('full', { features: features('subgroups'), limits: limits() }, true, true);
    expect(full.length).toBeGreaterThan(4);
    expect(full.every((c) => !c.variant.startsWith('tiled')), JSON.stringify(full.map((c) => c.variant))).toBe(true);
    expect(full.length).toBe(matmulCandidates('full', { features: features('subgroups'), limits: limits() }, true).filter((c) => !c.variant.startsWith('tiled')).length);
    // The default MLP's train graph on a software adapter: its first layer's forward and weight gradient skip.
    const { device } = await gpu();
    const vae = await VAE.create({ hidden: [400], latent: 20 }, { device, batch: 128, kernels: { skipInputZeros: true } });
    const products = matmulProducts((await vae.plan('train', 128)).graph.kernels);
    vae.destroy();
    const skipping = products.filter((p) => p.skipsZeros).map(productKey).sort();
    expect(skipping).toEqual(['128x400x784nt', '400x784x128tn']);
    expect(products.length).toBeGreaterThan(skipping.length);
  });

  it('choose the fastest, or a shape-generic candidate within the slack of it', () => {
    const t = (ms: number, generic = false) => ({ ms, generic });
    expect(chooseCandidate([])).toBeNull();
    expect(chooseCandidate([t(10), t(12, true), t(9)])).toEqual(t(9)); // 12 > 9 * 1.05
    expect(chooseCandidate([t(10), t(9 * GENERIC_SLACK, true), t(9.2, true), t(9)])).toEqual(t(9.2, true));
    expect(chooseCandidate([t(10, true), t(11)])).toEqual(t(10, true));
    expect(chooseCandidate([t(9.4, true), t(9)])).toEqual(t(9.4, true));
    expect(chooseCandidate([t(9.5, true), t(9)])).toEqual(t(9)); // 9.5 > 9 * 1.05
  });

  it('key the cache by the candidates source', () => {
    expect(sourceHash(['a', 'b'])).not.toBe(sourceHash(['a', 'c']));
    expect(sourceHash(['a', 'b'])).toMatch(/^[0-9a-f]{8}$/);
  });
});

describe('autotune measurement', () => {
  it('picks a measured candidate, caches it, and a second run measures nothing', async () => {
    const { cache: pipelines, device } = await gpu();
    const product = { M: 16, N: 24, K: 8, transA: false, transB: true };
    const store = memoryAutotuneCache();
    const seen: [string, TunedProduct, boolean][] = [];
    const opts = { mode: 'quick' as const, adapterKey: 'test', isSoftware: true, cache: store, budgetMs: Infinity, onProduct: (k: string, c: TunedProduct, fromCache: boolean) => seen.push([k, c, fromCache]) };
    const first = await autotuneMatmuls(pipelines, [product], opts);
    const choice = first[productKey(product)];
    const candidates = matmulCandidates('quick', device, true);
    expect(candidates.map((c) => c.variant)).toContain(choice.variant);
    expect(choice.ms).toBeGreaterThan(0);
    expect(choice.candidates).toBe(candidates.length);
    const again = await autotuneMatmuls(pipelines, [product], opts);
    expect(again).toEqual(first);
    expect(seen.map((s) => s[2])).toEqual([false, true]);
  }, 600_000);

  it('quick stops at its budget and decides only on complete measurements', async () => {
    const { cache: pipelines } = await gpu();
    const store = memoryAutotuneCache();
    const sets: string[] = [];
    const spy: AutotuneCache = { get: store.get, set: async (k, v) => { sets.push(k); await store.set(k, v); } };
    const products = [{ M: 8, N: 8, K: 8, transA: true, transB: false }, { M: 9, N: 8, K: 8, transA: true, transB: false }];
    const t0 = performance.now();
    const chosen = await autotuneMatmuls(pipelines, products, { mode: 'quick', adapterKey: 'budget', isSoftware: true, cache: spy, budgetMs: 1 });
    // At most one candidate starts before the 1 ms budget runs out: no product is decided.
    expect(chosen).toEqual({});
    expect(sets).toEqual([]);
    expect(performance.now() - t0).toBeLessThan(60_000);
  }, 120_000);

  it('an aborted signal times no candidate (a Ctrl-C during a full autotune), while cached choices still count', async () => {
    const { cache: pipelines } = await gpu();
    const store = memoryAutotuneCache();
    const product = { M: 8, N: 8, K: 8, transA: false, transB: true };
    const cachedProduct = { M: 12, N: 8, K: 8, transA: false, transB: true };
    const base = { adapterKey: 'abort', isSoftware: true, cache: store, budgetMs: Infinity };
    const decided = await autotuneMatmuls(pipelines, [cachedProduct], { ...base, mode: 'quick' });
    const stop = new AbortController();
    stop.abort();
    const seen: boolean[] = [];
    const chosen = await autotuneMatmuls(pipelines, [product, cachedProduct], { ...base, mode: 'quick', signal: stop.signal, onProduct: (_k, _c, fromCache) => seen.push(fromCache) });
    expect(chosen).toEqual(decided);
    expect(seen).toEqual([true]);
    const convs = await autotuneConvs(pipelines, [{ geometry: { batch: 2, inChannels: 3, inHeight: 8, inWidth: 6, outChannels: 5, kernel: 4, stride: 2, padding: 1 }, op: 'dX' }], kernelsFor({ isSoftware: true, subgroups: false }), { ...base, mode: 'full', signal: stop.signal });
    expect(convs).toEqual({});
  }, 600_000);
});

describe('autotune file cache (Node)', () => {
  it('round-trips through a JSON file and treats a corrupt file as empty', async () => {
    const path = join(tempDir('autotune-'), 'sub', 'autotune.json');
    const cache = fileAutotuneCache(path);
    expect(await cache.get('k')).toBeUndefined();
    const value: TunedProduct = { variant: 'tiled-128', tile: { TILE_K: 16 }, ms: 1.5, candidates: 6 };
    await cache.set('k', value);
    expect(await fileAutotuneCache(path).get('k')).toEqual(value);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ k: value });
    writeFileSync(path, '{ not json');
    expect(await cache.get('k')).toBeUndefined();
    await cache.set('j', value);
    expect(await cache.get('j')).toEqual(value);
  });
});

describe('a model on autotuned kernels', () => {
  it('uses the cached choice for every product and trains as the defaults do, to float32 rounding', async () => {
    const { device } = await gpu();
    const choice: TunedProduct = { variant: 'register', tile: { TM: 4, TN: 4, UNROLL_K: 1 }, ms: 1, candidates: 1 };
    const asked: string[] = [];
    const fixed: AutotuneCache = { async get(key) { asked.push(key); return choice; }, async set() { throw new Error('nothing is measured'); } };
    const x = Float32Array.from({ length: 16 * 784 }, (_, i) => ((i * 7919) % 256) / 255);
    const run = async (autotune: 'off' | 'quick') => {
      const vae = await VAE.create({ hidden: [32], latent: 4 }, { device, batch: 16, seed: 5, autotune, autotuneCache: fixed });
      const names = (await vae.plan('train', 16)).graph.kernels.map((k) => k.name).filter((n) => n.startsWith('matmul'));
      // Three steps: the second and third losses, and the parameters after, depend on every
      // product of the first steps, the weight gradients included.
      for (let s = 0; s < 3; s++) await vae.trainStep(x);
      const losses = (await vae.readLosses()).map((l) => l.loss);
      const params = await vae.flatParameters();
      vae.destroy();
      return { names, losses, params };
    };
    const tuned = await run('quick');
    // 784-32-(2x4) encoder and 4-32-784 decoder: 4 forward, 4 dW and 3 dX products.
    expect(new Set(asked.map((k) => k.split('|')[1])).size).toBe(11);
    expect(tuned.names.every((n) => n.includes('_register_TM4TN4UNROLL_K1'))).toBe(true);
    const plain = await run('off');
    expect(plain.names.some((n) => n.includes('TM4TN4'))).toBe(false);
    expect(tuned.losses).toHaveLength(3);
    expectClose(tuned.losses, plain.losses, { atol: 0, rtol: 1e-5 }, 'losses of steps 1-3');
    expectClose(tuned.params, plain.params, { atol: 1e-6, rtol: 1e-5 }, 'parameters after 3 steps');
  }, 600_000);
});
