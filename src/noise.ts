// TypeScript twin of the GPU noise function `noise_at` (shaders/reparam.ts): the e-th standard
// normal of (seed, counter, stream). Used to check the GPU draws and to regenerate any z sample.
import { normalPair, philox4x32, seedToKey } from './rng';

export function noiseAt(e: number, seed: number, counter: number, stream: number): number {
  const r = philox4x32([e >>> 2, counter >>> 0, stream >>> 0, 0], seedToKey(seed));
  const lane = e & 3;
  const pair = lane < 2 ? normalPair(r[0], r[1]) : normalPair(r[2], r[3]);
  return pair[lane & 1];
}
