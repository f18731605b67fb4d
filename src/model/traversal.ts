// Latent traversals, the figure beta-VAE users read: one row per latent dimension, a fixed z with
// that one coordinate swept across the prior's range, and the rows ordered by how much KL each
// dimension carries. Pure functions, shared by the CLI (src/cli/traverse.ts) and the browser demo.
import { DSPRITES_FACTOR_NAMES } from '../data/dsprites';
import { DSPRITES_COLOR_FACTOR_NAMES } from '../data/dsprites-color';

/** Dimensions with at least this mean KL (nats) count as used when factors are reported. */
export const USED_KL = 0.05;

/** The names of a picture's generating factors, from how many it has (dSprites 5, colour 7); none otherwise. */
export function dspritesFactorNames(perPicture: number): readonly string[] {
  return perPicture === DSPRITES_FACTOR_NAMES.length ? DSPRITES_FACTOR_NAMES : perPicture === DSPRITES_COLOR_FACTOR_NAMES.length ? DSPRITES_COLOR_FACTOR_NAMES : [];
}

/** Mean KL(q(z_j|x) || N(0, 1)) of each latent dimension j over the rows of mu and logvar. */
export function klPerDimension(mu: Float32Array, logvar: Float32Array, latent: number): number[] {
  const rows = mu.length / latent;
  const kl = new Array<number>(latent).fill(0);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < latent; j++) {
      const m = mu[r * latent + j], lv = logvar[r * latent + j];
      kl[j] += 0.5 * (m * m + Math.exp(lv) - 1 - lv) / rows;
    }
  }
  return kl;
}

/** Rows of z: for each dimension in `order`, `steps` copies of `base` with that coordinate swept over [-range, range]. */
export function traversalGrid(base: ArrayLike<number>, order: readonly number[], steps: number, range: number): Float32Array {
  const Z = base.length;
  const z = new Float32Array(order.length * steps * Z);
  order.forEach((dim, row) => {
    for (let s = 0; s < steps; s++) {
      const at = (row * steps + s) * Z;
      z.set(Array.from(base), at);
      z[at + dim] = -range + (2 * range * s) / (steps - 1);
    }
  });
  return z;
}

/**
 * How much of each latent dimension's posterior mean each ground-truth factor explains: for
 * dimension j and factor f, the correlation ratio eta^2 = (variance of the per-value means of
 * mu_j, grouping the rows by their value of f) / (variance of mu_j), in [0, 1]. It needs no
 * linear or ordered relation, so a categorical factor (shape) or a periodic one (orientation)
 * counts as fully as a position. `factors` holds `factorCount` values per row. With few rows per
 * value it is biased upwards by about (values - 1) / rows. A constant dimension gets 0.
 */
export function factorVarianceExplained(mu: Float32Array, latent: number, factors: Uint8Array, factorCount: number): number[][] {
  const rows = mu.length / latent;
  if (factors.length < rows * factorCount) throw new Error(`factorVarianceExplained: ${rows} rows need ${rows * factorCount} factor values, got ${factors.length}`);
  return Array.from({ length: latent }, (_, j) => {
    let mean = 0;
    for (let r = 0; r < rows; r++) mean += mu[r * latent + j] / rows;
    let total = 0;
    for (let r = 0; r < rows; r++) total += (mu[r * latent + j] - mean) ** 2;
    return Array.from({ length: factorCount }, (_, f) => {
      const sums = new Map<number, { n: number; s: number }>();
      for (let r = 0; r < rows; r++) {
        const g = sums.get(factors[r * factorCount + f]) ?? { n: 0, s: 0 };
        g.n++; g.s += mu[r * latent + j];
        sums.set(factors[r * factorCount + f], g);
      }
      let between = 0;
      for (const { n, s } of sums.values()) between += n * (s / n - mean) ** 2;
      // A constant dimension's total is rounding error only: it varies with no factor.
      return total > 1e-12 * rows * Math.max(1, mean * mean) ? between / total : 0;
    });
  });
}

/**
 * For each factor (a column of `explained`, rows = dimensions): the dimension that carries most of
 * it and the gap between that share and the next dimension's. A factor with a dimension of its
 * own has a large gap; one spread over several dimensions, a small one (the idea of Chen et al.
 * 2018's mutual information gap, with eta^2 in place of mutual information).
 */
export function factorGaps(explained: readonly (readonly number[])[], dims: readonly number[]): { best: number; share: number; gap: number }[] {
  const factorCount = explained[0]?.length ?? 0;
  return Array.from({ length: factorCount }, (_, f) => {
    const ranked = dims.map((j) => ({ j, v: explained[j][f] })).sort((a, b) => b.v - a.v);
    const [first, second] = [ranked[0] ?? { j: -1, v: 0 }, ranked[1] ?? { j: -1, v: 0 }];
    return { best: first.j, share: first.v, gap: first.v - second.v };
  });
}

