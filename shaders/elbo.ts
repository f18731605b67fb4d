// The ELBO's own terms: the closed-form KL to the prior, its gradient, free bits, and the
// per-step reduction that turns rows into the loss record. -ELBO = rec + w * KL with
//   KL(N(mu, e^lv) || N(0, 1)) = sum_j (e^lv + mu^2 - 1 - lv) / 2,
//   dKL/dmu = mu,  dKL/dlv = (e^lv - 1) / 2,
// w = params.kl_weight: beta times the warm-up ramp (for beta-TCVAE the ramp alone: its beta - 1
// is the tc_excess below), and free bits (Kingma et al. 2016):
// dimension j contributes max(lambda, KLbar_j), KLbar_j being the batch mean of its KL, so a
// dimension under lambda nats gets no KL gradient at all.
// `klDivergence`: one invocation per example: kl[b], and with gradients the direct gradient on
//   the posterior dq_direct = w / n * dKL (zero for padding rows), which the sampler's backward
//   adds to the decoder's (reparam.ts). Without free bits this is all the KL needs.
// `klFreeBits`: one invocation per latent dimension: KLbar_j into kl_dims[j] and dq_direct with
//   the dimensions under lambda switched off (replaces klDivergence's gradient).
// `klCapacity`: capacity control (Burgess et al. 2018), loss = rec + w |KLbar - C| with KLbar the
//   batch-mean KL and C = params.kl_capacity. One workgroup: kl[b], their sum, then
//   dq_direct = w sign(KLbar - C) / n * dKL, so the KL is pulled up to C as well as down to it
//   (replaces klDivergence's gradient).
// `elboReduce`: one workgroup sums rec over valid rows and kl over valid examples, writes the
//   record (loss, rec mean, kl mean, n) to history[slot] and adds (rec sum / L, kl sum, n, 1) to
//   accum, the running totals of a training run. An evaluation's variant also writes each row's
//   (rec, kl) to examples[b], which the model copies out batch by batch and sums in example order,
//   in float64, so that its figure does not depend on the batch it is split into. For beta-TCVAE the loss also
//   carries w (beta - 1) times the rows' mean total correlation (tc.ts); the record's kl stays the
//   closed form.
// Bindings: kl (params, q: read, kl, [dq_direct]: write); free bits (params, q: read, kl_dims,
//   dq_direct: write); capacity (params, q: read, kl, dq_direct: write); reduce (params, rec, kl, [kl_dims], [tc]: read, history, accum, [examples]: write).
import { ConfigError } from './errors';
import { checkShape, declareBindings, f32Literal, minBindingBytes, workgroupTreeSum, read, STEP_PARAMS, uniform, write, type Kernel, type KernelBinding } from './common';
import { checkLayout, posteriorValues, posteriorWGSL, type PosteriorLayout } from './reparam';
import { EXPM1_SERIES_BELOW, expm1MinusSeries, expm1Series } from './series';
import { wgsl } from './wgsl';

const KL_WORKGROUP = 64;

/** KL(N(mu, e^lv) || N(0, 1)) per latent dimension, and its derivatives. */
export const KL_WGSL = /* wgsl */ `
// e^lv - 1 and e^lv - 1 - lv lose their digits as lv nears 0, where unused latent dimensions sit
// (lv = 1e-4 gave a KL 6x too large, and mu = 1e-4 a KL of 0): there they are their series
// (series.ts), and mu^2 is added apart from them.
fn kl_term(mu: f32, lv: f32) -> f32 {
  return 0.5 * (mu * mu + select(exp(lv) - 1.0 - lv, ${expm1MinusSeries('lv')}, abs(lv) < ${f32Literal(EXPM1_SERIES_BELOW)}));
}
fn kl_grad_mu(mu: f32) -> f32 { return mu; }
fn kl_grad_logvar(lv: f32) -> f32 {
  return 0.5 * select(exp(lv) - 1.0, ${expm1Series('lv')}, abs(lv) < ${f32Literal(EXPM1_SERIES_BELOW)});
}`;

/** The declarations every KL kernel opens with: the step's uniform, its bindings, the KL term, the posterior's accessors and, with `gradients`, its gradient store. */
function klPreludeWGSL(bindings: KernelBinding[], layout: PosteriorLayout, gradients = true): string {
  return `${STEP_PARAMS.wgsl}
${declareBindings(bindings)}
${KL_WGSL}
${posteriorWGSL(layout)}
${gradients ? klGradStoreWGSL(layout) : ''}`;
}

/**
 * store_kl_grad(b, j, scale, live): dq_direct's mu and logvar entries of (b, j) get scale times
 * the KL's derivatives, or 0 where !live (padding rows, dimensions under the free-bits floor).
 * Needs dq_direct, KL_WGSL and posteriorWGSL in scope.
 */
