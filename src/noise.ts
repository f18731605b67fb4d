// TypeScript twin of the GPU noise function `noise_at` (shaders/reparam.ts): the e-th standard
// normal of (seed, counter, stream). Used to check the GPU draws and to regenerate any z sample.
// e is a 64-bit element number on the GPU; here any integer up to 2^53: its low word picks the
// Philox block and lane, its high word is the 4th counter word (0 below 2^32).
import { U32_MAX } from '../shaders/common';
import { ConfigError, shown } from './errors';
import { normalPair, philox4x32, seedToKey } from './rng';

/**
 * The `e`-th standard normal of the stream (seed, counter, stream): the eps the reparameterization
 * kernels (`reparamForward`, `priorSample`) draw for element e, so a sample can be rebuilt on the
 * CPU as z = mu + exp(logvar / 2) * noiseAt(e, ...) without reading eps back.
 *
 * The arguments are the StepParams the kernel ran with: `seed`, `counter` and `stream` as given
 * to `encodeStepParams`, and the element number of sample l, row b, latent j:
 * e = (l * noiseRows + noiseRow0 + b) * Z + j, with noiseRows = the kernel's batch when
 * StepParams.noiseRows is 0; a prior sample's element i is e = noiseRow0 * Z + i.
 *
 * Equal to the GPU's draw bit for bit on SwiftShader, where the tests require it; within 2e-6 on
 * a GPU whose division, sqrt or fused multiply-adds round differently (src/rng.ts).
 * Throws a ConfigError for an argument the GPU could not have used: e not a non-negative safe
 * integer, seed not a non-negative safe integer, counter or stream not a u32.
 */
export function noiseAt(e: number, seed: number, counter: number, stream: number): number {
  if (!(Number.isSafeInteger(e) && e >= 0)) throw new ConfigError(`noiseAt: the element number e must be a non-negative safe integer, got ${shown(e)}`);
  if (!(Number.isSafeInteger(seed) && seed >= 0)) throw new ConfigError(`noiseAt: seed must be a non-negative safe integer, as encodeStepParams takes it, got ${shown(seed)}`);
  for (const [name, v] of [['counter', counter], ['stream', stream]] as const) {
    if (!(Number.isInteger(v) && v >= 0 && v <= U32_MAX)) throw new ConfigError(`noiseAt: ${name} must be an integer from 0 to ${U32_MAX} (a u32 of StepParams), got ${shown(v)}`);
  }
  const low = e % 2 ** 32, high = Math.floor(e / 2 ** 32);
  const r = philox4x32([low >>> 2, counter, stream, high], seedToKey(seed));
  const lane = low & 3;
  const pair = lane < 2 ? normalPair(r[0], r[1]) : normalPair(r[2], r[3]);
  return pair[lane & 1];
}
