// The three convolution operations the conv layers record (forward, input gradient, weight
// gradient), in whichever method the model's KernelChoice names for it (`convTuned`, measured
// per operation by autotune-conv.ts, else `convNarrow` for narrow layers, else `convInputGrad`
// for input gradients, else `conv`):
//   `direct`, `direct-subgroup`, `implicit-gemm`
//                              one kernel each (shaders/conv.ts, with conv-direct.ts, conv-quad.ts
//                              and conv-quad-weight.ts, conv-gemm.ts);
//   `im2col`                   explicit GEMM: layout passes (shaders/conv-im2col.ts) around one of
//                              the model's tuned matmuls (shaders/matmul.ts), so a convolution
//                              runs at the matmul's speed, at the cost of an im2col buffer of
//                              N OH OW x Cin k k floats, planned and pooled like any tensor. The
//                              forward's product stores its map channels-first itself (the
//                              matmul's `channelsFirstPixels`), so only its inputs need passes.
// Conv2d and ConvTranspose2d both call these: a transposed convolution's forward is the input
// gradient of the convolution on its geometry (see conv-transpose2d.ts). Within a graph, the
// im2col matrix and the row-major (NHWC) copy of a tensor are recorded once and shared, e.g. by
// a layer's weight and input gradients, which both read dPre. Tensors stored as f16 (a model's
// half-precision activations) are named in each kernel's `f16` list from their dtype. The im2col
// matrix and the row-major copy of an f16 tensor are f16 too: they only move its values, so they
// lose nothing, and the largest buffer of a conv layer takes half the bytes. Every kernel here but
// the weight gradients' and the bias gradient's reads its batch from its output binding
// (`sizedByBinding`; not an f16 output of one value per example: countsByBinding), so where the products are shape-generic matmuls too (software adapters'
// default; `matmulGeneric` elsewhere), a forward graph of fewer rows than the training batch
// compiles nothing new; it runs the methods tuned at the training batch (tunedAtAnotherBatch).
import type { Activation } from '../../../shaders/activation';
import { conv2dForward, conv2dInputGrad, conv2dWeightGrad, convDims, CONV_VARIANTS, weightGradSplits, type ConvGeometry } from '../../../shaders/conv';
import { biasGradThreads, convBiasGrad, convBiasGradSlices } from '../../../shaders/conv-sums';
import { channelsToRows, col2im, im2col } from '../../../shaders/conv-im2col';
import { matmul, type MatmulOperand, type MatmulParams } from '../../../shaders/matmul';
import type { BufferSlice } from '../../gpu/buffers';
import type { KernelGraph } from '../../graph';
import { countsByBinding, halfNames, type Tensor } from '../../tensor';
import { matmulOptionsFor } from '../autotune';
import { recordMatmul, recordSlicedSum } from './matmul-op';
import type { Recorder } from '../module';

/** Every way of computing a convolution; tests run each. */
export const CONV_METHODS = [...CONV_VARIANTS, 'im2col'] as const;
export type ConvMethod = (typeof CONV_METHODS)[number];

/** The three operations; a transposed convolution runs them on its geometry with forward and dX swapped. */
export const CONV_OPS = ['forward', 'dX', 'dW'] as const;
export type ConvOp = (typeof CONV_OPS)[number];

/** One convolution operation of a graph: what the autotuner times and `convTuned` is keyed by. */
export interface ConvOpShape { geometry: ConvGeometry; op: ConvOp }

export const convOpKey = ({ geometry: g, op }: ConvOpShape) =>
  `${op}:${g.batch}x${g.inChannels}x${g.inHeight}x${g.inWidth}->${g.outChannels}:k${g.kernel}s${g.stride}p${g.padding}`;

const recordedOps = new WeakMap<KernelGraph, Map<string, ConvOpShape>>();

/** Every distinct convolution operation recorded into `graph`. */
export function convOpsOf(graph: KernelGraph): ConvOpShape[] {
  return [...(recordedOps.get(graph)?.values() ?? [])];
}

/**
 * The layers `KernelChoice.convNarrow` covers, where a quad's 16 shared channels are all used and
 * the im2col products are too small to run at speed: 16 to 64 channels on both sides, and from a
 * picture's 2-4 channels to 16-64 (SwiftShader, the colour dSprites step: 471 against 517 ms with
 * those layers in im2col). From a single channel im2col stays: the step gained nothing (388
 * against 387 ms), and the input gradient into one channel would leave three of the quad's four
 * shared channels idle (bench/RESULTS.md, "Few-channel layers"). Also a stride-1 convolution from
 * 4-64 channels into fewer than 16 (the layers of a nearest-upsampling decoder near the picture,
 * its last into 1-6 channels): im2col's products there have few columns, which the register
 * blocks waste (the dSprites step 2.70 -> 1.40 s; the MNIST 8,16 step 644 -> 300 ms: "Four
 * users, a new decoder").
 */
