// Memory planning for tensors (planTensors in src/tensor.ts) as the scheduler uses it
// (KernelGraph.build in src/graph.ts): real kernels run over a planned graph, to show that the
// placement is one the GPU accepts and that reused memory still gives the right numbers, and a
// build that is refused or fails leaves nothing placed. The plan's own invariants are checked in
// tensor-plan.test.ts.
import { describe, expect, it } from 'vitest';
import { activationBackward, activationForward } from '../shaders/activation';
import { BufferArena, readFloats, writeData } from '../src/gpu/buffers';
import { KernelGraph } from '../src/graph';
import { Tensor } from '../src/tensor';
import { ALIGN, arenaMaker } from './helpers/arenas';
import { expectClose, f32, testData } from './helpers/compare';
import { gpu } from './helpers/gpu';

const newArena = arenaMaker('tensor-plan-test');

describe('KernelGraph with planned tensors', () => {
  /** Builds, runs and reads back a graph inside a validation error scope; returns y and the error. */
  async function runGraph(graph: KernelGraph, x: Tensor, y: Tensor, data: Float64Array, arena: BufferArena) {
    const { device, cache } = await gpu();
    device.pushErrorScope('validation');
    await graph.build(cache, arena);
    writeData(device, x.buffer, 0, Float32Array.from(data));
    const enc = device.createCommandEncoder();
    graph.encode(enc);
    device.queue.submit([enc.finish()]);
    const error = await device.popErrorScope();
    return { error, out: await readFloats(device, y.buffer, 0, y.size) };
  }

  it('runs a chain of element-wise kernels over reused intermediates', async () => {
    const n = 6, count = 1000;
    const x = new Tensor('x', [count], true), y = new Tensor('y', [count], true);
    const mids = Array.from({ length: n - 1 }, (_, i) => new Tensor(`t${i + 1}`, [count]));
    const chain = [x, ...mids, y];
    const kinds = ['relu', 'none', 'relu', 'none', 'relu', 'relu'] as const;
    const graph = new KernelGraph('chain');
    for (let i = 0; i < n; i++) graph.add(activationForward({ kind: kinds[i], count }), { x: chain[i], y: chain[i + 1] });
    const data = f32(testData(count, 5, -2, 2));
    const { error, out } = await runGraph(graph, x, y, data, await newArena());
    expect(error?.message ?? null).toBeNull();
    let ref = Array.from(data);
    for (const k of kinds) ref = ref.map((v) => (k === 'relu' ? Math.max(v, 0) : v));
    expectClose(out, ref, { atol: 0, rtol: 0 }, 'relu chain');
    expect(graph.memory.savedBytes).toBeGreaterThan(0);
    expect(graph.memory.tensors).toBe(n + 1);
    // Neighbours in the chain are read and written by one dispatch, so they sit in different
    // buffers; tensors two apart may share one.
    for (let i = 0; i + 1 < mids.length; i++) expect(mids[i].buffer, `t${i + 1} vs t${i + 2}`).not.toBe(mids[i + 1].buffer);
    expect(mids[0].buffer).toBe(mids[2].buffer);
  });

  it('keeps a long-lived tensor intact while later ones are packed beside it', async () => {
    // t1 is read again by the last dispatch, so everything in between is placed around it, at
    // non-zero offsets of its pool. leaky_relu scales negatives by 0.01 at each step, so every
    // tensor holds different values and an overwritten t1 (or a tensor read from the wrong
    // offset) changes the result; the last dispatch is the sigmoid backward kernel,
    // dx = dy * y (1 - y) with y = t1 and dy = t5, which depends on t1's magnitude.
    const count = 700;
    const x = new Tensor('x', [count], true), out = new Tensor('out', [count], true);
    const t = Array.from({ length: 5 }, (_, i) => new Tensor(`t${i + 1}`, [count]));
    const graph = new KernelGraph('skip');
    graph.add(activationForward({ kind: 'leaky_relu', count }), { x, y: t[0] });
    for (let i = 1; i < t.length; i++) graph.add(activationForward({ kind: 'leaky_relu', count }), { x: t[i - 1], y: t[i] });
    graph.add(activationBackward({ kind: 'sigmoid', count }), { y: t[0], dy: t[4], dx: out });
    const data = f32(testData(count, 9, -1, 1));
    const { error, out: got } = await runGraph(graph, x, out, data, await newArena());
    expect(error?.message ?? null).toBeNull();
    const leaky = (v: number) => (v > 0 ? v : 0.01 * v);
    const ref = Array.from(data, (v) => {
      const t1 = leaky(v);
      let tk = t1;
      for (let i = 1; i < 5; i++) tk = leaky(tk);
      return tk * t1 * (1 - t1);
    });
    expectClose(got, ref, { atol: 1e-30, rtol: 2e-6 }, 'skip graph');
    expect(t.slice(1).some((u) => (u.root.slice!.offset ?? 0) > 0)).toBe(true);
    expect(graph.memory.savedBytes).toBeGreaterThan(0);
  });

  it('a read-only and a writable binding of one buffer is the validation error the planner avoids', async () => {
    // Negative control for the error-scope checks above: the same kernel bound to two disjoint
    // ranges of one buffer, one read-only and one writable, must be rejected by WebGPU.
    const { device, cache } = await gpu();
    const arena = await newArena();
    const buffer = arena.create('shared', 2 * ALIGN);
    const graph = new KernelGraph('alias').add(activationForward({ kind: 'relu', count: 16 }), {
      x: { buffer, offset: 0, size: 64 },
      y: { buffer, offset: ALIGN, size: 64 },
    });
    device.pushErrorScope('validation');
    await graph.build(cache);
    const enc = device.createCommandEncoder();
    graph.encode(enc);
    device.queue.submit([enc.finish()]);
    const error = await device.popErrorScope();
    expect(error).not.toBeNull();
  });

  it('refuses to build tensors without an arena', async () => {
    const { cache } = await gpu();
    const graph = new KernelGraph('no-arena').add(activationForward({ kind: 'none', count: 4 }), { x: new Tensor('a', [4]), y: new Tensor('b', [4]) });
    await expect(graph.build(cache)).rejects.toThrow(/no-arena: has tensors to place/);
  });

  it('a grid over the device\'s limit is refused before any memory is placed', async () => {
    const { device, cache } = await gpu();
    const arena = await newArena();
    const relu = activationForward({ kind: 'relu', count: 64 });
    const x = new Tensor('x', [64], true), mid = new Tensor('mid', [64]), y = new Tensor('y', [64], true);
    const tooWide = { ...relu, workgroups: [device.limits.maxComputeWorkgroupsPerDimension + 1, 1, 1] as [number, number, number] };
    const graph = new KernelGraph('wide').add(relu, { x, y: mid }).add(tooWide, { x: mid, y });
    await expect(graph.build(cache, arena)).rejects.toThrow(/kernel activation_forward_relu in wide needs \d+ workgroups in one dimension/);
    expect([arena.count, arena.allocatedBytes, x.slice, mid.slice]).toEqual([0, 0, null, null]);
  });

  it('a build that fails after placing its tensors frees them (a failed compile here)', async () => {
    const { cache } = await gpu();
    const arena = await newArena();
    const relu = activationForward({ kind: 'relu', count: 64 });
    const broken = { ...relu, name: 'activation_broken', code: `${relu.code}\nfn broken( {` };
    const x = new Tensor('x', [64], true), mid = new Tensor('mid', [64]), y = new Tensor('y', [64], true);
    const graph = new KernelGraph('broken').add(relu, { x, y: mid }).add(broken, { x: mid, y });
    // Which kernel the refusal names is the backend's business (wgpu may report the error in the
    // other compile of the batch); what is checked here is that nothing stays allocated.
    await expect(graph.build(cache, arena)).rejects.toThrow(/kernel activation_\w+ failed to compile/);
    expect([arena.count, arena.allocatedBytes, x.slice, mid.slice, graph.memory.buffers.length]).toEqual([0, 0, null, null, 0]);
  });

  it('refuses a tensor whose dtype is not the element type its binding reads or writes', () => {
    const half = Object.assign(new Tensor('hidden', [4]), { dtype: 'f16' as const });
    // An f32 kernel handed an f16 activation would read its bit patterns as garbage.
    expect(() => new KernelGraph('mixed').add(activationBackward({ kind: 'relu', count: 4 }), { y: half, dy: new Tensor('dy', [4]), dx: new Tensor('dx', [4]) }))
      .toThrow(/kernel activation_backward_relu reads 'y' as f32, but tensor hidden is stored as f16; the kernel needs an f16 variant/);
    // And the reverse: the f16 variant handed an f32 tensor.
    expect(() => new KernelGraph('mixed').add(activationBackward({ kind: 'relu', count: 4, f16: ['y'] }), { y: new Tensor('y', [4]), dy: new Tensor('dy', [4]), dx: new Tensor('dx', [4]) }))
      .toThrow(/reads 'y' as f16, but tensor y is stored as f32/);
    // Matching types are accepted (recording needs no shader-f16; compiling would).
    expect(() => new KernelGraph('mixed').add(activationBackward({ kind: 'relu', count: 4, f16: ['y'] }), { y: half, dy: new Tensor('dy', [4]), dx: new Tensor('dx', [4]) })).not.toThrow();
  });

  it('a kernel refuses an f16 name it does not bind', () => {
    expect(() => activationBackward({ kind: 'relu', count: 4, f16: ['x'] })).toThrow(/activation_backward: f16 names 'x', which the kernel does not bind \(it binds y, dy, dx\)/);
  });
});
