// Group normalization (Wu & He 2018; PyTorch nn.GroupNorm) with a fused activation, forward and
// backward. x is [N, C, P] (P = H * W pixels, NCHW); the C channels fall into G groups of C / G
// consecutive channels, and one (example, group) segment is C / G * P CONTIGUOUS values, which
// is what makes every kernel below a plain strided sweep of one memory range.
//   forward     mean, var over a segment in two passes: a first mean m0, then d = x - m0 and
//               d^2, whose means correct it: mean = m0 + mean(d), var = mean(d^2) - mean(d)^2.
//               A large common offset costs no precision, and a constant segment (var under
//               eps, where rstd nears 1/sqrt(eps) = 316 and magnifies any error in the mean)
//               normalizes to exactly 0;
//               rstd = 1 / sqrt(var + eps), biased variance as PyTorch;
//               y = act((x - mean) rstd gamma[c] + beta[c]);  stats[seg] = (mean, rstd) for backward
//   input grad  from dy, the gradient with respect to the pre-activation (the affine output):
//               g = dy gamma[c],  xhat = (x - mean) rstd,  M = C / G * P,
//               dx = rstd (g - sum(g) / M - xhat sum(g xhat) / M)     (sums over the segment)
//   param grad  dgamma[c] = sum over examples and pixels of dy xhat,  dbeta[c] = sum of dy
// Grid: forward and input grad give one workgroup to each segment (N * G of them, split over x
// and y past 65,535); param grad gives one workgroup to each channel. GROUP_NORM.WORKGROUP
// invocations stride through the range and meet in a workgroup-memory tree sum. With `serial`
// (software adapters), forward and input grad give each segment ONE invocation, which sweeps it
// alone, GROUP_NORM.SERIAL_WORKGROUP segments to a workgroup: no workgroup memory, no barriers.
// SwiftShader pays dearly for barriers: at batch 64 a 16-32 channel conv VAE on 1x28x28 spent
// 254 of its 434 ms step in the tree-sum kernels (40 ms a forward over 512 segments of 196-392 values).
// Bindings: forward (x, gamma, beta: read; y, stats: write); input grad (x, stats, gamma, dy:
// read; dx: write); param grad (x, stats, dy: read; dgamma, dbeta: write). gamma, beta and their
// gradients are [C] slices of the flat parameter and gradient buffers.
// With `f16` (half.ts), x and y may be stored as f16; the sums and stats stay f32.
// Reference: tests/reference/group-norm.ts.
import { ConfigError } from './errors';
import { activationWGSL, checkActivation, type Activation } from './activation';
import { checkShape, declareBindings, exactWhenSized, f32Literal, FLAT_INDEX_WGSL, grid1D, itemCountWGSL, minBindingBytes, read, workgroupTreeSum, write, type Kernel } from './common';
import { load32, storeAs, withHalf, type HalfBindings } from './half';
import { wgsl } from './wgsl';

/**
 * WORKGROUP: invocations that share one segment's (or one channel's) sums, a power of two;
 * SERIAL_WORKGROUP: segments to a workgroup in the serial variants, one invocation each.
 */
export const GROUP_NORM = { WORKGROUP: 64, SERIAL_WORKGROUP: 64, EPS: 1e-5 } as const;

export interface GroupNormShape {
  /** Examples (rows). */
  batch: number;
  channels: number;
  /** Values per channel per example (H * W). */
  pixels: number;
  /** Groups; must divide channels. */
  groups: number;
  /** Bindings stored as f16: 'x' (every kernel), 'y' (forward). */
  f16?: HalfBindings;
}

/** How forward and input grad sweep a segment. */
export interface GroupNormSweep {
  /** One invocation per segment, no workgroup memory (software adapters); else a workgroup per segment. */
  serial?: boolean;
}

export interface GroupNormForwardParams extends GroupNormShape, GroupNormSweep {
  activation: Activation;
  /**
   * Read the batch from the `stats` binding's length (2 per group of each example) instead of the
   * source, so that one pipeline serves every batch; `stats` must be bound at exactly its examples.
   */
  sizedByBinding?: boolean;
}

function check(name: string, p: GroupNormShape): { M: number; cpg: number; segments: number } {
  checkShape(name, { batch: p.batch, channels: p.channels, pixels: p.pixels, groups: p.groups });
  if (p.channels % p.groups !== 0) throw new ConfigError(`${name}: ${p.groups} groups do not divide ${p.channels} channels`);
  const cpg = p.channels / p.groups;
  return { M: cpg * p.pixels, cpg, segments: p.batch * p.groups };
}

/** What the GroupNorm kernels reach: activations and their gradients whole, parameters per channel, (mean, rstd) per segment. */
function groupNormValues(p: GroupNormShape): Record<string, number> {
  const values = p.batch * p.channels * p.pixels;
  return { x: values, y: values, dy: values, dx: values, gamma: p.channels, beta: p.channels, dgamma: p.channels, dbeta: p.channels, stats: 2 * p.batch * p.groups };
}

