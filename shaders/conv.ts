// 2-D convolution (PyTorch nn.Conv2d, cross-correlation) and its gradients, which also make up
// nn.ConvTranspose2d. One geometry describes the convolution: x [N, Cin, H, W] -> y [N, Cout, OH,
// OW] with a square kernel k, stride s and padding p, OH = floor((H + 2p - k) / s) + 1, weight
// w [Cout, Cin, k, k] (PyTorch's layout, read straight from the flat parameter buffer).
//   forward       y  = act(conv(x, w) + b)                   conv2dForward
//   input grad    dx = conv^T(dy, w) * act'(below)           conv2dInputGrad
//   weight grad   dw[co, ci, ky, kx] = sum dy x (shifted)    conv2dWeightGrad
//   bias grad     db[c] = sum over examples and pixels of dy  convBiasGrad (conv-sums.ts)
// ConvTranspose2d with weight [in, out, k, k] IS the input gradient of the convolution whose
// input side is the transpose's output: its forward is conv2dInputGrad (with the bias and
// activation epilogue), its input gradient is conv2dForward (with the act' epilogue), and its
// weight gradient is conv2dWeightGrad with the roles swapped (dy := the transpose's input, x :=
// its output gradient). The bindings keep the convolution's names in both uses.
//
// Layout: activations are NCHW on the GPU. A flattened NCHW example is exactly PyTorch's
// nn.Flatten order, so a dense layer after Flatten (and its checkpoint) needs no permutation, and
// a Reshape between dense and conv layers is a free view of the same memory. Every kernel below
// reads whole rows of one channel, so NHWC would gain nothing here but a transpose at the edges.
//
// Variant `direct` (GPUs' default for input gradients): no workgroup memory, no barriers (both slow on
// SwiftShader); each invocation owns a register block of CONV_TILES.direct.TC channels x TP
// pixels along a row and loops over the other operand's channels and the kernel taps with plain
// storage loads, so a step costs TC + TP loads for TC * TP fmas. Padding is a select on a clamped
// load (no branch per tap); the input gradient handles stride s by giving an invocation pixels
// s apart (one phase), so every tap it visits is a real one and none of the zeros of the
// dilated gradient are multiplied. The weight gradient owns TC x TC (out, in) channel pairs of
// one tap and sums over examples and output pixels between precomputed bounds, with no guard.
// Its bodies are in conv-direct.ts.
// Variant `direct-subgroup` (needs the `subgroups` feature; `direct` without it): `direct` with
// the weights (dy for the weight gradient) shared across a 4-lane quad by swaps, as matmul's
// `register-subgroup` shares B (software adapters' default for narrow layers: isNarrowConv); its
// bodies are in conv-quad.ts and conv-quad-weight.ts.
// Variant `implicit-gemm` (GPUs' default for forwards and weight gradients): each kernel is a matrix product over the implicit
// im2col matrix, staged through workgroup-memory tiles by conv-gemm.ts; no im2col buffer exists.
// The bias gradient and the sum of a split weight gradient's slices are in conv-sums.ts. The
// fourth method, `im2col` (software adapters' default), is layout passes around the matmul:
// conv-im2col.ts, composed in src/model/layers/conv-ops.ts.
import { ConfigError, shown } from './errors';
import { activationWGSL, checkActivation, type Activation } from './activation';
import { checkChoice, checkIndexable, checkShape, declareBindings, minBindingBytes, read, write, type BoundCount, type Kernel, type KernelBinding } from './common';
import { directForward, directInputGrad, directWeightGrad, DIRECT_CONV_TILE } from './conv-direct';
import { quadForward, quadInputGrad, QUAD_CONV_TILE, type QuadKernel } from './conv-quad';
import { quadWeightGrad } from './conv-quad-weight';
import { forwardGemm, gemmBody, gemmGrid, gemmSplits, IMPLICIT_GEMM_TILE, inputGradGemm, weightGradGemm } from './conv-gemm';
import { load32, withHalf, type HalfBindings } from './half';
import { wgsl } from './wgsl';

export const CONV_VARIANTS = ['direct', 'direct-subgroup', 'implicit-gemm'] as const;
export type ConvVariant = (typeof CONV_VARIANTS)[number];

/**
 * Block sizes, read by the WGSL and the grid maths alike. direct: TC channels x TP pixels per
 * invocation (TC x TC channel pairs for the weight gradient), WORKGROUP invocations per group.
 * implicit-gemm: TM x TN outputs per invocation, a WGX x WGY workgroup, TILE_K-deep tiles.
 * biasGrad: invocations that share one channel's sum.
 */
