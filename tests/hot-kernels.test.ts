// The training step's larger-block matmuls (src/model/hot-kernels.ts): swapped in after its first
// steps, they must leave every number as it was. A model that swaps mid-run takes the same steps,
// to the last bit, as one that never does (dense layers skipping the input's zeros, and, in Node,
// convolutions through im2col), and the swap keeps each kernel's bindings and zero-skipping list.
import { describe, expect, it } from 'vitest';
import { matmul, nonzeroStepsFor, type MatmulKernel, type MatmulParams } from '../shaders/matmul';
import { HOT_MIN_BLOCKS, hotMatmul, zeroListBlock } from '../shaders/matmul-hot';
import { KernelGraph } from '../src/graph';
import type { VaeConfig } from '../src/model/config';
import { HOT_AFTER_STEPS, HotKernels, hotKernel } from '../src/model/hot-kernels';
import { productKey } from '../src/model/autotune';
import { VAE } from '../src/model/vae';
import { nonzeroSteps, nonzeroStepsWords } from '../shaders/matmul-zeros';
import { expectScaled } from './helpers/compare';
import { gpu, runKernels, TEST_HOST } from './helpers/gpu';
import { matmulRef } from './reference/dense';

const product: MatmulParams = { M: 256, N: 256, K: 44, transB: true, bias: true, activation: 'relu', variant: 'register-subgroup', generic: true, subgroups: true };

