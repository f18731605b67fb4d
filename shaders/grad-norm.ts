// The step's health check, run after the backward pass and before the optimizer, all on the GPU so
// nothing is read back per step:
//   `gradNormPartial`  the squared global gradient norm over the flat gradient buffer, in
//                      GRAD_NORM.partials partial sums: invocation i adds up vec4s i, i + P,
//                      i + 2P, ... (P = GRAD_NORM.partials), so neighbouring invocations read
//                      neighbouring memory, and no workgroup memory or barrier is needed (on
//                      SwiftShader a 64x256 tree-sum version took three times the optimizer's
//                      time). Padding between tensors has zero gradient.
//   `stepHealth`       one invocation: the partials into ||g|| (four running sums, no workgroup
//                      memory: a 256-invocation tree sum's barriers took SwiftShader 0.8 ms,
//                      about 1% of the default step), the step's loss from its loss
//                      record (history[slot].x, written by the objective's reduction), and a
//                      verdict. A step is bad when
//                        bit 0  its loss is NaN or +-Inf,
//                        bit 1  its gradient norm is (a sum of squares past f32's 3.4e38, i.e.
//                               ||g|| > 1.8e19, counts: such a step is no better than an Inf),
//                        bit 2  it diverges: the smoothed loss s = e + (loss - e) / 16 (e the
//                               running mean of the accepted steps' losses, weight 1/16 on the
//                               newest) exceeds the running minimum of e by more than
//                               9 max(|min|, 1): ten times the minimum when it is >= 1. The
//                               smoothing keeps one hard batch (small batches vary by 10x) from
//                               looking like divergence; a blow-up of the loss shows at once.
//                      The first step only sets e. A bad step changes neither e nor the minimum.
//                      The verdict goes to health[slot] = (||g||, flags, clip scale, e), which the
//                      loss ring reads with the losses, and to watch[1] = (apply, clip scale,
//                      ||g||, flags), which the gated optimizer (adam.ts) reads: a bad step is not
//                      applied. The clip scale is min(1, clip_norm / (||g|| + 1e-6)) as in
//                      torch.nn.utils.clip_grad_norm_, or 1 when params.clip_norm is 0.
//                      watch[0] = (e, minimum, accepted steps, t) carries the watch across
//                      steps; t is Adam's step count, the steps applied (this one included when
//                      it is), for which watch[2] = (c1, c2, 0, 0) holds Adam's bias corrections
//                      for the optimizer: StepParams' (bias_c1, bias_c2, encoded in float64 for
//                      params.adam_step) when that is t, as it is until a step is refused, else
//                      derived here (bias-correction.ts). A refused step leaves t as it was,
//                      as PyTorch's GradScaler leaves Adam's step count when it skips a step: t is
//                      counted here because only the GPU knows which steps were applied. It is
//                      an f32, exact up to 2^24 steps; past them it stays, but by then the
//                      corrections of any beta up to 1 - 2^-19 are exactly 1 in f32.
// Bindings: partial (g: read, partials: write); health (params, partials, history: read,
//   watch, health: write). Reference: tests/reference/grad-norm.ts.
import { ADAM_BIAS_WGSL } from './bias-correction';
import { checkShape, declareBindings, minBindingBytes, read, sizedArray, STEP_PARAMS, uniform, write, type Kernel } from './common';
import { wgsl } from './wgsl';

/**
 * Partial sums of the squared gradient (one per invocation of the first kernel), that kernel's
 * workgroup size, and the invocations of the health check (one, which adds them all).
 */
export const GRAD_NORM = { partials: 1024, workgroup: 64, threads: 1 } as const;

/** The divergence rule's constants (see the header). */
export const DIVERGENCE = { factor: 10, smoothing: 1 / 16, floor: 1 } as const;

/** Bits of the health flags. */
export const HEALTH_FLAGS = { lossNotFinite: 1, gradNormNotFinite: 2, diverged: 4 } as const;

/** vec4s of the watch buffer: the running state, the optimizer's gate and Adam's bias corrections. */
export const WATCH_VEC4S = 3;

const vec4s = 'array<vec4<f32>>';

