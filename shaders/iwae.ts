// The importance-weighted bound (Burda, Grosse & Salakhutdinov 2015) from the decoder's row
// losses: with K samples z_k = mu + sigma eps_k of one example,
//   log w_k = -rec_k + log p(z_k) - log q(z_k | x) = -rec_k + sum_j (-z_kj^2 + eps_kj^2 + lv_j) / 2
// (the log(2 pi) terms cancel), and -log p(x) <= bound = -(logsumexp_k log w_k - log K).
// Its gradient, with eps held fixed and w~_k = softmax_k(log w_k), is -sum_k w~_k d log w_k:
//   the row weight of row k (for the likelihood's gradient) is w~_k / n,
//   d/dz_k through log p(z) is w~_k z_k / n           (dz_direct, added by the sampler),
//   d/dlv_j through log q is -sum_k w~_k / (2 n)      (dq_direct; zero on mu).
// With K = 1 the bound is the single-sample ELBO estimate rec + log q - log p (a Monte Carlo KL).
// `iwaeWeights`: one invocation per example: log-weights, bound[b] and, with gradients,
//   row_weight, dz_direct and dq_direct. A stable logsumexp: the max is subtracted first. The
//   log-weights go to log_weight, or with gradients to row_weight, which they become: that keeps
//   the gradient variant at 8 storage buffers, WebGPU's default maxStorageBuffersPerShaderStage.
// `iwaeReduce`: the loss record, as elboReduce's: history[slot] = (bound mean, rec mean, kl mean,
//   n), accum += (bound sum, rec sum / K, kl sum, n).
// `iwaeChunk`: evaluation with many samples, K_c at a time: a running logsumexp (max, sum) per
//   example in `state`, reset when params.chunk is 0; after the last chunk (which may hold fewer
//   than K_c of the params.total_samples) it writes the example's bound with
//   log K = log params.total_samples to bounds[batch_start + b].
// Bindings: weights (q, z, eps, rec: read, then log_weight, bound: write; with gradients params,
//   q, z, eps, rec: read, then bound, row_weight, dz_direct, dq_direct: write); reduce (params, bound, rec, kl: read, history, accum: write);
//   chunk (params, q, z, eps, rec: read, state, bounds: write).
import { checkShape, declareBindings, minBindingBytes, workgroupTreeSum, read, STEP_PARAMS, uniform, write, type Kernel, type KernelBinding } from './common';
import { checkLayout, posteriorValues, posteriorWGSL, type PosteriorLayout } from './reparam';
import { wgsl } from './wgsl';

const IWAE_WORKGROUP = 64;

export interface IwaeParams {
  batch: number;
  /** Importance samples per example in this graph (K, or K_c for a chunk). */
  samples: number;
  layout: PosteriorLayout;
}

/** log w of sample k of example b, from rec, z, eps and the posterior's logvar. */
function logWeightWGSL(B: number, Z: number): string {
  return `
fn log_w(b: u32, k: u32) -> f32 {
  var lw = -rec[k * ${B}u + b];
  for (var j = 0u; j < ${Z}u; j++) {
    let e = (k * ${B}u + b) * ${Z}u + j;
    let zz = z[e];
    let ee = eps[e];
    lw += 0.5 * (ee * ee - zz * zz + logvar_at(b, j));
  }
  return lw;
}`;
}

/** The declarations both log-weight kernels open with: the step's uniform, their bindings, the posterior's accessors and log_w. */
function iwaePreludeWGSL(bindings: KernelBinding[], layout: PosteriorLayout, B: number): string {
  return `${STEP_PARAMS.wgsl}
${declareBindings(bindings)}
${posteriorWGSL(layout)}
${logWeightWGSL(B, layout.latent)}`;
}

export function iwaeWeights(p: IwaeParams & { gradients: boolean }): Kernel {
  const { batch: B, samples: K, layout } = p;
  checkShape('iwae_weights', { batch: B, samples: K });
  checkLayout('iwae_weights', layout);
  const Z = layout.latent;
  const g = p.gradients;
  // Only the gradients read the step uniform (its valid_rows); without them it is not bound, so
  // that an app's 'auto' pipeline layout holds every binding the kernel lists.
  const bindings = [
    ...(g ? [uniform()] : []), read('q'), read('z'), read('eps'), read('rec'),
    ...(g ? [write('bound'), write('row_weight'), write('dz_direct'), write('dq_direct')] : [write('log_weight'), write('bound')]),
  ];
  const code = wgsl`
${iwaePreludeWGSL(bindings, layout, B)}
// Where the log-weights are kept until the weights replace them.
#if ${g}
fn put_log_weight(r: u32, v: f32) { row_weight[r] = v; }
fn log_weight_at(r: u32) -> f32 { return row_weight[r]; }
#else
fn put_log_weight(r: u32, v: f32) { log_weight[r] = v; }
fn log_weight_at(r: u32) -> f32 { return log_weight[r]; }
#endif

@compute @workgroup_size(${IWAE_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x;
  if (b >= ${B}u) { return; }
  var m = log_w(b, 0u);
  put_log_weight(b, m);
  for (var k = 1u; k < ${K}u; k++) {
    let lw = log_w(b, k);
    put_log_weight(k * ${B}u + b, lw);
    m = max(m, lw);
  }
  var s = 0.0;
  for (var k = 0u; k < ${K}u; k++) { s += exp(log_weight_at(k * ${B}u + b) - m); }
  bound[b] = -(m + log(s) - log(${K}.0));
#if ${g}
  let n = params.valid_rows;
  let scale = select(0.0, 1.0 / (s * f32(max(n, 1u))), b < n);
  var weight_sum = 0.0;
  for (var k = 0u; k < ${K}u; k++) {
    let r = k * ${B}u + b;
    let w = exp(log_weight_at(r) - m) * scale;
    row_weight[r] = w;
    weight_sum += w;
    for (var j = 0u; j < ${Z}u; j++) { dz_direct[r * ${Z}u + j] = w * z[r * ${Z}u + j]; }
  }
  for (var j = 0u; j < ${Z}u; j++) {
    dq_direct[b * ${layout.stride}u + ${layout.mu}u + j] = 0.0;
    dq_direct[b * ${layout.stride}u + ${layout.logvar}u + j] = -0.5 * weight_sum;
  }
#endif
}`;
  const q = posteriorValues(B, layout);
  const minBytes = minBindingBytes(bindings, { q, z: K * B * Z, eps: K * B * Z, rec: K * B, log_weight: K * B, bound: B, row_weight: K * B, dz_direct: K * B * Z, dq_direct: q });
  return { name: g ? 'iwae_weights_grad' : 'iwae_weights', code, bindings, minBytes, workgroups: [Math.ceil(B / IWAE_WORKGROUP), 1, 1] };
}