describe('hotMatmul', () => {
  it('gives register-subgroup products larger blocks with the same bindings and constants', () => {
    const base = matmul(product), hot = hotMatmul(product)!;
    // Not a weight gradient, and 4 x 8 blocks of 64 x 32: the tall blocks, 16 x 32 a lane.
    expect(hot.name).toContain('TM16TN32UNROLL_K4');
    expect(hotMatmul({ ...product, transA: true, transB: false })!.name).toContain('TM8TN32UNROLL_K8');
    expect(hot.bindings).toEqual(base.bindings);
    expect(hot.constants).toEqual(base.constants);
    expect(hot.minBytes).toEqual(base.minBytes);
    expect(hot.code).not.toBe(base.code);
    // A hot kernel has its tile: it is not enlarged again.
    expect(hotMatmul(hot.matmul)).toBeNull();
  });

  it('reads the list of a zero-skipping operand as it is: the dense blocks where the list is as wide (zeroListBlock), else the same side', () => {
    for (const skipZeros of ['a', 'b'] as const) {
      const p = { ...product, skipZeros };
      const hot = hotMatmul(p)!;
      expect(nonzeroStepsFor(hot.matmul)).toEqual(nonzeroStepsFor(p));
      expect(hot.minBytes).toEqual(matmul(p).minBytes);
      expect(hot.name).toContain(skipZeros === 'a' ? 'TN32UNROLL_K4' : 'TM16UNROLL_K4');
      const wide = { ...p, skipBlock: zeroListBlock(p) };
      expect(wide.skipBlock).toBe(32);
      const hotWide = hotMatmul(wide)!;
      expect(hotWide.name).toContain(skipZeros === 'a' ? 'TM8TN32UNROLL_K8' : 'TM8TN32UNROLL_K4');
      expect(nonzeroStepsFor(hotWide.matmul)).toEqual(nonzeroStepsFor(wide));
      expect(hotWide.minBytes).toEqual(matmul(wide).minBytes);
    }
    // Where the larger blocks would pad by over a tenth (100 rows: 128 against 112), the product
    // keeps blocks of 16 rows, and lists of its own width, which leave more pixels out.
    const at100: MatmulParams = { ...product, M: 100, N: 400, K: 784, skipZeros: 'a' };
    expect(hotMatmul(at100)!.name).toContain('_TN32UNROLL_K4');
    expect(zeroListBlock(at100)).toBeUndefined();
    expect(zeroListBlock({ ...at100, M: 128 })).toBe(32);
    expect(zeroListBlock(product), 'a dense product has no list').toBeUndefined();
    expect(zeroListBlock({ ...product, skipZeros: 'a', tile: { TM: 8 } }), 'a chosen tile keeps its own block').toBeUndefined();
  });

  it('has none for other variants, a chosen tile, f16 operands or a device without subgroups', () => {
    expect(hotMatmul({ ...product, variant: 'tiled-vec4' })).toBeNull();
    expect(hotMatmul({ ...product, variant: 'register' })).toBeNull();
    expect(hotMatmul({ ...product, tile: { TM: 8, TN: 8 } })).toBeNull();
    expect(hotMatmul({ ...product, f16: ['a'] })).toBeNull();
    expect(hotMatmul({ ...product, subgroups: false })).toBeNull();
    expect(hotKernel(matmul({ ...product, variant: 'tiled' }))).toBeNull();
  });

  it(`has none for products the larger blocks would pad by more than a tenth, or cut into fewer than ${HOT_MIN_BLOCKS} blocks`, () => {
    expect(hotMatmul({ ...product, N: 16 })!.name).toContain('_TM8UNROLL_K4_'); // 16 columns: padded to 32, or 4 blocks of 64 rows; cut to it: 8 x 16
    expect(hotMatmul({ ...product, M: 96, N: 16 })).toBeNull(); // 16 columns, and 6 blocks of 16 rows at most
    expect(hotMatmul({ ...product, M: 136 })).toBeNull(); // 144 rows padded to 160
    expect(hotMatmul({ ...product, M: 120, N: 120 })).toBeNull(); // 16 blocks of 32 x 32
    expect(hotMatmul({ ...product, M: 256, N: 128 })!.name).toContain('TM8TN32UNROLL_K8'); // 32 blocks; 16 tall ones
    expect(hotMatmul({ ...product, M: 128, N: 400 })!.name).toContain('TM16TN32UNROLL_K4'); // 26 tall blocks
    expect(hotMatmul({ ...product, M: 256, N: 96 })).not.toBeNull(); // 24 blocks
    expect(hotMatmul({ ...product, M: 224, N: 96 })).toBeNull(); // 21 blocks
    expect(hotMatmul({ ...product, M: 128, N: 784 })).not.toBeNull(); // 800 columns for 784: 2%
  });

  it('cuts blocks to a small product with a side of at most 64: exact, the most fmas a load, at least 8 of them', () => {
    const latent = { ...product, bias: false, activation: undefined };
    const name = (p: MatmulParams) => hotMatmul(p)?.name;
    expect(name({ ...latent, M: 400, N: 20, K: 128, transA: true, transB: false })).toContain('_TM10TN20UNROLL_K4_'); // 10 blocks of 40 x 20
    expect(name({ ...latent, M: 40, N: 400, K: 128, transA: true, transB: false })).toContain('_TM10TN20UNROLL_K4_');
    expect(name({ ...latent, M: 128, N: 20, K: 400 })).toContain('_TN20UNROLL_K4_'); // TM 4 (the default's); 8 would make 4 blocks
    // B read along n as vec4s, which 20 columns a lane cannot: the default blocks stay.
    expect(hotMatmul({ ...latent, M: 128, N: 20, K: 400, transB: false })).toBeNull();
    expect(name({ ...product, M: 128, N: 40, K: 400 })).toContain('_TM8TN20UNROLL_K4_');
    expect(hotMatmul({ ...latent, M: 96, N: 16 })).toBeNull(); // no exact cut into 8 blocks
    expect(hotMatmul({ ...latent, M: 128, N: 20, skipZeros: 'a' })).toBeNull(); // its list's blocks
  });

  it('gives a weight gradient no larger block fits its own blocks with 4 k steps an iteration, and nothing else', () => {
    const small = { ...product, M: 36, N: 400, transA: true, transB: false, bias: false, activation: undefined };
    const hot = hotMatmul(small)!;
    expect(hot.name).toContain('_UNROLL_K4_');
    expect(hot.name).not.toContain('TM');
    expect(hot.minBytes).toEqual(matmul(small).minBytes);
    expect(hotMatmul({ ...small, transA: false })).toBeNull(); // read as vec4s along k: no gain
    expect(hotMatmul({ ...small, skipZeros: 'b' })).toBeNull(); // its list's blocks: skipsColumnsOfB pads too
  });

  it('gives a product of 16 columns (a convolution as im2col) the narrow blocks, 16 x 16 a lane', () => {
    const narrow = hotMatmul({ ...product, M: 4096, N: 16, channelsFirstPixels: 256 })!;
    expect(narrow.name).toContain('_TM16UNROLL_K4_');
    expect(narrow.minBytes).toEqual(matmul({ ...product, M: 4096, N: 16, channelsFirstPixels: 256 }).minBytes);
    expect(hotMatmul({ ...product, M: 96, N: 16 })).toBeNull(); // 2 blocks of 64 rows
  });
});