function klGradStoreWGSL(l: PosteriorLayout): string {
  return `
fn store_kl_grad(b: u32, j: u32, scale: f32, live: bool) {
  // select, not a multiply by 0: dead entries get 0 even where e^lv overflows.
  dq_direct[b * ${l.stride}u + ${l.mu}u + j] = select(0.0, scale * kl_grad_mu(mu_at(b, j)), live);
  dq_direct[b * ${l.stride}u + ${l.logvar}u + j] = select(0.0, scale * kl_grad_logvar(logvar_at(b, j)), live);
}`;
}

export interface KlParams {
  batch: number;
  layout: PosteriorLayout;
  /** Write dq_direct (training). */
  gradients: boolean;
}

export function klDivergence(p: KlParams): Kernel {
  const { batch: B, layout } = p;
  checkShape('kl_divergence', { batch: B });
  checkLayout('kl_divergence', layout);
  const Z = layout.latent;
  const bindings = [uniform(), read('q'), write('kl'), ...(p.gradients ? [write('dq_direct')] : [])];
  const code = wgsl`
${klPreludeWGSL(bindings, layout, !!p.gradients)}

@compute @workgroup_size(${KL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x;
  if (b >= ${B}u) { return; }
  let n = params.valid_rows;
  let kl_scale = select(0.0, params.kl_weight / f32(max(n, 1u)), b < n);
  var kl_sum = 0.0;
  for (var j = 0u; j < ${Z}u; j++) {
    kl_sum += kl_term(mu_at(b, j), logvar_at(b, j));
#if ${p.gradients}
    store_kl_grad(b, j, kl_scale, b < n);
#endif
  }
  kl[b] = kl_sum;
}`;
  const minBytes = minBindingBytes(bindings, { q: posteriorValues(B, layout), kl: B, dq_direct: posteriorValues(B, layout) });
  return { name: p.gradients ? 'kl_divergence_grad' : 'kl_divergence', code, bindings, minBytes, workgroups: [Math.ceil(B / KL_WORKGROUP), 1, 1] };
}

/** Free bits: kl_dims[j] = batch-mean KL of dimension j, dq_direct zero where it is under params.free_bits. */
export function klFreeBits(p: { batch: number; layout: PosteriorLayout }): Kernel {
  const { batch: B, layout } = p;
  checkShape('kl_free_bits', { batch: B });
  checkLayout('kl_free_bits', layout);
  const Z = layout.latent;
  const bindings = [uniform(), read('q'), write('kl_dims'), write('dq_direct')];
  const code = wgsl`
${klPreludeWGSL(bindings, layout)}

@compute @workgroup_size(${KL_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let j = gid.x;
  if (j >= ${Z}u) { return; }
  let n = min(params.valid_rows, ${B}u);
  let inv_n = 1.0 / f32(max(n, 1u));
  var total = 0.0;
  for (var b = 0u; b < n; b++) { total += kl_term(mu_at(b, j), logvar_at(b, j)); }
  let mean = total * inv_n;
  kl_dims[j] = mean;
  // Under the threshold the loss takes the constant lambda: no gradient for this dimension.
  let on = select(0.0, 1.0, mean >= params.free_bits);
  for (var b = 0u; b < ${B}u; b++) { store_kl_grad(b, j, on * params.kl_weight * inv_n, b < n && on > 0.0); }
}`;
  const minBytes = minBindingBytes(bindings, { q: posteriorValues(B, layout), kl_dims: Z, dq_direct: posteriorValues(B, layout) });
  return { name: 'kl_free_bits', code, bindings, minBytes, workgroups: [Math.ceil(Z / KL_WORKGROUP), 1, 1] };
}

const REDUCE_THREADS = 64;

/** Capacity control: kl[b] and dq_direct = kl_weight sign(KLbar - kl_capacity) / n * dKL, in one workgroup. */
export function klCapacity(p: { batch: number; layout: PosteriorLayout }): Kernel {
  const { batch: B, layout } = p;
  checkShape('kl_capacity', { batch: B });
  checkLayout('kl_capacity', layout);
  const Z = layout.latent;
  const bindings = [uniform(), read('q'), write('kl'), write('dq_direct')];
  const code = wgsl`
${klPreludeWGSL(bindings, layout)}
var<workgroup> partial: array<f32, ${REDUCE_THREADS}>;

@compute @workgroup_size(${REDUCE_THREADS})
fn main(@builtin(local_invocation_index) tid: u32) {
  let n = min(params.valid_rows, ${B}u);
  var kl_sum = 0.0;
  for (var b = tid; b < ${B}u; b += ${REDUCE_THREADS}u) {
    var kl_b = 0.0;
    for (var j = 0u; j < ${Z}u; j++) { kl_b += kl_term(mu_at(b, j), logvar_at(b, j)); }
    kl[b] = kl_b;
    if (b < n) { kl_sum += kl_b; }
  }
  partial[tid] = kl_sum;
  ${workgroupTreeSum(REDUCE_THREADS)}
  let inv_n = 1.0 / f32(max(n, 1u));
  // d|KLbar - C| / dKLbar = sign(KLbar - C): below the capacity the gradient raises the KL.
  let scale = params.kl_weight * sign(partial[0] * inv_n - params.kl_capacity) * inv_n;
  for (var b = tid; b < ${B}u; b += ${REDUCE_THREADS}u) {
    for (var j = 0u; j < ${Z}u; j++) { store_kl_grad(b, j, scale, b < n); }
  }
}`;
  const minBytes = minBindingBytes(bindings, { q: posteriorValues(B, layout), kl: B, dq_direct: posteriorValues(B, layout) });
  return { name: 'kl_capacity', code, bindings, minBytes, workgroups: [1, 1, 1] };
}

