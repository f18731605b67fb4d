// 2-D convolution (PyTorch nn.Conv2d, cross-correlation) and its gradients, which also make up
// nn.ConvTranspose2d. One geometry describes the convolution: x [N, Cin, H, W] -> y [N, Cout, OH,
// OW] with a square kernel k, stride s and padding p, OH = floor((H + 2p - k) / s) + 1, weight
// w [Cout, Cin, k, k] (PyTorch's layout, read straight from the flat parameter buffer).
//   forward       y  = act(conv(x, w) + b)                   conv2dForward
//   input grad    dx = conv^T(dy, w) * act'(below)           conv2dInputGrad
//   weight grad   dw[co, ci, ky, kx] = sum dy x (shifted)    conv2dWeightGrad
//   bias grad     db[c] = sum over examples and pixels of dy  convBiasGrad
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
// Variant `direct` (default on software adapters): no workgroup memory, no barriers (both slow on
// SwiftShader); each invocation owns a register block of CONV_TILES.direct.TC channels x TP
// pixels along a row and loops over the other operand's channels and the kernel taps with plain
// storage loads, so a step costs TC + TP loads for TC * TP fmas. Padding is a select on a clamped
// load (no branch per tap); the input gradient handles stride s by giving an invocation pixels
// s apart (one phase), so every tap it visits is a real one and none of the zeros of the
// dilated gradient are multiplied. The weight gradient owns TC x TC (out, in) channel pairs of
// one tap and sums over examples and output pixels between precomputed bounds, with no guard.
// Variant `direct-subgroup` (needs the `subgroups` feature; `direct` without it): `direct` with
// the weights (dy for the weight gradient) shared across a 4-lane quad by swaps, as matmul's
// `register-subgroup` shares B; its bodies are in conv-quad.ts.
// Variant `implicit-gemm` (default on GPUs): each kernel is a matrix product over the implicit
// im2col matrix, staged through workgroup-memory tiles by conv-gemm.ts; no im2col buffer exists.
import { activationWGSL, checkActivation, type Activation } from './activation';
import { checkChoice, checkShape, declareBindings, FLAT_INDEX_WGSL, grid1D, kSliceLength, kSplits, minBindingBytes, read, sliceSum, workgroupTreeSum, write, type Kernel, type KernelBinding } from './common';
import { quadForward, quadInputGrad, quadWeightGrad, QUAD_CONV_TILE, type QuadKernel } from './conv-quad';
import { weightGradSum } from './conv-loops';
import { forwardGemm, gemmBody, gemmGrid, gemmSplits, IMPLICIT_GEMM_TILE, inputGradGemm, weightGradGemm } from './conv-gemm';
import { load32, storeAs, withHalf, type HalfBindings } from './half';
import { wgsl } from './wgsl';

export const CONV_VARIANTS = ['direct', 'direct-subgroup', 'implicit-gemm'] as const;
export type ConvVariant = (typeof CONV_VARIANTS)[number];

/**
 * Block sizes, read by the WGSL and the grid maths alike. direct: TC channels x TP pixels per
 * invocation (TC x TC channel pairs for the weight gradient), WORKGROUP invocations per group.
 * implicit-gemm: TM x TN outputs per invocation, a WGX x WGY workgroup, TILE_K-deep tiles.
 * biasGrad: invocations that share one channel's sum.
 * Measured on SwiftShader (32x32x32 -> 64 channels, batch 16, best of 3 on a loaded machine):
 * 4 x 8 blocks ran forward in 398 ms and the input gradient in 600 ms, against 667 and 1141 ms
 * for 4 x 4; 8 x 4 was between. Compile time roughly doubles (about 4 s against 2 s per kernel).
 * TP is the most: a row narrower than TP pixels (4x4 outputs) gets the power of two covering it.
 */
export const CONV_TILES = {
  direct: { TC: 4, TP: 8, WORKGROUP: 64 },
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
}

/** Output size of a convolution along one axis; throws when the kernel does not fit. */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  const span = size + 2 * padding - kernel;
  if (span < 0) throw new Error(`conv: kernel ${kernel} is larger than the padded input (${size} + 2*${padding}); use a smaller kernel or more padding`);
  return Math.floor(span / stride) + 1;
}

