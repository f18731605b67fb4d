// What the autotuners do when things around them go wrong: a candidate the device refuses (it does
// not compile, or exceeds a limit) is skipped and the product still decided; quick mode keeps to
// its budget while a compile takes longer than the budget; a cached record this device cannot run
// is measured again; the cache key follows the candidates' WGSL and the adapter; a browser frame
// whose IndexedDB throws, and two processes writing the Node file cache at once, lose nothing.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Kernel } from '../shaders/common';
import { matmul } from '../shaders/matmul';
import { ShaderCompileError } from '../src/errors';
import { PipelineCache, type CompiledKernel } from '../src/gpu/pipelines';
import { autotuneMatmuls, describeTuning, matmulCandidates, productKey, sourceHash, type AutotuneCache, type TunedProduct } from '../src/model/autotune';
import { indexedDbAutotuneCache, memoryAutotuneCache } from '../src/model/autotune-cache';
import { autotuneConvs } from '../src/model/autotune-conv';
import { kernelsFor } from '../src/model/kernel-choice';
import { VAE } from '../src/model/vae';
import { gpu } from './helpers/gpu';
import { acquireNodeDevice } from '../src/gpu/node-device';
import { tempDir } from './helpers/temp-dir';

/** A pipeline cache that refuses (or delays) the kernels `refuse` (or `delay`) picks by name. */
class TestPipelines extends PipelineCache {
  constructor(device: GPUDevice, private readonly refuse: RegExp | null, private readonly delayMs = 0) {
    super(device);
  }

  override async get(kernel: Kernel): Promise<CompiledKernel> {
    if (this.refuse?.test(kernel.name)) throw new ShaderCompileError(`kernel ${kernel.name} failed to compile (refused by the test)`, kernel.name);
    if (this.delayMs && !this.has(kernel)) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    return super.get(kernel);
  }
}

const product = { M: 16, N: 24, K: 8, transA: false, transB: true };

describe('a candidate the device refuses', () => {
  it('is skipped and reported; the product is still decided among the others, and cached', async () => {
    const { device } = await gpu();
    const pipelines = new TestPipelines(device, /_register(_generic)?(_vec4a?b?c?)?$/);
    const refused: string[] = [];
    const store = memoryAutotuneCache();
    const chosen = await autotuneMatmuls(pipelines, [product], { mode: 'quick', adapterKey: 'refusing', isSoftware: true, cache: store, budgetMs: Infinity, onRefused: (c, e) => refused.push(`${c}: ${e.name}`) });
    const choice = chosen[productKey(product)];
    expect(choice, 'decided').toBeDefined();
    expect(choice.variant).not.toBe('register');
    expect(refused).toEqual([{ variant: 'register' as const, generic: true }, { variant: 'register' as const }].map((c) => `${productKey(product)} ${describeTuning(c)}: ShaderCompileError`));
    expect(choice.candidates).toBe(matmulCandidates('quick', device, true).length - 2);
  }, 600_000);

  it('in a convolution: the refused method is skipped and the operation decided', async () => {
    const { device } = await gpu();
    const pipelines = new TestPipelines(device, /^im2col/);
    const refused: string[] = [];
    const op = { geometry: { batch: 2, inChannels: 3, inHeight: 8, inWidth: 6, outChannels: 5, kernel: 4, stride: 2, padding: 1 }, op: 'forward' as const };
    const convs = await autotuneConvs(pipelines, [op], kernelsFor({ isSoftware: true, subgroups: device.features.has('subgroups') }), { mode: 'full', adapterKey: 'refusing', isSoftware: true, cache: memoryAutotuneCache(), onRefused: (c) => refused.push(c) });
    const [choice] = Object.values(convs);
    expect(choice?.method).toBeDefined();
    expect(choice.method).not.toBe('im2col');
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatch(/ im2col$/);
  }, 600_000);

  it('an error other than a refusal ends the autotune', async () => {
    const { device } = await gpu();
    const pipelines = new TestPipelines(device, null);
    vi.spyOn(pipelines, 'get').mockRejectedValue(new Error('something unexpected'));
    await expect(autotuneMatmuls(pipelines, [product], { mode: 'quick', adapterKey: 'lost', isSoftware: true, budgetMs: Infinity })).rejects.toThrow('something unexpected');
  });

  it('a destroyed device, on which Dawn compiles and times nothing and refuses nothing, ends it with nothing cached', async () => {
    const acquired = await acquireNodeDevice();
    acquired.device.destroy();
    const sets: string[] = [];
    const cache: AutotuneCache = { get: async () => undefined, set: async (k) => { sets.push(k); } };
    const op = { geometry: { batch: 2, inChannels: 3, inHeight: 8, inWidth: 6, outChannels: 5, kernel: 4, stride: 2, padding: 1 }, op: 'forward' as const };
    const pipelines = new PipelineCache(acquired.device);
    const opts = { mode: 'quick' as const, adapterKey: 'destroyed', isSoftware: true, cache, budgetMs: Infinity };
    await expect(autotuneMatmuls(pipelines, [product], opts)).rejects.toThrow(/autotune: the GPU device was lost or destroyed while the candidates were timed; nothing measured on it was kept/);
    await expect(autotuneConvs(pipelines, [op], kernelsFor({ isSoftware: true, subgroups: false }), opts)).rejects.toThrow(/device was lost or destroyed/);
    expect(sets).toEqual([]);
  }, 120_000);
});

