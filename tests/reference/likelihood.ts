// Float64 references for the likelihood kernel (shaders/likelihood.ts), written for clarity.
// The decoder output `out` is [L*B, D] with row r = l*B + b; the target of row r is x[b]. Rows of
// examples b >= validRows are batch padding: their rec is still written, their gradients are zero.
import type { GaussianScale, Likelihood } from '../../shaders/likelihood';

/** The documented clamp of a learned or predicted log-scale (shaders/likelihood.ts states the same range). */
export const LOG_SCALE_RANGE_REF = { min: -7, max: 2 };
const clampLogScale = (raw: number) => Math.min(Math.max(raw, LOG_SCALE_RANGE_REF.min), LOG_SCALE_RANGE_REF.max);
/** Whether a raw log-scale lies inside the clamp, where its gradient passes. */
export const insideLogScaleRange = (raw: number) => raw >= LOG_SCALE_RANGE_REF.min && raw <= LOG_SCALE_RANGE_REF.max;

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** log(1 + e^l) without overflow or cancellation, for any finite l. */
export function softplusRef(l: number): number {
  return Math.max(l, 0) + Math.log1p(Math.exp(-Math.abs(l)));
}

export function sigmoidRef(l: number): number {
  const e = Math.exp(-Math.abs(l));
  return l >= 0 ? 1 / (1 + e) : e / (1 + e);
}

/** Bernoulli NLL of target t under logit l: softplus(l) - t l (= -t log p - (1-t) log(1-p)). */
// In the order that keeps a well-predicted pixel's digits even in float64: softplus(l) - t l adds
// e^-|l| to |l| before taking |l| away again, and sigmoid(l) - 1 is 0 past l = 37.
export const bernoulliNllRef = (l: number, t: number) => (Math.max(l, 0) - t * l) + Math.log1p(Math.exp(-Math.abs(l)));
export const bernoulliGradRef = (l: number, t: number) => {
  const e = Math.exp(-Math.abs(l));
  return l >= 0 ? (1 - t) - e / (1 + e) : e / (1 + e) - t;
};

/** Gaussian NLL of target t under mean m and log-sigma s, and its derivatives in m and s. */
export const gaussianNllRef = (m: number, t: number, s: number) => (0.5 * (t - m) ** 2) / Math.exp(2 * s) + s + HALF_LOG_2PI;
export const gaussianGradMeanRef = (m: number, t: number, s: number) => (m - t) / Math.exp(2 * s);
export const gaussianGradLogSigmaRef = (m: number, t: number, s: number) => 1 - (t - m) ** 2 / Math.exp(2 * s);

export interface LikelihoodRefInput {
  batch: number;
  samples: number;
  dim: number;
  likelihood: Likelihood;
  scale?: GaussianScale;
  /** Targets [B, D]. */
  x: ArrayLike<number>;
  /** Decoder outputs [L*B, D], or [L*B, 2D] (means, then raw log-scales) with the 'predicted' scale. */
  out: ArrayLike<number>;
  /** Learned log-sigma: [1] ('learned-global') or [D] ('learned-pixel'). */
  logsigma?: ArrayLike<number>;
  validRows: number;
  /** Per-row gradient weights [L*B] (the IWAE's); without them every valid row weighs 1 / (L n). */
  rowWeight?: ArrayLike<number>;
}

/** Raw log-sigma of pixel d (of row r, for a predicted scale), before the clamp. */
function rawLogSigmaOf(p: LikelihoodRefInput, d: number, r: number): number {
  const scale = p.scale ?? { fixedLogSigma: 0 };
  if (scale === 'predicted') return p.out[r * 2 * p.dim + p.dim + d];
  if (typeof scale === 'object') return scale.fixedLogSigma;
  if (!p.logsigma) throw new Error('learned log-sigma needs logsigma');
  return scale === 'learned-pixel' ? p.logsigma[d] : p.logsigma[0];
}