export function isNarrowConv(g: ConvGeometry): boolean {
  if (Math.max(g.inChannels, g.outChannels) > 64) return false;
  if (g.outChannels < 16) return g.stride === 1 && g.inChannels >= 4;
  return g.inChannels >= 16 || (g.inChannels >= 2 && g.inChannels <= 4);
}

const withoutBatch = (key: string) => key.replace(/^(\w+):\d+x/, '$1:x');

/**
 * The method measured for this operation at another batch: the autotuner times the training
 * batch's operations, and a forward graph of fewer rows (a drawing's last chunk) runs the same
 * methods, so that it needs no pipeline the batch's plan did not (chunkPlan in vae-forward.ts).
 */
function tunedAtAnotherBatch(tuned: Record<string, ConvMethod> | undefined, key: string): ConvMethod | undefined {
  if (!tuned) return undefined;
  const wanted = withoutBatch(key);
  return Object.entries(tuned).find(([k]) => withoutBatch(k) === wanted)?.[1];
}

/** The method for one operation (noting the operation on the graph): the measured one, else the model's default. */
function methodFor(g: Recorder, geometry: ConvGeometry, op: ConvOp): ConvMethod {
  const shape = { geometry, op }, key = convOpKey(shape);
  let ops = recordedOps.get(g.graph);
  if (!ops) recordedOps.set(g.graph, (ops = new Map()));
  ops.set(key, shape);
  const k = g.kernels;
  const tuned = k.convTuned?.[key] ?? tunedAtAnotherBatch(k.convTuned, key);
  if (tuned) return tuned;
  if (k.convNarrow && isNarrowConv(geometry)) return k.convNarrow;
  return op === 'dX' && k.convInputGrad ? k.convInputGrad : k.conv;
}

export interface ConvEpilogue {
  /** Bias by output channel, then `activation` (forward use). */
  bias?: BufferSlice;
  activation?: Activation;
  /** Multiply by act'(below) elementwise (backward use: `below` is the layer below's output). */
  gradActivation?: Activation;
  below?: Tensor;
}

const derived = new WeakMap<Tensor, Map<string, Tensor>>();

/** A tensor computed from `source` once per graph (keyed by `key`), e.g. its im2col matrix. */
function once(source: Tensor, key: string, make: () => Tensor): Tensor {
  let byKey = derived.get(source);
  if (!byKey) derived.set(source, (byKey = new Map()));
  let t = byKey.get(key);
  if (!t) byKey.set(key, (t = make()));
  return t;
}

/** [N P, C] rows of a [N, C, P] tensor. */
function rowsOf(g: Recorder, t: Tensor, batch: number, channels: number, pixels: number): Tensor {
  return once(t, `rows:${batch}x${channels}x${pixels}`, () => {
    const rows = g.tensor(`${t.name}.rows`, [batch * pixels, channels]);
    rows.dtype = t.dtype;
    g.graph.add(channelsToRows({ batch, channels, pixels, f16: halfNames({ t, rows }), sizedByBinding: countsByBinding(rows, batch) }), { t, rows });
    return rows;
  });
}

/** The im2col matrix [N OH OW, Cin k k] of the convolution's input x. */
function colsOf(g: Recorder, x: Tensor, geom: ConvGeometry): Tensor {
  const d = convDims('im2col', geom);
  return once(x, `col:${JSON.stringify(geom)}`, () => {
    const col = g.tensor(`${x.name}.col`, [d.N * d.OHW, d.CinKK]);
    col.dtype = x.dtype;
    g.graph.add(im2col({ ...geom, f16: halfNames({ x, col }), sizedByBinding: countsByBinding(col, d.N) }), { x, col });
    return col;
  });
}

function epilogueResources(e: ConvEpilogue) {
  return { ...(e.bias ? { bias: e.bias } : {}), ...(e.gradActivation && e.gradActivation !== 'none' ? { below: e.below! } : {}) };
}

function epilogueParams(e: ConvEpilogue) {
  return { bias: !!e.bias, activation: e.activation, gradActivation: e.gradActivation };
}

/** A matmul of the im2col method over `operands` (a, b, c, and an epilogue's bias and y), naming its f16 ones. */
function productParams(g: Recorder, M: number, N: number, K: number, transA: boolean, transB: boolean, operands: Record<string, Tensor | BufferSlice>, extra: Partial<MatmulParams> = {}): MatmulParams {
  const f16 = halfNames(operands) as MatmulOperand[];
  return { M, N, K, transA, transB, ...matmulOptionsFor(g.kernels, { M, N, K, transA, transB }), ...extra, ...(f16.length ? { f16 } : {}) };
}

const product = (...args: Parameters<typeof productParams>) => matmul(productParams(...args));

