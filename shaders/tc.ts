// The total correlation of the aggregate posterior (beta-TCVAE, Chen, Li, Grosse & Duvenaud 2018),
// estimated on the batch. With S samples per example, row i = s*B + b holds z_i ~ q(z | x_b); for
// the n valid examples j and every latent dimension d, with log-weights c_ij,
//   l_ijd = log N(z_id; mu_jd, e^lv_jd) = -((z_id - mu_jd)^2 e^-lv_jd + lv_jd + log 2 pi) / 2,
//   A_i   = logsumexp_j (sum_d l_ijd + c_ij)   (~ log q(z_i)),
//   M_id  = logsumexp_j (l_ijd + c_ij)         (~ log q(z_id)),
//   TC_i  = A_i - sum_d M_id,
// N being the training set's size (params.dataset_count, or n when the batch is given directly).
// `estimator` 'mws' (minibatch-weighted sampling, the paper's main one): c_ij = -log(N n) for every
// j; the kernel leaves c out of the sums and adds (Z - 1) log(N n) to TC_i instead. 'mss'
// (two-strata stratified sampling; the authors' code weighs one other example apart from the rest,
// these weights treat the others alike): q(z_i) = q(z_i | x_b) / N + sum over the N - 1 other examples / N, the second
// stratum estimated from the batch's n - 1 others, so c_ib = -log N for its own example and
// c_ij = log((N - 1) / (N (n - 1))) for the others: an unbiased estimate of q(z_i) (not of its
// log), whose offset does not grow with log N as MWS's does. With N = n, MSS takes the batch's
// exact mixture (every c_ij = -log n), while MWS's weights sum to 1 / N: its TC is (Z - 1) log N
// higher than MSS's there, a constant without a gradient.
// The objective adds c * mean_i TC_i, c = tc_excess * params.kl_weight with tc_excess = beta - 1:
// with the closed-form KL beside it, that is MI + beta TC + dimension-wise KL, the paper's
// alpha = gamma = 1. Its gradient, with P_ij = softmax_j(sum_d l_ijd + c_ij) and
// R_ijd = softmax_j(l_ijd + c_ij) (c constant):
//   d TC_i / d l_ijd = P_ij - R_ijd,
//   d l / d z_id = -(z_id - mu_jd) e^-lv_jd,  d l / d mu_jd = +(z_id - mu_jd) e^-lv_jd,
//   d l / d lv_jd = ((z_id - mu_jd)^2 e^-lv_jd - 1) / 2.
// The squared distance is formed as ((z - mu) e^(-lv/2))^2 so that z = mu meets a finite factor;
// lv is clamped to [-LV_LIMIT, LV_LIMIT] inside this estimate only (e^(LV_LIMIT/2) stays finite).
// Where one example j holds most of both softmaxes (P_ij > 1/2 and R_ijd > 1/2: a row drawn from
// its own narrow posterior), P_ij and R_ijd may both be within an f32 ulp of 1, and their
// difference, which the gradient multiplies by e^-lv_jd (e^30 at lv = -30), would be rounding
// alone. There the weight is taken as (1 - R_ijd) - (1 - P_ij), from the others' shares, which
// the online logsumexp keeps apart from the largest term at no extra pass: 1 - P = o / (1 + o),
// o the others' sum relative to the largest.
// With MSS and a single valid example (an epoch's last batch of one) the second stratum has no
// example to estimate it, so the row's TC is 0 (its gradient is 0 at any rate: P = R = 1).
// `tcRows`: one invocation per row i: two passes over j (online logsumexp, then the softmaxes),
//   writing tc[i], the row's stats (TC_STATS_PER_ROW(Z) values: M_i0..M_i(Z-1), A_i, then the
//   dominant's complements 1 - R_i0..1 - R_i(Z-1), 1 - P_i) and dz_direct[i] (0 on padding rows).
// `tcPosteriorGrad`: one invocation per example j: sums over the valid rows i the gradient on
//   mu_j and lv_j and adds it to dq_direct (the KL kernel wrote its share first).
// Bindings: rows (params, q, z: read, tc, stats, [dz_direct]: write);
//   posterior (params, q, z, stats: read, dq_direct: write).
import { checkChoice, checkShape, declareBindings, f32Literal, minBindingBytes, read, STEP_PARAMS, uniform, write, type Kernel, type KernelBinding } from './common';
import { checkLayout, posteriorValues, posteriorWGSL, type PosteriorLayout } from './reparam';
import { wgsl } from './wgsl';

const TC_WORKGROUP = 64;
/** Values per row of the `stats` binding: Z + 1 logsumexps, then Z + 1 complements (see the header). */
export const TC_STATS_PER_ROW = (latent: number) => 2 * (latent + 1);
/** |lv| beyond this is clamped in the estimate: e^(80/2) is far inside f32. */
export const LV_LIMIT = 80;

