// TypeScript twin of the GPU binarization in shaders/batch.ts: pixel d of example i becomes 1 with
// probability g / 255, from Philox word (d / 4, i, key, STREAM.binarize) under the run's seed,
// with key = the epoch ('dynamic') or 0 ('fixed'). The comparison is exact in integers, so the
// twin and the kernel agree bit for bit; the tests check that, and the demo and any CPU-side
// consumer can regenerate the very pixels a training step saw.
import { DEQUANTIZE_STREAM } from '../../shaders/batch';
import { philox4x32, seedToKey } from '../rng';
import { STREAM } from '../step-params';

/** 1 or 0: example `i`, pixel `d`, grey level `g` (0..255), under `seed` and `key`. */
export function binarizedPixel(seed: number, key: number, i: number, d: number, g: number): number {
  const r = philox4x32([d >>> 2, i >>> 0, key >>> 0, STREAM.binarize], seedToKey(seed));
  const k = r[d & 3] >>> 9; // the top 23 bits: u = (k + 0.5) 2^-23
  return (2 * k + 1) * 255 < g * 2 ** 24 ? 1 : 0;
}

/**
 * The GPU's dequantized value of grey level `g` (0..255) at example `i`, pixel `d`, in `epoch`:
 * (g + u) / 256 with u = (k + 0.5) 2^-23 from Philox word (d / 4, i, epoch, DEQUANTIZE_STREAM).
 * g + u is rounded to f32 once, as WGSL's correctly rounded addition does; the rest is exact.
 */
export function dequantizedPixel(seed: number, epoch: number, i: number, d: number, g: number): number {
  const r = philox4x32([d >>> 2, i >>> 0, epoch >>> 0, DEQUANTIZE_STREAM], seedToKey(seed));
  const u = ((r[d & 3] >>> 9) + 0.5) * 2 ** -23;
  return Math.fround(g + u) / 256;
}
