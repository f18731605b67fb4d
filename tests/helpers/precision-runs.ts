// One model trained in f32 and in f16 from the same seed and batches, and the comparison the f16
// tests hold every architecture to: the first gradient points the same way, and the losses, the
// evaluation and the samples agree to f16's rounding of the activations.
import { expect } from 'vitest';
import type { ResidentData } from '../../src/model/resident-data';
import type { VAE } from '../../src/model/vae';
import { testData } from './compare';

/** `count` binary pictures of `dim` pixels: 8 fixed patterns with 5% of the pixels flipped. */
export function noisyPatterns(count: number, dim: number, seed: number): Uint8Array {
  const patterns = testData(8 * dim, seed), flips = testData(count * dim, seed + 1, 0, 1);
  return Uint8Array.from(flips, (u, i) => ((patterns[(Math.floor(i / dim) % 8) * dim + (i % dim)] > 0) !== (u < 0.05) ? 255 : 0));
}

export interface PrecisionRun {
  firstGrad: Float32Array;
  /** Training losses, read every 4 steps. */
  losses: number[];
  plan: Awaited<ReturnType<VAE['plan']>>;
  elbo: Awaited<ReturnType<VAE['elbo']>>;
  samples: Float32Array;
}

/**
 * `steps` training steps over batches 0..7 in turn, then the train plan at `batch` rows and the
 * evaluation and sampling graphs (other row counts); `more` reads anything else before the model
 * is destroyed.
 */
export async function trainAndProbe<T extends object = object>(vae: VAE, data: ResidentData, steps: number, batch: number, more?: (vae: VAE) => Promise<T>): Promise<PrecisionRun & T> {
  try {
    await vae.trainStep({ data, index: 0 });
    const firstGrad = await vae.flatGradients();
    const losses: number[] = [];
    for (let i = 1; i < steps; i++) {
      await vae.trainStep({ data, index: i % 8 });
      if (i % 4 === 3) losses.push(...(await vae.readLosses()).map((l) => l.loss));
    }
    const plan = await vae.plan('train', batch);
    const elbo = await vae.elbo(data, { seed: 3 });
    // A conditional model draws classes 0, 1, ... in turn.
    const samples = await vae.sample(5, 3, vae.config.classes ? Array.from({ length: 5 }, (_, i) => i % vae.config.classes) : undefined);
    return { firstGrad, losses, plan, elbo, samples, ...((await more?.(vae)) ?? ({} as T)) };
  } finally {
    vae.destroy();
  }
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) { dot += a[i] * b[i]; na += a[i] ** 2; nb += b[i] ** 2; }
  return dot / Math.sqrt(na * nb);
}

/**
 * The f16 run against the f32 one: its f16 tensors at half the bytes, first-gradient cosine above
 * `minCosine`, losses and eval -ELBO within 0.5%, sample values within 0.02. Returns the names of
 * the f16 tensors.
 */
export function expectF16Tracks(full: PrecisionRun, half: PrecisionRun, minCosine: number): string[] {
  const halfTensors = Object.values(half.plan.tensors).filter((t) => t.dtype === 'f16');
  for (const t of halfTensors) expect(t.bytes, t.name).toBe(full.plan.tensors[t.name].bytes / 2);
  expect(cosine(full.firstGrad, half.firstGrad), 'cosine of the first gradients').toBeGreaterThan(minCosine);
  expect(half.losses).toHaveLength(full.losses.length);
  half.losses.forEach((l, i) => expect(Math.abs(l - full.losses[i]), `loss ${i}: f16 ${l} f32 ${full.losses[i]}`).toBeLessThan(0.005 * full.losses[i]));
  expect(Math.abs(half.elbo.loss - full.elbo.loss), `eval -ELBO f16 ${half.elbo.loss} f32 ${full.elbo.loss}`).toBeLessThan(0.005 * full.elbo.loss);
  expect(half.samples.length).toBe(full.samples.length);
  half.samples.forEach((p, i) => expect(Math.abs(p - full.samples[i]), `sample value ${i}`).toBeLessThan(0.02));
  return halfTensors.map((t) => t.name).sort();
}
