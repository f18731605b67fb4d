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
import { describe, expect, it } from 'vitest';
import { upsampleBackward, upsampleForward, type UpsampleParams } from '../shaders/upsample';
import { buildLayers, type LayerDecl } from '../src/model/layers';
import type { ConvMethod } from '../src/model/layers/conv-ops';
import type { KernelChoice } from '../src/model/kernel-choice';
import { initialParams, layoutOf } from '../src/model/params';
import { centralDiff, expectClose, mismatches, testData } from './helpers/compare';
import { roundF16, runHalfKernel } from './helpers/f16';
import { gpu, runKernels } from './helpers/gpu';
import { expectStackGradients, runLayerStack } from './helpers/layer-stack';
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

describe.each(['direct', 'im2col'] as ConvMethod[])('gradient of a conv / upsample stack (%s)', (conv) => {
  it('every parameter tensor and the input against float64 finite differences', { timeout: 600_000 }, async () => {
    const { modules, output } = buildLayers(STACK, [IN.reduce((a, b) => a * b, 1)]);
    expect(output).toEqual(OUT);
    const layout = layoutOf(modules.flatMap((m) => m.params()));
    const flat = initialParams(layout, 5).map((v) => v * 1.5);
    const x = Float32Array.from(testData(ROWS * 70, 6, -1, 1));
    const r = Float32Array.from(testData(ROWS * OUT.reduce((a, b) => a * b, 1), 7, -1, 1));
    const kernels: KernelChoice = { matmul: 'register', conv, likelihoodThreadsPerRow: 1, subgroups: false };
    const got = await runLayerStack(kernels, modules, layout, flat, ROWS, x, r);
    expectStackGradients(got, layout, flat, x, r, stackRef, { atol: 1e-4, rtol: 2e-3 });
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
