// Float64 references for the training objectives, written for clarity: the beta-weighted ELBO with
// optional free bits, and the importance-weighted bound (IWAE, Burda, Grosse & Salakhutdinov 2015).
// Both take the row NLLs rec[r] = -log p(x_b | z_r) as the likelihood computed them and return the
// loss with its gradient split the way the kernels split it: the part the objective owns
// ("direct", in mulv and z) and the factor the likelihood's gradient of each row is multiplied by.
// Layouts follow the kernels: mulv is [B, 2Z] (mu in columns [0, Z), logvar in [Z, 2Z)); eps, z and
// dz are [K*B, Z] with row k*B + b; rec is [K*B]. Rows of examples b >= validRows are batch padding:
// they add nothing to the losses and get zero gradients. n = max(validRows, 1).
import { klTermRef, logvarAt, muAt, sampleIndex, type ReparamDims } from './reparam';

/** log sum_i e^{v_i}, shifted by the largest value so that no term overflows and not all underflow. */
export function logSumExpRef(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  // No values or all -Infinity: the sum is empty, its log -Infinity. +Infinity: the shift would
  // compute Infinity - Infinity. (NaN propagates through max and the sum.)
  if (max === -Infinity || max === Infinity) return max;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i] - max);
  return max + Math.log(sum);
}

function checkValidRows(batch: number, validRows: number): void {
  if (!(validRows >= 0 && validRows <= batch)) throw new Error(`validRows ${validRows} outside [0, ${batch}]`);
}

export interface ElboObjectiveInput {
  batch: number;
  /** L, the samples per example. */
  samples: number;
  latent: number;
  validRows: number;
  /** [B, 2Z]. */
  mulv: ArrayLike<number>;
  /** Row NLLs [L*B]. */
  rec: ArrayLike<number>;
  /** beta, the weight of the KL term. */
  klWeight: number;
  /** Floor on each latent dimension's batch-mean KL (0: the plain beta-weighted KL). */
  freeBits: number;
  /**
   * Capacity control (Burgess et al. 2018): the KL term is |klMean - C| with C = klCapacity, in
   * nats (undefined: off; 0 is a capacity of 0 nats, i.e. |klMean|).
   */
  klCapacity?: number;
}

/**
 * The negative ELBO with the closed-form KL:
 *   loss = recMean + klWeight * sum_j max(freeBits, klPerDim[j]),
 * recMean = (1/(L n)) sum of the valid rows' rec, klPerDim[j] = (1/n) sum_{b<n} KL(mu_bj, lv_bj).
 * The floor is free bits (Kingma et al. 2016) per latent dimension on the batch mean, so a
 * dimension is only pushed towards the prior while its KL exceeds freeBits. With klCapacity = C
 * the KL term is |klMean - C| instead, so the gradient of the KL is scaled by sign(klMean - C): the
 * KL is pulled up towards C as well as down.
 * dmulvDirect is d loss / d mulv through the KL term (rec held fixed); the rec term's gradient is
 * the likelihood's row gradient times recWeight = 1/(L n), carried to mulv by the sampler.
 */
