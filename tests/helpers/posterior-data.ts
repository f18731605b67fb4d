// Posterior test data for the KL kernels' tests (elbo.test.ts, kl-capacity.test.ts): mu and
// logvar with an extreme entry, the per-example KL with the magnitude of its parts, and the
// magnitudes of the KL gradient, for error bounds scaled to what was summed.
import type { PosteriorLayout } from '../../shaders/reparam';
import { f32, testData } from './compare';
import { klTermRef, mulvToQ, SENTINEL } from '../reference/reparam';

/** |e^lv| with room for WGSL's exp, accurate to 3 + 2|x| ULP: relative error grows with |lv|. */
export const expMagnitude = (lv: number) => Math.exp(lv) * (1 + Math.abs(lv) / 4);

/** mulv [B, 2Z]: mu in [-3, 3] scaled per dimension (so dimensions' KLs differ), logvar in [-4, 4], one logvar of +-30. */
export function makeMulv(B: number, Z: number, seed: number): Float64Array {
  const mulv = f32(testData(B * 2 * Z, seed, -3, 3));
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < Z; j++) {
      mulv[b * 2 * Z + j] = Math.fround(mulv[b * 2 * Z + j] * (0.2 + (0.8 * j) / Math.max(Z - 1, 1)));
      mulv[b * 2 * Z + Z + j] = Math.fround(mulv[b * 2 * Z + Z + j] * (4 / 3));
    }
  }
  if (B * Z > 1) mulv[Z] = -30;
  return mulv;
}

export const makeQ = (mulv: ArrayLike<number>, B: number, layout: PosteriorLayout) => mulvToQ(mulv, B, layout, new Float64Array(B * layout.stride).fill(SENTINEL));

/** Per example: kl[b] = sum_j KL term, and the magnitude of the parts summed into it. */
export function klRef(mulv: ArrayLike<number>, B: number, Z: number) {
  const kl = new Float64Array(B), scale = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < Z; j++) {
      const mu = mulv[b * 2 * Z + j], lv = mulv[b * 2 * Z + Z + j];
      kl[b] += klTermRef(mu, lv);
      scale[b] += 0.5 * (expMagnitude(lv) + mu * mu + 1 + Math.abs(lv));
    }
  }
  return { kl, scale };
}

/** Magnitudes of the KL gradient's entries in mulv: |w/n| |mu| and |w/n| (e^lv + 1) / 2. */
export function klGradScale(mulv: ArrayLike<number>, B: number, Z: number, factor: number): Float64Array {
  const s = new Float64Array(B * 2 * Z);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < Z; j++) {
      s[b * 2 * Z + j] = factor * Math.abs(mulv[b * 2 * Z + j]);
      s[b * 2 * Z + Z + j] = factor * 0.5 * (expMagnitude(mulv[b * 2 * Z + Z + j]) + 1);
    }
  }
  return s;
}

/** Whether dq[b] is zero (of either sign) at mu and logvar of every dimension j with pick(j). */
export function zeroAt(dq: ArrayLike<number>, layout: PosteriorLayout, b: number, pick: (j: number) => boolean): boolean {
  for (let j = 0; j < layout.latent; j++) {
    if (pick(j) && (dq[b * layout.stride + layout.mu + j] !== 0 || dq[b * layout.stride + layout.logvar + j] !== 0)) return false;
  }
  return true;
}

