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
export function traversalGrid(base: ArrayLike<number>, order: readonly number[], steps: number, range: number): Float32Array<ArrayBuffer> {
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
export function factorGaps(explained: readonly (readonly number[])[], dims: readonly number[]): { best: number; next: number; share: number; gap: number }[] {
  const factorCount = explained[0]?.length ?? 0;
  return Array.from({ length: factorCount }, (_, f) => {
    const ranked = dims.map((j) => ({ j, v: explained[j][f] })).sort((a, b) => b.v - a.v);
    const [first, second] = [ranked[0] ?? { j: -1, v: 0 }, ranked[1] ?? { j: -1, v: 0 }];
    return { best: first.j, next: second.j, share: first.v, gap: first.v - second.v };
  });
}


/** Bins of the histogram each latent dimension is cut into for MIG, as in disentanglement_lib. */
export const MIG_BINS = 20;

/** Each value's bin among `bins` equal-width bins spanning [min, max] (all in bin 0 when constant). */
export function equalWidthBins(values: ArrayLike<number>, bins: number): Uint16Array {
  let lo = Infinity, hi = -Infinity;
  for (let i = 0; i < values.length; i++) { lo = Math.min(lo, values[i]); hi = Math.max(hi, values[i]); }
  const width = (hi - lo) / bins;
  return Uint16Array.from({ length: values.length }, (_, i) => (width > 0 ? Math.min(bins - 1, Math.floor((values[i] - lo) / width)) : 0));
}

/** The plug-in mutual information (nats) of two discrete sequences of equal length: sum p(a, b) log(p(a, b) / (p(a) p(b))). */
export function mutualInformation(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const n = a.length;
  if (b.length !== n) throw new Error(`mutualInformation: sequences of ${n} and ${b.length} values`);
  const joint = new Map<string, number>(), pa = new Map<number, number>(), pb = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const key = `${a[i]},${b[i]}`;
    joint.set(key, (joint.get(key) ?? 0) + 1);
    pa.set(a[i], (pa.get(a[i]) ?? 0) + 1);
    pb.set(b[i], (pb.get(b[i]) ?? 0) + 1);
  }
  let mi = 0;
  for (const [key, count] of joint) {
    const [x, y] = key.split(',').map(Number);
    mi += (count / n) * Math.log((count * n) / (pa.get(x)! * pb.get(y)!));
  }
  return Math.max(0, mi);
}

export interface FactorMig {
  /** The dimension sharing most information with the factor, and the runner-up (-1 when none). */
  best: number;
  second: number;
  /** Their mutual information with the factor over its entropy, and the gap between the two. */
  share: number;
  gap: number;
  /** The factor's entropy over the pictures (nats); a constant factor (0) is left out of the mean. */
  entropy: number;
}

/**
 * The mutual information gap (Chen, Li, Grosse & Duvenaud 2018), estimated as disentanglement_lib
 * does: each dimension of the posterior mean cut into `bins` equal-width bins, the plug-in mutual
 * information I(z_j; v_k) with each factor, and for each factor the gap between its two most
 * informative dimensions over its entropy H(v_k); MIG is the mean gap over the factors that vary.
 * 1 means every factor lives in one dimension that carries nothing of the others. The plug-in
 * estimate is biased upwards by about (bins - 1)(values - 1) / (2 rows) nats, so figures compare
 * with the literature's at its 10,000 pictures, not at a few hundred.
 */
export function mutualInformationGap(mu: Float32Array, latent: number, factors: Uint8Array, factorCount: number, bins = MIG_BINS): { mig: number; factors: FactorMig[] } {
  const rows = mu.length / latent;
  if (factors.length < rows * factorCount) throw new Error(`mutualInformationGap: ${rows} rows need ${rows * factorCount} factor values, got ${factors.length}`);
  const binned = Array.from({ length: latent }, (_, j) => equalWidthBins(Float64Array.from({ length: rows }, (_, r) => mu[r * latent + j]), bins));
  // I(z_j; v_k) / H(v_k) for every dimension and factor, then each factor's two best dimensions.
  const entropies = Array.from({ length: factorCount }, (_, f) => {
    const v = Uint8Array.from({ length: rows }, (_, r) => factors[r * factorCount + f]);
    return { v, entropy: mutualInformation(v, v) };
  });
  const normalized = binned.map((z) => entropies.map(({ v, entropy }) => (entropy > 0 ? mutualInformation(z, v) / entropy : 0)));
  const perFactor = factorGaps(normalized, Array.from({ length: latent }, (_, j) => j))
    .map((g, f): FactorMig => ({ best: g.best, second: g.next, share: g.share, gap: g.gap, entropy: entropies[f].entropy }));
  const varying = perFactor.filter((f) => f.entropy > 0);
  return { mig: varying.length ? varying.reduce((s, f) => s + f.gap, 0) / varying.length : 0, factors: perFactor };
}
