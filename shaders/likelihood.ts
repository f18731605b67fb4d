// The decoder's likelihood, row by row: the reconstruction term of every objective.
//
// `likelihoodRows`: one workgroup per decoder-output row r = l*B + b (L samples of B examples).
// It sums the per-pixel negative log-likelihood of target x[b] under the decoder output, writes
// the row total to rec[r] and, with gradients, dNLL/d(output) times the row's weight to dout.
// The weight is the objective's: 1 / (L n) for the ELBO (n = valid rows), read from
// row_weight[r] for IWAE (normalized importance weight / n); padded rows get zero. Likelihoods:
//   bernoulli  output = logits l:  nll = max(l, 0) - x l + log(1 + exp(-|l|))  (stable for any |l|)
//              dnll/dl = sigmoid(l) - x
//   gaussian   output = mean m, log-sigma s fixed, learned global [1] or learned per pixel [D]:
//              nll = (x - m)^2 / (2 e^{2s}) + s + log(2 pi) / 2,  dnll/dm = (m - x) e^{-2s},
//              dnll/ds = 1 - (x - m)^2 e^{-2s}   (written per row or per element for a column sum)
//              or, with the 'predicted' scale, s comes from the decoder itself: a row of out holds
//              2D values, the D means then the D raw log-scales, so dout is 2D wide.
//              A learned or predicted s is clamp(raw, LOG_SCALE_RANGE): dnll/draw is dnll/ds inside
//              the range and 0 where the clamp holds. Without it a pixel that never varies (MNIST's
//              border) would drive its learned log-sigma, and the NLL, to -infinity.
// Threads of a workgroup stride over the D pixels and combine partial sums with a tree in
// workgroup memory. With threadsPerRow = 1 (software adapters) the tree and its barriers, costly
// on SwiftShader, compile away, and a workgroup instead takes LIKELIHOOD_ROWS_PER_GROUP rows, one
// per invocation, so the 4 SIMD lanes of a CPU adapter each work on a row rather than 3 idling.
// The workgroups are numbered flat over grid1D's x and y, so L*B rows past 65535 workgroups fold
// into y (IWAE with thousands of samples); a workgroup past the last row returns as a whole.
// Bindings: params (uniform), x, out: read, rec: write, [row_weight: read], [dout: write],
//           [logsigma: read], [dls: write].
import { ConfigError, literal } from './errors';
import { checkChoice, checkShape, declareBindings, exactWhenSized, f32Literal, FLAT_INDEX_WGSL, grid1D, minBindingBytes, read, sizedBindings, STEP_PARAMS, uniform, workgroupTreeSum, write, type Kernel } from './common';
import { wgsl } from './wgsl';
import { LOG1P_SERIES_BELOW, log1pSeries } from './series';

export const LIKELIHOODS = ['bernoulli', 'gaussian'] as const;
export type Likelihood = (typeof LIKELIHOODS)[number];
/** How the Gaussian's log-sigma is set: a fixed number, or learned globally or per pixel. */
export type GaussianScale = { fixedLogSigma: number } | 'learned-global' | 'learned-pixel' | 'predicted';

/**
 * Range of a learned or predicted log-scale. Pixels live in [0, 1]: e^2 = 7.4 is far wider than
 * the data, and e^-7 = 0.0009 is a quarter of an 8-bit level (1/256), below which a sharper density
 * can only fit the dequantization noise (or a pixel that never varies). Clamping keeps the NLL
 * bounded below and the 1/sigma^2 of the gradient bounded (at most e^14) however far the raw
 * parameter or output drifts. A fixed sigma is the user's choice and is not clamped.
 */
export const LOG_SCALE_RANGE = { min: -7, max: 2 } as const;
/** @deprecated The range now holds for learned scales too: use LOG_SCALE_RANGE. */
export const PREDICTED_LOG_SCALE = LOG_SCALE_RANGE;

const LEARNED_SCALES = ['learned-global', 'learned-pixel', 'predicted'] as const;

