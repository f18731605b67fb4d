// Runs a stack of layer modules on the GPU, forward then backward, outside any VAE: the input x
// and the output gradient r are given, and the output, the input gradient and every parameter
// gradient come back. A new layer's test uses it for the stack gradient check against central
// differences on its float64 reference (tests/conv-layers.test.ts shows how).
import { afterAll, expect } from 'vitest';
import { BufferArena, readFloats, writeData, type BufferSlice } from '../../src/gpu/buffers';
import { KernelGraph } from '../../src/graph';
import type { KernelChoice } from '../../src/model/kernel-choice';
import type { Module, Recorder } from '../../src/model/module';
import type { ParamLayout } from '../../src/model/params';
import { Tensor } from '../../src/tensor';
import { expectClose, mismatches, type Tolerance } from './compare';
import { gpu } from './gpu';

/** A Recorder over one graph and the stack's own parameter and gradient buffers. */
export class StackRecorder implements Recorder {
  readonly graph: KernelGraph;
  readonly condition = null;
  private names = new Set<string>();

  constructor(readonly kernels: KernelChoice, readonly stepParams: GPUBuffer, private layout: ParamLayout, private params: GPUBuffer, private grads: GPUBuffer, name = 'layer-stack') {
    this.graph = new KernelGraph(name);
  }

  tensor(name: string, shape: readonly number[], pinned = false): Tensor {
    let unique = name;
    for (let i = 2; this.names.has(unique); i++) unique = `${name}#${i}`;
    this.names.add(unique);
    return new Tensor(unique, shape, pinned);
  }

  private slice(buffer: GPUBuffer, name: string): BufferSlice {
    const t = this.layout.byName.get(name);
    if (!t) throw new Error(`no parameter ${name}`);
    return { buffer, offset: t.offset * 4, size: t.count * 4 };
  }

  param(name: string) { return this.slice(this.params, name); }
  grad(name: string) { return this.slice(this.grads, name); }
}

const arenas: BufferArena[] = [];
afterAll(() => arenas.forEach((a) => a.destroyAll()));

/** What one forward and backward pass of a stack gave. */
export interface StackRun {
  /** The stack's output, rows x (output size). */
  y: Float32Array;
  /** The gradient of sum(y * r) with respect to x. */
  dx: Float32Array;
  /** The parameter gradients, in `layout`'s order. */
  grads: Float32Array;
  dispatches: number;
  /** The recorded kernels' names, so a test can see which variant ran. */
  kernelNames: string[];
}

/**
 * Records `modules` on x ([rows, x.length / rows]) with parameters `flat` (laid out by `layout`),
 * seeds the backward pass with r, and reads everything back. The input carries no activation, so
 * the input gradient must come back as a plain gradient (`pre`), which is checked here.
 */
export async function runLayerStack(kernels: KernelChoice, modules: readonly Module[], layout: ParamLayout, flat: Float32Array, rows: number, x: Float32Array, r: Float32Array): Promise<StackRun> {
  const { device, cache } = await gpu();
  const arena = new BufferArena(device, 'layer-stack-test');
  arenas.push(arena);
  const params = arena.upload('params', flat), grads = arena.create('grads', flat.length * 4);
  const stepParams = arena.create('step', 256, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  const g = new StackRecorder(kernels, stepParams, layout, params, grads);
  const input = g.tensor('x', [rows, x.length / rows], true);
  const seed = g.tensor('r', [rows, r.length / rows], true);
  let y = input;
  const backwards = modules.map((m) => { const f = m.forward(g, y); y = f.y; return f.backward; });
  let d = { t: seed, pre: false };
  for (let i = backwards.length - 1; i >= 0; i--) d = backwards[i](g, d, true)!;
  // Kept past their last dispatch so they can be read back (the planner reuses pooled memory).
  y.root.pinned = true;
  d.t.root.pinned = true;
  await g.graph.build(cache, arena);
  writeData(device, input.buffer, 0, x);
  writeData(device, seed.buffer, 0, r);
  const enc = device.createCommandEncoder();
  g.graph.encode(enc);
  device.queue.submit([enc.finish()]);
  const dx = d.t.resolve();
  expect(d.pre, 'the input had no activation, so its gradient is the plain gradient').toBe(true);
  return {
    y: await readFloats(device, y.buffer, (y.resolve().offset ?? 0) / 4, y.size),
    dx: await readFloats(device, dx.buffer, (dx.offset ?? 0) / 4, d.t.size),
    grads: await readFloats(device, grads),
    dispatches: g.graph.dispatchCount,
    kernelNames: g.graph.kernels.map((k) => k.name),
  };
}

/**
 * Checks a stack's run against its float64 reference `ref(params, x)`: the output, then 8 sampled
 * entries of every parameter tensor's gradient and of the input gradient against central
 * differences of sum(ref * r). A negative control shows the comparison fails on a gradient off by
 * 1e-3 in one entry.
 */
export function expectStackGradients(got: StackRun, layout: ParamLayout, flat: Float32Array, x: Float32Array, r: Float32Array,
  ref: (params: Map<string, Float64Array>, x: Float64Array) => Float64Array, tol: Tolerance = { atol: 2e-5, rtol: 2e-3 }): void {
  const p = new Map(layout.tensors.map((t) => [t.name, Float64Array.from(flat.subarray(t.offset, t.offset + t.count))]));
  const x64 = Float64Array.from(x);
  expectClose(got.y, ref(p, x64), { atol: 1e-5, rtol: 1e-4 }, 'forward output');
  const loss = () => ref(p, x64).reduce((s, v, i) => s + v * r[i], 0);
  const fd = (v: Float64Array, i: number) => {
    const h = 1e-5, save = v[i];
    v[i] = save + h; const up = loss();
    v[i] = save - h; const down = loss();
    v[i] = save;
    return (up - down) / (2 * h);
  };
  const picks = (n: number, salt: number) => [...new Set(Array.from({ length: 8 }, (_, k) => (k * 7919 + salt * 131) % n))];
  for (const t of layout.tensors) {
    const v = p.get(t.name)!, idx = picks(t.count, t.offset);
    expectClose(idx.map((i) => got.grads[t.offset + i]), idx.map((i) => fd(v, i)), tol, `d L / d ${t.name}`);
  }
  const idx = picks(x64.length, 1);
  const want = idx.map((i) => fd(x64, i));
  expectClose(idx.map((i) => got.dx[i]), want, tol, 'd L / d x');
  const off = idx.map((i) => got.dx[i]);
  off[0] += 1e-3;
  expect(mismatches(off, want, tol).length, 'negative control: one entry off by 1e-3').toBe(1);
}