const T = GROUP_NORM.WORKGROUP;

/**
 * The entry point of a kernel that gives each workgroup one segment (under a grid1D(segments, 1)
 * grid), or with `serial` each invocation one (under grid1D(segments, SERIAL_WORKGROUP)): `seg`,
 * `live` (false for the grid's padding, which in the shared form must still meet every barrier
 * but touch no memory; the serial form returns at once), `base` (its first value) and `group`,
 * and the segment's sweep: `e` from `first` by `sweep_step`.
 */
function segmentEntry(segments: string, M: number, groups: number, serial: boolean): string {
  return wgsl`#if ${serial}
@compute @workgroup_size(${GROUP_NORM.SERIAL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let seg = ${FLAT_INDEX_WGSL(GROUP_NORM.SERIAL_WORKGROUP)};
  if (seg >= ${segments}) { return; }
  let live = true;
  let first = 0u;
  let sweep_step = 1u;
#else
@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let seg = wid.x + wid.y * nwg.x;
  let live = seg < ${segments};
  let first = tid;
  let sweep_step = ${T}u;
#endif
  let base = seg * ${M}u;
  let group = seg % ${groups}u;`;
}

/**
 * `acc += sum of term(e)` over an invocation's part of a segment (e from `first` by `sweep_step`),
 * in blocks of SUM_BLOCK terms each summed apart first: the serial sweep adds up to a whole
 * segment (262,144 values for 64 channels of 64x64 in one group), where one running f32 sum lost
 * digits to each addition (a forward off by 5e-4 at a common offset of 50; 6e-6 in blocks).
 */
function blockedSum(acc: string, zero: string, M: number, term: (e: string) => string): string {
  return `for (var block = first; block < ${M}u; block += ${SUM_BLOCK}u * sweep_step) {
      let block_end = min(block + ${SUM_BLOCK}u * sweep_step, ${M}u);
      var part = ${zero};
      for (var e = block; e < block_end; e += sweep_step) { part += ${term('e')}; }
      ${acc} += part;
    }`;
}

/** Terms summed apart before they join a segment's running total (blockedSum). */
const SUM_BLOCK = 64;

/**
 * The total over a segment of each invocation's `name` (an f32 or vec2<f32>), as `total`: a
 * workgroup tree sum through `partial`, or in the serial form the invocation's own sum.
 */
function segmentTotal(name: string, total: string, serial: boolean): string {
  return wgsl`#if ${serial}
  let ${total} = ${name};
#else
  partial[tid] = ${name};
  ${workgroupTreeSum(T)}
  let ${total} = partial[0];
  workgroupBarrier();
#endif`;
}

/** y = act((x - mean) rstd gamma + beta) per segment; stats = (mean, rstd) per segment. */
export function groupNormForward(p: GroupNormForwardParams): Kernel {
  const { M, cpg, segments } = check('group_norm_forward', p);
  checkActivation('group_norm_forward', 'activation', p.activation);
  const { bindings, enable, tag } = withHalf('group_norm_forward', [read('x'), read('gamma'), read('beta'), write('y'), write('stats')], p.f16, ['x', 'y']);
  const x = (i: string) => load32(p.f16, 'x', i);
  const serial = !!p.serial;
  const code = wgsl`${enable}
${activationWGSL(p.activation)}
${declareBindings(bindings)}
#if ${!serial}
var<workgroup> partial: array<vec2<f32>, ${T}>;
#endif

// (x[i] - mean, (x[i] - mean)^2), x loaded once.
fn deviation_and_square(i: u32, mean: f32) -> vec2<f32> {
  let d = ${x('i')} - mean;
  return vec2<f32>(d, d * d);
}

${segmentEntry(itemCountWGSL(segments, p.sizedByBinding ? { output: 'stats', perExample: 2 * p.groups, itemsPerExample: p.groups } : null), M, p.groups, serial)}
  var s = vec2<f32>(0.0);
  if (live) {
    ${blockedSum('s.x', '0.0', M, (e) => x(`base + ${e}`))}
  }
${segmentTotal('s', 'sum', serial)}
  // The first mean, off by the rounding of a long f32 sum; the deviations from it correct it.
  let mean0 = sum.x / ${M}.0;
  var v = vec2<f32>(0.0);
  if (live) {
    ${blockedSum('v', 'vec2<f32>(0.0)', M, (e) => `deviation_and_square(base + ${e}, mean0)`)}
  }
${segmentTotal('v', 'dev', serial)}
  let corr = dev.x / ${M}.0;
  let mean = mean0 + corr;
  let rstd = inverseSqrt(max(dev.y / ${M}.0 - corr * corr, 0.0) + ${f32Literal(GROUP_NORM.EPS)});
  if (!live) { return; }
  if (first == 0u) { stats[2u * seg] = mean; stats[2u * seg + 1u] = rstd; }
  for (var e = first; e < ${M}u; e += sweep_step) {
    let c = group * ${cpg}u + e / ${p.pixels}u;
    ${storeAs(p.f16, 'y', 'base + e', `act((${x('base + e')} - mean) * rstd * gamma[c] + beta[c])`)}
  }
}`;
  return {
    name: `group_norm_forward_${p.activation}${tag}${serial ? '_serial' : ''}${p.sizedByBinding ? '_any_batch' : ''}`, code, bindings, minBytes: minBindingBytes(bindings, groupNormValues(p)),
    ...exactWhenSized(p.sizedByBinding, 'stats'), workgroups: grid1D(segments, serial ? GROUP_NORM.SERIAL_WORKGROUP : 1),
  };
}