/**
 * Throws unless `likelihood` is one of LIKELIHOODS and a Gaussian's `scale` one of the
 * GaussianScale forms: an unknown name would otherwise run as a Bernoulli or a fixed sigma of 1.
 */
function checkLikelihood(kernel: string, likelihood: unknown, scale: unknown): void {
  checkChoice(kernel, 'likelihood', likelihood, LIKELIHOODS);
  // A scale given to a Bernoulli would be ignored: refused, as it says the caller meant a Gaussian.
  if (likelihood !== 'gaussian' && scale !== undefined) throw new ConfigError(`${kernel}: scale belongs to the 'gaussian' likelihood; leave it out for '${String(likelihood)}', or set likelihood: 'gaussian'`);
  if (scale === undefined) return;
  if (typeof scale === 'object' && scale !== null && 'fixedLogSigma' in scale) {
    const ls = (scale as { fixedLogSigma: unknown }).fixedLogSigma;
    if (typeof ls !== 'number' || !Number.isFinite(ls)) throw new ConfigError(`${kernel}: scale.fixedLogSigma=${String(ls)} must be a finite number`);
    return;
  }
  if (!LEARNED_SCALES.includes(scale as (typeof LEARNED_SCALES)[number])) {
    throw new ConfigError(`${kernel}: unknown scale ${typeof scale === 'string' ? `'${scale}'` : literal(scale)}; use { fixedLogSigma: number } or one of ${LEARNED_SCALES.map((k) => `'${k}'`).join(', ')}`);
  }
}

/** Values per row of decoder output: D means, and D log-scales after them when predicted. */
export const decoderOutputWidth = (dim: number, scale?: GaussianScale) => (scale === 'predicted' ? 2 * dim : dim);

export const LIKELIHOOD_THREADS_PER_ROW = { software: 1, gpu: 64 } as const;
/** Rows per workgroup when threadsPerRow is 1: one per invocation. */
export const LIKELIHOOD_ROWS_PER_GROUP = 4;

export interface LikelihoodRowsParams {
  /** Examples per batch (B) and samples per example (L): out has L*B rows. */
  batch: number;
  samples: number;
  /** Pixels per example (D). */
  dim: number;
  likelihood: Likelihood;
  scale?: GaussianScale;
  /** Write gradients (training) or only the loss (evaluation). */
  gradients: boolean;
  /** Gradients weighted per row by row_weight[r] instead of 1 / (L n). */
  rowWeights?: boolean;
  threadsPerRow?: number;
}

