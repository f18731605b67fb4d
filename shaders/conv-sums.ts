// The sums of the convolution family that are not convolutions (conv.ts has those):
//   weight-gradient sum  dw = sum over slices of dwSlices, the second half of a split weight
//                        gradient (conv2dWeightGrad with splits > 1)          convWeightGradSum
//   bias grad            db[c] = sum over examples and pixels of dy[n, c, :]  convBiasGrad
// A bias gradient runs as a workgroup tree per channel (in slices where the channels are few:
// convBiasGradSlices) or, on software adapters, as one invocation per channel (biasGradThreads).
// Bindings: weight-gradient sum (dwSlices: read, dw: write); bias grad (dy: read, db: write; split:
// dy: read, dbSlices: write, then the slices' sum).
import { ConfigError, shown } from './errors';
import { checkShape, declareBindings, kSliceLength, kSplits, minBindingBytes, read, sliceSum, workgroupTreeSum, write, type Kernel } from './common';
import { CONV_TILES } from './conv';
import { wgsl } from './wgsl';

/** dw[i] = the sum over slices s of dwSlices[s, i]: the second half of a split weight gradient. */
export function convWeightGradSum(p: { slices: number; weights: number }): Kernel {
  // Checked here, by this factory's own parameter names: sliceSum's message would name its `length`.
  if (!(Number.isInteger(p.slices) && p.slices >= 2 && Number.isInteger(p.weights) && p.weights > 0)) {
    throw new ConfigError(`conv2d_weight_grad_sum: slices ${shown(p.slices)} and weights ${shown(p.weights)} must be integers, slices at least 2 (weightGradSplits) and weights at least 1`);
  }
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

/** Channels per workgroup of the serial bias gradient (one invocation each, one SIMD row of a software adapter): read by its WGSL and its grid. */
const SERIAL_CHANNELS_PER_WORKGROUP = 4;

/** db[c] = sum over n and pixels of dy[n, c, :]: the bias gradient of either layer. Bindings: dy, db. */
export function convBiasGrad(p: ChannelSumShape): Kernel {
  const { batch: N, channels: C, pixels: P } = p;
  checkShape('conv_bias_grad', { batch: N, channels: C, pixels: P });
  const T = CONV_TILES.biasGrad.WORKGROUP;
  const bindings = [read('dy'), write('db')];
  const minBytes = minBindingBytes(bindings, { dy: N * C * P, db: C });
  // The serial form has no slices: refused rather than dropped (it would bind db, not dbSlices).
  if (p.threadsPerChannel === 1 && (p.slices ?? 1) !== 1) throw new ConfigError(`conv_bias_grad: slices ${p.slices} split the workgroup-tree form only; leave slices out with threadsPerChannel 1, or use threadsPerChannel ${T}`);
  if (p.threadsPerChannel === 1) {
    // Four running sums over each example's run of P pixels, so the adds do not wait on each other.
    const code = wgsl`${declareBindings(bindings)}

@compute @workgroup_size(${SERIAL_CHANNELS_PER_WORKGROUP})
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
    return { name: 'conv_bias_grad_serial', code, bindings, minBytes, workgroups: [Math.ceil(C / SERIAL_CHANNELS_PER_WORKGROUP), 1, 1] };
  }
  if (p.threadsPerChannel !== undefined && p.threadsPerChannel !== T) throw new ConfigError(`conv_bias_grad: threadsPerChannel ${p.threadsPerChannel}; use 1 or ${T}`);
  const slices = p.slices ?? 1;
  if (slices !== 1 && slices !== convBiasGradSlices(p)) throw new ConfigError(`conv_bias_grad: slices ${slices}; use convBiasGradSlices(shape), which gives ${convBiasGradSlices(p)}`);
  const split = slices > 1;
  const len = split ? kSliceLength(N * P, slices, T) : N * P;
  const splitBindings = [read('dy'), write('dbSlices')];
  const code = wgsl`${declareBindings(split ? splitBindings : bindings)}
var<workgroup> partial: array<f32, ${T}>;

@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let c = wid.x;
#if ${split}
  // Values [first, last) of the channel's N * P: slice wid.y, ${len} long.
  let first = wid.y * ${len}u;
  let last = min(first + ${len}u, ${N * P}u);
#else
  let first = 0u;
  let last = ${N * P}u;
#endif
  var s = 0.0;
  for (var e = first + tid; e < last; e += ${T}u) {
    s += dy[((e / ${P}u) * ${C}u + c) * ${P}u + e % ${P}u];
  }
  partial[tid] = s;
  ${workgroupTreeSum(T)}
#if ${split}
  if (tid == 0u) { dbSlices[wid.y * ${C}u + c] = partial[0]; }
#else
  if (tid == 0u) { db[c] = partial[0]; }
#endif
}`;
  if (!split) return { name: 'conv_bias_grad', code, bindings, minBytes, workgroups: [C, 1, 1] };
  return { name: 'conv_bias_grad_split', code, bindings: splitBindings, minBytes: minBindingBytes(splitBindings, { dy: N * C * P, dbSlices: slices * C }), workgroups: [C, slices, 1] };
}
