// TypeScript twin of the GPU's data draws in shaders/batch.ts: binarization (pixel d of example i
// becomes 1 with probability g / 255) and dequantization, from Philox word (d / 4, i, key, stream)
// under the run's seed. A training step draws key = its step counter in STREAM.binarize or
// STREAM.dequantize; an evaluation key 0 in STREAM.binarizeEval or STREAM.dequantizeEval; 'fixed'
// binarization key 0 in STREAM.binarize everywhere. The comparison is exact in integers, so the
// twin and the kernel agree bit for bit; the tests check that, and the demo and any CPU-side
// consumer can regenerate the very pixels a training step saw.
import { philox4x32, seedToKey } from '../rng';
import { STREAM } from '../step-params';

/** 1 or 0: example `i`, pixel `d`, grey level `g` (0..255), under `seed`, `key` and `stream`. */
export function binarizedPixel(seed: number, key: number, i: number, d: number, g: number, stream: number = STREAM.binarize): number {
  const r = philox4x32([d >>> 2, i >>> 0, key >>> 0, stream >>> 0], seedToKey(seed));
  const k = r[d & 3] >>> 9; // the top 23 bits: u = (k + 0.5) 2^-23
  return (2 * k + 1) * 255 < g * 2 ** 24 ? 1 : 0;
}

/**
 * The GPU's dequantized value of grey level `g` (0..255) at example `i`, pixel `d`:
 * (g + u) / 256 with u = (k + 0.5) 2^-23 from Philox word (d / 4, i, key, stream).
 * g + u is rounded to f32 once, as WGSL's correctly rounded addition does; the rest is exact.
 */
export function dequantizedPixel(seed: number, key: number, i: number, d: number, g: number, stream: number = STREAM.dequantize): number {
  const r = philox4x32([d >>> 2, i >>> 0, key >>> 0, stream >>> 0], seedToKey(seed));
  const u = ((r[d & 3] >>> 9) + 0.5) * 2 ** -23;
  return Math.fround(g + u) / 256;
}
