// Nearest-neighbour upsampling (shaders/upsample.ts, src/model/layers/upsample.ts) against the
// float64 reference (tests/reference/upsample.ts), whose backward is first checked against central
// finite differences of its forward. Shapes are odd on purpose: sides of 1, 7 and 9, scales 1, 2
// and 3, one channel and many, and one case spanning more workgroups than one grid row of 256.
// Output buffers start NaN with a spare element past the end, so a skipped element or a write past
// the end fails. Then the layer inside a stack, on the GPU:
//   reshape -> conv2d(tanh) -> upsample x2 -> conv2d(none) -> upsample x3
// whose recorded gradients (every parameter and the input) are compared with central differences
// of a float64 forward: the upsample sits between a tanh and the convolution that folds tanh'
// into its input gradient, so it must pass the activation on (forward) and the `pre` flag back.
import { afterAll, describe, expect, it } from 'vitest';
import { upsampleBackward, upsampleForward, type UpsampleParams } from '../shaders/upsample';
import { BufferArena, readFloats, writeData, type BufferSlice } from '../src/gpu/buffers';
import { KernelGraph } from '../src/graph';
import { buildLayers, type LayerDecl } from '../src/model/layers';
import type { ConvMethod } from '../src/model/layers/conv-ops';
import type { KernelChoice } from '../src/model/kernels';
import type { Module, Recorder } from '../src/model/module';
import { initialParams, layoutOf, type ParamLayout } from '../src/model/params';
import { Tensor } from '../src/tensor';
import { centralDiff, expectClose, mismatches, testData } from './helpers/compare';
import { roundF16, runHalfKernel } from './helpers/f16';
import { gpu, runKernels } from './helpers/gpu';
import { conv2dRef } from './reference/conv';
import { actRef } from './reference/dense';
import { upsampleBackwardRef, upsampleRef, type UpsampleRefShape } from './reference/upsample';

const SPARE = 1;
const EXACT = { atol: 0, rtol: 0 };
const nanFilled = (n: number) => new Float32Array(n).fill(NaN);

const CASES: UpsampleRefShape[] = [
  { batch: 3, channels: 5, height: 7, width: 9, scale: 2 },
  { batch: 2, channels: 3, height: 5, width: 3, scale: 3 },
  { batch: 1, channels: 1, height: 1, width: 1, scale: 2 },
  { batch: 2, channels: 7, height: 3, width: 11, scale: 1 },
  { batch: 1, channels: 1, height: 9, width: 1, scale: 4 },
  { batch: 5, channels: 33, height: 13, width: 15, scale: 2 }, // 128,700 outputs: 503 workgroups
];
const label = (p: UpsampleRefShape) => `N${p.batch} C${p.channels} ${p.height}x${p.width} x${p.scale}`;
const sizes = (p: UpsampleRefShape) => ({ inputs: p.batch * p.channels * p.height * p.width, outputs: p.batch * p.channels * p.height * p.width * p.scale ** 2 });

describe('upsample reference', () => {
  it.each(CASES.slice(0, 5).map((p) => [label(p), p] as const))('backward matches central differences of the forward: %s', (_, p) => {
    const { inputs, outputs } = sizes(p);
    const x = testData(inputs, 3, -1, 1);
    const r = testData(outputs, 4, -1, 1);
    const loss = (v: Float64Array) => upsampleRef(v, p).reduce((s, y, i) => s + y * r[i], 0);
    expectClose(upsampleBackwardRef(r, p), centralDiff(loss, x), { atol: 1e-8, rtol: 1e-7 }, 'dx');
  });
});

describe.each(CASES.map((p) => [label(p), p] as const))('upsample kernels: %s', (_, p) => {
  const { inputs, outputs } = sizes(p);
  const params: UpsampleParams = { ...p };

  it('forward copies every source value into its block, every element once', async () => {
    const x = Float32Array.from(testData(inputs, 11, -2, 2));
    const out = await runKernels([upsampleForward(params)], { x, y: nanFilled(outputs + SPARE) }, {});
    expectClose(out.y.subarray(0, outputs), upsampleRef(x, p), EXACT, 'forward');
    expect(Number.isNaN(out.y[outputs]), 'the spare element past the end stays NaN').toBe(true);
  });

  it('backward sums each block of dy onto its source', async () => {
    const dy = Float32Array.from(testData(outputs, 12, -3, 3));
    const out = await runKernels([upsampleBackward(params)], { dy, dx: nanFilled(inputs + SPARE) }, {});
    // s^2 f32 additions against a float64 sum.
    expectClose(out.dx.subarray(0, inputs), upsampleBackwardRef(dy, p), { atol: 1e-6, rtol: 1e-6 }, 'backward');
    expect(Number.isNaN(out.dx[inputs]), 'the spare element past the end stays NaN').toBe(true);
  });
});