export interface ElboReduceParams {
  batch: number;
  samples: number;
  /** With free bits, the KL term of the loss is sum_j max(lambda, kl_dims[j]) over `latent` dims. */
  freeBitsLatent?: number;
  /** beta-TCVAE: the loss adds kl_weight * tcExcess * (mean of tc over the valid rows) (tc.ts). */
  tcExcess?: number;
  /** Capacity control: the KL term of the loss is |kl mean - params.kl_capacity|. */
  capacity?: boolean;
  /**
   * Evaluation: also write each valid row's (rec mean over the L samples, kl) to examples[b], for
   * a total the caller sums in example order whatever the batch.
   */
  examples?: boolean;
}

/** Batch means and running sums: history[slot] = (loss, rec, kl, n); accum += (rec sum / L, kl sum, n, 1). */
export function elboReduce(p: ElboReduceParams): Kernel {
  const { batch: B, samples: L } = p;
  checkShape('elbo_reduce', { batch: B, samples: L });
  const latent = p.freeBitsLatent ?? 0;
  if (!(Number.isInteger(latent) && latent >= 0)) throw new ConfigError(`elbo_reduce: freeBitsLatent=${latent} must be a non-negative integer (0: no free bits)`);
  const freeBits = latent > 0;
  const tc = p.tcExcess !== undefined;
  const capacity = !!p.capacity;
  const examples = !!p.examples;
  if (capacity && (freeBits || tc)) throw new ConfigError('elbo_reduce: capacity control does not combine with free bits or the TC term');
  const bindings = [
    uniform(), read('rec'), read('kl'), ...(freeBits ? [read('kl_dims')] : []), ...(tc ? [read('tc')] : []),
    write('history', 'array<vec4<f32>>'), write('accum', 'array<vec4<f32>>'), ...(examples ? [write('examples', 'array<vec2<f32>>')] : []),
  ];
  const code = wgsl`
${STEP_PARAMS.wgsl}
${declareBindings(bindings)}
var<workgroup> partial: array<vec3<f32>, ${REDUCE_THREADS}>;

@compute @workgroup_size(${REDUCE_THREADS})
fn main(@builtin(local_invocation_index) tid: u32) {
  let n = min(params.valid_rows, ${B}u);
  var rec_sum = 0.0;
  var kl_sum = 0.0;
  var tc_sum = 0.0;
  for (var b = tid; b < n; b += ${REDUCE_THREADS}u) {
    kl_sum += kl[b];
#if ${examples}
    var rec_b = 0.0;
#endif
    for (var l = 0u; l < ${L}u; l++) {
      rec_sum += rec[l * ${B}u + b];
#if ${examples}
      rec_b += rec[l * ${B}u + b];
#endif
#if ${tc}
      tc_sum += tc[l * ${B}u + b];
#endif
    }
#if ${examples}
    examples[b] = vec2<f32>(rec_b / ${L}.0, kl[b]);
#endif
  }
  partial[tid] = vec3<f32>(rec_sum, kl_sum, tc_sum);
  ${workgroupTreeSum(REDUCE_THREADS)}
  if (tid == 0u) {
    let s = partial[0];
    let nf = f32(max(n, 1u));
    let rec_mean = s.x / (${L}.0 * nf);
    let kl_mean = s.y / nf;
#if ${freeBits}
    var kl_loss = 0.0;
    for (var j = 0u; j < ${p.freeBitsLatent ?? 0}u; j++) { kl_loss += max(params.free_bits, kl_dims[j]); }
#elif ${capacity}
    var kl_loss = abs(kl_mean - params.kl_capacity);
#else
    var kl_loss = kl_mean;
#endif
#if ${tc}
    kl_loss += ${f32Literal(p.tcExcess ?? 0)} * s.z / (${L}.0 * nf);
#endif
    history[params.history_slot] = vec4<f32>(rec_mean + params.kl_weight * kl_loss, rec_mean, kl_mean, f32(n));
    accum[0] += vec4<f32>(s.x / ${L}.0, s.y, f32(n), 1.0);
  }
}`;
  // history is indexed by params.history_slot, which only the caller knows: one record at least.
  const minBytes = minBindingBytes(bindings, { rec: L * B, kl: B, kl_dims: latent, tc: L * B, history: 4, accum: 4, examples: 2 * B });
  const name = (freeBits && tc ? 'elbo_reduce_free_bits_tc' : freeBits ? 'elbo_reduce_free_bits' : tc ? 'elbo_reduce_tc' : capacity ? 'elbo_reduce_capacity' : 'elbo_reduce') + (examples ? '_examples' : '');
  return { name, code, bindings, minBytes, workgroups: [1, 1, 1] };
}