/** y [N, Cout, OH, OW] = epilogue(conv(x, w)); w is [Cout, Cin, k, k]. */
export function recordConvForward(g: Recorder, geom: ConvGeometry, x: Tensor, w: BufferSlice, y: Tensor, e: ConvEpilogue = {}): void {
  const method = methodFor(g, geom, 'forward');
  if (method !== 'im2col') {
    const resources = { x, w, ...epilogueResources(e), y };
    g.graph.add(conv2dForward({ ...geom, variant: method, subgroups: g.kernels.subgroups, ...epilogueParams(e), f16: halfNames(resources), sizedByBinding: countsByBinding(y, geom.batch) }), resources);
    return;
  }
  // The product stores the feature map channels-first through the epilogue: no transpose pass.
  const d = convDims('conv_forward', geom);
  const operands = { a: colsOf(g, x, geom), b: w, ...(e.bias ? { bias: e.bias } : {}), ...(e.gradActivation && e.gradActivation !== 'none' ? { y: e.below! } : {}), c: y };
  g.graph.add(product(g, d.N * d.OHW, d.Cout, d.CinKK, false, true, operands, { ...epilogueParams(e), channelsFirstPixels: d.OHW }), operands);
}

/** dx [N, Cin, H, W] = epilogue(conv^T(dy, w)): the input gradient, or a transposed convolution's forward. */
export function recordConvInputGrad(g: Recorder, geom: ConvGeometry, dy: Tensor, w: BufferSlice, dx: Tensor, e: ConvEpilogue = {}): void {
  const method = methodFor(g, geom, 'dX');
  if (method !== 'im2col') {
    const resources = { dy, w, ...epilogueResources(e), dx };
    g.graph.add(conv2dInputGrad({ ...geom, variant: method, subgroups: g.kernels.subgroups, ...epilogueParams(e), f16: halfNames(resources), sizedByBinding: countsByBinding(dx, geom.batch) }), resources);
    return;
  }
  const d = convDims('conv_input_grad', geom);
  const dcol = g.tensor(`${dx.name}.dcol`, [d.N * d.OHW, d.CinKK]);
  const operands = { a: rowsOf(g, dy, d.N, d.Cout, d.OHW), b: w, c: dcol };
  g.graph.add(product(g, d.N * d.OHW, d.CinKK, d.Cout, false, false, operands), operands);
  const out = { dcol, ...epilogueResources(e), dx };
  g.graph.add(col2im({ ...geom, ...epilogueParams(e), f16: halfNames(out), sizedByBinding: countsByBinding(dx, geom.batch) }), out);
}

/** dw [Cout, Cin, k, k] = the correlation of dy [N, Cout, OH, OW] with x [N, Cin, H, W]. */
export function recordConvWeightGrad(g: Recorder, geom: ConvGeometry, dy: Tensor, x: Tensor, dw: BufferSlice): void {
  const method = methodFor(g, geom, 'dW');
  if (method !== 'im2col') {
    const p = { ...geom, variant: method, subgroups: g.kernels.subgroups, f16: halfNames({ dy, x }) };
    const splits = weightGradSplits(p);
    if (splits === 1) {
      g.graph.add(conv2dWeightGrad(p), { dy, x, dw });
      return;
    }
    // A layer with few weights: slices of the sum in parallel, then their total.
    const weights = geom.outChannels * geom.inChannels * geom.kernel * geom.kernel;
    recordSlicedSum(g, conv2dWeightGrad({ ...p, splits }), { dy, x }, { binding: 'dwSlices', tensor: `${dy.name}.dwSlices`, slices: splits, length: weights, sum: 'conv2d_weight_grad_sum', to: 'dw' }, dw);
    return;
  }
  const d = convDims('conv_weight_grad', geom);
  const operands = { a: rowsOf(g, dy, d.N, d.Cout, d.OHW), b: colsOf(g, x, geom), c: dw };
  // K = every example's pixels: on a GPU with few weights the product splits its sum.
  recordMatmul(g, productParams(g, d.Cout, d.CinKK, d.N * d.OHW, true, false, operands), operands, `${dy.name}.dw`);
}

/**
 * Records db[c] = the sum over examples and pixels of dy[n, c, :], a conv layer's bias gradient:
 * one invocation per channel on software adapters (`convBiasSerial`), a workgroup per channel on
 * GPUs, and there, for few channels (`splitBatchSums`), a workgroup per slice of each channel plus
 * a sum of the slices.
 */
export function recordConvBiasGrad(g: Recorder, shape: { batch: number; channels: number; pixels: number }, dy: Tensor, db: BufferSlice, name: string): void {
  const threadsPerChannel = biasGradThreads(shape.channels, !!g.kernels.convBiasSerial);
  const slices = g.kernels.splitBatchSums && threadsPerChannel > 1 ? convBiasGradSlices(shape) : 1;
  if (slices === 1) {
    g.graph.add(convBiasGrad({ ...shape, threadsPerChannel }), { dy, db });
    return;
  }
  recordSlicedSum(g, convBiasGrad({ ...shape, slices }), { dy }, { binding: 'dbSlices', tensor: `${name}.slices`, slices, length: shape.channels, sum: 'conv_bias_grad_sum', to: 'db' }, db);
}
