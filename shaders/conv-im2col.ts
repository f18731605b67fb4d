// The data movements of the `im2col` convolution method (explicit GEMM): each convolution kernel
// of shaders/conv.ts becomes one of the tuned matmuls of shaders/matmul.ts between layout passes,
// so convolutions run at the matmul's speed on software adapters (where the direct kernels load
// several values per fma and the register-blocked matmul shares its loads across a quad).
// With the geometry of shaders/conv.ts (x [N, Cin, H, W] -> y [N, Cout, OH, OW], kernel k, stride
// s, padding p) and M = N * OH * OW rows, one per output pixel:
//   im2col        col [M, Cin k k]:  col[(n, oy, ox), (ci, ky, kx)] = x[n, ci, oy s - p + ky, ox s - p + kx]
//                                    (0 in the padding)
//   col2im        dx [N, Cin, H, W] = epilogue(sum of the col entries that read each pixel): the
//                                    adjoint of im2col, as a gather (no atomics); an invocation
//                                    visits only the taps of its pixel's stride phase
//   channelsToRows rows [N * P, C] = t [N, C, P] transposed per example (NCHW -> NHWC)
//   rowsToChannels t [N, C, P] = epilogue(rows [N * P, C] transposed back)
// so that (src/model/layers/conv-ops.ts)
//   forward  y  = im2col(x) W^T + bias, act, stored channels-first by the matmul itself
//                 (its channelsFirstPixels; W [Cout, Cin k k] as stored)
//   dX       dx = col2im(channelsToRows(dy) W) * act'(below)
//   dW       dW = channelsToRows(dy)^T im2col(x)
// The epilogue is conv.ts's (bias by channel, activation, or * act'(below) elementwise).
// Grids are 1-D in workgroups of IM2COL_TILE.WORKGROUP (grid1D folds large grids into y): im2col
// writes the k k taps of one (row, input channel) per invocation, channelsToRows one row, the
// others one element each;
// no workgroup memory, no barriers. Reference: tests/reference/conv.ts.
// Bindings (inputs read, then the epilogue's bias and below where it has them, then the output):
// im2col (x, col); col2im (dcol, [bias], [below], dx); channelsToRows (t, rows); rowsToChannels
// (rows, [bias], [below], t). rowsToChannels is for kernels-API callers: the model's products
// store channels-first themselves.
import { convDims, epilogueWGSL, type ConvGeometry, type ConvParams } from './conv';
import type { ChannelSumShape } from './conv-sums';
import { checkShape, declareBindings, exactWhenSized, FLAT_INDEX_WGSL, grid1D, itemCountWGSL, minBindingBytes, read, write, type Kernel, type KernelBinding } from './common';
import { load32, storeAs, withHalf, type HalfBindings } from './half';
import { wgsl } from './wgsl';

/**
 * Invocations per workgroup of every layout kernel; read by the WGSL and the grid maths. Measured
 * on SwiftShader, the dSprites conv model's step (16 channels, 64x64, batch 64), alternating runs:
 * its 22 layout passes took 303-323 ms in workgroups of 256 against 351-365 ms in workgroups of
 * 64, and compiled in the same time (163 against 166 ms for the five kernels of one layer).
 */
export const IM2COL_TILE = { WORKGROUP: 256 } as const;

type Epilogue = Pick<ConvParams, 'bias' | 'activation' | 'gradActivation'>;
/** Bindings stored as f16 (half.ts): x and col of im2col, t and rows of the layout passes, dx and below of col2im. */
type Half = { f16?: HalfBindings };

/**
 * `values`: what the kernel reaches of its input and output (io's two bindings, by name), and of
 * the epilogue's bias (`channels`); `below` is as large as the output.
 */