describe('upsample checks', () => {
  it('the comparison would catch a transposed block or a skipped element', async () => {
    const p = CASES[0];
    const { inputs, outputs } = sizes(p);
    const x = Float32Array.from(testData(inputs, 11, -2, 2));
    const out = await runKernels([upsampleForward(p)], { x, y: nanFilled(outputs) }, {});
    // Swapping height and width in the source lookup (a plausible indexing slip) is caught.
    const swapped = upsampleRef(x, { ...p, height: p.width, width: p.height });
    expect(mismatches(out.y, swapped, EXACT).length).toBeGreaterThan(0);
    expect(mismatches(nanFilled(outputs), upsampleRef(x, p), EXACT).length).toBeGreaterThan(0);
    expect(mismatches(out.y, upsampleRef(x, p), EXACT)).toEqual([]);
  });

  it('refuses non-positive or fractional sizes and an f16 gradient', () => {
    expect(() => upsampleForward({ batch: 1, channels: 1, height: 2, width: 2, scale: 0 })).toThrow(/upsample_forward: scale=0/);
    expect(() => upsampleForward({ batch: 1, channels: 1.5, height: 2, width: 2, scale: 2 })).toThrow(/channels=1.5/);
    expect(() => upsampleBackward({ batch: 1, channels: 1, height: 2, width: 2, scale: 2, f16: ['dx'] })).toThrow(/gradients are f32/);
    expect(() => upsampleForward({ batch: 1, channels: 1, height: 2, width: 2, scale: 2, f16: ['dy'] })).toThrow(/f16 names 'dy', which the kernel does not bind/);
  });

  it('the layer: shape rules, no parameters', () => {
    const { modules, output } = buildLayers([{ type: 'upsample', name: 'u' }], [3, 5, 7]);
    expect(output).toEqual([3, 10, 14]);
    expect(modules[0].params()).toEqual([]);
    expect(buildLayers([{ type: 'upsample', name: 'u', scale: 3 }], [1, 1, 2]).output).toEqual([1, 3, 6]);
    expect(() => buildLayers([{ type: 'upsample', name: 'u' }], [784])).toThrow(/upsample u: expects each example as \[channels, height, width\], got \[784\]; put a reshape/);
    expect(() => buildLayers([{ type: 'upsample', name: 'u', scale: 1.5 }], [1, 2, 2])).toThrow(/scale 1.5 must be a positive integer/);
  });
});

// ---- the layer in a stack, on the GPU ----

const ROWS = 3;
const IN = [2, 5, 7];
const STACK: LayerDecl[] = [
  { type: 'reshape', name: 's.input', shape: IN },
  { type: 'conv2d', name: 's.conv0', out: 3, kernel: 3, stride: 1, padding: 1, activation: 'tanh' },
  { type: 'upsample', name: 's.up0' },
  { type: 'conv2d', name: 's.conv1', out: 2, kernel: 3, stride: 1, padding: 1, activation: 'none' },
  { type: 'upsample', name: 's.up1', scale: 3 },
];
const OUT = [2, 30, 42];

function stackRef(p: Map<string, Float64Array>, x: Float64Array): Float64Array {
  const conv = (name: string, v: Float64Array, c: number, h: number, w: number, out: number) =>
    conv2dRef(v, p.get(`${name}.weight`)!, p.get(`${name}.bias`)!, { batch: ROWS, inChannels: c, inHeight: h, inWidth: w, outChannels: out, kernel: 3, stride: 1, padding: 1 });
  let v: Float64Array = conv('s.conv0', x, 2, 5, 7, 3).map((e) => actRef('tanh', e)); // [3, 5, 7]
  v = upsampleRef(v, { batch: ROWS, channels: 3, height: 5, width: 7, scale: 2 }); // [3, 10, 14]
  v = conv('s.conv1', v, 3, 10, 14, 2); // [2, 10, 14]
  return upsampleRef(v, { batch: ROWS, channels: 2, height: 10, width: 14, scale: 3 }); // [2, 30, 42]
}

/** A Recorder over one graph and the stack's parameter and gradient buffers (as tests/conv-layers.test.ts's). */
class StackRecorder implements Recorder {
  readonly graph = new KernelGraph('upsample-stack');
  readonly condition = null;
  private names = new Set<string>();