describe('hotKernel', () => {
  it('gives a shape-generic product its larger form specialized (sizes in its source, no dims uniform), and nothing else', () => {
    const base = matmul(product);
    const hot = hotKernel(base)!;
    expect(hot.name).toContain('TM16TN32UNROLL_K4');
    expect(hot.name).not.toContain('generic');
    expect(hot.bindings.map((b) => b.name)).toEqual(base.bindings.map((b) => b.name).filter((n) => n !== 'dims'));
    expect(hot.constants).toBeUndefined();
    expect(hot.code).toContain(`${product.K}u`);
    // A specialized product gets its larger form as it is.
    expect(hotKernel(matmul({ ...product, generic: false }))!.code).toBe(hot.code);
    // No larger block fits 96 x 16 (too few blocks): it keeps its kernel, generic (one more compile
    // beside the steps for 1-5%). A non-matmul kernel has no hot form.
    const small = matmul({ ...product, M: 96, N: 16 });
    expect(hotMatmul(small.matmul)).toBeNull();
    expect(hotKernel(small)).toBeNull();
    expect(hotKernel({ ...small, matmul: undefined } as never)).toBeNull();
  });
});

describe('HotKernels', () => {
  const fakeGraph = (result: () => Promise<string[]>) => {
    const calls: number[] = [];
    const graph = { swapKernels: () => { calls.push(1); return result(); } } as unknown as KernelGraph;
    return { graph, calls };
  };
  const cache = {} as never;

  const nextTask = () => new Promise((resolve) => setTimeout(resolve, 0));

  it(`starts the swap once, from a task of its own after step ${HOT_AFTER_STEPS}, and not when disabled or unwanted`, async () => {
    const { graph, calls } = fakeGraph(async () => ['k']);
    const hot = new HotKernels(() => true);
    hot.afterStep(HOT_AFTER_STEPS - 1, graph, cache, () => true);
    await nextTask();
    expect(calls).toHaveLength(0);
    hot.afterStep(HOT_AFTER_STEPS, graph, cache, () => true);
    expect(calls).toHaveLength(0); // not within the step that reached the count
    hot.afterStep(HOT_AFTER_STEPS + 1, graph, cache, () => true);
    await nextTask();
    expect(calls).toHaveLength(1);
    expect(await hot.upgrade(graph, cache, () => true)).toEqual(['k']);
    expect(calls).toHaveLength(1);
    const off = fakeGraph(async () => ['k']);
    const disabled = new HotKernels(() => false);
    disabled.afterStep(HOT_AFTER_STEPS, off.graph, cache, () => true);
    await nextTask();
    expect(await disabled.upgrade(off.graph, cache, () => true)).toEqual([]);
    expect(off.calls).toHaveLength(0);
    // Unwanted (its model destroyed): nothing starts, and nothing is remembered.
    const gone = fakeGraph(async () => ['k']);
    const unwanted = new HotKernels(() => true);
    expect(await unwanted.upgrade(gone.graph, cache, () => false)).toEqual([]);
    expect(gone.calls).toHaveLength(0);
  });

  it('keeps a failed compile from the steps, and upgrade() rethrows it', async () => {
    const { graph } = fakeGraph(async () => { throw new Error('compile failed: line 3'); });
    const hot = new HotKernels(() => true);
    hot.afterStep(HOT_AFTER_STEPS, graph, cache, () => true);
    await nextTask(); // started, and failed: no unhandled rejection
    await expect(hot.upgrade(graph, cache, () => true)).rejects.toThrow('compile failed: line 3');
  });
});