export function gradNormPartial(p: { count: number }): Kernel {
  checkShape('grad_norm_partial', { count: p.count });
  const vecs = Math.ceil(p.count / 4);
  const { partials, workgroup } = GRAD_NORM;
  // No step uniform: the sums read none of it (an unused binding breaks 'auto' layouts).
  // A sized g: its bounds checks are cheaper than a runtime-sized array's (common.ts, sizedArray).
  const bindings = [read('g', sizedArray('vec4<f32>', vecs)), write('partials', sizedArray('f32', partials))];
  const code = wgsl`
${declareBindings(bindings)}

@compute @workgroup_size(${workgroup})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  var s = 0.0;
  for (var k = i; k < ${vecs}u; k += ${partials}u) {
    let v = g[k];
    s += dot(v, v);
  }
  partials[i] = s;
}`;
  return { name: 'grad_norm_partial', code, bindings, minBytes: minBindingBytes(bindings, { g: p.count, partials }), workgroups: [partials / workgroup, 1, 1] };
}

export function stepHealth(): Kernel {
  const { threads, partials: count } = GRAD_NORM;
  const bindings = [uniform(), read('partials'), read('history', vec4s), write('watch', vec4s), write('health', vec4s)];
  const code = wgsl`
${STEP_PARAMS.wgsl}
${declareBindings(bindings)}
${ADAM_BIAS_WGSL}

// By the bits, so no compiler's fast-math assumptions can fold the test away.
fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

@compute @workgroup_size(${threads})
fn main() {
  var s = vec4<f32>(0.0);
  for (var k = 0u; k < ${count}u; k += 4u) {
    s += vec4<f32>(partials[k], partials[k + 1u], partials[k + 2u], partials[k + 3u]);
  }
  let squares = (s.x + s.y) + (s.z + s.w);
  let norm = sqrt(squares);
  let loss = history[params.history_slot].x;
  let state = watch[0];
  let seen = state.z;
  let loss_ok = finite(loss);
  let norm_ok = finite(squares);
  let smoothed = select(loss, state.x + ${DIVERGENCE.smoothing} * (loss - state.x), seen > 0.0);
  let lowest = state.y;
  let diverged = loss_ok && seen > 0.0 && smoothed - lowest > ${DIVERGENCE.factor - 1}.0 * max(abs(lowest), ${DIVERGENCE.floor}.0);
  let flags = select(0u, ${HEALTH_FLAGS.lossNotFinite}u, !loss_ok) | select(0u, ${HEALTH_FLAGS.gradNormNotFinite}u, !norm_ok) |
    select(0u, ${HEALTH_FLAGS.diverged}u, diverged);
  let scale = select(1.0, min(1.0, params.clip_norm / (norm + 1e-6)), params.clip_norm > 0.0 && norm_ok);
  let ok = flags == 0u;
  let t = state.w + select(0.0, 1.0, ok);
  if (ok) { watch[0] = vec4<f32>(smoothed, select(smoothed, min(lowest, smoothed), seen > 0.0), seen + 1.0, t); }
  watch[1] = vec4<f32>(select(0.0, 1.0, ok), scale, norm, f32(flags));
  // StepParams' corrections come from float64 (src/step-params.ts): used while t is theirs, so a
  // run with no refused step is corrected exactly as before the GPU counted; after a refusal, this
  // t's own, within a few ulp of them.
  let ours = adam_bias_corrections(u32(t), vec2<u32>(params.beta1_frac_hi, params.beta1_frac_lo), vec2<u32>(params.beta2_frac_hi, params.beta2_frac_lo));
  watch[2] = vec4<f32>(select(ours, vec2<f32>(params.bias_c1, params.bias_c2), u32(t) == params.adam_step), 0.0, 0.0);
  health[params.history_slot] = vec4<f32>(norm, f32(flags), scale, select(state.x, smoothed, ok));
}`;
  // history and health are indexed by params.history_slot, which only the caller knows: one record at least.
  const minBytes = minBindingBytes(bindings, { partials: count, history: 4, watch: 4 * WATCH_VEC4S, health: 4 });
  return { name: 'step_health', code, bindings, minBytes, workgroups: [1, 1, 1] };
}

/** The watch buffer's contents before the first step: nothing seen yet, no Adam step taken, every step applied. */
export function initialWatch(): Float32Array {
  return new Float32Array([0, 0, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0]);
}
