// CPU side of the StepParams uniform block declared in shaders/common.ts (same field order).
import { STEP_PARAMS_BYTES } from '../shaders/common';

export interface StepParams {
  seed: number;
  counter: number;
  batchStart: number;
  validRows: number;
  historySlot: number;
  stream: number;
  datasetCount: number;
  lr: number;
  beta1: number;
  beta2: number;
  adamEps: number;
  /** Adam step number t (1-based) for the bias corrections; 0 leaves them at 1. */
  step: number;
  weightDecay: number;
  klBeta: number;
}

/** RNG streams: training noise, evaluation noise and prior samples never overlap. */
export const STREAM = { train: 0, eval: 1, prior: 2, reconstruct: 3 } as const;

export function encodeStepParams(p: StepParams, out = new ArrayBuffer(STEP_PARAMS_BYTES)): ArrayBuffer {
  const u = new Uint32Array(out);
  const f = new Float32Array(out);
  u[0] = p.seed >>> 0;
  u[1] = Math.floor(p.seed / 2 ** 32) >>> 0;
  u[2] = p.counter >>> 0;
  u[3] = p.batchStart >>> 0;
  u[4] = p.validRows >>> 0;
  u[5] = p.historySlot >>> 0;
  u[6] = p.stream >>> 0;
  u[7] = p.datasetCount >>> 0;
  f[8] = p.lr;
  f[9] = p.beta1;
  f[10] = p.beta2;
  f[11] = p.adamEps;
  // From the f32 betas the kernel uses, so the corrections match its moment decay exactly.
  const b1 = Math.fround(p.beta1), b2 = Math.fround(p.beta2);
  f[12] = p.step > 0 ? 1 / (1 - b1 ** p.step) : 1;
  f[13] = p.step > 0 ? 1 / Math.sqrt(1 - b2 ** p.step) : 1;
  f[14] = p.weightDecay;
  f[15] = p.klBeta;
  return out;
}