export function elboObjectiveRef(p: ElboObjectiveInput) {
  const { batch: B, samples: L, latent: Z, validRows: valid } = p;
  checkValidRows(B, valid);
  const n = Math.max(valid, 1);
  let recSum = 0;
  for (let l = 0; l < L; l++) for (let b = 0; b < valid; b++) recSum += p.rec[l * B + b];
  const recMean = recSum / (L * n);

  const klPerDim = new Float64Array(Z);
  for (let b = 0; b < valid; b++) for (let j = 0; j < Z; j++) klPerDim[j] += klTermRef(muAt(p.mulv, p, b, j), logvarAt(p.mulv, p, b, j));
  for (let j = 0; j < Z; j++) klPerDim[j] /= n;
  let klMean = 0, klPenalty = 0;
  for (let j = 0; j < Z; j++) {
    klMean += klPerDim[j];
    klPenalty += Math.max(p.freeBits, klPerDim[j]);
  }
  const capacity = p.klCapacity !== undefined;
  if (capacity && p.freeBits > 0) throw new Error('elboObjectiveRef: free bits and capacity control do not combine');
  const loss = recMean + p.klWeight * (capacity ? Math.abs(klMean - p.klCapacity!) : klPenalty);

  // d KL(mu, lv) / d mu = mu and / d lv = (e^lv - 1) / 2, scaled by klWeight / n. A dimension
  // strictly below the floor gets none: there the max is the constant freeBits. At the floor
  // itself the KL side is taken (either side is a valid subgradient).
  const dmulvDirect = new Float64Array(B * 2 * Z);
  const scale = (p.klWeight / n) * (capacity ? Math.sign(klMean - p.klCapacity!) : 1);
  for (let b = 0; b < valid; b++) {
    for (let j = 0; j < Z; j++) {
      if (klPerDim[j] < p.freeBits) continue;
      dmulvDirect[b * 2 * Z + j] = scale * muAt(p.mulv, p, b, j);
      dmulvDirect[b * 2 * Z + Z + j] = scale * 0.5 * (Math.exp(logvarAt(p.mulv, p, b, j)) - 1);
    }
  }
  return { loss, recMean, klMean, klPerDim, dmulvDirect, recWeight: 1 / (L * n) };
}

export interface IwaeObjectiveInput {
  batch: number;
  /** K, the importance samples per example. */
  samples: number;
  latent: number;
  validRows: number;
  /** [B, 2Z]. */
  mulv: ArrayLike<number>;
  /** The standard normal draws behind z = mu + exp(lv/2) eps, [K*B, Z]. */
  eps: ArrayLike<number>;
  /** Row NLLs [K*B] of the decoder at those z. */
  rec: ArrayLike<number>;
}

/**
 * The IWAE bound on -log p(x). With z = mu + exp(lv/2) eps and q = N(mu, e^lv),
 *   log w_kb = -rec_kb + log p(z_kb) - log q(z_kb | x_b) = -rec_kb + sum_j (-z^2/2 + eps^2/2 + lv/2)
 * (log q = sum_j -(log 2pi + lv + eps^2)/2 as (z - mu)^2 / e^lv = eps^2; the log 2pi cancel), and
 *   perExample_b = -(logsumexp_k log w_kb - log K),  loss = (1/n) sum_{b<n} perExample_b.
 * Gradient with eps held fixed: d loss / d log w_kb = -w~_kb / n with w~ = softmax_k(log w_.b),
 * named rowWeights (0 on padding). log w depends on rec (factor -1), on z through log p(z) (-z)
 * and on lv directly through log q (+1/2 per dim; mu enters only through z), so
 *   d loss / d rec_kb = rowWeights_kb                       (the likelihood gradient's factor),
 *   d loss / d z_kbj  = rowWeights_kb z_kbj                 (dzDirect, added to the decoder's dz),
 *   d loss / d lv_bj  = -sum_k rowWeights_kb / 2 = -1/(2n)  (dmulvDirect; the weights sum to 1).
 * With K = 1 the weight is 1 and the loss is the single-sample ELBO estimate
 * rec + log q(z|x) - log p(z), a Monte Carlo KL whose expectation over eps is the closed-form KL,
 * so its expectation is elboObjectiveRef's loss with L = 1, klWeight = 1 and no free bits (the
 * per-sample gradients differ from the closed form's).
 * logWeights and normalizedWeights are written for padding examples too (from their rec, as the
 * kernel sees it); perExample and everything that feeds the loss or a gradient is 0 there.
 */
