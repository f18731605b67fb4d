// The ELBO: -ELBO = reconstruction NLL + beta * KL(q(z|x) || N(0, I)), averaged over examples.
//
// `elboRows`: one workgroup per decoder-output row r = l*B + b (L samples of B examples). It sums
// the per-pixel negative log-likelihood of target x[b] under the decoder output, writes the row
// total to rec[r] and, in training, the gradient d(-ELBO)/d(output) = dNLL/d(output) / (L n) to
// dout (n = valid rows; padded rows get zero). Likelihoods:
//   bernoulli  output = logits l:  nll = max(l, 0) - x l + log(1 + exp(-|l|))  (stable for any |l|)
//              dnll/dl = sigmoid(l) - x
//   gaussian   output = mean m, log-sigma s fixed, learned global [1] or learned per pixel [D]:
//              nll = (x - m)^2 / (2 e^{2s}) + s + log(2 pi) / 2,  dnll/dm = (m - x) e^{-2s},
//              dnll/ds = 1 - (x - m)^2 e^{-2s}   (written per row or per element for a column sum)
// Threads of a workgroup stride over the D pixels and combine partial sums with a tree in
// workgroup memory. With threadsPerRow = 1 (software adapters) the tree and its barriers, costly
// on SwiftShader, compile away, and a workgroup instead takes ELBO_ROWS_PER_GROUP rows, one per
// invocation, so the 4 SIMD lanes of a CPU adapter each work on a row rather than 3 idling.
// `elboReduce`: one workgroup sums rec over valid rows and kl (from reparam_forward) over valid
// examples, writes (loss, rec mean, kl mean, n) to history[slot] and adds the sums to accum, the
// running totals that evaluation reads once at the end. The KL itself and its gradient are
// computed inside reparam_forward / reparam_backward with KL_WGSL below, which saves two passes.
// Bindings: rows (params, x, out: read, rec: write, [dout: write], [logsigma: read], [dls: write]);
//           reduce (params, rec, kl: read, history, accum: write).
import { f32Literal, STEP_PARAMS_WGSL, type Kernel } from './common';
import { wgsl } from './wgsl';

/** KL(N(mu, e^lv) || N(0, 1)) per latent dimension, and its derivatives. */
export const KL_WGSL = /* wgsl */ `
fn kl_term(mu: f32, lv: f32) -> f32 { return 0.5 * (exp(lv) + mu * mu - 1.0 - lv); }
fn kl_grad_mu(mu: f32) -> f32 { return mu; }
fn kl_grad_logvar(lv: f32) -> f32 { return 0.5 * (exp(lv) - 1.0); }`;

export type Likelihood = 'bernoulli' | 'gaussian';
/** How the Gaussian's log-sigma is set: a fixed number, or learned globally or per pixel. */
export type GaussianScale = { fixedLogSigma: number } | 'learned-global' | 'learned-pixel';

export const ELBO_THREADS_PER_ROW = { software: 1, gpu: 64 } as const;
/** Rows per workgroup when threadsPerRow is 1: one per invocation. */
export const ELBO_ROWS_PER_GROUP = 4;

export interface ElboRowsParams {
  /** Examples per batch (B) and samples per example (L): out has L*B rows. */
  batch: number;
  samples: number;
  /** Pixels per example (D). */
  dim: number;
  likelihood: Likelihood;
  scale?: GaussianScale;
  /** Write gradients (training) or only the loss (evaluation). */
  gradients: boolean;
  threadsPerRow?: number;
}