/** The log-sigma the likelihood uses: a learned or predicted one clamped, a fixed one as given. */
export function logSigmaOf(p: LikelihoodRefInput, d: number, r: number): number {
  const raw = rawLogSigmaOf(p, d, r);
  return typeof (p.scale ?? { fixedLogSigma: 0 }) === 'object' ? raw : clampLogScale(raw);
}

/** The factor row r's gradients are multiplied by: its row weight or 1 / (L n), and 0 on padding. */
export function rowScaleRef(p: LikelihoodRefInput, r: number): number {
  if (r % p.batch >= p.validRows) return 0;
  return p.rowWeight ? p.rowWeight[r] : 1 / (p.samples * Math.max(p.validRows, 1));
}

/**
 * What likelihoodRows writes: rec[r] (row NLL), dout[r, d] = dNLL/dout * w_r, and for a learned
 * scale dls = dNLL/ds * w_r per row ('learned-global', [L*B]) or per element ('learned-pixel',
 * [L*B*D]), w_r = rowScaleRef. Also `magnitude[r]`, the sum of the absolute values of the terms
 * added into rec[r] (to size float32 tolerances).
 */
export function likelihoodRowsRef(p: LikelihoodRefInput) {
  const { batch: B, samples: L, dim: D } = p;
  const rows = L * B;
  const gauss = p.likelihood === 'gaussian';
  const perPixel = gauss && p.scale === 'learned-pixel';
  const predicted = gauss && p.scale === 'predicted';
  const O = predicted ? 2 * D : D;
  const rec = new Float64Array(rows);
  const magnitude = new Float64Array(rows);
  const dout = new Float64Array(rows * O);
  const dls = new Float64Array(perPixel ? rows * D : rows);
  for (let r = 0; r < rows; r++) {
    const b = r % B;
    const gscale = rowScaleRef(p, r);
    for (let d = 0; d < D; d++) {
      const t = p.x[b * D + d], o = p.out[r * O + d];
      if (!gauss) {
        rec[r] += bernoulliNllRef(o, t);
        magnitude[r] += Math.abs(Math.max(o, 0)) + Math.abs(t * o) + softplusRef(-Math.abs(o));
        dout[r * D + d] = bernoulliGradRef(o, t) * gscale;
      } else {
        const s = logSigmaOf(p, d, r);
        rec[r] += gaussianNllRef(o, t, s);
        magnitude[r] += (0.5 * (t - o) ** 2) / Math.exp(2 * s) + Math.abs(s) + HALF_LOG_2PI;
        dout[r * O + d] = gaussianGradMeanRef(o, t, s) * gscale;
        const g = gaussianGradLogSigmaRef(o, t, s) * gscale;
        // The clamp passes the gradient inside its range and stops it outside (a fixed sigma has none).
        const gs = typeof (p.scale ?? { fixedLogSigma: 0 }) === 'object' || insideLogScaleRange(rawLogSigmaOf(p, d, r)) ? g : 0;
        if (predicted) dout[r * O + D + d] = gs;
        else if (perPixel) dls[r * D + d] = gs;
        else dls[r] += gs;
      }
    }
  }
  return { rec, dout, dls, magnitude };
}

/** The loss whose gradient likelihoodRowsRef writes: sum_r w_r rec[r] with the weights held fixed. */
export function likelihoodLossRef(p: LikelihoodRefInput): number {
  const { rec } = likelihoodRowsRef(p);
  let sum = 0;
  for (let r = 0; r < rec.length; r++) sum += rowScaleRef(p, r) * rec[r];
  return sum;
}

/** Gradient of likelihoodLossRef with respect to the learned log-sigma ([1] or [D]): dls summed over rows. */
export function logSigmaGradRef(p: LikelihoodRefInput): Float64Array {
  const { dls } = likelihoodRowsRef(p);
  const D = p.dim, rows = p.samples * p.batch;
  if (p.scale === 'learned-pixel') {
    const g = new Float64Array(D);
    for (let r = 0; r < rows; r++) for (let d = 0; d < D; d++) g[d] += dls[r * D + d];
    return g;
  }
  return Float64Array.of(dls.reduce((a, v) => a + v, 0));
}
