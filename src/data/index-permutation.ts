// A seeded permutation of 0..n-1 that gives the example at any position without storing the
// permutation, for data sets too large to shuffle as an array (colour dSprites: 26.5 million).
//
// Construction: a 4-round Feistel network on the smallest even number of bits b with 2^b >= n,
// each round's function the low b/2 bits of philox4x32([right half, round, 0, stream], seed key).
// A Feistel network is a bijection on 0..2^b-1 whatever its round function; "cycle walking" (apply
// it again while the value is >= n) makes it a bijection on 0..n-1. As 2^b < 4n, fewer than 4
// applications are needed on average.
//
// The train/test split of a generated set (splitGenerated): the first tenth of the positions is
// reserved for testing and training draws from the rest, so a test set is the same for any
// training size, smaller test sets are prefixes of larger ones, and no test example is trained on.
import { philox4x32, seedToKey } from '../rng';
import { DataError } from './idx';

/** Philox stream of the permutation, apart from the training streams. */
const PERMUTATION_STREAM = 0x50524d54; // 'PRMT'
const ROUNDS = 4;

export class IndexPermutation {
  private readonly halfBits: number;
  private readonly mask: number;
  private readonly key: [number, number];

  constructor(readonly size: number, seed: number) {
    if (!Number.isSafeInteger(size) || size < 1 || size > 2 ** 32) {
      throw new DataError(`a permutation needs a size from 1 to 2^32, got ${size}.`);
    }
    const bits = Math.max(2, Math.ceil(Math.log2(size)));
    this.halfBits = Math.ceil(bits / 2);
    this.mask = 2 ** this.halfBits - 1;
    this.key = seedToKey(seed);
  }

  /** One pass of the Feistel network over 0..2^(2 halfBits) - 1. */
  private feistel(x: number): number {
    let left = Math.floor(x / 2 ** this.halfBits);
    let right = x % 2 ** this.halfBits;
    for (let round = 0; round < ROUNDS; round++) {
      const f = philox4x32([right, round, 0, PERMUTATION_STREAM], this.key)[0] & this.mask;
      [left, right] = [right, (left ^ f) >>> 0];
    }
    return left * 2 ** this.halfBits + right;
  }

  /** The element at position `p` (0 <= p < size). */
  at(p: number): number {
    if (!Number.isInteger(p) || p < 0 || p >= this.size) {
      throw new DataError(`permutation position must be an integer from 0 to ${this.size - 1}, got ${p}.`);
    }
    let x = this.feistel(p);
    while (x >= this.size) x = this.feistel(x);
    return x;
  }

  /** The elements at positions start .. start + count - 1. */
  slice(start: number, count: number): Uint32Array {
    return Uint32Array.from({ length: count }, (_, k) => this.at(start + k));
  }
}

/** Share of a generated set's positions reserved for testing. */
export const TEST_RESERVE_SHARE = 0.1;

/** How many of a generated set's `count` positions are reserved for testing (its first ones). */
export const testReserve = (count: number): number => Math.floor(count * TEST_RESERVE_SHARE);

/**
 * Train and test example indices of a generated set of `count` examples: the test set is the
 * first `test` positions of the seeded permutation, the training set `train` positions starting
 * after the reserved test share.
 */
export function splitGenerated(count: number, train: number, test: number, seed: number): { train: Uint32Array; test: Uint32Array } {
  const reserve = testReserve(count);
  for (const [what, n, most] of [['limit', train, count - reserve], ['testLimit', test, reserve]] as const) {
    if (!Number.isInteger(n) || n < 0 || n > most) {
      throw new DataError(
        `${what} must be an integer from 0 to ${most} for a set of ${count} examples (a tenth is held out for testing), got ${n}.`,
      );
    }
  }
  const perm = new IndexPermutation(count, seed);
  return { train: perm.slice(reserve, train), test: perm.slice(0, test) };
}
