// Float64 references for the sampler kernels (shaders/reparam.ts), written for clarity.
// The objectives' references (objectives.ts) and these work on mulv [B, 2Z]: mu in columns [0, Z),
// logvar in [Z, 2Z). The kernels read the posterior q through a PosteriorLayout instead, so
// `qToMulv` and `mulvToQ` convert between the two. z, eps and dz are [L*B, Z] with row l*B + b.
// The sampler's backward pass is objectiveThroughSamplerRef (objectives.ts); `samplerLossRef`
// here is the scalar it differentiates, for the finite-difference check.
import type { PosteriorLayout } from '../../shaders/reparam';
import { noiseAt } from '../../src/noise';
import { testData } from '../helpers/compare';

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

/** The layout of mulv, which is also the model's: stride 2Z, mu first. */
export const mulvLayout = (latent: number): PosteriorLayout => ({ latent, stride: 2 * latent, mu: 0, logvar: latent });

/**
 * A layout other than the model's, for tests that must see kernels take the layout from their
 * parameters: rows of 2Z + 3 with logvar first and a spare column before, between and after.
 */
export const offsetLayout = (latent: number): PosteriorLayout => ({ latent, stride: 2 * latent + 3, logvar: 1, mu: latent + 2 });

/** mulv [B, 2Z] from a posterior tensor q [B, stride] in `layout`. */
export function qToMulv(q: ArrayLike<number>, batch: number, layout: PosteriorLayout): Float64Array {
  const Z = layout.latent, mulv = new Float64Array(batch * 2 * Z);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < Z; j++) {
      mulv[b * 2 * Z + j] = q[b * layout.stride + layout.mu + j];
      mulv[b * 2 * Z + Z + j] = q[b * layout.stride + layout.logvar + j];
    }
  }
  return mulv;
}

/**
 * q [B, stride] in `layout` holding mulv's mu and logvar; the other columns of each row keep
 * `rest`'s values (a sentinel, to see that kernels leave them alone), or 0.
 */
export function mulvToQ(mulv: ArrayLike<number>, batch: number, layout: PosteriorLayout, rest?: ArrayLike<number>): Float64Array {
  const Z = layout.latent;
  const q = rest ? Float64Array.from(rest) : new Float64Array(batch * layout.stride);
  for (let b = 0; b < batch; b++) {
    for (let j = 0; j < Z; j++) {
      q[b * layout.stride + layout.mu + j] = mulv[b * 2 * Z + j];
      q[b * layout.stride + layout.logvar + j] = mulv[b * 2 * Z + Z + j];
    }
  }
  return q;
}

/** The noise the kernels should draw: eps[e] = noiseAt(e, seed, counter, stream) for every e. */
export function noiseRef(count: number, seed: number, counter: number, stream: number): Float64Array {
  const out = new Float64Array(count);
  for (let e = 0; e < count; e++) out[e] = noiseAt(e, seed, counter, stream);
  return out;
}

export interface NoiseNumbering {
  seed: number;
  counter: number;
  stream: number;
  /** Rows per sample in the numbering; 0 stands for the batch's own B. */
  noiseRows?: number;
  /** First row of this batch in the numbering. */
  noiseRow0?: number;
}

/**
 * The eps of a batch [L*B, Z]: sample l of example b, dimension j, takes normal number
 * (l * noiseRows + noiseRow0 + b) * Z + j of the stream, so a batch that is a slice of a larger
 * numbered set (evaluation over a dataset) draws the same noise as the set would.
 */
export function batchNoiseRef(d: ReparamDims, n: NoiseNumbering): Float64Array {
  const rows = n.noiseRows || d.batch, row0 = n.noiseRow0 ?? 0;
  const eps = new Float64Array(d.samples * d.batch * d.latent);
  for (let l = 0; l < d.samples; l++) {
    for (let b = 0; b < d.batch; b++) {
      for (let j = 0; j < d.latent; j++) eps[sampleIndex(d, l, b, j)] = noiseAt((l * rows + row0 + b) * d.latent + j, n.seed, n.counter, n.stream);
    }
  }
  return eps;
}

/** The noise of `counterPerSample` (evaluations): sample l of example noise_row0 + b is counter + l at element (noise_row0 + b) * Z + j. */
export function perSampleNoiseRef(d: ReparamDims, n: NoiseNumbering): Float64Array {
  const row0 = n.noiseRow0 ?? 0;
  const eps = new Float64Array(d.samples * d.batch * d.latent);
  for (let l = 0; l < d.samples; l++) {
    for (let b = 0; b < d.batch; b++) {
      for (let j = 0; j < d.latent; j++) eps[sampleIndex(d, l, b, j)] = noiseAt((row0 + b) * d.latent + j, n.seed, n.counter + l, n.stream);
    }
  }
  return eps;
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
 * The scalar whose gradient in mulv the sampler's backward pass computes, for fixed eps:
 *   sum_i dmulvDirect_i mulv_i + sum_e (dz[e] + dzDirect[e]) z[e](mulv),
 * i.e. the objective linearized around the current point: its direct gradient on mulv, and the
 * gradient arriving at z (from the decoder and the objective's own z terms) carried through
 * z = mu + exp(lv/2) eps. Its gradient is objectiveThroughSamplerRef's result.
 */
export function samplerLossRef(
  mulv: ArrayLike<number>, eps: ArrayLike<number>, d: ReparamDims, dmulvDirect: ArrayLike<number>, dz: ArrayLike<number>, dzDirect?: ArrayLike<number>,
): number {
  const { z } = reparamForwardRef(mulv, eps, d);
  let loss = 0;
  for (let i = 0; i < mulv.length; i++) loss += dmulvDirect[i] * mulv[i];
  for (let e = 0; e < z.length; e++) loss += (dz[e] + (dzDirect ? dzDirect[e] : 0)) * z[e];
  return loss;
}

/** Fills the columns of q and dq_direct that are neither mu nor logvar, which kernels must not touch. */
export const SENTINEL = 42;
/** The model's posterior layout and one with the columns elsewhere, to show kernels take it from the parameter. */
export const LAYOUTS = { model: mulvLayout, offset: offsetLayout };
export type LayoutName = keyof typeof LAYOUTS;

/** mulv [B, 2Z] of test data: mu uniform in muRange, logvar in lvRange (seeds seed and seed + 1). */
export function randomMulv(B: number, Z: number, seed: number, muRange: [number, number], lvRange: [number, number]): Float64Array {
  const mu = testData(B * Z, seed, ...muRange), lv = testData(B * Z, seed + 1, ...lvRange);
  const mulv = new Float64Array(B * 2 * Z);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < Z; j++) {
      mulv[b * 2 * Z + j] = mu[b * Z + j];
      mulv[b * 2 * Z + Z + j] = lv[b * Z + j];
    }
  }
  return mulv;
}