const REDUCE_THREADS = 64;

export function iwaeReduce(p: { batch: number; samples: number }): Kernel {
  const { batch: B, samples: K } = p;
  checkShape('iwae_reduce', { batch: B, samples: K });
  const bindings = [uniform(), read('bound'), read('rec'), read('kl'), write('history', 'array<vec4<f32>>'), write('accum', 'array<vec4<f32>>')];
  const code = wgsl`
${STEP_PARAMS.wgsl}
${declareBindings(bindings)}
var<workgroup> partial: array<vec3<f32>, ${REDUCE_THREADS}>;

@compute @workgroup_size(${REDUCE_THREADS})
fn main(@builtin(local_invocation_index) tid: u32) {
  let n = min(params.valid_rows, ${B}u);
  var sums = vec3<f32>(0.0);
  for (var b = tid; b < n; b += ${REDUCE_THREADS}u) {
    var rec_b = 0.0;
    for (var k = 0u; k < ${K}u; k++) { rec_b += rec[k * ${B}u + b]; }
    sums += vec3<f32>(bound[b], rec_b, kl[b]);
  }
  partial[tid] = sums;
  ${workgroupTreeSum(REDUCE_THREADS)}
  if (tid == 0u) {
    let s = partial[0];
    let nf = f32(max(n, 1u));
    history[params.history_slot] = vec4<f32>(s.x / nf, s.y / (${K}.0 * nf), s.z / nf, f32(n));
    accum[0] += vec4<f32>(s.x, s.y / ${K}.0, s.z, f32(n));
  }
}`;
  // history is indexed by params.history_slot, which only the caller knows: one record at least.
  const minBytes = minBindingBytes(bindings, { bound: B, rec: K * B, kl: B, history: 4, accum: 4 });
  return { name: 'iwae_reduce', code, bindings, minBytes, workgroups: [1, 1, 1] };
}

export function iwaeChunk(p: IwaeParams): Kernel {
  const { batch: B, samples: K, layout } = p;
  checkShape('iwae_chunk', { batch: B, samples: K });
  checkLayout('iwae_chunk', layout);
  const Z = layout.latent;
  const bindings = [uniform(), read('q'), read('z'), read('eps'), read('rec'), write('state', 'array<vec2<f32>>'), write('bounds')];
  const code = wgsl`
${iwaePreludeWGSL(bindings, layout, B)}

@compute @workgroup_size(${IWAE_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x;
  if (b >= ${B}u) { return; }
  // The last chunk may hold fewer of the K samples than the others (K prime, say): the rest of
  // its rows are drawn but left out.
  let k_valid = min(${K}u, params.total_samples - params.chunk * ${K}u);
  var m = log_w(b, 0u);
  for (var k = 1u; k < k_valid; k++) { m = max(m, log_w(b, k)); }
  var s = 0.0;
  for (var k = 0u; k < k_valid; k++) { s += exp(log_w(b, k) - m); }
  if (params.chunk > 0u) {
    let old = state[b];
    let top = max(old.x, m);
    s = old.y * exp(old.x - top) + s * exp(m - top);
    m = top;
  }
  state[b] = vec2<f32>(m, s);
  if ((params.chunk + 1u) * ${K}u >= params.total_samples && b < params.valid_rows) {
    bounds[params.batch_start + b] = -(m + log(s) - log(f32(params.total_samples)));
  }
}`;
  // bounds is indexed from params.batch_start, over the whole evaluation: one value at least.
  const minBytes = minBindingBytes(bindings, { q: posteriorValues(B, layout), z: K * B * Z, eps: K * B * Z, rec: K * B, state: 2 * B, bounds: 1 });
  return { name: 'iwae_chunk', code, bindings, minBytes, workgroups: [Math.ceil(B / IWAE_WORKGROUP), 1, 1] };
}