export const CONV_TILES = {
  direct: DIRECT_CONV_TILE,
  'direct-subgroup': QUAD_CONV_TILE,
  'implicit-gemm': IMPLICIT_GEMM_TILE,
  biasGrad: { WORKGROUP: 64 },
} as const;

export interface ConvGeometry {
  batch: number;
  inChannels: number;
  inHeight: number;
  inWidth: number;
  outChannels: number;
  /** Square kernel side. */
  kernel: number;
  stride: number;
  padding: number;
}

export interface ConvParams extends ConvGeometry {
  variant?: ConvVariant;
  /** Add bias[channel of the output] before the activation. */
  bias?: boolean;
  /** Activation of the epilogue. */
  activation?: Activation;
  /** Multiply the result by act'(below) elementwise, where `below` is the output of the layer below. */
  gradActivation?: Activation;
  /** Bindings stored as f16 (x, y, dy, dx, below: a model's half-precision activations; half.ts). */
  f16?: HalfBindings;
  /**
   * Whether the device has the `subgroups` feature: without it (false) `direct-subgroup` runs as
   * `direct`. Unset means it has.
   */
  subgroups?: boolean;
  /**
   * Forward and input gradient: read the batch from the output binding's length in whole examples
   * (itemsOfBoundExamples) instead of the source, so that one pipeline serves every batch (the
   * model's forward graphs of fewer rows than its training batch share its pipelines). The output
   * must be bound at exactly its examples.
   */
  sizedByBinding?: boolean;
}

/** Output size of a convolution along one axis; throws when the kernel does not fit. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  const span = size + 2 * padding - kernel;
  if (span < 0) throw new ConfigError(`conv: kernel ${kernel} is larger than the padded input (${size} + 2*${padding}); use a smaller kernel or more padding`);
  return Math.floor(span / stride) + 1;
}

/** The geometry with its derived sizes, validated. */
export function convDims(kernel: string, g: ConvGeometry) {
  const dims = { batch: g.batch, inChannels: g.inChannels, inHeight: g.inHeight, inWidth: g.inWidth, outChannels: g.outChannels, kernel: g.kernel, stride: g.stride };
  checkShape(kernel, dims);
  if (!(Number.isInteger(g.padding) && g.padding >= 0)) throw new ConfigError(`${kernel}: padding=${shown(g.padding)} must be a non-negative integer`);
  const OH = convOutputSize(g.inHeight, g.kernel, g.stride, g.padding);
  const OW = convOutputSize(g.inWidth, g.kernel, g.stride, g.padding);
  const { batch: N, inChannels: Cin, inHeight: H, inWidth: W, outChannels: Cout, kernel: K, stride: S, padding: P } = g;
  checkIndexable(kernel, { 'input elements (batch x channels x height x width)': N * Cin * H * W, 'output elements': N * Cout * OH * OW, 'weights': Cout * Cin * K * K });
  return { N, Cin, H, W, Cout, K, S, P, OH, OW, HW: H * W, OHW: OH * OW, KK: K * K, CinKK: Cin * K * K };
}

export type ConvDims = ReturnType<typeof convDims>;

/** `fn epilogue(v, idx, ch)`: + bias[ch], act, or * act'(below[idx]), as the parameters ask. */
export function epilogueWGSL(p: Pick<ConvParams, 'bias' | 'activation' | 'gradActivation' | 'f16'>): { code: string; bindings: KernelBinding[]; tag: string } {
  const act = p.activation ?? 'none', gradAct = p.gradActivation ?? 'none';
  checkActivation('conv', 'activation', act);
  checkActivation('conv', 'gradActivation', gradAct);
  if (act !== 'none' && gradAct !== 'none') throw new ConfigError('conv: activation and gradActivation are exclusive');
  const hasBelow = gradAct !== 'none';
  const code = wgsl`
${activationWGSL(act === 'none' ? gradAct : act)}
fn epilogue(v: f32, idx: u32, ch: u32) -> f32 {
  var s = v;
#if ${!!p.bias}
  s += bias[ch];
#endif
#if ${act !== 'none'}
  s = act(s);
#endif
#if ${hasBelow}
  s *= act_grad(${load32(p.f16, 'below', 'idx')});
#endif
  return s;
}`;
  const bindings = [...(p.bias ? [read('bias')] : []), ...(hasBelow ? [read('below')] : [])];
  const tag = `${p.bias ? '_bias' : ''}${act !== 'none' ? `_${act}` : ''}${hasBelow ? `_dact_${gradAct}` : ''}`;
  return { code, bindings, tag };
}

