// TypeScript twin of the GPU noise function `noise_at` (shaders/reparam.ts): the e-th standard
// normal of (seed, counter, stream). Used to check the GPU draws and to regenerate any z sample.
// e is a 64-bit element number on the GPU; here any integer up to 2^53: its low word picks the
// Philox block and lane, its high word is the 4th counter word (0 below 2^32).
import { normalPair, philox4x32, seedToKey } from './rng';

export function noiseAt(e: number, seed: number, counter: number, stream: number): number {
  const low = e % 2 ** 32, high = Math.floor(e / 2 ** 32);
  const r = philox4x32([low >>> 2, counter >>> 0, stream >>> 0, high >>> 0], seedToKey(seed));
  const lane = low & 3;
  const pair = lane < 2 ? normalPair(r[0], r[1]) : normalPair(r[2], r[3]);
  return pair[lane & 1];
}
