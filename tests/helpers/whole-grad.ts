// The whole-model gradient check: a GPU training step's loss and gradients, captured with the
// step's own noise, beside central finite differences of the independent float64 reference
// (tests/reference/vae.ts). Used by tests/gradcheck*.test.ts and tests/eval-figures.test.ts.
//
// secondStep takes two steps and keeps the second: its gradients must overwrite the first step's,
// not add to them, and they are taken at the parameters the first step left.
import { readFloats } from '../../src/gpu/buffers';
import { buildModel } from '../../src/model/build';
import { resolveConfig, type VaeConfig } from '../../src/model/config';
import type { StepLoss } from '../../src/model/loss-ring';
import { initialParams } from '../../src/model/params';
import { VAE, type VaeOptions } from '../../src/model/vae';
import { mismatches, testData, type Tolerance } from './compare';
import { gpu } from './gpu';
import { vaeLossRef, type RefConfig, type RefParams } from '../reference/vae';

export interface StepCapture {
  config: VaeConfig;
  /** The parameters the step was taken at, by checkpoint name (views into `flat`). */
  params: RefParams;
  flat: Float64Array;
  grads: Float32Array;
  eps: Float32Array;
  /** The step's loss record, as readLosses() gave it. */
  record: StepLoss;
  /** The batch's rows, padded with zero rows to `batch`, and its labels (0 on padding rows). */
  x: Float64Array;
  labels: number[];
  batch: number;
  valid: number;
  klWeight: number;
  klCapacity?: number;
  /** The parameters after the step (its update). */
  paramsAfter: Float32Array;
}

/** The default init, scaled up so activations leave their near-linear regime. */
export function scaled(config: VaeConfig, seed: number, factor = 1.5): Float32Array {
  const p = initialParams(buildModel(config).layout, seed);
  for (let i = 0; i < p.length; i++) p[i] *= factor;
  return p;
}

/** A model's parameters as the reference reads them: checkpoint name -> view of `flat`. */
export const paramsByName = (vae: VAE, flat: Float64Array): RefParams => new Map(vae.layout.tensors.map((t) => [t.name, flat.subarray(t.offset, t.offset + t.count)]));

/** Two training steps of a fresh model on rows given as a Float32Array; the second is captured. */
export async function secondStep(partial: Partial<VaeConfig>, seed: number, shape: { batch?: number; valid?: number } = {}, options: Partial<VaeOptions> = {}): Promise<StepCapture> {
  const { batch = 6, valid = 5 } = shape; // by default one padding row, which must not contribute
  const { device } = await gpu();
  const config = resolveConfig(partial);
  const D = config.inputDim;
  const vae = await VAE.create(config, { device, batch, seed, lr: 1e-3, initialParams: scaled(config, seed), ...options });
  const labels = Array.from({ length: valid }, (_, i) => (i * 2 + seed) % Math.max(config.classes, 1));
  await vae.trainStep(Float32Array.from(testData(batch * D, seed + 100, 0, 1)), config.classes ? Array.from({ length: batch }, (_, i) => i % config.classes) : undefined);
  const flat = Float64Array.from(await vae.flatParameters());
  const x = Float32Array.from(testData(valid * D, seed, 0, 1));
  await vae.trainStep(x, config.classes ? labels : undefined);
  const record = (await vae.readLosses())[1];
  const grads = await vae.flatGradients();
  const paramsAfter = await vae.flatParameters();
  const plan = await vae.plan('train', batch);
  const eps = await readFloats(device, plan.tensors.eps.buffer);
  const klWeight = vae.klWeightAt(2);
  const klCapacity = config.klCapacity > 0 ? vae.klCapacityAt(2) : undefined;
  const params = paramsByName(vae, flat);
  vae.destroy();
  const xPadded = new Float64Array(batch * D);
  xPadded.set(x);
  return { config, params, flat, grads, eps, record, x: xPadded, labels: [...labels, ...Array(batch - valid).fill(0)], batch, valid, klWeight, klCapacity, paramsAfter };
}

/** The reference's loss terms at the captured step (its parameters as they are now in `params`). */
export function refOf(s: StepCapture, overrides: { klWeight?: number } = {}) {
  return vaeLossRef(s.config as RefConfig, s.params, { x: s.x, labels: s.labels, eps: s.eps, batch: s.batch, valid: s.valid, klWeight: overrides.klWeight ?? s.klWeight, klCapacity: s.klCapacity });
}

/** Central differences of the reference loss at sampled entries of every tensor, beside the GPU's gradients. */
export function compareGradients(s: StepCapture, seed: number, picksPerTensor = 6) {
  const rows: { name: string; got: number[]; fd: number[] }[] = [];
  for (const [name, values] of s.params) {
    const picks = Array.from(new Set(Array.from({ length: picksPerTensor }, (_, k) => Math.floor((k * 7919 + seed * 31) % values.length))));
    const fd = picks.map((i) => {
      const h = 1e-5, save = values[i];
      values[i] = save + h;
      const up = refOf(s).loss;
      values[i] = save - h;
      const down = refOf(s).loss;
      values[i] = save;
      return (up - down) / (2 * h);
    });
    const offset = values.byteOffset / 8;
    rows.push({ name, got: picks.map((i) => s.grads[offset + i]), fd });
  }
  return rows;
}

export const GRAD_TOL: Tolerance = { atol: 2e-5, rtol: 2e-3 };

/** The tensors whose sampled gradients miss their finite differences, with the first mismatches. */
export function gradientMismatches(s: StepCapture, seed: number, tol = GRAD_TOL): string[] {
  return compareGradients(s, seed).flatMap((r) => {
    const bad = mismatches(r.got, r.fd, tol, 4);
    return bad.length ? [`d loss / d ${r.name}: ${bad.join('; ')}`] : [];
  });
}
