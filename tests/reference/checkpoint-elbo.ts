// The test-set -ELBO of a checkpoint file in float64, for checking `webgpu-vae eval` end to end.
// Reads the tensors and the configuration straight from the safetensors bytes and runs the
// independent model of tests/reference/vae.ts (written from the documented checkpoint layout).
//   KL(q(z|x) || N(0, I)) = 1/2 sum_j (mu_j^2 + e^{lv_j} - 1 - lv_j)   exact, from the encoder alone
//   E_q[-log p(x|z)]                                                 Monte Carlo, `samples` draws
// The Monte Carlo draws use their own generator, so the reconstruction term comes with its
// standard error: that of a one-draw-per-image estimate (what eval computes) minus this one's
// mean, so a caller can bound the difference by a few of them.
import { decodeSafetensors } from '../../src/io/safetensors';
import { encodeRef, logLikelihoodRef, type RefConfig, type RefParams } from './vae';

export interface CheckpointElbo {
  /** Mean over images of the reconstruction term and of the KL term, in nats. */
  rec: number;
  kl: number;
  /** Standard error of (one-draw estimate of rec) - (this estimate of rec). */
  recStandardError: number;
}

/** Standard normal draws from a seeded LCG and Box-Muller (independent of the library's Philox). */
function normalSource(seed: number): () => number {
  let s = seed >>> 0;
  const uniform = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return ((s >>> 8) + 0.5) / 16777216;
  };
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * The -ELBO terms of the first `count` images (u8 grey levels, scaled by 1/255 as the CLI does)
 * under the model in `checkpointBytes`, with `samples` draws of z per image.
 */
export function elboOfCheckpoint(checkpointBytes: Uint8Array, images: Uint8Array, count: number, samples: number, seed = 1): CheckpointElbo {
  const { tensors, metadata } = decodeSafetensors(checkpointBytes);
  const config = JSON.parse(metadata.config) as RefConfig & { classes: number };
  if (config.classes > 0) throw new Error('elboOfCheckpoint: conditional checkpoints need labels; not supported here');
  const params: RefParams = new Map(Object.entries(tensors).map(([name, t]) => [name, Float64Array.from(t.data)]));
  const D = config.inputDim, normal = normalSource(seed);
  let rec = 0, kl = 0, noiseVariance = 0;
  for (let i = 0; i < count; i++) {
    const x = Array.from(images.subarray(i * D, (i + 1) * D), (v) => v / 255);
    const { mu, logvar } = encodeRef(config, params, x);
    for (let j = 0; j < mu.length; j++) kl += 0.5 * (mu[j] ** 2 + Math.exp(logvar[j]) - 1 - logvar[j]) / count;
    const draws = Array.from({ length: samples }, () => {
      const z = mu.map((m, j) => m + Math.exp(0.5 * logvar[j]) * normal());
      return -logLikelihoodRef(config, params, x, z);
    });
    const mean = draws.reduce((a, b) => a + b, 0) / samples;
    rec += mean / count;
    noiseVariance += draws.reduce((a, d) => a + (d - mean) ** 2, 0) / (samples - 1);
  }
  // Var(one-draw mean) = sum_i v_i / N^2, Var(this mean) = sum_i v_i / (L N^2); they are independent.
  const recStandardError = Math.sqrt(noiseVariance * (1 + 1 / samples)) / count;
  return { rec, kl, recStandardError };
}