/** The geometry with its derived sizes, validated. */
export function convDims(kernel: string, g: ConvGeometry) {
  const dims = { batch: g.batch, inChannels: g.inChannels, inHeight: g.inHeight, inWidth: g.inWidth, outChannels: g.outChannels, kernel: g.kernel, stride: g.stride };
  const bad = Object.entries(dims).filter(([, v]) => !(Number.isInteger(v) && v > 0)).map(([k, v]) => `${k}=${v}`);
  if (!(Number.isInteger(g.padding) && g.padding >= 0)) bad.push(`padding=${g.padding} (must be a non-negative integer)`);
  if (bad.length) throw new Error(`${kernel}: ${bad.join(', ')} must be positive integers`);
  const OH = convOutputSize(g.inHeight, g.kernel, g.stride, g.padding);
  const OW = convOutputSize(g.inWidth, g.kernel, g.stride, g.padding);
  const { batch: N, inChannels: Cin, inHeight: H, inWidth: W, outChannels: Cout, kernel: K, stride: S, padding: P } = g;
  return { N, Cin, H, W, Cout, K, S, P, OH, OW, HW: H * W, OHW: OH * OW, KK: K * K, CinKK: Cin * K * K };
}

export type ConvDims = ReturnType<typeof convDims>;

/** `fn epilogue(v, idx, ch)`: + bias[ch], act, or * act'(below[idx]), as the parameters ask. */
export function epilogueWGSL(p: Pick<ConvParams, 'bias' | 'activation' | 'gradActivation' | 'f16'>): { code: string; bindings: KernelBinding[]; tag: string } {
  const act = p.activation ?? 'none', gradAct = p.gradActivation ?? 'none';
  checkActivation('conv', 'activation', act);
  checkActivation('conv', 'gradActivation', gradAct);
  if (act !== 'none' && gradAct !== 'none') throw new Error('conv: activation and gradActivation are exclusive');
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

/** Pixels per invocation along a row of `width`: TP, or the power of two that covers a narrower row. */
const rowBlock = (width: number) => Math.min(CONV_TILES.direct.TP, 2 ** Math.ceil(Math.log2(width)));

const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const block = (f: (i: number, j: number) => string, rows: number, cols: number) => range(rows).flatMap((i) => range(cols).map((j) => f(i, j))).join(' ');

/**
 * Values a convolution kernel reaches in its three tensors, in the order of its io bindings (x, w,
 * y forward; dy, w, dx for the input gradient; dy, x, dw for the weights'), and in the epilogue's
 * bias (one per output channel; `below` is the size of the output it multiplies).
 */
interface ConvValues { first: number; second: number; output: number; channels: number }

function kernelOf(name: string, variant: ConvVariant, io: KernelBinding[], epi: ReturnType<typeof epilogueWGSL> | null, body: string, workgroups: Kernel['workgroups'], f16: HalfBindings | undefined, v: ConvValues): Kernel {
  const half = withHalf(name, [...io.slice(0, -1), ...(epi?.bindings ?? []), io[io.length - 1]], f16);
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

/** y [N, Cout, OH, OW] = epilogue(conv(x, w)). Bindings: x, w, [bias], [below], y. */
export function conv2dForward(p: ConvParams): Kernel {
  const d = convDims('conv2d_forward', p);
  const variant = variantOf(p);
  const io = [read('x'), read('w'), write('y')];
  if (variant === 'direct-subgroup') return quadKernel('conv2d_forward', io, epilogueWGSL(p), quadForward(d, p.f16), p.f16, forwardValues(d));
  if (variant === 'implicit-gemm') {
    const shape = { M: d.N * d.OHW, N: d.Cout, K: d.CinKK };
    return kernelOf('conv2d_forward', variant, io, epilogueWGSL(p), gemmBody(shape, forwardGemm(d, p.f16)), gemmGrid(shape), p.f16, forwardValues(d));
  }
  const { TC, WORKGROUP } = CONV_TILES.direct;
  const TP = rowBlock(d.OW);
  const PG = Math.ceil(d.OW / TP), CB = Math.ceil(d.Cout / TC);
  const items = d.N * CB * d.OH * PG;
  const pix = range(TP), ch = range(TC);
  const body = `
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = ${FLAT_INDEX_WGSL(WORKGROUP)};
  if (t >= ${items}u) { return; }
  let ox0 = i32(t % ${PG}u) * ${TP};
  let oy = i32((t / ${PG}u) % ${d.OH}u);
  let co0 = ((t / ${PG * d.OH}u) % ${CB}u) * ${TC}u;
  let n = t / ${PG * d.OH * CB}u;
  let xn = n * ${d.Cin * d.HW}u;
${ch.map((i) => `  let wc${i} = min(co0 + ${i}u, ${d.Cout - 1}u) * ${d.CinKK}u;`).join('\n')}
  ${block((i, j) => `var acc${i}_${j} = 0.0;`, TC, TP)}
  for (var ky = 0; ky < ${d.K}; ky++) {
    let iy = oy * ${d.S} - ${d.P} + ky;
    if (iy < 0 || iy >= ${d.H}) { continue; }
    for (var kx = 0; kx < ${d.K}; kx++) {
${pix.map((j) => `      let ix${j} = (ox0 + ${j}) * ${d.S} - ${d.P} + kx;
      let in${j} = ix${j} >= 0 && ix${j} < ${d.W};
      let o${j} = xn + u32(iy * ${d.W} + clamp(ix${j}, 0, ${d.W - 1}));`).join('\n')}
      let tap = u32(ky * ${d.K} + kx);
      for (var ci = 0u; ci < ${d.Cin}u; ci++) {
        let xc = ci * ${d.HW}u;
        let wt = ci * ${d.KK}u + tap;
        ${pix.map((j) => `let xv${j} = select(0.0, ${load32(p.f16, 'x', `o${j} + xc`)}, in${j});`).join(' ')}
        ${ch.map((i) => `let wv${i} = w[wc${i} + wt];`).join(' ')}
        ${block((i, j) => `acc${i}_${j} = fma(wv${i}, xv${j}, acc${i}_${j});`, TC, TP)}
      }
    }
  }
${ch.flatMap((i) => pix.map((j) => `  if (co0 + ${i}u < ${d.Cout}u && ox0 + ${j} < ${d.OW}) {
    let idx = (n * ${d.Cout}u + co0 + ${i}u) * ${d.OHW}u + u32(oy * ${d.OW} + ox0 + ${j});
    ${storeAs(p.f16, 'y', 'idx', `epilogue(acc${i}_${j}, idx, co0 + ${i}u)`)}
  }`)).join('\n')}
}`;
  return kernelOf('conv2d_forward', variant, io, epilogueWGSL(p), body, grid1D(items, WORKGROUP), p.f16, forwardValues(d));
}

/** dx [N, Cin, H, W] = epilogue(conv^T(dy, w)). Bindings: dy, w, [bias], [below], dx. */
export function conv2dInputGrad(p: ConvParams): Kernel {
  const d = convDims('conv2d_input_grad', p);
  const variant = variantOf(p);
  const io = [read('dy'), read('w'), write('dx')];
  if (variant === 'direct-subgroup') return quadKernel('conv2d_input_grad', io, epilogueWGSL(p), quadInputGrad(d, p.f16), p.f16, inputGradValues(d));
  if (variant === 'implicit-gemm') {
    const shape = { M: d.N * d.HW, N: d.Cin, K: d.Cout * d.KK };
    return kernelOf('conv2d_input_grad', variant, io, epilogueWGSL(p), gemmBody(shape, inputGradGemm(d, p.f16)), gemmGrid(shape), p.f16, inputGradValues(d));
  }
  const { TC, WORKGROUP } = CONV_TILES.direct;
  // Invocation pixels ix0 + s j (j < TP) share one phase ix mod s, so they share their taps.
  const TP = rowBlock(Math.ceil(d.W / d.S));
  const G = Math.ceil(Math.ceil(d.W / d.S) / TP), XG = d.S * G, CB = Math.ceil(d.Cin / TC);
  const items = d.N * CB * d.H * XG;
  const pix = range(TP), ch = range(TC);
  const body = `
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = ${FLAT_INDEX_WGSL(WORKGROUP)};
  if (t >= ${items}u) { return; }
  let xg = t % ${XG}u;
  let ix0 = i32(xg % ${d.S}u) + i32(xg / ${d.S}u) * ${d.S * TP};
  let iy = i32((t / ${XG}u) % ${d.H}u);
  let ci0 = ((t / ${XG * d.H}u) % ${CB}u) * ${TC}u;
  let n = t / ${XG * d.H * CB}u;
  let dyn = n * ${d.Cout * d.OHW}u;
${ch.map((i) => `  let wc${i} = min(ci0 + ${i}u, ${d.Cin - 1}u) * ${d.KK}u;`).join('\n')}
  ${block((i, j) => `var acc${i}_${j} = 0.0;`, TC, TP)}
  for (var ky = (iy + ${d.P}) % ${d.S}; ky < ${d.K}; ky += ${d.S}) {
    let ty = iy + ${d.P} - ky;
    if (ty < 0) { break; }
    let oy = ty / ${d.S};
    if (oy >= ${d.OH}) { continue; }
    for (var kx = (ix0 + ${d.P}) % ${d.S}; kx < ${d.K}; kx += ${d.S}) {
      let ox0 = (ix0 + ${d.P} - kx) / ${d.S};
${pix.map((j) => `      let in${j} = ox0 + ${j} >= 0 && ox0 + ${j} < ${d.OW};
      let o${j} = dyn + u32(oy * ${d.OW} + clamp(ox0 + ${j}, 0, ${d.OW - 1}));`).join('\n')}
      let tap = u32(ky * ${d.K} + kx);
      for (var co = 0u; co < ${d.Cout}u; co++) {
        let dc = co * ${d.OHW}u;
        let wt = co * ${d.CinKK}u + tap;
        ${pix.map((j) => `let dv${j} = select(0.0, ${load32(p.f16, 'dy', `o${j} + dc`)}, in${j});`).join(' ')}
        ${ch.map((i) => `let wv${i} = w[wc${i} + wt];`).join(' ')}
        ${block((i, j) => `acc${i}_${j} = fma(wv${i}, dv${j}, acc${i}_${j});`, TC, TP)}
      }
    }
  }
${ch.flatMap((i) => pix.map((j) => `  if (ci0 + ${i}u < ${d.Cin}u && ix0 + ${j * d.S} < ${d.W}) {
    let idx = (n * ${d.Cin}u + ci0 + ${i}u) * ${d.HW}u + u32(iy * ${d.W} + ix0 + ${j * d.S});
    ${storeAs(p.f16, 'dx', 'idx', `epilogue(acc${i}_${j}, idx, ci0 + ${i}u)`)}
  }`)).join('\n')}
}`;
  return kernelOf('conv2d_input_grad', variant, io, epilogueWGSL(p), body, grid1D(items, WORKGROUP), p.f16, inputGradValues(d));
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
    throw new Error(`conv2d_weight_grad: splits ${splits} for ${variant}; use weightGradSplits(geometry), which gives ${weightGradSplits(p)}`);
  }
  const io = [read('dy'), read('x'), write(splits > 1 ? 'dwSlices' : 'dw')];
  if (variant === 'direct-subgroup') return quadKernel('conv2d_weight_grad', io, null, quadWeightGrad(d, p.f16), p.f16, weightGradValues(d));
  if (variant === 'implicit-gemm') {
    const shape = weightGradShape(d);
    const values = { ...weightGradValues(d), output: splits * d.Cout * d.CinKK };
    const body = gemmBody(shape, weightGradGemm(d, p.f16, splits), splits);
    return kernelOf(splits > 1 ? 'conv2d_weight_grad_split' : 'conv2d_weight_grad', variant, io, null, body, gemmGrid(shape, splits), p.f16, values);
  }
  const { TC, WORKGROUP } = CONV_TILES.direct;
  const CIB = Math.ceil(d.Cin / TC), COB = Math.ceil(d.Cout / TC);
  const items = CIB * COB * d.KK;
  const ch = range(TC);
  const body = `
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = ${FLAT_INDEX_WGSL(WORKGROUP)};
  if (t >= ${items}u) { return; }
  let ci0 = (t % ${CIB}u) * ${TC}u;
  let co0 = ((t / ${CIB}u) % ${COB}u) * ${TC}u;
  let tap = t / ${CIB * COB}u;
  let ky = i32(tap / ${d.K}u);
  let kx = i32(tap % ${d.K}u);
${ch.map((i) => `  let dc${i} = min(co0 + ${i}u, ${d.Cout - 1}u) * ${d.OHW}u;`).join('\n')}
${ch.map((j) => `  let xc${j} = min(ci0 + ${j}u, ${d.Cin - 1}u) * ${d.HW}u;`).join('\n')}
  ${block((i, j) => `var acc${i}_${j} = 0.0;`, TC, TC)}
${weightGradSum(d, [
    ch.map((i) => `let dv${i} = ${load32(p.f16, 'dy', `dp + dc${i}`)};`).join(' '),
    ch.map((j) => `let xv${j} = ${load32(p.f16, 'x', `xp + xc${j}`)};`).join(' '),
    block((i, j) => `acc${i}_${j} = fma(dv${i}, xv${j}, acc${i}_${j});`, TC, TC),
  ].join('\n        '))}
${ch.flatMap((i) => ch.map((j) => `  if (co0 + ${i}u < ${d.Cout}u && ci0 + ${j}u < ${d.Cin}u) { dw[(co0 + ${i}u) * ${d.CinKK}u + (ci0 + ${j}u) * ${d.KK}u + tap] = acc${i}_${j}; }`)).join('\n')}
}`;
  return kernelOf('conv2d_weight_grad', variant, io, null, body, grid1D(items, WORKGROUP), p.f16, weightGradValues(d));
}

/** dw[i] = the sum over slices s of dwSlices[s, i]: the second half of a split weight gradient. */
export function convWeightGradSum(p: { slices: number; weights: number }): Kernel {
  return sliceSum({ name: 'conv2d_weight_grad_sum', from: 'dwSlices', to: 'dw', slices: p.slices, length: p.weights });
}

export interface ChannelSumShape {
  batch: number;
  channels: number;
  /** Pixels per channel (H * W). */
  pixels: number;
  /**
   * Invocations per channel: CONV_TILES.biasGrad.WORKGROUP (the default) share a channel's sum
   * through a workgroup tree; 1 sums it alone, four channels to a 4-lane group, with no
   * workgroup memory or barrier (see biasGradThreads).
   */
  threadsPerChannel?: number;
  /**
   * Sum each channel in this many slices of its N * P values, one workgroup tree each, into
   * `dbSlices` [slices, channels], which sliceSum adds (convBiasGradSlices; GPUs, tree form only).
   */
  slices?: number;
}

/**
 * When a channel sum splits (GPUs: `KernelChoice.splitBatchSums`): with fewer than SPLIT_BELOW
 * workgroups (one per channel unsplit), in slices of at least SPLIT_MIN_K values (64 per
 * invocation). The dSprites decoder's last layer is one channel of 64 x 64 x 64 = 262,144 values:
 * one workgroup walking 4,096 of them per invocation, where 64 slices give 64 workgroups of 64.
 */
export const BIAS_GRAD_SPLIT = { SPLIT_BELOW: 512, SPLIT_MIN_K: 64 * CONV_TILES.biasGrad.WORKGROUP } as const;

/** The slices a channel sum of this shape runs in where splitting is on (1: whole). */
export function convBiasGradSlices(p: Pick<ChannelSumShape, 'batch' | 'channels' | 'pixels'>): number {
  return kSplits(p.channels, p.batch * p.pixels, CONV_TILES.biasGrad.WORKGROUP, BIAS_GRAD_SPLIT);
}

/**
 * The invocations per channel a software adapter (`serial`) or a GPU should use for `channels`.
 * On SwiftShader one invocation per channel, each summing its examples' pixel runs in order, took
 * 2.8 against 8.9 ms for 16 channels of 64 x 32 x 32 and 1.0 against 8.6 ms for 256 of 64 x 4 x 4;
 * with fewer than 4 channels a 4-lane group idles, and the workgroup tree wins (3.3 against 5.2 ms
 * for one channel of 64 x 64 x 64). A GPU needs the parallel tree.
 */
export function biasGradThreads(channels: number, serial: boolean): number {
  return serial && channels >= 4 ? 1 : CONV_TILES.biasGrad.WORKGROUP;
}

/** db[c] = sum over n and pixels of dy[n, c, :]: the bias gradient of either layer. Bindings: dy, db. */
export function convBiasGrad(p: ChannelSumShape): Kernel {
  const { batch: N, channels: C, pixels: P } = p;
  checkShape('conv_bias_grad', { batch: N, channels: C, pixels: P });
  const T = CONV_TILES.biasGrad.WORKGROUP;
  const bindings = [read('dy'), write('db')];
  const minBytes = minBindingBytes(bindings, { dy: N * C * P, db: C });
  if (p.threadsPerChannel === 1) {
    // Four running sums over each example's run of P pixels, so the adds do not wait on each other.
    const code = `${declareBindings(bindings)}

@compute @workgroup_size(4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let c = min(gid.x, ${C - 1}u);
  var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
  for (var n = 0u; n < ${N}u; n++) {
    let base = (n * ${C}u + c) * ${P}u;
    var p = 0u;
    for (; p + 4u <= ${P}u; p += 4u) {
      s0 += dy[base + p]; s1 += dy[base + p + 1u]; s2 += dy[base + p + 2u]; s3 += dy[base + p + 3u];
    }
    for (; p < ${P}u; p++) { s0 += dy[base + p]; }
  }
  if (gid.x < ${C}u) { db[c] = (s0 + s1) + (s2 + s3); }
}`;
    return { name: 'conv_bias_grad_serial', code, bindings, minBytes, workgroups: [Math.ceil(C / 4), 1, 1] };
  }
  if (p.threadsPerChannel !== undefined && p.threadsPerChannel !== T) throw new Error(`conv_bias_grad: threadsPerChannel ${p.threadsPerChannel}; use 1 or ${T}`);
  const slices = p.slices ?? 1;
  if (slices !== 1 && slices !== convBiasGradSlices(p)) throw new Error(`conv_bias_grad: slices ${slices}; use convBiasGradSlices(shape), which gives ${convBiasGradSlices(p)}`);
  const split = slices > 1;
  const len = split ? kSliceLength(N * P, slices, T) : N * P;
  const splitBindings = [read('dy'), write('dbSlices')];
  const code = `${declareBindings(split ? splitBindings : bindings)}
var<workgroup> partial: array<f32, ${T}>;

@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let c = wid.x;
  // Values [first, last) of the channel's N * P: ${split ? `slice wid.y, ${len} long` : 'all of them'}.
  let first = ${split ? `wid.y * ${len}u` : '0u'};
  let last = ${split ? `min(first + ${len}u, ${N * P}u)` : `${N * P}u`};
  var s = 0.0;
  for (var e = first + tid; e < last; e += ${T}u) {
    s += dy[((e / ${P}u) * ${C}u + c) * ${P}u + e % ${P}u];
  }
  partial[tid] = s;
  ${workgroupTreeSum(T)}
  if (tid == 0u) { ${split ? `dbSlices[wid.y * ${C}u + c]` : 'db[c]'} = partial[0]; }
}`;
  if (!split) return { name: 'conv_bias_grad', code, bindings, minBytes, workgroups: [C, 1, 1] };
  return { name: 'conv_bias_grad_split', code, bindings: splitBindings, minBytes: minBindingBytes(splitBindings, { dy: N * C * P, dbSlices: slices * C }), workgroups: [C, slices, 1] };
}