function layoutKernel(name: string, io: KernelBinding[], epi: ReturnType<typeof epilogueWGSL> | null, items: number, body: string, f16: HalfBindings | undefined, values: { input: number; output: number; channels: number }, sized: Sized | null): Kernel {
  // col2im reads dcol as f32; every other io binding, and below, goes through load32 / storeAs.
  const { bindings, enable, tag } = withHalf(name, [...io.slice(0, -1), ...(epi?.bindings ?? []), io[io.length - 1]], f16, [...io.map((b) => b.name).filter((n) => n !== 'dcol'), 'below']);
  const T = IM2COL_TILE.WORKGROUP;
  const [input, output] = io.map((b) => b.name);
  const bound = itemCountWGSL(items, sized && { output, ...sized, half: f16?.includes(output), kernel: name });
  const code = wgsl`${enable}${declareBindings(bindings)}
${epi?.code ?? ''}
@compute @workgroup_size(${T})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = ${FLAT_INDEX_WGSL(T)};
  if (e >= ${bound}) { return; }
${body}
}`;
  const minBytes = minBindingBytes(bindings, { [input]: values.input, [output]: values.output, bias: values.channels, below: values.output });
  return { name: `${name}${epi?.tag ?? ''}${tag}${sized ? '_any_batch' : ''}`, code, bindings, minBytes, ...exactWhenSized(!!sized, output), workgroups: grid1D(items, T) };
}

/**
 * `sizedByBinding`: read the batch from the output binding's length in whole examples instead
 * of the source, so that one pipeline serves every batch (itemsOfBoundExamples); the output must
 * be bound at exactly its examples.
 */
export interface SizedByBinding { sizedByBinding?: boolean }

/** A sized layout kernel's examples, counted from its output (null: its items are in the source). */
interface Sized { perExample: number; itemsPerExample: number }
const sizing = (p: SizedByBinding, perExample: number, itemsPerExample: number): Sized | null => (p.sizedByBinding ? { perExample, itemsPerExample } : null);

/** col [N OH OW, Cin k k] from x [N, Cin, H, W]. Bindings: x, col. */
export function im2col(g: ConvGeometry & Half & SizedByBinding): Kernel {
  const d = convDims('im2col', g);
  // An invocation fills the k k contiguous entries of one (row, input channel): the index maths
  // is done once for them, and the taps are unrolled into selects on clamped loads (no branches).
  const items = d.N * d.OHW * d.Cin;
  const taps = Array.from({ length: d.KK }, (_, tap) => {
    const ky = Math.floor(tap / d.K), kx = tap % d.K;
    const value = `select(0.0, ${load32(g.f16, 'x', `src + u32(clamp(iy0 + ${ky}, 0, ${d.H - 1}) * ${d.W} + clamp(ix0 + ${kx}, 0, ${d.W - 1}))`)}, ` +
      `iy0 + ${ky} >= 0 && iy0 + ${ky} < ${d.H} && ix0 + ${kx} >= 0 && ix0 + ${kx} < ${d.W})`;
    return `  ${storeAs(g.f16, 'col', `dst + ${tap}u`, value)}`;
  });
  return layoutKernel('im2col', [read('x'), write('col')], null, items, `
  let ci = e % ${d.Cin}u;
  let r = e / ${d.Cin}u;
  let n = r / ${d.OHW}u;
  let p = r % ${d.OHW}u;
  let iy0 = i32(p / ${d.OW}u) * ${d.S} - ${d.P};
  let ix0 = i32(p % ${d.OW}u) * ${d.S} - ${d.P};
  let src = (n * ${d.Cin}u + ci) * ${d.HW}u;
  let dst = r * ${d.CinKK}u + ci * ${d.KK}u;
${taps.join('\n')}`, g.f16, { input: d.N * d.Cin * d.HW, output: d.N * d.OHW * d.CinKK, channels: 0 }, sizing(g, d.OHW * d.CinKK, d.OHW * d.Cin));
}

