// Latent traversals (src/cli/traverse.ts): the grid of z sweeps one coordinate per row and keeps
// the others at the base, dimensions are ranked by their mean KL to the prior, and on dSprites the
// share of each dimension explained by each ground-truth factor is the correlation ratio.
import { describe, expect, it } from 'vitest';
import { factorGaps, factorVarianceExplained, klPerDimension, traversalGrid } from '../src/cli/traverse';
import { equalWidthBins, mutualInformation, mutualInformationGap } from '../src/model/traversal';

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
    expect(gaps[0]).toEqual({ best: 0, next: 1, share: 0.9, gap: expect.closeTo(0.8, 9) });
    expect(gaps[1]).toEqual({ best: 1, next: 0, share: 0.35, gap: expect.closeTo(0.05, 9) });
    expect(factorGaps(explained, [3])[1]).toEqual({ best: 3, next: -1, share: 0.99, gap: 0.99 });
    expect(factorGaps(explained, [])[0]).toEqual({ best: -1, next: -1, share: 0, gap: 0 });
  });

  it('equal-width bins span [min, max], the maximum in the last bin; a constant sequence is one bin', () => {
    expect(Array.from(equalWidthBins([0, 0.49, 0.5, 1, 2, 4], 4))).toEqual([0, 0, 0, 1, 2, 3]);
    expect(Array.from(equalWidthBins([3, 3, 3], 20))).toEqual([0, 0, 0]);
  });

  it('mutual information: 0 for independent sequences, the entropy for identical ones, and a hand-computed mixed case', () => {
    expect(mutualInformation([0, 0, 1, 1], [0, 1, 0, 1])).toBe(0);
    expect(mutualInformation([0, 0, 1, 1], [5, 5, 7, 7])).toBeCloseTo(Math.log(2), 12);
    expect(mutualInformation([0, 1, 2, 3, 4, 5], [0, 1, 2, 3, 4, 5])).toBeCloseTo(Math.log(6), 12);
    // p(a, b): (0,0) 1/2, (1,0) 1/4, (1,1) 1/4; p(a) = p(b) = (1/2, 1/2) for a and (3/4, 1/4) for b.
    const expected = 0.5 * Math.log(0.5 / (0.5 * 0.75)) + 0.25 * Math.log(0.25 / (0.5 * 0.75)) + 0.25 * Math.log(0.25 / (0.5 * 0.25));
    expect(mutualInformation([0, 0, 1, 1], [0, 0, 0, 1])).toBeCloseTo(expected, 12);
    expect(() => mutualInformation([0, 1], [0])).toThrow(/2 and 1 values/);
  });

  describe('mutual information gap', () => {
    // Every combination of two factors, a (4 values) and b (5 values), three times: 60 rows.
    const rows = 60, factors = new Uint8Array(rows * 3);
    for (let r = 0; r < rows; r++) factors.set([r % 4, Math.floor(r / 4) % 5, 0], 3 * r);
    const code = (dims: ((a: number, b: number) => number)[]) =>
      Float32Array.from({ length: rows * dims.length }, (_, i) => dims[i % dims.length](factors[3 * Math.floor(i / dims.length)], factors[3 * Math.floor(i / dims.length) + 1]));

    it('is 1 for a code with one dimension per factor, and leaves a constant factor out of the mean', () => {
      const { mig, factors: per } = mutualInformationGap(code([(a) => a, () => 0.3, (_, b) => -2 * b]), 3, factors, 3);
      expect(mig).toBeCloseTo(1, 12);
      expect(per[0]).toMatchObject({ best: 0, share: expect.closeTo(1, 12), gap: expect.closeTo(1, 12), entropy: expect.closeTo(Math.log(4), 12) });
      expect(per[1]).toMatchObject({ best: 2, gap: expect.closeTo(1, 12) });
      expect(per[2].entropy).toBe(0);
    });

    it('is 0 for a factor copied into two dimensions, and well below 1 for a rotated code', () => {
      const copied = mutualInformationGap(code([(a) => a, (a) => 2 * a + 1, (_, b) => b]), 3, factors, 3);
      expect(copied.factors[0].gap).toBeCloseTo(0, 12);
      expect(copied.factors[1].gap).toBeCloseTo(1, 12);
      expect(copied.mig).toBeCloseTo(0.5, 12);
      // A rotation by about 27 degrees: each dimension tells something of both factors.
      const rotated = mutualInformationGap(code([(a, b) => a + 0.5 * b, (a, b) => b - 0.5 * a]), 2, factors, 3).mig;
      expect(rotated).toBeGreaterThan(0);
      expect(rotated).toBeLessThan(0.5);
    });

    it('refuses too few factor values', () => {
      expect(() => mutualInformationGap(new Float32Array(10), 2, new Uint8Array(4), 3)).toThrow(/5 rows need 15 factor values, got 4/);
    });
  });
});
