// Latent traversals (src/cli/traverse.ts): the grid of z sweeps one coordinate per row and keeps
// the others at the base, and dimensions are ranked by their mean KL to the prior.
import { describe, expect, it } from 'vitest';
import { klPerDimension, traversalGrid } from '../src/cli/traverse';

describe('latent traversals', () => {
  it('sweeps exactly one coordinate per row from -range to +range', () => {
    const base = Float32Array.of(0.5, -1, 2);
    const z = traversalGrid(base, [2, 0], 3, 3);
    expect(Array.from(z)).toEqual([0.5, -1, -3, 0.5, -1, 0, 0.5, -1, 3, -3, -1, 2, 0, -1, 2, 3, -1, 2]);
  });

  it('KL per dimension: 0 for the prior itself, 0.5 mu^2 for a unit-variance shift, averaged over rows', () => {
    const mu = Float32Array.of(0, 2, 0, 0), logvar = Float32Array.of(0, 0, 0, Math.log(4));
    const kl = klPerDimension(mu, logvar, 2);
    expect(kl[0]).toBe(0);
    // dim 1: row 0 has mu = 2, var 1 (KL 2); row 1 has mu = 0, var 4 (KL (4 - 1 - log 4) / 2).
    expect(kl[1]).toBeCloseTo((2 + 0.5 * (4 - 1 - Math.log(4))) / 2, 6);
  });
});