/**
 * Values a convolution kernel reaches in its three tensors, in the order of its io bindings (x, w,
 * y forward; dy, w, dx for the input gradient; dy, x, dw for the weights'), and in the epilogue's
 * bias (one per output channel; `below` is the size of the output it multiplies).
 */
interface ConvValues { first: number; second: number; output: number; channels: number }

function kernelOf(name: string, variant: ConvVariant, io: KernelBinding[], epi: ReturnType<typeof epilogueWGSL> | null, body: string, workgroups: Kernel['workgroups'], f16: HalfBindings | undefined, v: ConvValues): Kernel {
  // The weights, the bias and the weight gradient are f32 in every variant.
  const half = withHalf(name, [...io.slice(0, -1), ...(epi?.bindings ?? []), io[io.length - 1]], f16, ['x', 'y', 'dy', 'dx', 'below']);
  const enable = `${half.enable}${variant === 'direct-subgroup' ? 'enable subgroups;\n' : ''}`;
  const [first, second, output] = io.map((b) => b.name);
  return {
    name: `${name}${epi?.tag ?? ''}_${variant.replace('-', '_')}${half.tag}`,
    code: `${enable}${declareBindings(half.bindings)}\n${epi?.code ?? ''}\n${body}`,
    bindings: half.bindings,
    minBytes: minBindingBytes(half.bindings, { [first]: v.first, [second]: v.second, [output]: v.output, bias: v.channels, below: v.output }),
    workgroups,
  };
}

/** The variant a kernel gets: `direct-subgroup` is `direct` on a device without subgroups. */
function variantOf(p: { variant?: ConvVariant; subgroups?: boolean }): ConvVariant {
  const v = p.variant ?? 'direct';
  // An unknown name would otherwise run as `direct` under a name that is not.
  checkChoice('conv', 'variant', v, CONV_VARIANTS);
  return v === 'direct-subgroup' && p.subgroups === false ? 'direct' : v;
}

const quadKernel = (name: string, io: KernelBinding[], epi: ReturnType<typeof epilogueWGSL> | null, k: QuadKernel, f16: HalfBindings | undefined, v: ConvValues) =>
  kernelOf(name, 'direct-subgroup', io, epi, k.body, k.workgroups, f16, v);

/** What the forward (x -> y), input-gradient (dy -> dx) and weight-gradient (dy, x -> dw) kernels reach. */
const forwardValues = (d: ConvDims): ConvValues => ({ first: d.N * d.Cin * d.HW, second: d.Cout * d.CinKK, output: d.N * d.Cout * d.OHW, channels: d.Cout });
const inputGradValues = (d: ConvDims): ConvValues => ({ first: d.N * d.Cout * d.OHW, second: d.Cout * d.CinKK, output: d.N * d.Cin * d.HW, channels: d.Cin });
const weightGradValues = (d: ConvDims): ConvValues => ({ first: d.N * d.Cout * d.OHW, second: d.N * d.Cin * d.HW, output: d.Cout * d.CinKK, channels: 0 });

/** A kernel sized by its output binding is named so (its source differs from the batch's own). */
const sized = (k: Kernel, p: Pick<ConvParams, 'sizedByBinding'>, output: string): Kernel => (p.sizedByBinding ? { ...k, name: `${k.name}_any_batch`, exactBindings: [output] } : k);

/** The implicit GEMM's row count (examples x pixels) read from `output`'s binding, when sized. */
const gemmRows = (p: ConvParams, output: string, perExample: number, pixels: number): BoundCount | null =>
  (p.sizedByBinding ? { output, perExample, itemsPerExample: pixels, half: p.f16?.includes(output), kernel: 'conv2d (implicit-gemm)' } : null);

