// Float64 references for beta-TCVAE (Chen, Li, Grosse & Duvenaud 2018): the minibatch-weighted
// estimate of the total correlation of the aggregate posterior (shaders/tc.ts), written for
// clarity, and the whole objective loss = rec + w (KL + (beta - 1) TC) with its gradient split the
// way the kernels split it. Layouts as in objectives.ts: mulv [B, 2Z], z and eps [S*B, Z] with
// row s*B + b, rec [S*B]; examples b >= validRows are padding.
import { elboObjectiveRef, logSumExpRef, type IwaeObjectiveInput } from './objectives';
import { sampleIndex, type ReparamDims } from './reparam';

/** The estimate clamps logvar to this range, as the kernel does (tc.ts LV_LIMIT). */
const LV_LIMIT = 80;

export interface TotalCorrelationInput {
  batch: number;
  samples: number;
  latent: number;
  validRows: number;
  mulv: ArrayLike<number>;
  /** Samples [S*B, Z] (each row from its own example's posterior, though the estimate takes any). */
  z: ArrayLike<number>;
  /** N, the size of the training set the batch is drawn from (defaults to n). */
  datasetSize?: number;
  /** The logvar clamp (LV_LIMIT as the kernel; Infinity for a negative control that clamps nothing). */
  lvLimit?: number;
  /** 'mws' (default): every example weighs 1 / (N n); 'mss': the row's own example 1 / N, each other (N - 1) / (N (n - 1)). */
  estimator?: 'mws' | 'mss';
}

/** log N(z; mu, e^lv) in one dimension, lv clamped as in the kernel. */
export function logDensityRef(z: number, mu: number, lv: number, limit = LV_LIMIT): number {
  const v = Math.min(limit, Math.max(-limit, lv));
  return -0.5 * ((z - mu) ** 2 * Math.exp(-v) + v + Math.log(2 * Math.PI));
}

/**
 * log w_ij, example j's weight for a row drawn from example `own ? j : another`: MWS weighs every
 * example alike, 1 / (N n); MSS the row's own example (a stratum of its own) 1 / N and each of the
 * n - 1 others, standing for the N - 1 others of the data set, (N - 1) / (N (n - 1)).
 */
export function tcPairLogWeightRef(estimator: 'mws' | 'mss', own: boolean, N: number, n: number): number {
  if (estimator === 'mws') return -Math.log(N * n);
  return own ? -Math.log(N) : Math.log((N - 1) / (N * Math.max(n - 1, 1)));
}

/**
 * Per row i (valid rows only; padding rows get 0), with the estimator's weights w_ij of example j
 * for row i (which sum to 1 over j under MSS with n >= 2, to 1 / N under MWS; under MSS a batch of
 * one valid example has no other to estimate the second stratum, and its TC is 0):
 *   TC_i = log sum_j w_ij prod_d p_ijd - sum_d log sum_j w_ij p_ijd,  p_ijd = N(z_id; mu_jd, e^lv_jd),
 * over the n valid examples j, written as logsumexps of l_ijd = log p_ijd plus log w_ij. For MWS
 * (w_ij = 1 / (N n)) that is the kernel's logsumexp_j sum_d l_ijd - sum_d logsumexp_j l_ijd +
 * (Z - 1) log(N n). `mean` averages the S n valid rows. Gradients of `mean` (not of the per-row
 * values), by the softmaxes of the file header of tc.ts: dz [S*B, Z] and dmulv [B, 2Z].
 */