export function likelihoodRows(p: LikelihoodRowsParams): Kernel {
  const { batch: B, samples: L, dim: D } = p;
  checkShape('likelihood_rows', { batch: B, samples: L, dim: D });
  checkLikelihood('likelihood_rows', p.likelihood, p.scale);
  if (p.rowWeights && !p.gradients) throw new ConfigError('likelihood_rows: rowWeights weighs the gradients, and gradients is false (no dout to weigh); leave rowWeights out, or set gradients: true');
  const T = p.threadsPerRow ?? LIKELIHOOD_THREADS_PER_ROW.gpu;
  checkShape('likelihood_rows', { threadsPerRow: T });
  const gauss = p.likelihood === 'gaussian';
  const scale = p.scale ?? { fixedLogSigma: 0 };
  const predicted = gauss && scale === 'predicted';
  const learned = gauss && (scale === 'learned-global' || scale === 'learned-pixel');
  const perPixel = gauss && scale === 'learned-pixel';
  /** Row stride of out and dout. */
  const O = predicted ? 2 * D : D;
  const grads = p.gradients;
  const weighted = grads && !!p.rowWeights;
  const rows = L * B;
  // A Bernoulli row walked by one invocation reads and writes its pixels 4 at a time where D allows
  // (on SwiftShader one address and one bounds check for four).
  const vec = !gauss && T === 1 && D % 4 === 0;
  const pixels = vec ? 'array<vec4<f32>>' : 'array<f32>';
  // A Bernoulli pixel's NLL and its gradient sigmoid(o) - t from logit o, target t and
  // e = exp(-|o|), as f32s or vec4s (zero: that type's 0), one text for both loops. WGSL has no
  // log1p: log(1 + e) keeps none of e's digits below f32's epsilon, so for small e it is log1p's
  // series (series.ts). For o >= 0 the gradient is (1 - t) - e / (1 + e): 1 / (1 + e) - t
  // cancels at t = 1 (17% off at o = 15, and 0 from o = 17 where it is -4e-8), a bias against the
  // pixels that are on, which the mirror case (t = 0, o < 0) never had.
  const bernoulliNll = (zero: string) => `max(o, ${zero}) - t * o + select(log(1.0 + e), ${log1pSeries('e')}, e < ${zero} + ${f32Literal(LOG1P_SERIES_BELOW)})`;
  const bernoulliResidual = (zero: string) => `select(e / (1.0 + e) - t, (1.0 - t) - e / (1.0 + e), o >= ${zero})`;
  const values = { x: B * D, out: rows * O, rec: rows, row_weight: rows, dout: rows * O, logsigma: perPixel ? D : 1, dls: perPixel ? rows * D : rows };
  const bindings = sizedBindings([
    uniform(), read('x', pixels), read('out', pixels), write('rec'),
    ...(weighted ? [read('row_weight')] : []),
    ...(grads ? [write('dout', pixels)] : []),
    ...(learned ? [read('logsigma')] : []),
    ...(learned && grads ? [write('dls')] : []),
  ], values);
  const fixedLs = typeof scale === 'object' ? f32Literal(scale.fixedLogSigma) : '0.0';
  const lsMin = f32Literal(LOG_SCALE_RANGE.min), lsMax = f32Literal(LOG_SCALE_RANGE.max);
  const code = wgsl`
${STEP_PARAMS.wgsl}
${declareBindings(bindings)}
const HALF_LOG_2PI = 0.91893853320467274;
#if ${T > 1}
var<workgroup> partial: array<vec2<f32>, ${T}>;
#endif

@compute @workgroup_size(${T > 1 ? T : LIKELIHOOD_ROWS_PER_GROUP})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let group = wid.x + wid.y * nwg.x;
#if ${T > 1}
  let r = group;
  let tid = lid;
#else
  let r = group * ${LIKELIHOOD_ROWS_PER_GROUP}u + lid;
  let tid = 0u;
#endif
  if (r >= ${L * B}u) { return; }
  let b = r % ${B}u;
  let valid = b < params.valid_rows;
#if ${weighted}
  let gscale = select(0.0, row_weight[r], valid);
#else
  let gscale = select(0.0, 1.0 / f32(${L}u * max(params.valid_rows, 1u)), valid);
#endif
  var nll_sum = 0.0;
  var dls_sum = 0.0;
#if ${vec}
  for (var d4 = 0u; d4 < ${D / 4}u; d4++) {
    let t = x[b * ${D / 4}u + d4];
    let o = out[r * ${D / 4}u + d4];
    let e = exp(-abs(o));
    // Added in pixel order, as the scalar loop adds them.
    let nll = ${bernoulliNll('vec4<f32>(0.0)')};
    nll_sum += nll.x;
    nll_sum += nll.y;
    nll_sum += nll.z;
    nll_sum += nll.w;
#if ${grads}
    dout[r * ${D / 4}u + d4] = ${bernoulliResidual('vec4<f32>(0.0)')} * gscale;
#endif
  }
#else
  for (var d = tid; d < ${D}u; d += ${T}u) {
    let t = x[b * ${D}u + d];
    let o = out[r * ${O}u + d];
#if ${!gauss}
    // One exp serves both the stable softplus and the sigmoid.
    let e = exp(-abs(o));
    nll_sum += ${bernoulliNll('0.0')};
#if ${grads}
    dout[r * ${O}u + d] = ${bernoulliResidual('0.0')} * gscale;
#endif
#else
#if ${predicted}
    let raw_ls = out[r * ${O}u + ${D}u + d];
#elif ${perPixel}
    let raw_ls = logsigma[d];
#elif ${learned}
    let raw_ls = logsigma[0];
#endif
#if ${predicted || learned}
    let ls = clamp(raw_ls, ${lsMin}, ${lsMax});
    let inside = raw_ls >= ${lsMin} && raw_ls <= ${lsMax};
#else
    let ls = ${fixedLs};
#endif
    let inv_var = exp(-2.0 * ls);
    let diff = o - t;
    nll_sum += 0.5 * diff * diff * inv_var + ls + HALF_LOG_2PI;
#if ${grads}
    dout[r * ${O}u + d] = diff * inv_var * gscale;
#if ${predicted}
    dout[r * ${O}u + ${D}u + d] = select(0.0, (1.0 - diff * diff * inv_var) * gscale, inside);
#elif ${perPixel}
    dls[r * ${D}u + d] = select(0.0, (1.0 - diff * diff * inv_var) * gscale, inside);
#elif ${learned}
    dls_sum += select(0.0, 1.0 - diff * diff * inv_var, inside);
#endif
#endif
#endif
  }
#endif
#if ${T > 1}
  partial[tid] = vec2<f32>(nll_sum, dls_sum);
  ${workgroupTreeSum(T)}
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
  if (T & (T - 1)) throw new ConfigError(`likelihoodRows: threadsPerRow must be a power of two, got ${T}`);
  return {
    name: `likelihood_rows_${p.likelihood}${predicted ? '_predicted' : learned ? (perPixel ? '_learned_pixel' : '_learned_global') : ''}${grads ? (weighted ? '_grad_weighted' : '_grad') : ''}`,
    code,
    bindings,
    minBytes: minBindingBytes(bindings, values),
    workgroups: grid1D(rows, T > 1 ? 1 : LIKELIHOOD_ROWS_PER_GROUP),
  };
}

export interface DecoderMeanParams {
  rows: number;
  dim: number;
  likelihood: Likelihood;
  scale?: GaussianScale;
  /**
   * The row count is images' binding length over dim (arrayLength), not a number in the source, so
   * that one pipeline serves every row count; for callers that bind exactly rows * dim images.
   */
  sizedByBinding?: boolean;
}

const MEAN_WORKGROUP = 256;

/**
 * `decoderMean`: the picture a decoder output stands for, images[r, d] for r < rows, d < D: the
 * Bernoulli's probability sigmoid(logit), or the Gaussian's mean, taken from the first D of the
 * 2D values of a row when the scale is predicted. (A Gaussian with any other scale needs no
 * kernel: its output is the mean.) One invocation per pixel. Bindings: out (read), images (write).
 */
export function decoderMean(p: DecoderMeanParams): Kernel {
  const { rows, dim: D } = p;
  checkShape('decoder_mean', { rows, dim: D });
  checkLikelihood('decoder_mean', p.likelihood, p.scale);
  const O = decoderOutputWidth(D, p.likelihood === 'gaussian' ? p.scale : undefined);
  const bernoulli = p.likelihood === 'bernoulli';
  if (!bernoulli && O === D) throw new ConfigError('decoderMean: a Gaussian output is its own mean unless the scale is predicted');
  const bindings = [read('out'), write('images')];
  const code = wgsl`
${declareBindings(bindings)}

@compute @workgroup_size(${MEAN_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(MEAN_WORKGROUP)};
  if (i >= ${p.sizedByBinding ? 'arrayLength(&images)' : `${rows * D}u`}) { return; }
  let o = out[(i / ${D}u) * ${O}u + i % ${D}u];
#if ${bernoulli}
  // The stable sigmoid of shaders/activation.ts: exp of a non-positive argument only.
  let e = exp(-abs(o));
  images[i] = select(e / (1.0 + e), 1.0 / (1.0 + e), o >= 0.0);
#else
  images[i] = o;
#endif
}`;
  return { name: `decoder_mean_${p.likelihood}`, code, bindings, minBytes: minBindingBytes(bindings, { out: rows * O, images: rows * D }), ...exactWhenSized(p.sizedByBinding, 'images'), workgroups: grid1D(rows * D, MEAN_WORKGROUP) };
}