/** y [N, Cout, OH, OW] = epilogue(conv(x, w)). Bindings: x, w, [bias], [below], y. */
export function conv2dForward(p: ConvParams): Kernel {
  const d = convDims('conv2d_forward', p);
  const variant = variantOf(p);
  const io = [read('x'), read('w'), write('y')];
  if (variant === 'direct-subgroup') return sized(quadKernel('conv2d_forward', io, epilogueWGSL(p), quadForward(d, p.f16, p.sizedByBinding), p.f16, forwardValues(d)), p, 'y');
  if (variant === 'implicit-gemm') {
    const shape = { M: d.N * d.OHW, N: d.Cout, K: d.CinKK };
    const body = gemmBody(shape, forwardGemm(d, p.f16), 1, gemmRows(p, 'y', d.Cout * d.OHW, d.OHW));
    return sized(kernelOf('conv2d_forward', variant, io, epilogueWGSL(p), body, gemmGrid(shape), p.f16, forwardValues(d)), p, 'y');
  }
  const direct = directForward(d, p.f16, p.sizedByBinding);
  return sized(kernelOf('conv2d_forward', variant, io, epilogueWGSL(p), direct.body, direct.workgroups, p.f16, forwardValues(d)), p, 'y');
}

/** dx [N, Cin, H, W] = epilogue(conv^T(dy, w)). Bindings: dy, w, [bias], [below], dx. */
export function conv2dInputGrad(p: ConvParams): Kernel {
  const d = convDims('conv2d_input_grad', p);
  const variant = variantOf(p);
  const io = [read('dy'), read('w'), write('dx')];
  if (variant === 'direct-subgroup') return sized(quadKernel('conv2d_input_grad', io, epilogueWGSL(p), quadInputGrad(d, p.f16, p.sizedByBinding), p.f16, inputGradValues(d)), p, 'dx');
  if (variant === 'implicit-gemm') {
    const shape = { M: d.N * d.HW, N: d.Cin, K: d.Cout * d.KK };
    const body = gemmBody(shape, inputGradGemm(d, p.f16), 1, gemmRows(p, 'dx', d.Cin * d.HW, d.HW));
    return sized(kernelOf('conv2d_input_grad', variant, io, epilogueWGSL(p), body, gemmGrid(shape), p.f16, inputGradValues(d)), p, 'dx');
  }
  const direct = directInputGrad(d, p.f16, p.sizedByBinding);
  return sized(kernelOf('conv2d_input_grad', variant, io, epilogueWGSL(p), direct.body, direct.workgroups, p.f16, inputGradValues(d)), p, 'dx');
}

const weightGradShape = (d: ConvDims) => ({ M: d.Cout, N: d.CinKK, K: d.N * d.OHW });

/**
 * In how many slices of its sum the weight-gradient kernel of `variant` runs (1: one kernel
 * writes dw). Only `implicit-gemm` splits: a layer with few weights gives it too few blocks.
 */
export function weightGradSplits(p: ConvGeometry & { variant?: ConvVariant; subgroups?: boolean }): number {
  return variantOf(p) === 'implicit-gemm' ? gemmSplits(weightGradShape(convDims('conv2d_weight_grad', p))) : 1;
}

/**
 * dw [Cout, Cin, k, k] = sum over examples and output pixels of dy x (shifted by the tap). Bindings:
 * dy, x, dw; with `splits` > 1 (weightGradSplits), dy, x, dwSlices [splits, Cout, Cin, k, k], which
 * convWeightGradSum then adds into dw.
 */
export function conv2dWeightGrad(p: ConvGeometry & { variant?: ConvVariant; f16?: HalfBindings; subgroups?: boolean; splits?: number }): Kernel {
  const d = convDims('conv2d_weight_grad', p);
  const variant = variantOf(p);
  const splits = p.splits ?? 1;
  if (splits !== 1 && (variant !== 'implicit-gemm' || splits !== weightGradSplits(p))) {
    throw new ConfigError(`conv2d_weight_grad: splits ${splits} for ${variant}; use weightGradSplits(geometry), which gives ${weightGradSplits(p)}`);
  }
  const io = [read('dy'), read('x'), write(splits > 1 ? 'dwSlices' : 'dw')];
  if (variant === 'direct-subgroup') return quadKernel('conv2d_weight_grad', io, null, quadWeightGrad(d, p.f16), p.f16, weightGradValues(d));
  if (variant === 'implicit-gemm') {
    const shape = weightGradShape(d);
    const values = { ...weightGradValues(d), output: splits * d.Cout * d.CinKK };
    const body = gemmBody(shape, weightGradGemm(d, p.f16, splits), splits);
    return kernelOf(splits > 1 ? 'conv2d_weight_grad_split' : 'conv2d_weight_grad', variant, io, null, body, gemmGrid(shape, splits), p.f16, values);
  }
  const direct = directWeightGrad(d, p.f16);
  return kernelOf('conv2d_weight_grad', variant, io, null, direct.body, direct.workgroups, p.f16, weightGradValues(d));
}
