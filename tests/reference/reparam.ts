// Float64 references for the reparameterization kernels (shaders/reparam.ts), written for clarity.
// Layouts follow the kernels: mulv is [B, 2Z] (mu in columns [0, Z), logvar in [Z, 2Z)); z, eps
// and dz are [L*B, Z] with row l*B + b.
import { noiseAt } from '../../src/noise';

export interface ReparamDims {
  batch: number;
  latent: number;
  samples: number;
}

/** Index of (sample l, example b, latent j) in z / eps / dz. */
export const sampleIndex = (d: ReparamDims, l: number, b: number, j: number) => (l * d.batch + b) * d.latent + j;

export const muAt = (mulv: ArrayLike<number>, d: ReparamDims, b: number, j: number) => mulv[b * 2 * d.latent + j];
export const logvarAt = (mulv: ArrayLike<number>, d: ReparamDims, b: number, j: number) => mulv[b * 2 * d.latent + d.latent + j];

/** KL(N(mu, e^lv) || N(0, 1)) for one latent dimension. */
export const klTermRef = (mu: number, lv: number) => 0.5 * (Math.exp(lv) + mu * mu - 1 - lv);

/** The noise the kernels should draw: eps[e] = noiseAt(e, seed, counter, stream) for every e. */
export function noiseRef(count: number, seed: number, counter: number, stream: number): Float64Array {
  const out = new Float64Array(count);
  for (let e = 0; e < count; e++) out[e] = noiseAt(e, seed, counter, stream);
  return out;
}

/** z = mu + exp(lv / 2) eps (or z = mu with `meanOnly`), and kl[b] = sum_j KL term. */
export function reparamForwardRef(mulv: ArrayLike<number>, eps: ArrayLike<number>, d: ReparamDims, meanOnly = false) {
  const z = new Float64Array(d.samples * d.batch * d.latent);
  const kl = new Float64Array(d.batch);
  for (let b = 0; b < d.batch; b++) {
    for (let j = 0; j < d.latent; j++) {
      const mu = muAt(mulv, d, b, j), lv = logvarAt(mulv, d, b, j);
      kl[b] += klTermRef(mu, lv);
      for (let l = 0; l < d.samples; l++) {
        const e = sampleIndex(d, l, b, j);
        z[e] = meanOnly ? mu : mu + Math.exp(0.5 * lv) * eps[e];
      }
    }
  }
  return { z, kl };
}

/**
 * Gradient of  loss = sum_e dz[e] z[e] + beta * (1/n) sum_{b<n} kl[b]  with respect to mulv, for
 * fixed eps (n = validRows; rows b >= n carry no KL term):
 *   dmu = sum_l dz + beta mu / n,  dlv = sum_l dz eps exp(lv/2) / 2 + beta (exp(lv) - 1) / (2n).
 */
export function reparamBackwardRef(mulv: ArrayLike<number>, eps: ArrayLike<number>, dz: ArrayLike<number>, d: ReparamDims, validRows: number, beta: number): Float64Array {
  const dmulv = new Float64Array(d.batch * 2 * d.latent);
  const n = Math.max(validRows, 1);
  for (let b = 0; b < d.batch; b++) {
    const klScale = b < validRows ? beta / n : 0;
    for (let j = 0; j < d.latent; j++) {
      const mu = muAt(mulv, d, b, j), lv = logvarAt(mulv, d, b, j);
      let dmu = 0, dlv = 0;
      for (let l = 0; l < d.samples; l++) {
        const e = sampleIndex(d, l, b, j);
        dmu += dz[e];
        dlv += dz[e] * eps[e] * 0.5 * Math.exp(0.5 * lv);
      }
      dmulv[b * 2 * d.latent + j] = dmu + klScale * mu;
      dmulv[b * 2 * d.latent + d.latent + j] = dlv + klScale * 0.5 * (Math.exp(lv) - 1);
    }
  }
  return dmulv;
}

/** The scalar whose gradient reparamBackwardRef is (used by the finite-difference check). */
export function reparamLossRef(mulv: ArrayLike<number>, eps: ArrayLike<number>, dz: ArrayLike<number>, d: ReparamDims, validRows: number, beta: number): number {
  const { z, kl } = reparamForwardRef(mulv, eps, d);
  let loss = 0;
  for (let e = 0; e < z.length; e++) loss += dz[e] * z[e];
  let klSum = 0;
  for (let b = 0; b < Math.min(validRows, d.batch); b++) klSum += kl[b];
  return loss + (beta * klSum) / Math.max(validRows, 1);
}