describe('KernelGraph.swapKernels', () => {
  it('swaps in kernels of the same interface with the same results, skips others, and nothing once unwanted', async () => {
    const { device, cache } = await gpu();
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
    const k = matmul({ ...product, subgroups: device.features.has('subgroups') });
    const buffers = Object.fromEntries(k.bindings.filter((b) => b.kind !== 'uniform').map((b) => [b.name, device.createBuffer({ size: k.minBytes![b.name], usage })]));
    for (const name of ['a', 'b', 'bias']) {
      const values = Float32Array.from({ length: k.minBytes![name] / 4 }, (_, i) => Math.sin(i * 0.37 + name.length) * 2);
      device.queue.writeBuffer(buffers[name], 0, values);
    }
    const graph = await new KernelGraph('swap-test').add(k, buffers).build(cache);
    const run = async () => {
      const read = device.createBuffer({ size: buffers.c.size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const enc = device.createCommandEncoder();
      graph.encode(enc);
      enc.copyBufferToBuffer(buffers.c, 0, read, 0, buffers.c.size);
      device.queue.submit([enc.finish()]);
      await read.mapAsync(GPUMapMode.READ);
      const c = new Float32Array(read.getMappedRange().slice(0));
      read.destroy();
      return c;
    };
    const before = await run();
    // A kernel that leaves out a buffer the dispatch was given computes something else: refused.
    const other = matmul({ ...product, bias: false, subgroups: device.features.has('subgroups') }); // no bias binding
    expect(await graph.swapKernels(cache, () => other)).toEqual([]);
    // The larger blocks where the device has subgroups; else `register` (its fallback) at another tile.
    const swapped = hotMatmul(k.matmul) ?? matmul({ ...k.matmul, tile: { TM: 2, TN: 8 } });
    expect(swapped.name).not.toBe(k.name);
    expect(await graph.swapKernels(cache, () => swapped, () => false)).toEqual([]);
    expect(graph.kernels[0].name).toBe(k.name);
    expect(await graph.swapKernels(cache, () => swapped)).toEqual([swapped.name]);
    expect(graph.kernels[0].name).toBe(swapped.name);
    const after = await run();
    expect(before.some((v) => v !== 0) && before.every(Number.isFinite)).toBe(true);
    const differing = before.findIndex((v, i) => !Object.is(v, after[i]));
    expect(differing, differing >= 0 ? `c[${differing}]: ${before[differing]} before the swap, ${after[differing]} after` : '').toBe(-1);
    // The specialized form leaves out only the runtime's constant (the generic form's dims): taken.
    const specialized = matmul({ ...swapped.matmul, generic: false });
    expect(specialized.bindings.some((b) => b.name === 'dims')).toBe(false);
    expect(await graph.swapKernels(cache, () => specialized)).toEqual([specialized.name]);
    const third = await run();
    const differs = before.findIndex((v, i) => !Object.is(v, third[i]));
    expect(differs, differs >= 0 ? `c[${differs}]: ${before[differs]} generic, ${third[differs]} specialized` : '').toBe(-1);
    for (const b of Object.values(buffers)) b.destroy();
  }, 120_000);

  it("is the library's own: an app's graph refuses it", async () => {
    const { cache } = await gpu();
    const { KernelGraph: AppGraph } = await import('../src/kernels');
    const graph = new AppGraph('app-graph');
    await expect(graph.swapKernels(cache, hotKernel)).rejects.toThrow(/swapKernels\(\) is for the library's own graphs/);
  });
});

describe('the larger-block kernels against the float64 product', () => {
  // [label, params]: unaligned shapes the larger blocks still fit (partial last blocks on both sides).
  const cases: [string, MatmulParams][] = [
    ...([[false, false], [false, true], [true, false]] as const).map(([transA, transB]): [string, MatmulParams] => [`${transA ? '8' : '16'} x 32, transA=${transA} transB=${transB}`, { M: 250, N: 254, K: 43, transA, transB }]),
    ['8 x 32, transA=false transB=true (too few tall blocks)', { M: 250, N: 126, K: 43, transB: true }],
    ['16 x 16, 16 columns', { M: 2050, N: 16, K: 43, transB: true }],
    ['skipping the zeros of a', { M: 250, N: 254, K: 43, transB: true, skipZeros: 'a' }],
    ['skipping the zeros of b', { M: 250, N: 254, K: 43, transA: true, skipZeros: 'b' }],
    ['skipping the zeros of a, lists of 32 rows', { M: 250, N: 254, K: 43, transB: true, skipZeros: 'a', skipBlock: 32 }],
    ['skipping the zeros of b, lists of 32 columns', { M: 250, N: 254, K: 43, transA: true, skipZeros: 'b', skipBlock: 32 }],
    ['a weight gradient no larger block fits: its blocks, 4 k steps', { M: 36, N: 200, K: 43, transA: true }],
    ['a small weight gradient: blocks cut to it (10 x 20)', { M: 40, N: 200, K: 43, transA: true }],
    ['a small product: blocks cut to it (4 x 20)', { M: 128, N: 20, K: 43, transB: true }],
  ];
  it.each(cases)('%s: within rounding of float64, and the bits of the default blocks', async (label, shape) => {
    const subgroups = (await gpu()).device.features.has('subgroups');
    const p: MatmulParams = { ...shape, variant: 'register-subgroup', generic: true, subgroups };
    const hot = hotMatmul(p);
    if (!subgroups) return expect(hot).toBeNull(); // `register` then, which has no larger form
    expect(hot, label).not.toBeNull();
    const { M, N, K, transA = false, transB = false } = p;
    // Mostly zeros where a list skips them, so that blocks list fewer k than K.
    const data = (n: number, seed: number, zeros: boolean) => Float32Array.from({ length: n }, (_, i) => (zeros && ((i * 2654435761) >>> 7) % 5 < 3 ? 0 : Math.sin(i * 0.61 + seed) * 1.5));
    const a = data(M * K, 1, p.skipZeros === 'a'), b = data(K * N, 2, p.skipZeros === 'b');
    const run = async (k: ReturnType<typeof matmul>) => {
      if (!p.skipZeros) return (await runKernels([k], { a, b }, { c: M * N })).c;
      const list = nonzeroStepsFor(k.matmul);
      return (await runKernels([nonzeroSteps(list), k], { a, b, x: p.skipZeros === 'a' ? a : b }, { c: M * N, steps: nonzeroStepsWords(list) })).c;
    };
    const got = await run(hot!), dflt = await run(matmul(p));
    expectScaled(got, matmulRef(a, b, M, N, K, transA, transB), matmulRef(a.map(Math.abs), b.map(Math.abs), M, N, K, transA, transB), K * 2 ** -24, hot!.name);
    const first = got.findIndex((v, i) => !Object.is(v, dflt[i]));
    expect(first, `${hot!.name}: element ${first} is ${got[first]}, ${dflt[first]} with the default blocks`).toBe(-1);
  }, 120_000);
});

/** Pixel bytes of `count` pictures, mostly zeros (so the first dense layer skips zeros). */
const pictures = (count: number, size: number) => Uint8Array.from({ length: count * size }, (_, i) => (((i * 2654435761) >>> 7) % 5 < 3 ? 0 : ((i * 40503) >>> 3) & 255));

const models: [string, Partial<VaeConfig>, number][] = [
  // Products of 128 x 784 and 784 x 128 (the first layer's skipping zeros): large enough for larger blocks.
  ['MLP skipping the input zeros', { inputDim: 784, imageShape: [28, 28], hidden: [128], latent: 3 }, 128],
  ...(TEST_HOST === 'node' ? [['conv through im2col', { arch: 'conv', inputDim: 1024, imageShape: [32, 32], channels: [16, 32], latent: 3 }, 8] as [string, Partial<VaeConfig>, number]] : []),
];

describe('a model swapping in its larger-block kernels mid-run', () => {
  it.each(models)('%s: takes the same steps, bit for bit, as one that never does', async (_, config, batch) => {
    const { device } = await gpu();
    const results: { flat: Float32Array; losses: number[]; test: number; swapped: string[] }[] = [];
    for (const hotMatmuls of [false, true]) {
      const vae = await VAE.create(config, { device, batch, seed: 3, lossEvery: 1, kernels: { hotMatmuls } });
      const count = 3 * batch;
      const data = vae.upload({ images: pictures(count, vae.config.inputDim), count });
      const swapped: string[] = [];
      for (let s = 0; s < 6; s++) {
        if (s === 3) swapped.push(...(await vae.upgradeKernels()));
        await vae.trainStep({ data, index: s % 3 });
      }
      const losses = (await vae.readLosses()).map((l) => l.loss);
      const running = (await vae.plan('train', batch)).graph.kernels.map((k) => k.name);
      for (const name of swapped) expect(running).toContain(name);
      results.push({ flat: await vae.flatParameters(), losses, test: (await vae.elbo(data)).loss, swapped });
      data.destroy();
      vae.destroy();
    }
    const [never, swapping] = results;
    expect(never.swapped).toEqual([]);
    if (device.features.has('subgroups')) {
      expect(swapping.swapped.length).toBeGreaterThan(0);
      // The MLP's first layer skips zeros; the conv model's first layer (16 channels) takes the narrow blocks.
      if (config.arch !== 'conv') expect(swapping.swapped.some((n) => n.endsWith('_skipa') || n.endsWith('_skipb'))).toBe(true);
      else expect(swapping.swapped.some((n) => n.includes('_TM16UNROLL_K4_')), swapping.swapped.join(' ')).toBe(true);
    }
    expect(never.losses).toHaveLength(6);
    expect(never.losses.every(Number.isFinite)).toBe(true);
    expect(swapping.losses).toEqual(never.losses);
    expect(swapping.test).toBe(never.test);
    const differing = never.flat.findIndex((v, i) => !Object.is(v, swapping.flat[i]));
    expect(differing, differing >= 0 ? `parameter ${differing}: ${never.flat[differing]} unswapped, ${swapping.flat[differing]} swapped` : '').toBe(-1);
  }, 300_000);

  // Node only: 2 x 120 steps of a model large enough to swap (its output layer's products).
  it.runIf(TEST_HOST === 'node')(`swaps by itself after step ${HOT_AFTER_STEPS}, with steps queued, to the same bits`, async () => {
    const { device } = await gpu();
    const config = { inputDim: 784, imageShape: [28, 28] as [number, number], hidden: [128], latent: 3 };
    const results: { flat: Float32Array; losses: number[] }[] = [];
    for (const hotMatmuls of [false, true]) {
      const vae = await VAE.create(config, { device, batch: 64, seed: 5, lossEvery: 1, kernels: { hotMatmuls } });
      const data = vae.upload({ images: pictures(3 * 64, 784), count: 3 * 64 });
      const running = async () => (await vae.plan('train', 64)).graph.kernels.map((k) => k.name).join(' ');
      const steps = (from: number, n: number) => Promise.all(Array.from({ length: n }, (_, i) => vae.trainStep({ data, index: (from + i) % 3 })));
      const first = await running();
      await steps(0, HOT_AFTER_STEPS - 1);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(await running()).toBe(first); // not before the count
      await steps(HOT_AFTER_STEPS - 1, 1);
      const queued = steps(HOT_AFTER_STEPS, 20); // the swap lands among these, or after them
      if (hotMatmuls) {
        for (let waited = 0; (await running()) === first; waited += 20) {
          if (waited > 120_000) throw new Error('no kernel swapped in 120 s after the step count');
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      }
      await queued;
      if (hotMatmuls) expect(await running()).toContain('TM8TN32UNROLL_K8');
      results.push({ flat: await vae.flatParameters(), losses: (await vae.readLosses()).map((l) => l.loss) });
      data.destroy();
      vae.destroy();
    }
    const [never, swapping] = results;
    expect(never.losses).toHaveLength(HOT_AFTER_STEPS + 20);
    expect(swapping.losses).toEqual(never.losses);
    const differing = never.flat.findIndex((v, i) => !Object.is(v, swapping.flat[i]));
    expect(differing, differing >= 0 ? `parameter ${differing}: ${never.flat[differing]} unswapped, ${swapping.flat[differing]} swapped` : '').toBe(-1);
  }, 300_000);

  it('compiles nothing for a model destroyed before or while its kernels compile', async () => {
    const { device } = await gpu();
    // Before: the call finds the model destroyed once its plan is there, and compiles nothing.
    // Hidden sizes of 2 mod 4: kernels no other test here compiles (a kernel's source follows its alignment).
    const early = await VAE.create({ inputDim: 784, hidden: [134], latent: 3 }, { device, batch: 128 });
    const compiles = early.cache.compiles;
    const refused = early.upgradeKernels();
    early.destroy();
    await expect(refused).rejects.toThrow(/this VAE was destroyed/);
    expect(early.cache.compiles).toBe(compiles);
    // While: the compile in flight ends, and none starts after it (only where there are larger blocks).
    if (!device.features.has('subgroups')) return;
    const late = await VAE.create({ inputDim: 784, hidden: [142], latent: 3 }, { device, batch: 128 });
    const before = late.cache.compiles;
    const swap = late.upgradeKernels();
    for (let waited = 0; late.cache.compiles === before; waited += 5) {
      if (waited > 60_000) throw new Error('upgradeKernels() started no compile in 60 s');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    late.destroy();
    const atDestroy = late.cache.compiles;
    expect(await swap).toEqual([]);
    expect(late.cache.compiles).toBe(atDestroy);
  }, 120_000);

  it('widens zero lists in the training step only, where its kernels will be swapped', async () => {
    const { device } = await gpu();
    if (!device.features.has('subgroups')) return;
    const vae = await VAE.create({ inputDim: 784, hidden: [400], latent: 20 }, { device, batch: 128, prepareTraining: false });
    const listWidths = (kind: 'train' | 'eval', rows: number) => vae.record(kind, rows).graph.kernels
      .map((k) => (k as Partial<MatmulKernel>).matmul).filter((p) => p?.skipZeros).map((p) => p!.skipBlock);
    expect(listWidths('train', 128)).toEqual([32, 32]);
    expect(listWidths('eval', 128)).toEqual([undefined]);
    expect(listWidths('train', 100), 'a batch the larger blocks would pad: its forward keeps 16-row blocks').toEqual([undefined, 32]);
    vae.destroy();
  });

  it("leaves the autotuner's products their measured kernels", async () => {
    const { device } = await gpu();
    const config = { inputDim: 784, hidden: [128], latent: 3 };
    const untuned = await VAE.create(config, { device, batch: 128 });
    const all = await untuned.upgradeKernels();
    untuned.destroy();
    if (!device.features.has('subgroups')) return expect(all).toEqual([]);
    // The decoder's output layer (128 x 784 from 128, B transposed), measured at the variant's default tile.
    const key = productKey({ M: 128, N: 784, K: 128, transA: false, transB: true });
    const tuned = await VAE.create(config, { device, batch: 128, kernels: { matmulTuned: { [key]: { variant: 'register-subgroup', generic: true, ms: 1, candidates: 2 } } } });
    const some = await tuned.upgradeKernels();
    tuned.destroy();
    expect(all.length).toBeGreaterThan(1);
    expect(some).toHaveLength(all.length - 1);
    expect(hotMatmul({ ...product, tile: {} })).toBeNull();
  }, 120_000);
});