/** dx [N, Cin, H, W] = epilogue(the adjoint of im2col applied to dcol [N OH OW, Cin k k]). Bindings: dcol, [bias], [below], dx. */
export function col2im(p: ConvGeometry & Epilogue & Half & SizedByBinding): Kernel {
  const d = convDims('col2im', p);
  const items = d.N * d.Cin * d.HW;
  // The taps that reach pixel iy are ky = (iy + p) mod s + s j, j < ceil(k / s), reading output
  // row oy = (iy + p - ky) / s when ky < k and 0 <= oy < OH; likewise along x. The ceil(k/s)^2
  // candidates are unrolled, each a select on a clamped load.
  const J = Math.ceil(d.K / d.S);
  const axis = (a: string, out: number) => Array.from({ length: J }, (_, j) => `
  let k${a}${j} = ${a}phase + ${d.S * j};
  let t${a}${j} = i${a} + ${d.P} - k${a}${j};
  let o${a}${j} = clamp(t${a}${j} / ${d.S}, 0, ${out - 1});
  let ok${a}${j} = k${a}${j} < ${d.K} && t${a}${j} >= 0 && t${a}${j} < ${out * d.S};`).join('');
  const terms = Array.from({ length: J * J }, (_, t) => {
    const jy = Math.floor(t / J), jx = t % J;
    return `  s += select(0.0, dcol[base + u32(oy${jy} * ${d.OW} + ox${jx}) * ${d.CinKK}u + u32(clamp(ky${jy} * ${d.K} + kx${jx}, 0, ${d.KK - 1}))], oky${jy} && okx${jx});`;
  });
  return layoutKernel('col2im', [read('dcol'), write('dx')], epilogueWGSL(p), items, `
  let ix = i32(e % ${d.W}u);
  let iy = i32((e / ${d.W}u) % ${d.H}u);
  let ci = (e / ${d.HW}u) % ${d.Cin}u;
  let n = e / ${d.Cin * d.HW}u;
  let yphase = (iy + ${d.P}) % ${d.S};
  let xphase = (ix + ${d.P}) % ${d.S};
${axis('y', d.OH)}
${axis('x', d.OW)}
  let base = n * ${d.OHW * d.CinKK}u + ci * ${d.KK}u;
  var s = 0.0;
${terms.join('\n')}
  ${storeAs(p.f16, 'dx', 'e', 'epilogue(s, e, ci)')}`, p.f16, { input: d.N * d.OHW * d.CinKK, output: items, channels: d.Cin }, sizing(p, d.Cin * d.HW, d.Cin * d.HW));
}

/** [N, C, P] with P pixels per channel: the shape convBiasGrad sums over, here transposed. */
export type ChannelLayout = Pick<ChannelSumShape, 'batch' | 'channels' | 'pixels'>;

/** rows [N P, C] from t [N, C, P] (NCHW -> NHWC). Bindings: t, rows. */
export function channelsToRows(s: ChannelLayout & Half & SizedByBinding): Kernel {
  const { batch: N, channels: C, pixels: P } = s;
  checkShape('channels_to_rows', { batch: N, channels: C, pixels: P });
  // One row (all C channels of one pixel) per invocation: its index maths is done once, not per
  // element. On SwiftShader, [64, 16, 1024]: 5.4-6.7 against 10.2-11.9 ms for one element each.
  return layoutKernel('channels_to_rows', [read('t'), write('rows')], null, N * P, `
  let src = (e / ${P}u) * ${C * P}u + e % ${P}u;
  let dst = e * ${C}u;
  for (var c = 0u; c < ${C}u; c++) {
    ${storeAs(s.f16, 'rows', 'dst + c', load32(s.f16, 't', `src + c * ${P}u`))}
  }`, s.f16, { input: N * C * P, output: N * P * C, channels: 0 }, sizing(s, P * C, P));
}

/** t [N, C, P] = epilogue(rows [N P, C] transposed per example) (NHWC -> NCHW). Bindings: rows, [bias], [below], t. */
export function rowsToChannels(s: ChannelLayout & Epilogue & Half & SizedByBinding): Kernel {
  const { batch: N, channels: C, pixels: P } = s;
  checkShape('rows_to_channels', { batch: N, channels: C, pixels: P });
  return layoutKernel('rows_to_channels', [read('rows'), write('t')], epilogueWGSL(s), N * C * P, `
  let p = e % ${P}u;
  let c = (e / ${P}u) % ${C}u;
  let n = e / ${C * P}u;
  ${storeAs(s.f16, 't', 'e', `epilogue(${load32(s.f16, 'rows', `(n * ${P}u + p) * ${C}u + c`)}, e, c)`)}`, s.f16, { input: N * P * C, output: N * C * P, channels: C }, sizing(s, C * P, C * P));
}