export const TC_ESTIMATORS = ['mws', 'mss'] as const;
/** Minibatch-weighted sampling (the default) or minibatch stratified sampling (see the header). */
export type TcEstimator = (typeof TC_ESTIMATORS)[number];

export interface TcParams {
  batch: number;
  /** S, the samples of z per example. */
  samples: number;
  layout: PosteriorLayout;
  /** beta - 1, the TC's weight beyond the one the KL already carries. */
  tcExcess: number;
  /** 'mws' (default) or 'mss'. */
  estimator?: TcEstimator;
}

/** l_ijd for row i's z and example j's posterior, dimension d, and its scaled distance t; c_ij. */
function densityWGSL(B: number, Z: number, mss: boolean): string {
  return wgsl`
const HALF_LOG_2PI = 0.9189385332046727;
struct Density { l: f32, t: f32, inv_sigma: f32 }
fn density(i: u32, j: u32, d: u32) -> Density {
  let lv = clamp(logvar_at(j, d), ${-LV_LIMIT}.0, ${LV_LIMIT}.0);
  let inv_sigma = exp(-0.5 * lv);
  let t = (z[i * ${Z}u + d] - mu_at(j, d)) * inv_sigma;
  return Density(-0.5 * (t * t + lv) - HALF_LOG_2PI, t, inv_sigma);
}
fn valid_examples() -> u32 { return min(params.valid_rows, ${B}u); }
// Online logsumexp step keeping the largest term apart: (largest, sum of the others' e^(v - largest)).
fn lse_push(acc: vec2<f32>, v: f32) -> vec2<f32> {
  if (v > acc.x) { return vec2<f32>(v, (acc.y + 1.0) * exp(acc.x - v)); }
  return vec2<f32>(acc.x, acc.y + exp(v - acc.x));
}
// d TC_i / d l_ijd from the softmaxes p = P_ij and r = R_ijd, and the complements of the dominant
// example's shares (cp = 1 - P, cr = 1 - R_d): from those where j dominates both (header).
fn tc_weight(p: f32, r: f32, cp: f32, cr: f32) -> f32 {
  return select(p - r, cr - cp, p > 0.5 && r > 0.5);
}
// c_ij for row i (of example i % B) and example j of the n valid ones: 0 for MWS, whose constant
// the row's TC adds at the end.
fn pair_log_weight(i: u32, j: u32, n: u32) -> f32 {
#if ${mss}
  let big_n = f32(max(params.dataset_count, n));
  if (j == i % ${B}u) { return -log(big_n); }
  return log(big_n - 1.0) - log(big_n) - log(f32(max(n, 2u) - 1u));
#else
  return 0.0;
#endif
}`;
}

function common(p: TcParams) {
  const { batch: B, samples: S, layout } = p;
  checkShape('tc', { batch: B, samples: S });
  checkLayout('tc', layout);
  checkChoice('tc', 'estimator', p.estimator ?? 'mws', TC_ESTIMATORS);
  const mss = p.estimator === 'mss';
  const Z = layout.latent;
  const prelude = (bindings: KernelBinding[]) => `
${STEP_PARAMS.wgsl}
${declareBindings(bindings)}
${posteriorWGSL(layout)}
${densityWGSL(B, Z, mss)}
// The loss adds scale * sum over valid rows of TC_i: the mean over the S n rows times c.
fn tc_scale() -> f32 { return ${f32Literal(p.tcExcess)} * params.kl_weight / f32(${S}u * max(valid_examples(), 1u)); }`;
  /** What every tc kernel's bindings reach. */
  const values = { q: posteriorValues(B, layout), z: S * B * Z, tc: S * B, stats: S * B * TC_STATS_PER_ROW(Z), dz_direct: S * B * Z, dq_direct: posteriorValues(B, layout) };
  return { B, S, Z, STATS: TC_STATS_PER_ROW(Z), layout, prelude, values, mss, suffix: mss ? '_mss' : '' };
}

