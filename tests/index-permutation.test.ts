// The seeded index permutation (a cycle-walked Feistel network) and the held-out split of
// generated data sets built on it.
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/data/idx';
import { IndexPermutation, splitGenerated } from '../src/data/index-permutation';

describe('IndexPermutation', () => {
  it('is a bijection of 0..n-1 for every size up to 300 and some awkward larger ones', () => {
    const sizes = [...Array.from({ length: 300 }, (_, i) => i + 1), 1023, 1024, 1025, 4097, 65_537];
    for (const n of sizes) {
      const seen = new Uint8Array(n);
      const perm = new IndexPermutation(n, n * 7);
      for (let p = 0; p < n; p++) seen[perm.at(p)]++;
      expect(seen.every((c) => c === 1), `size ${n}`).toBe(true);
    }
  });

  it('depends on the seed, and not on how positions are asked for', () => {
    const a = new IndexPermutation(1000, 1).slice(0, 1000);
    const b = new IndexPermutation(1000, 2).slice(0, 1000);
    expect(Array.from(a)).not.toEqual(Array.from(b));
    expect(Array.from(new IndexPermutation(1000, 1).slice(500, 20))).toEqual(Array.from(a.subarray(500, 520)));
    // Not the identity or a rotation: few fixed points, as a random permutation would have.
    expect(a.filter((v, i) => v === i).length).toBeLessThan(10);
  });

  it('gives distinct in-range indices on colour dSprites\' 26.5 million without a table', () => {
    const n = 26_542_080;
    const xs = new IndexPermutation(n, 5).slice(1_000_000, 5000);
    expect(new Set(xs).size).toBe(5000);
    expect(Math.max(...xs)).toBeLessThan(n);
  });

  it('refuses sizes and positions out of range', () => {
    expect(() => new IndexPermutation(0, 1)).toThrow(DataError);
    expect(() => new IndexPermutation(10, 1).at(10)).toThrow(/position must be an integer from 0 to 9, got 10/);
  });
});

describe('splitGenerated', () => {
  it('holds the first tenth out for testing, whatever the training size', () => {
    const small = splitGenerated(1000, 50, 20, 9);
    const large = splitGenerated(1000, 900, 100, 9);
    expect(Array.from(large.test.subarray(0, 20))).toEqual(Array.from(small.test)); // prefixes
    expect(Array.from(large.train.subarray(0, 50))).toEqual(Array.from(small.train));
    const all = new Set([...large.train, ...large.test]);
    expect(all.size).toBe(1000); // train and test together: every example once
  });

  it('refuses sizes beyond what the split can give, naming the range', () => {
    expect(() => splitGenerated(1000, 901, 10, 0)).toThrow(/limit must be an integer from 0 to 900 for a set of 1000 examples/);
    expect(() => splitGenerated(1000, 10, 101, 0)).toThrow(/testLimit must be an integer from 0 to 100/);
  });
});