  constructor(readonly kernels: KernelChoice, readonly stepParams: GPUBuffer, private layout: ParamLayout, private params: GPUBuffer, private grads: GPUBuffer) {}

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

async function gpuGradients(conv: ConvMethod, modules: Module[], layout: ParamLayout, flat: Float32Array, x: Float32Array, r: Float32Array) {
  const { device, cache } = await gpu();
  const arena = new BufferArena(device, 'upsample-stack-test');
  arenas.push(arena);
  const params = arena.upload('params', flat), grads = arena.create('grads', flat.length * 4);
  const stepParams = arena.create('step', 256, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
  const kernels: KernelChoice = { matmul: 'register', conv, likelihoodThreadsPerRow: 1, subgroups: false };
  const g = new StackRecorder(kernels, stepParams, layout, params, grads);
  const input = g.tensor('x', [ROWS, x.length / ROWS], true);
  const seed = g.tensor('r', [ROWS, r.length / ROWS], true);
  let y = input;
  const backwards = modules.map((m) => { const f = m.forward(g, y); y = f.y; return f.backward; });
  let d = { t: seed, pre: false };
  for (let i = backwards.length - 1; i >= 0; i--) d = backwards[i](g, d, true)!;
  y.root.pinned = true;
  d.t.root.pinned = true;
  await g.graph.build(cache, arena);
  writeData(device, input.buffer, 0, x);
  writeData(device, seed.buffer, 0, r);
  const enc = device.createCommandEncoder();
  g.graph.encode(enc);
  device.queue.submit([enc.finish()]);
  const dx = d.t.resolve();
  return {
    y: await readFloats(device, y.buffer, (y.resolve().offset ?? 0) / 4, y.size),
    dx: await readFloats(device, dx.buffer, (dx.offset ?? 0) / 4, d.t.size),
    grads: await readFloats(device, grads),
  };
}

describe.each(['direct', 'im2col'] as ConvMethod[])('gradient of a conv / upsample stack (%s)', (conv) => {
  it('every parameter tensor and the input against float64 finite differences', { timeout: 600_000 }, async () => {
    const { modules, output } = buildLayers(STACK, [IN.reduce((a, b) => a * b, 1)]);
    expect(output).toEqual(OUT);
    const layout = layoutOf(modules.flatMap((m) => m.params()));
    const flat = initialParams(layout, 5).map((v) => v * 1.5);
    const x = Float32Array.from(testData(ROWS * 70, 6, -1, 1));
    const r = Float32Array.from(testData(ROWS * OUT.reduce((a, b) => a * b, 1), 7, -1, 1));
    const got = await gpuGradients(conv, modules, layout, flat, x, r);

    const p = new Map(layout.tensors.map((t) => [t.name, Float64Array.from(flat.subarray(t.offset, t.offset + t.count))]));
    const x64 = Float64Array.from(x);
    expectClose(got.y, stackRef(p, x64), { atol: 1e-5, rtol: 1e-4 }, 'forward output');
    const loss = () => stackRef(p, x64).reduce((s, v, i) => s + v * r[i], 0);
    const fd = (v: Float64Array, i: number) => {
      const h = 1e-5, save = v[i];
      v[i] = save + h; const up = loss();
      v[i] = save - h; const down = loss();
      v[i] = save;
      return (up - down) / (2 * h);
    };
    const TOL = { atol: 1e-4, rtol: 2e-3 };
    const picks = (n: number, salt: number) => [...new Set(Array.from({ length: 8 }, (_, k) => (k * 7919 + salt * 131) % n))];
    for (const t of layout.tensors) {
      const v = p.get(t.name)!, idx = picks(t.count, t.offset);
      expectClose(idx.map((i) => got.grads[t.offset + i]), idx.map((i) => fd(v, i)), TOL, `d L / d ${t.name}`);
    }
    const idx = picks(x64.length, 1);
    expectClose(idx.map((i) => got.dx[i]), idx.map((i) => fd(x64, i)), TOL, 'd L / d x');
  });
});

// ---- f16 storage (a model with precision 'f16' stores the activations it copies as f16) ----

describe('upsample forward with f16 storage', async () => {
  const { device } = await gpu();
  const p = CASES[1]; // odd counts: 45 inputs, 405 outputs, so the last f16 word is half used
  const { inputs, outputs } = sizes(p);
  const x = Float64Array.from(testData(inputs, 21, -2, 2));
  it.runIf(device.features.has('shader-f16')).each([[['x', 'y']], [['x']], [['y']]])('f16 %j: the copies are exact (an f16 y is x rounded once)', async (half) => {
    const got = await runHalfKernel(upsampleForward({ ...p, f16: half }), { x: half.includes('x') ? x.map(roundF16) : x }, 'y', outputs);
    const xs = half.includes('x') ? x.map(roundF16) : Float64Array.from(Float32Array.from(x));
    expectClose(got, upsampleRef(xs, p).map((v) => (half.includes('y') ? roundF16(v) : v)), EXACT, `f16 ${half}`);
  });
});