export function totalCorrelationRef(p: TotalCorrelationInput) {
  const { batch: B, samples: S, latent: Z, validRows: valid } = p;
  const d: ReparamDims = { batch: B, samples: S, latent: Z };
  const n = Math.max(valid, 1), N = Math.max(p.datasetSize ?? 0, valid);
  const logWeight = (own: boolean) => tcPairLogWeightRef(p.estimator ?? 'mws', own, N, n);
  const mu = (j: number, k: number) => p.mulv[j * 2 * Z + k];
  const lv = (j: number, k: number) => p.mulv[j * 2 * Z + Z + k];
  const tc = new Float64Array(S * B);
  const dz = new Float64Array(S * B * Z);
  const dmulv = new Float64Array(B * 2 * Z);
  const rows = S * n;
  let sum = 0;
  for (let s = 0; s < S; s++) {
    for (let b = 0; b < valid; b++) {
      const i = s * B + b;
      const zi = (k: number) => p.z[sampleIndex(d, s, b, k)];
      const l = Array.from({ length: valid }, (_, j) => Array.from({ length: Z }, (_, k) => logDensityRef(zi(k), mu(j, k), lv(j, k), p.lvLimit)));
      const c = Array.from({ length: valid }, (_, j) => logWeight(j === b));
      const joint = l.map((row, j) => row.reduce((a, x) => a + x, 0) + c[j]);
      const A = logSumExpRef(joint);
      const M = Array.from({ length: Z }, (_, k) => logSumExpRef(l.map((row, j) => row[k] + c[j])));
      tc[i] = p.estimator === 'mss' && valid === 1 ? 0 : A - M.reduce((a, x) => a + x, 0);
      sum += tc[i];
      for (let j = 0; j < valid; j++) {
        const P = Math.exp(joint[j] - A);
        for (let k = 0; k < Z; k++) {
          const w = (P - Math.exp(l[j][k] + c[j] - M[k])) / rows;
          const v = lv(j, k), inside = Math.abs(v) <= LV_LIMIT;
          const prec = Math.exp(-Math.min(LV_LIMIT, Math.max(-LV_LIMIT, v)));
          const diff = zi(k) - mu(j, k);
          dz[sampleIndex(d, s, b, k)] -= w * diff * prec;
          dmulv[j * 2 * Z + k] += w * diff * prec;
          if (inside) dmulv[j * 2 * Z + Z + k] += w * 0.5 * (diff * diff * prec - 1);
        }
      }
    }
  }
  return { tc, mean: sum / rows, dz, dmulv };
}

/** The IWAE reference's inputs (mulv, eps, rec over S samples) and the step's weights. */
export interface TcvaeObjectiveInput extends IwaeObjectiveInput {
  /** w, the warm-up ramp this step (1 without warm-up). */
  klWeight: number;
  /** beta, the weight of the total correlation. */
  beta: number;
  /** Free bits: each dimension's batch-mean KL counts as at least this (0: off), as in elboObjectiveRef. */
  freeBits?: number;
  datasetSize?: number;
  estimator?: 'mws' | 'mss';
}

/**
 * loss = recMean + w KLmean + w (beta - 1) TCmean, KL in closed form (with free bits, KLmean is
 * sum_j max(freeBits, KLbar_j) as in elboObjectiveRef). The direct gradients hold z
 * fixed: dmulvDirect (the KL's and the TC's through the posteriors' densities) and dzDirect (the
 * TC's through z); the sampler carries dzDirect (with the decoder's) back through z = mu + sigma eps.
 */
export function tcvaeObjectiveRef(p: TcvaeObjectiveInput) {
  const { batch: B, samples: S, latent: Z } = p;
  const d: ReparamDims = { batch: B, samples: S, latent: Z };
  const z = new Float64Array(S * B * Z);
  for (let s = 0; s < S; s++) {
    for (let b = 0; b < B; b++) {
      for (let k = 0; k < Z; k++) {
        const e = sampleIndex(d, s, b, k);
        z[e] = p.mulv[b * 2 * Z + k] + Math.exp(0.5 * p.mulv[b * 2 * Z + Z + k]) * p.eps[e];
      }
    }
  }
  const elbo = elboObjectiveRef({ batch: B, samples: S, latent: Z, validRows: p.validRows, mulv: p.mulv, rec: p.rec, klWeight: p.klWeight, freeBits: p.freeBits ?? 0 });
  const tc = totalCorrelationRef({ batch: B, samples: S, latent: Z, validRows: p.validRows, mulv: p.mulv, z, datasetSize: p.datasetSize, estimator: p.estimator });
  const c = p.klWeight * (p.beta - 1);
  const dmulvDirect = elbo.dmulvDirect.map((g, i) => g + c * tc.dmulv[i]);
  const dzDirect = tc.dz.map((g) => c * g);
  return { loss: elbo.loss + c * tc.mean, recMean: elbo.recMean, klMean: elbo.klMean, klPerDim: elbo.klPerDim, tcMean: tc.mean, tc: tc.tc, z, dmulvDirect, dzDirect, recWeight: elbo.recWeight };
}
