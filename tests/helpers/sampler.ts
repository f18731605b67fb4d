// Shared pieces of the sampler kernels' tests (reparam.test.ts, reparam-backward.test.ts): the
// step parameters on a fixed seed, the check of GPU noise against its TypeScript twin, and the
// posterior inputs.
import { expect } from 'vitest';
import type { PosteriorLayout } from '../../shaders/reparam';
import { encodeStepParams, type StepParams } from '../../src/step-params';
import { expectClose, f32, testData } from './compare';
import { gpu } from './gpu';
import { mulvToQ, SENTINEL, type ReparamDims } from '../reference/reparam';

// A seed above 2^32, so both Philox key words matter.
export const SEED = 2 ** 33 + 12345;
/** Tolerance of GPU normals against the twin: exact on SwiftShader, a few ULP elsewhere. */
export const NOISE_TOL = { atol: 2e-6, rtol: 0 };
/** Spare elements past each output, which must stay zero (bounds checks). */
export const PAD = 4;

/** The uniform for `p` on top of SEED; fields left undefined keep their defaults. */
export function params(p: Partial<StepParams>): Uint32Array {
  const given = Object.fromEntries(Object.entries(p).filter(([, v]) => v !== undefined));
  return new Uint32Array(encodeStepParams({ seed: SEED, ...given }));
}

async function isSwiftShader(): Promise<boolean> {
  const { device } = await gpu();
  return device.adapterInfo?.architecture === 'swiftshader';
}

/** The GPU eps must be the twin's noise: within NOISE_TOL everywhere, and bit-exact on SwiftShader. */
export async function expectTwinNoise(got: ArrayLike<number>, twin: ArrayLike<number>, label: string) {
  expectClose(got, twin, NOISE_TOL, label);
  if (await isSwiftShader()) {
    const differing = Array.from(got).flatMap((v, i) => (v === twin[i] ? [] : [`[${i}] ${v} != ${twin[i]}`]));
    expect(differing.slice(0, 8), `${label}: ${differing.length} values not bit-exact on SwiftShader`).toEqual([]);
  }
}

/** mulv [B, 2Z]: mu in [-3, 3], logvar in [-4, 4], with logvar -30 at the first and +30 at the last element. */
export function makeMulv(d: ReparamDims, seed: number): Float64Array {
  const Z = d.latent;
  const mulv = f32(testData(d.batch * 2 * Z, seed, -3, 3));
  for (let b = 0; b < d.batch; b++) for (let j = 0; j < Z; j++) mulv[b * 2 * Z + Z + j] = Math.fround(mulv[b * 2 * Z + Z + j] * (4 / 3));
  mulv[2 * Z * d.batch - 1] = 30;
  if (d.batch * Z > 1) mulv[Z] = -30;
  return mulv;
}

/** The posterior tensor in `layout`, SENTINEL in the columns that are neither mu nor logvar. */
export const makeQ = (mulv: ArrayLike<number>, B: number, layout: PosteriorLayout) => mulvToQ(mulv, B, layout, new Float64Array(B * layout.stride).fill(SENTINEL));

/**
 * WGSL's exp(x) is accurate to 3 + 2|x| ULP, so sigma = exp(lv / 2) carries a relative error
 * growing with |lv|: terms with sigma in them are given that much more room.
 */
export const expAllowance = (lv: number) => 1 + Math.abs(lv) / 8;