describe('quick mode', () => {
  it('keeps to its budget while a compile outlasts it, and decides nothing from the partial measurement', async () => {
    const { device } = await gpu();
    const pipelines = new TestPipelines(device, null, 10_000);
    const t0 = performance.now();
    const chosen = await autotuneMatmuls(pipelines, [{ ...product, M: 17 }], { mode: 'quick', adapterKey: 'slow', isSoftware: true, budgetMs: 500 });
    // One compile takes 10 s here: the autotune returns at its 0.5 s budget, not after it.
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(chosen).toEqual({});
  }, 60_000);
});

describe('the autotune cache', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('is keyed by the adapter and the WGSL of every candidate: another adapter measures again', async () => {
    const { cache: pipelines, device } = await gpu();
    const keys: string[] = [];
    const store = memoryAutotuneCache();
    const cache: AutotuneCache = { get: (k) => { keys.push(k); return store.get(k); }, set: store.set };
    const seen: boolean[] = [];
    const opts = { mode: 'quick' as const, isSoftware: true, cache, budgetMs: Infinity, onProduct: (_k: string, _c: TunedProduct, fromCache: boolean) => seen.push(fromCache) };
    await autotuneMatmuls(pipelines, [product], { ...opts, adapterKey: 'first adapter' });
    const sources = matmulCandidates('quick', device, true).map((c) => matmul({ ...product, ...c, subgroups: device.features.has('subgroups') }).code);
    expect(keys).toContain(`first adapter|${productKey(product)}|quick|${sourceHash(sources)}`);
    await autotuneMatmuls(pipelines, [product], { ...opts, adapterKey: 'first adapter' });
    await autotuneMatmuls(pipelines, [product], { ...opts, adapterKey: 'second adapter' });
    expect(seen).toEqual([false, true, false]);
  }, 600_000);

  it('measures again where a cached record is not one this device can run', async () => {
    const { device } = await gpu();
    const asked: string[] = [];
    const bad: AutotuneCache = { async get(key) { asked.push(key); return { variant: 'fast', ms: 1, candidates: 1 } as unknown as TunedProduct; }, async set() {} };
    const vae = await VAE.create({ inputDim: 16, hidden: [8], latent: 2 }, { device, batch: 4, seed: 1, autotune: 'quick', autotuneCache: bad });
    expect(asked.length).toBeGreaterThan(0);
    expect(Object.values(vae.kernels.matmulTuned ?? {}).some((c) => (c.variant as string) === 'fast')).toBe(false);
    vae.destroy();
  }, 120_000);

  it('in a frame whose IndexedDB throws on open, is kept in memory', async () => {
    vi.stubGlobal('indexedDB', { open() { throw new DOMException('The operation is insecure.', 'SecurityError'); } });
    const cache = indexedDbAutotuneCache();
    expect(await cache.get('k')).toBeUndefined();
    const value = { variant: 'register' as const, ms: 1, candidates: 1 };
    await cache.set('k', value);
    expect(await cache.get('k')).toEqual(value);
  });

  it('in a file written by two processes at once keeps every entry of both', async () => {
    const dir = tempDir('autotune-race-');
    const path = join(dir, 'autotune.json');
    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const writer = join(__dirname, 'fixtures', 'autotune-cache-writer.ts');
    const startAt = String(Date.now() + 4000); // both processes loaded by then, even on a busy machine
    const run = (prefix: string) => new Promise<number | null>((resolve) => spawn(process.execPath, ['--import', tsx, writer, path, prefix, '300', startAt], { stdio: 'inherit' }).on('close', resolve));
    expect(await Promise.all([run('a'), run('b')])).toEqual([0, 0]);
    const keys = Object.keys(JSON.parse(readFileSync(path, 'utf8')));
    expect(keys.length).toBe(600);
    expect(readdirSync(dir).sort(), 'no lock or temporary file left behind').toEqual(['autotune.json']);
  }, 120_000);
});
