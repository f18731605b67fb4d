// Compiling a model's kernels: progress is reported per distinct pipeline, shape-generic matmuls
// share one pipeline across shapes (their sizes travel in a uniform the graph fills), identical
// kernels of different graphs compile once. (Precision 'f16' and its refusals: f16.test.ts.)
import { describe, expect, it } from 'vitest';
import { matmul } from '../shaders/matmul';
import { PipelineCache, pipelineCacheFor } from '../src/gpu/pipelines';
import { KernelGraph } from '../src/graph';
import { VAE } from '../src/model/vae';
import { expectScaled, f32, testData } from './helpers/compare';
import { gpu, runKernels } from './helpers/gpu';
import { matmulRef } from './reference/dense';

describe('pipeline compilation', () => {
  it('reports n of N distinct pipelines, ending at N, counts ones already compiled as done, and reports no graph that compiles nothing', async () => {
    const { device } = await gpu();
    const calls: [number, number][] = [], graphs: string[] = [];
    const vae = await VAE.create({ hidden: [24], latent: 4 }, { device, batch: 8, onCompileProgress: (done, total, graph) => { calls.push([done, total]); graphs.push(graph); } });
    expect(new Set(graphs), 'the graph compiled at creation').toEqual(new Set(['train']));
    const total = calls[0][1];
    expect(calls[0]).toEqual([0, total]);
    expect(calls.at(-1)).toEqual([total, total]);
    expect(calls.map((c) => c[0])).toEqual(Array.from({ length: total + 1 }, (_, i) => i));
    // The train graph's distinct pipelines: fewer than its dispatches (kernels repeat).
    expect(total).toBeLessThan(await vae.dispatchesPerStep(false));
    calls.length = 0;
    await vae.plan('train', 8); // cached plan: nothing to build
    expect(calls).toEqual([]);
    // Another graph is counted afresh, under its own name.
    graphs.length = 0;
    await vae.plan('eval', 8);
    expect(new Set(graphs)).toEqual(new Set(['eval']));
    expect(calls[0][0]).toBe(0);
    expect(calls.at(-1)![0]).toBe(calls.at(-1)![1]);
    // A graph of pipelines all compiled before (a reconstruction at another row count: its
    // kernels take their sizes from uniforms and bindings) compiles nothing, and says nothing.
    await vae.plan('reconstruct', 8);
    calls.length = 0;
    const cache = pipelineCacheFor(device), before = cache.size;
    await vae.plan('reconstruct', 5);
    expect(cache.size).toBe(before);
    expect(calls).toEqual([]);
    vae.destroy();
  }, 300_000);

  it('counts a compile that fails as done, so a listener hears the graph end; the failure goes to the caller', async () => {
    const { device } = await gpu();
    const cache = new PipelineCache(device);
    const good = matmul({ M: 3, N: 5, K: 7, variant: 'register' });
    const broken = { ...good, name: 'broken_kernel', code: `${good.code}\nfn broken() -> f32 { return undefined_name; }` };
    const calls: [number, number][] = [];
    await expect(cache.getAll([good, broken], (done, total) => calls.push([done, total]))).rejects.toThrow(/broken_kernel/);
    await cache.get(good); // the other compile may settle after the failure rejected getAll
    await Promise.resolve();
    expect(calls[0]).toEqual([0, 2]);
    expect(calls.at(-1)).toEqual([2, 2]);
  });

  it('a shape-generic matmul compiles once for every shape of its alignment and is exact on each', async () => {
    const { device } = await gpu();
    const cache = new PipelineCache(device);
    // Sums whose length is not a multiple of 4 read scalars, the others vec4s (matmul-register.ts):
    // one pipeline for each, whatever the row count (an evaluation's batch) and the sizes.
    const scalar = [[5, 7, 3], [33, 17, 9]], vec4 = [[64, 40, 20], [7, 12, 8], [1000, 40, 20]];
    const shapes = [...scalar, ...vec4];
    const compiled = await cache.getAll(shapes.map(([M, N, K]) => matmul({ M, N, K, transB: true, variant: 'register-subgroup', generic: true, subgroups: device.features.has('subgroups') })));
    expect(cache.size).toBe(2);
    expect(new Set(compiled.slice(0, scalar.length).map((c) => c.pipeline)).size).toBe(1);
    expect(new Set(compiled.slice(scalar.length).map((c) => c.pipeline)).size).toBe(1);
    for (const [M, N, K] of shapes) {
      const a = f32(testData(M * K, 1)), b = f32(testData(N * K, 2));
      const k = matmul({ M, N, K, transB: true, variant: 'register-subgroup', generic: true, subgroups: device.features.has('subgroups') });
      const { c } = await runKernels([k], { a, b }, { c: M * N });
      const magnitude = matmulRef(a.map(Math.abs), b.map(Math.abs), M, N, K, false, true);
      expectScaled(c, matmulRef(a, b, M, N, K, false, true), magnitude, K * 2 ** -24, k.name);
    }
  }, 300_000);

  it('a graph refuses a kernel missing a buffer, but fills the constants itself', () => {
    const k = matmul({ M: 4, N: 4, K: 4, generic: true });
    const graph = new KernelGraph('g');
    expect(() => graph.add(k, { a: {} as GPUBuffer, c: {} as GPUBuffer })).toThrow(/needs a buffer for 'b'/);
    expect(() => graph.add(k, { a: {} as GPUBuffer, b: {} as GPUBuffer, c: {} as GPUBuffer })).not.toThrow();
  });

  it('an unknown variant or a bad tile is refused by name', () => {
    expect(() => matmul({ M: 4, N: 4, K: 4, variant: 'fast' as never })).toThrow(/unknown variant 'fast'; use one of register/);
    expect(() => matmul({ M: 4, N: 4, K: 4, variant: 'tiled-vec4', tile: { TM: 3 } })).toThrow(/multiples of 4/);
    expect(() => matmul({ M: 4, N: 4, K: 4, variant: 'tiled-prefetch', tile: { DOUBLE: false } })).toThrow(/PREFETCH stores the next slice into the other slot of a DOUBLE tile; set DOUBLE too/);
    expect(() => matmul({ M: 4, N: 4, K: 4, variant: 'tiled', tile: { SPREAD: true } })).toThrow(/SPREAD spaces vec4 groups, so it needs VEC4 and no QUAD/);
    expect(() => matmul({ M: 4, N: 4, K: 4, variant: 'register', tile: { PREFETCH: true } })).toThrow(/which a register kernel has none of/);
    // A quad broadcasts from its 4 lanes: more than 16 rows would need a fifth.
    for (const TM of [4, 12, 24, 32]) expect(() => matmul({ M: 4, N: 4, K: 4, variant: 'tiled-subgroup', tile: { TM } })).toThrow(new RegExp(`quad sharing needs vec4 tiles, TM 8 or 16 .* got TM ${TM}, WGX 16`));
    expect(() => matmul({ M: 4, N: 4, K: 4, variant: 'tiled-subgroup', tile: { TM: 16 } })).not.toThrow();
  });

  it('a tile\'s LANES and QUAD, which make a variant a subgroup one, are refused on another variant', () => {
    // They emitted subgroup operations under subgroups: false (and the device's refusal then
    // advised subgroups: false), and a tiled grid counted LANES that its body ignores: at
    // 192 x 32 x 16, tiled-vec4 with LANES 2 had 2 workgroups for 3 blocks, rows 128-191 unwritten.
    const refused = /tile LANES=\d+ and QUAD=\w+ are the variant's own \(\d and \w+\); for lanes sharing B use register-subgroup, for quads sharing A tiled-subgroup/;
    expect(() => matmul({ M: 64, N: 64, K: 64, variant: 'register', tile: { LANES: 4, WGX: 4, WGY: 1 }, subgroups: false })).toThrow(refused);
    expect(() => matmul({ M: 64, N: 64, K: 64, variant: 'tiled-128', tile: { QUAD: true }, subgroups: false })).toThrow(refused);
    expect(() => matmul({ M: 192, N: 32, K: 16, variant: 'tiled-vec4', tile: { LANES: 2 } })).toThrow(refused);
    expect(() => matmul({ M: 64, N: 64, K: 64, variant: 'register-subgroup', tile: { LANES: 2 } })).toThrow(refused);
    // The variant's own values, given explicitly, are taken.
    expect(() => matmul({ M: 64, N: 64, K: 64, variant: 'register-subgroup', tile: { LANES: 4, QUAD: false } })).not.toThrow();
    expect(() => matmul({ M: 64, N: 64, K: 64, variant: 'tiled-subgroup', tile: { QUAD: true, LANES: 1 } })).not.toThrow();
  });
});