export function iwaeObjectiveRef(p: IwaeObjectiveInput) {
  const { batch: B, samples: K, latent: Z, validRows: valid } = p;
  checkValidRows(B, valid);
  const d: ReparamDims = { batch: B, samples: K, latent: Z };
  const n = Math.max(valid, 1);
  const z = new Float64Array(K * B * Z);
  const logWeights = new Float64Array(K * B);
  for (let k = 0; k < K; k++) {
    for (let b = 0; b < B; b++) {
      let lw = -p.rec[k * B + b];
      for (let j = 0; j < Z; j++) {
        const e = sampleIndex(d, k, b, j), lv = logvarAt(p.mulv, d, b, j);
        z[e] = muAt(p.mulv, d, b, j) + Math.exp(0.5 * lv) * p.eps[e];
        lw += -0.5 * z[e] * z[e] + 0.5 * p.eps[e] * p.eps[e] + 0.5 * lv;
      }
      logWeights[k * B + b] = lw;
    }
  }

  const normalizedWeights = new Float64Array(K * B);
  const rowWeights = new Float64Array(K * B);
  const perExample = new Float64Array(B);
  const column = new Float64Array(K);
  let loss = 0;
  for (let b = 0; b < B; b++) {
    for (let k = 0; k < K; k++) column[k] = logWeights[k * B + b];
    const lse = logSumExpRef(column);
    // exp(log w - logsumexp) is the softmax without forming any e^{log w}, which underflows when
    // rec is in the thousands.
    for (let k = 0; k < K; k++) normalizedWeights[k * B + b] = Math.exp(column[k] - lse);
    if (b >= valid) continue;
    perExample[b] = -(lse - Math.log(K));
    loss += perExample[b];
    for (let k = 0; k < K; k++) rowWeights[k * B + b] = normalizedWeights[k * B + b] / n;
  }
  loss /= n;

  const dzDirect = new Float64Array(K * B * Z);
  for (let r = 0; r < K * B; r++) for (let j = 0; j < Z; j++) dzDirect[r * Z + j] = rowWeights[r] * z[r * Z + j];
  const dmulvDirect = new Float64Array(B * 2 * Z);
  for (let b = 0; b < valid; b++) {
    let weightSum = 0;
    for (let k = 0; k < K; k++) weightSum += rowWeights[k * B + b];
    for (let j = 0; j < Z; j++) dmulvDirect[b * 2 * Z + Z + j] = -0.5 * weightSum;
  }

  // Reported alongside the bound, as the ELBO reports them: the mean rec and the closed-form KL.
  let recSum = 0, klSum = 0;
  for (let b = 0; b < valid; b++) {
    for (let k = 0; k < K; k++) recSum += p.rec[k * B + b];
    for (let j = 0; j < Z; j++) klSum += klTermRef(muAt(p.mulv, d, b, j), logvarAt(p.mulv, d, b, j));
  }
  return {
    loss, logWeights, normalizedWeights, perExample, recMean: recSum / (K * n), klMean: klSum / n,
    dzDirect, dmulvDirect, rowWeights,
  };
}

export interface ThroughSamplerInput {
  batch: number;
  /** L or K. */
  samples: number;
  latent: number;
  /** [B, 2Z]. */
  mulv: ArrayLike<number>;
  /** [K*B, Z]. */
  eps: ArrayLike<number>;
  /** The objective's own gradient in mulv [B, 2Z]. */
  dmulvDirect: ArrayLike<number>;
  /** d loss / d z from the decoder's backward pass [K*B, Z] (its row losses already weighted). */
  dzDec: ArrayLike<number>;
  /** The objective's own gradient in z [K*B, Z] (the IWAE's prior term); the ELBO has none. */
  dzDirect?: ArrayLike<number>;
}

/**
 * The full d loss / d mulv: the direct part plus the gradient in z carried back through
 * z = mu + exp(lv/2) eps with eps fixed (dz/dmu = 1, dz/dlv = eps exp(lv/2) / 2), summed over samples:
 *   dmu = dmulvDirect_mu + sum_k dz,  dlv = dmulvDirect_lv + sum_k dz eps exp(lv/2) / 2,
 * where dz = dzDec + dzDirect.
 */
export function objectiveThroughSamplerRef(p: ThroughSamplerInput): Float64Array {
  const { batch: B, samples: K, latent: Z } = p;
  const d: ReparamDims = { batch: B, samples: K, latent: Z };
  const dmulv = Float64Array.from(p.dmulvDirect);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < Z; j++) {
      const sigma = Math.exp(0.5 * logvarAt(p.mulv, d, b, j));
      for (let k = 0; k < K; k++) {
        const e = sampleIndex(d, k, b, j);
        const dz = p.dzDec[e] + (p.dzDirect ? p.dzDirect[e] : 0);
        dmulv[b * 2 * Z + j] += dz;
        dmulv[b * 2 * Z + Z + j] += dz * p.eps[e] * 0.5 * sigma;
      }
    }
  }
  return dmulv;
}
