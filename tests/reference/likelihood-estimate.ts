// Float64 marginal likelihoods log p(x) of tiny models, to check the objectives' bounds against the
// truth: the importance-weighted estimate with a Gaussian proposal, and the exact value by
// quadrature over the prior for 1- and 2-D latents. Everything stays in log space, since log p(x|z)
// of a real model is hundreds of nats below 0, where e^{log p} underflows.
import { logSumExpRef } from './objectives';

const LOG_2PI = Math.log(2 * Math.PI);

/** log N(z; 0, I). */
export function logStdNormalRef(z: ArrayLike<number>): number {
  let s = 0;
  for (let j = 0; j < z.length; j++) s -= 0.5 * (LOG_2PI + z[j] * z[j]);
  return s;
}

/**
 * The importance-weighted estimate of log p(x) with proposal q = N(mu, e^logvar):
 *   logsumexp_k (log p(x, z_k) - log q(z_k)) - log K,  z_k = mu + exp(logvar/2) eps_k,
 * with eps_k drawn from `rng` sample by sample, dimension by dimension (the order of eps in the
 * objectives' [K, Z] rows of one example). Its expectation is below log p(x) and rises to it as K
 * grows; K = 1 is the ELBO.
 */
export function iwaeEstimateRef(logJoint: (z: Float64Array) => number, mu: Float64Array, logvar: Float64Array, K: number, rng: () => number): number {
  const Z = mu.length;
  const logWeights = new Float64Array(K);
  for (let k = 0; k < K; k++) {
    const z = new Float64Array(Z);
    let logQ = 0;
    for (let j = 0; j < Z; j++) {
      const eps = rng();
      z[j] = mu[j] + Math.exp(0.5 * logvar[j]) * eps;
      // log N(z; mu, e^lv) with (z - mu)^2 / e^lv = eps^2.
      logQ -= 0.5 * (LOG_2PI + logvar[j] + eps * eps);
    }
    logWeights[k] = logJoint(z) - logQ;
  }
  return logSumExpRef(logWeights) - Math.log(K);
}

/**
 * log p(x) = log of the integral of p(x|z) N(z; 0, I) dz, by the midpoint rule on `points` cells per
 * axis of [-halfWidth, halfWidth]^latent: logsumexp over the cell centres of
 * log p(x|z) + log N(z; 0, I) + log(cell volume). Outside the box the prior's mass is below 1e-14
 * (halfWidth 8). The integrand is smooth and negligible at the box's edges, so the rule's error
 * falls faster than any power of the spacing once the spacing resolves the posterior's width:
 * the default spacings (0.04 in 1-D, 0.08 in 2-D) reach float64 accuracy for posteriors as
 * narrow as a few tenths.
 */
export function exactLogLikelihoodRef(logLik: (z: Float64Array) => number, latent: 1 | 2, opts: { halfWidth?: number; points?: number } = {}): number {
  const halfWidth = opts.halfWidth ?? 8;
  const points = opts.points ?? (latent === 1 ? 400 : 200);
  const h = (2 * halfWidth) / points;
  const centre = (i: number) => -halfWidth + (i + 0.5) * h;
  const logCell = latent * Math.log(h);
  const terms = new Float64Array(points ** latent);
  for (let idx = 0; idx < terms.length; idx++) {
    // Cell idx has index idx % points on axis 0 and floor(idx / points) on axis 1.
    const z = latent === 1 ? Float64Array.of(centre(idx)) : Float64Array.of(centre(idx % points), centre(Math.floor(idx / points)));
    terms[idx] = logLik(z) + logStdNormalRef(z) + logCell;
  }
  return logSumExpRef(terms);
}

/**
 * A small deterministic standard-normal generator for tests: xorshift32 uniforms in (0, 1) turned
 * into pairs of normals by Box-Muller (the second of each pair is kept for the next call).
 */
export function gaussianDraws(seed: number): () => number {
  // xorshift32 is stuck at 0, so a seed that hashes to 0 starts from 1.
  let s = (Math.imul(seed, 0x9e3779b1) + 0x6d2b79f5) >>> 0 || 1;
  const uniform = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return (s + 0.5) / 4294967296; // never 0, so the log below is finite
  };
  let spare: number | undefined;
  return () => {
    if (spare !== undefined) {
      const v = spare;
      spare = undefined;
      return v;
    }
    const r = Math.sqrt(-2 * Math.log(uniform())), theta = 2 * Math.PI * uniform();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
}
