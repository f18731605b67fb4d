// Latent traversals (src/cli/traverse.ts): the grid of z sweeps one coordinate per row and keeps
// the others at the base, dimensions are ranked by their mean KL to the prior, and on dSprites the
// share of each dimension explained by each ground-truth factor is the correlation ratio.
import { describe, expect, it } from 'vitest';
import { factorGaps, factorVarianceExplained, klPerDimension, traversalGrid } from '../src/cli/traverse';

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

  it('factor variance explained: 1 for a function of the factor, even a non-monotone one, 0 for an unrelated or constant dimension', () => {
    // 240 rows over two factors: a (6 values, the slow one) and b (40 values, the fast one, like an angle).
    const rows = 240, factors = new Uint8Array(rows * 2), mu = new Float32Array(rows * 3);
    for (let r = 0; r < rows; r++) {
      const a = Math.floor(r / 40), b = r % 40;
      factors.set([a, b], 2 * r);
      mu[3 * r] = Math.cos((2 * Math.PI * b) / 40); // periodic in b: no linear correlation with it
      mu[3 * r + 1] = a * a - 2.5 * a; // non-monotone in a
      mu[3 * r + 2] = 0.7; // collapsed
    }
    const eta = factorVarianceExplained(mu, 3, factors, 2);
    expect(eta[0][1]).toBeCloseTo(1, 5);
    expect(eta[0][0]).toBeCloseTo(0, 5); // every value of a holds one full period of b
    expect(eta[1][0]).toBeCloseTo(1, 5);
    expect(eta[1][1]).toBeCloseTo(0, 5);
    expect(eta[2]).toEqual([0, 0]);
    // Half the variance from a (+-1 by its parity), half from something a does not know (+-1 by
    // the parity of b): a explains exactly half.
    const mixed = Float32Array.from({ length: rows }, (_, r) => (Math.floor(r / 40) % 2 ? 1 : -1) + (r % 2 ? 1 : -1));
    expect(factorVarianceExplained(mixed, 1, factors, 2)[0][0]).toBeCloseTo(0.5, 6);
    expect(() => factorVarianceExplained(mu, 3, factors.subarray(0, 10), 2)).toThrow(/240 rows need 480 factor values, got 10/);
  });

  it("factor gaps: each factor's best dimension among the used ones, and its lead over the next", () => {
    // Rows: dimensions 0..3; columns: two factors. Dimension 3 is left out as unused.
    const explained = [[0.9, 0.3], [0.1, 0.35], [0.0, 0.2], [0.95, 0.99]];
    const gaps = factorGaps(explained, [0, 1, 2]);
    expect(gaps[0]).toEqual({ best: 0, share: 0.9, gap: expect.closeTo(0.8, 9) });
    expect(gaps[1]).toEqual({ best: 1, share: 0.35, gap: expect.closeTo(0.05, 9) });
    expect(factorGaps(explained, [3])[1]).toEqual({ best: 3, share: 0.99, gap: 0.99 });
    expect(factorGaps(explained, [])[0]).toEqual({ best: -1, share: 0, gap: 0 });
  });
});