export function elboRows(p: ElboRowsParams): Kernel<{ rows: number }> {
  const { batch: B, samples: L, dim: D } = p;
  const T = p.threadsPerRow ?? ELBO_THREADS_PER_ROW.gpu;
  const gauss = p.likelihood === 'gaussian';
  const scale = p.scale ?? { fixedLogSigma: 0 };
  const learned = gauss && typeof scale === 'string';
  const perPixel = gauss && scale === 'learned-pixel';
  const grads = p.gradients;
  const bindings = [
    { name: 'params', kind: 'uniform' as const },
    { name: 'x', kind: 'read' as const },
    { name: 'out', kind: 'read' as const },
    { name: 'rec', kind: 'write' as const },
    ...(grads ? [{ name: 'dout', kind: 'write' as const }] : []),
    ...(learned ? [{ name: 'logsigma', kind: 'read' as const }] : []),
    ...(learned && grads ? [{ name: 'dls', kind: 'write' as const }] : []),
  ];
  const decl = (b: (typeof bindings)[number], i: number) =>
    b.kind === 'uniform'
      ? `@group(0) @binding(${i}) var<uniform> ${b.name}: StepParams;`
      : `@group(0) @binding(${i}) var<storage, ${b.kind === 'write' ? 'read_write' : 'read'}> ${b.name}: array<f32>;`;
  const fixedLs = typeof scale === 'object' ? f32Literal(scale.fixedLogSigma) : '0.0';
  const code = wgsl`
${STEP_PARAMS_WGSL}
${bindings.map(decl).join('\n')}
const HALF_LOG_2PI = 0.91893853320467274;
#if ${T > 1}
var<workgroup> partial: array<vec2<f32>, ${T}>;
#endif

@compute @workgroup_size(${T > 1 ? T : ELBO_ROWS_PER_GROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
#if ${T > 1}
  let r = wid.x;
  let tid = lid;
#else
  let r = wid.x * ${ELBO_ROWS_PER_GROUP}u + lid;
  let tid = 0u;
  if (r >= ${L * B}u) { return; }
#endif
  let b = r % ${B}u;
  let valid = b < params.valid_rows;
  let gscale = select(0.0, 1.0 / f32(${L}u * max(params.valid_rows, 1u)), valid);
  var nll_sum = 0.0;
  var dls_sum = 0.0;
  for (var d = tid; d < ${D}u; d += ${T}u) {
    let t = x[b * ${D}u + d];
    let o = out[r * ${D}u + d];
#if ${!gauss}
    // One exp serves both the stable softplus and the sigmoid.
    let e = exp(-abs(o));
    nll_sum += max(o, 0.0) - t * o + log(1.0 + e);
#if ${grads}
    let sig = select(e / (1.0 + e), 1.0 / (1.0 + e), o >= 0.0);
    dout[r * ${D}u + d] = (sig - t) * gscale;
#endif
#else
#if ${perPixel}
    let ls = logsigma[d];
#elif ${learned}
    let ls = logsigma[0];
#else
    let ls = ${fixedLs};
#endif
    let inv_var = exp(-2.0 * ls);
    let diff = o - t;
    nll_sum += 0.5 * diff * diff * inv_var + ls + HALF_LOG_2PI;
#if ${grads}
    dout[r * ${D}u + d] = diff * inv_var * gscale;
#if ${perPixel}
    dls[r * ${D}u + d] = (1.0 - diff * diff * inv_var) * gscale;
#elif ${learned}
    dls_sum += 1.0 - diff * diff * inv_var;
#endif
#endif
#endif
  }
#if ${T > 1}
  partial[tid] = vec2<f32>(nll_sum, dls_sum);
  workgroupBarrier();
  for (var stride = ${T / 2}u; stride > 0u; stride >>= 1u) {
    if (tid < stride) { partial[tid] += partial[tid + stride]; }
    workgroupBarrier();
  }
  let total = partial[0];
#else
  let total = vec2<f32>(nll_sum, dls_sum);
#endif
  if (tid == 0u) {
    rec[r] = total.x;
#if ${learned && !perPixel && grads}
    dls[r] = total.y * gscale;
#endif
  }
}`;
  if (T & (T - 1)) throw new Error(`elboRows: threadsPerRow must be a power of two, got ${T}`);
  return {
    name: `elbo_rows_${p.likelihood}${learned ? (perPixel ? '_learned_pixel' : '_learned_global') : ''}${grads ? '_grad' : ''}`,
    code,
    bindings,
    dispatch: (s) => [T > 1 ? s.rows : Math.ceil(s.rows / ELBO_ROWS_PER_GROUP), 1, 1],
  };
}

const REDUCE_THREADS = 64;

export interface ElboReduceParams { batch: number; samples: number }

/** Batch means and running sums: history[slot] = (loss, rec, kl, n); accum += (rec sum / L, kl sum, n, 1). */
export function elboReduce(p: ElboReduceParams): Kernel<void> {
  const { batch: B, samples: L } = p;
  const code = /* wgsl */ `
${STEP_PARAMS_WGSL}
@group(0) @binding(0) var<uniform> params: StepParams;
@group(0) @binding(1) var<storage, read> rec: array<f32>;
@group(0) @binding(2) var<storage, read> kl: array<f32>;
@group(0) @binding(3) var<storage, read_write> history: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> accum: array<vec4<f32>>;
var<workgroup> partial: array<vec2<f32>, ${REDUCE_THREADS}>;

@compute @workgroup_size(${REDUCE_THREADS})
fn main(@builtin(local_invocation_index) tid: u32) {
  let n = min(params.valid_rows, ${B}u);
  var rec_sum = 0.0;
  var kl_sum = 0.0;
  for (var b = tid; b < n; b += ${REDUCE_THREADS}u) {
    kl_sum += kl[b];
    for (var l = 0u; l < ${L}u; l++) { rec_sum += rec[l * ${B}u + b]; }
  }
  partial[tid] = vec2<f32>(rec_sum, kl_sum);
  workgroupBarrier();
  for (var stride = ${REDUCE_THREADS / 2}u; stride > 0u; stride >>= 1u) {
    if (tid < stride) { partial[tid] += partial[tid + stride]; }
    workgroupBarrier();
  }
  if (tid == 0u) {
    let s = partial[0];
    let nf = f32(max(n, 1u));
    let rec_mean = s.x / (${L}.0 * nf);
    let kl_mean = s.y / nf;
    history[params.history_slot] = vec4<f32>(rec_mean + params.kl_beta * kl_mean, rec_mean, kl_mean, f32(n));
    accum[0] += vec4<f32>(s.x / ${L}.0, s.y, f32(n), 1.0);
  }
}`;
  return {
    name: 'elbo_reduce',
    code,
    bindings: [
      { name: 'params', kind: 'uniform' }, { name: 'rec', kind: 'read' }, { name: 'kl', kind: 'read' },
      { name: 'history', kind: 'write' }, { name: 'accum', kind: 'write' },
    ],
    dispatch: () => [1, 1, 1],
  };
}