/** dx from dy (with respect to the affine output), x and the forward's stats. */
export function groupNormInputGrad(p: GroupNormShape & GroupNormSweep): Kernel {
  const { M, cpg, segments } = check('group_norm_input_grad', p);
  const { bindings, enable, tag } = withHalf('group_norm_input_grad', [read('x'), read('stats'), read('gamma'), read('dy'), write('dx')], p.f16, ['x']);
  const x = load32(p.f16, 'x', 'base + e');
  const serial = !!p.serial;
  const code = wgsl`${enable}
${declareBindings(bindings)}
#if ${!serial}
var<workgroup> partial: array<vec2<f32>, ${T}>;
#endif

// (g, g xhat) of value e of a segment, g = dy gamma[c].
fn input_grad_terms(e: u32, base: u32, group: u32, mean: f32, rstd: f32) -> vec2<f32> {
  let g = dy[base + e] * gamma[group * ${cpg}u + e / ${p.pixels}u];
  return vec2<f32>(g, g * (${load32(p.f16, 'x', 'base + e')} - mean) * rstd);
}

${segmentEntry(itemCountWGSL(segments, null), M, p.groups, serial)}
  var mean = 0.0;
  var rstd = 0.0;
  if (live) { mean = stats[2u * seg]; rstd = stats[2u * seg + 1u]; }
  // (sum g, sum g xhat) over the segment.
  var s = vec2<f32>(0.0);
  if (live) {
    ${blockedSum('s', 'vec2<f32>(0.0)', M, (e) => `input_grad_terms(${e}, base, group, mean, rstd)`)}
  }
${segmentTotal('s', 'sums', serial)}
  let m = sums / ${M}.0;
  if (!live) { return; }
  for (var e = first; e < ${M}u; e += sweep_step) {
    let g = dy[base + e] * gamma[group * ${cpg}u + e / ${p.pixels}u];
    let xhat = (${x} - mean) * rstd;
    dx[base + e] = rstd * (g - m.x - xhat * m.y);
  }
}`;
  return { name: `group_norm_input_grad${tag}${serial ? '_serial' : ''}`, code, bindings, minBytes: minBindingBytes(bindings, groupNormValues(p)), workgroups: grid1D(segments, serial ? GROUP_NORM.SERIAL_WORKGROUP : 1) };
}

/** dgamma[c] = sum dy xhat and dbeta[c] = sum dy over examples and pixels: one workgroup per channel. */
export function groupNormParamGrad(p: GroupNormShape): Kernel {
  const { cpg } = check('group_norm_param_grad', p);
  const { batch: N, channels: C, pixels: P } = p;
  const { bindings, enable, tag } = withHalf('group_norm_param_grad', [read('x'), read('stats'), read('dy'), write('dgamma'), write('dbeta')], p.f16, ['x']);
  const code = wgsl`${enable}
${declareBindings(bindings)}
var<workgroup> partial: array<vec2<f32>, ${T}>;

@compute @workgroup_size(${T})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) tid: u32) {
  let c = wid.x;
  let group = c / ${cpg}u;
  var s = vec2<f32>(0.0);
  for (var e = tid; e < ${N * P}u; e += ${T}u) {
    let n = e / ${P}u;
    let i = (n * ${C}u + c) * ${P}u + e % ${P}u;
    let seg = n * ${p.groups}u + group;
    let d = dy[i];
    s += vec2<f32>(d * (${load32(p.f16, 'x', 'i')} - stats[2u * seg]) * stats[2u * seg + 1u], d);
  }
  partial[tid] = s;
  ${workgroupTreeSum(T)}
  if (tid == 0u) { dgamma[c] = partial[0].x; dbeta[c] = partial[0].y; }
}`;
  return { name: `group_norm_param_grad${tag}`, code, bindings, minBytes: minBindingBytes(bindings, groupNormValues(p)), workgroups: [C, 1, 1] };
}
