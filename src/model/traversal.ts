// Latent traversals, the figure beta-VAE users read: one row per latent dimension, a fixed z with
// that one coordinate swept across the prior's range, and the rows ordered by how much KL each
// dimension carries. Pure functions, shared by the CLI (src/cli/traverse.ts) and the browser demo.

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