export function tcRows(p: TcParams & { gradients: boolean }): Kernel {
  const { B, S, Z, STATS, prelude, values, mss, suffix } = common(p);
  const bindings = [uniform(), read('q'), read('z'), write('tc'), write('stats'), ...(p.gradients ? [write('dz_direct')] : [])];
  const code = wgsl`
${prelude(bindings)}

@compute @workgroup_size(${TC_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= ${S * B}u) { return; }
  let n = valid_examples();
  let live = i % ${B}u < n;
  // Online logsumexp over j (lse_push) for the joint and for each dimension.
  var joint_acc = vec2<f32>(-3.0e38, 0.0);
  var dim_acc: array<vec2<f32>, ${Z}>;
  for (var d = 0u; d < ${Z}u; d++) { dim_acc[d] = vec2<f32>(-3.0e38, 0.0); }
  for (var j = 0u; j < n; j++) {
    let c = pair_log_weight(i, j, n);
    var joint = c;
    for (var d = 0u; d < ${Z}u; d++) {
      let own = density(i, j, d).l;
      joint += own;
      dim_acc[d] = lse_push(dim_acc[d], own + c);
    }
    joint_acc = lse_push(joint_acc, joint);
  }
  let a = joint_acc.x + log(1.0 + joint_acc.y);
  let cp = joint_acc.y / (1.0 + joint_acc.y);
  var m_max: array<f32, ${Z}>; // M_id, which the gradient pass reads
  var cr: array<f32, ${Z}>;
  var marginal_sum = 0.0;
  let row = i * ${STATS}u;
  for (var d = 0u; d < ${Z}u; d++) {
    let acc = dim_acc[d];
    m_max[d] = acc.x + log(1.0 + acc.y);
    cr[d] = acc.y / (1.0 + acc.y);
    marginal_sum += m_max[d];
    stats[row + d] = m_max[d];
    stats[row + ${Z + 1}u + d] = cr[d];
  }
  stats[row + ${Z}u] = a;
  stats[row + ${2 * Z + 1}u] = cp;
#if ${mss}
  tc[i] = select(0.0, a - marginal_sum, live && n > 1u);
#else
  let log_nn = log(f32(max(params.dataset_count, n))) + log(f32(max(n, 1u)));
  tc[i] = select(0.0, a - marginal_sum + ${Z - 1}.0 * log_nn, live);
#endif
#if ${p.gradients}
  var g: array<f32, ${Z}>;
  var dens: array<Density, ${Z}>;
  for (var d = 0u; d < ${Z}u; d++) { g[d] = 0.0; }
  if (live) {
    for (var j = 0u; j < n; j++) {
      let c = pair_log_weight(i, j, n);
      var joint = c;
      for (var d = 0u; d < ${Z}u; d++) { dens[d] = density(i, j, d); joint += dens[d].l; }
      let pij = exp(joint - a);
      for (var d = 0u; d < ${Z}u; d++) {
        let e = dens[d];
        let w = tc_weight(pij, exp(e.l + c - m_max[d]), cp, cr[d]);
        // d l / d z = -t / sigma. A pair too far apart for f32 has w = 0 and may have t^2 = inf.
        g[d] -= select(0.0, w * e.t * e.inv_sigma, w != 0.0);
      }
    }
  }
  let s = tc_scale();
  for (var d = 0u; d < ${Z}u; d++) { dz_direct[i * ${Z}u + d] = select(0.0, s * g[d], live); }
#endif
}`;
  return { name: `${p.gradients ? 'tc_rows_grad' : 'tc_rows'}${suffix}`, code, bindings, minBytes: minBindingBytes(bindings, values), workgroups: [Math.ceil((S * B) / TC_WORKGROUP), 1, 1] };
}

export function tcPosteriorGrad(p: TcParams): Kernel {
  const { B, S, Z, STATS, layout, prelude, values, suffix } = common(p);
  const bindings = [uniform(), read('q'), read('z'), read('stats'), write('dq_direct')];
  const code = wgsl`
${prelude(bindings)}

@compute @workgroup_size(${TC_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  let n = valid_examples();
  if (j >= n) { return; }
  var dens: array<Density, ${Z}>;
  var gm: array<f32, ${Z}>;
  var gl: array<f32, ${Z}>;
  for (var d = 0u; d < ${Z}u; d++) { gm[d] = 0.0; gl[d] = 0.0; }
  for (var s = 0u; s < ${S}u; s++) {
    for (var b = 0u; b < n; b++) {
      let i = s * ${B}u + b;
      let c = pair_log_weight(i, j, n);
      var joint = c;
      for (var d = 0u; d < ${Z}u; d++) { dens[d] = density(i, j, d); joint += dens[d].l; }
      let row = i * ${STATS}u;
      let pij = exp(joint - stats[row + ${Z}u]);
      let cp = stats[row + ${2 * Z + 1}u];
      for (var d = 0u; d < ${Z}u; d++) {
        let e = dens[d];
        let w = tc_weight(pij, exp(e.l + c - stats[row + d]), cp, stats[row + ${Z + 1}u + d]);
        // A pair too far apart for f32 has w = 0 and may have t^2 = inf: skip it.
        let on = w != 0.0;
        gm[d] += select(0.0, w * e.t * e.inv_sigma, on);
        // Inside the clamp lv moves l; outside it the estimate does not depend on lv.
        let lv = logvar_at(j, d);
        gl[d] += select(0.0, w * 0.5 * (e.t * e.t - 1.0), on && abs(lv) <= ${LV_LIMIT}.0);
      }
    }
  }
  let sc = tc_scale();
  for (var d = 0u; d < ${Z}u; d++) {
    dq_direct[j * ${layout.stride}u + ${layout.mu}u + d] += sc * gm[d];
    dq_direct[j * ${layout.stride}u + ${layout.logvar}u + d] += sc * gl[d];
  }
}`;
  return { name: `tc_posterior_grad${suffix}`, code, bindings, minBytes: minBindingBytes(bindings, values), workgroups: [Math.ceil(B / TC_WORKGROUP), 1, 1] };
}
