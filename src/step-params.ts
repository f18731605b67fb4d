// The StepParams uniform from the CPU side: friendly names and derived values (the seed split
// into two words, Adam's bias corrections) mapped onto the fields declared in shaders/common.ts.
import { BINARIZE_STREAM, DEQUANTIZE_STREAM } from '../shaders/batch';
import { STEP_PARAMS } from '../shaders/common';

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
  /** Weight of the KL term for this step (beta times the warm-up ramp; the ramp alone for beta-TCVAE). */
  klWeight: number;
  /** Free bits per latent dimension; 0 turns them off. */
  freeBits: number;
  epoch: number;
  /** Importance samples per example over all chunks, and this chunk's index (IWAE evaluation). */
  totalSamples: number;
  chunk: number;
  /**
   * Noise numbering: sample l of row b draws normals ((l * noiseRows + noiseRow0 + b) * Z + j).
   * 0 rows means the graph's own row count, so each step numbers its batch from 0; evaluation
   * numbers the whole dataset, so its figure does not depend on how it is split into batches.
   * The row number (l * noiseRows + noiseRow0 + b) is a u32; the element number is 64-bit.
   */
  noiseRows: number;
  noiseRow0: number;
  /** Global gradient-norm clipping: gradients are scaled by min(1, clipNorm / ||g||); 0 turns it off. */
  clipNorm: number;
  /** The KL capacity C of this step in nats (capacity-controlled ELBO: loss = rec + beta |KL - C|). */
  klCapacity: number;
}

/** RNG streams: training noise, evaluation noise, prior samples and binarization never overlap. */
export const STREAM = { train: 0, eval: 1, prior: 2, reconstruct: 3, binarize: BINARIZE_STREAM, iwae: 5, dequantize: DEQUANTIZE_STREAM } as const;

export const STEP_PARAMS_DEFAULTS: StepParams = {
  seed: 0, counter: 0, batchStart: 0, validRows: 0, historySlot: 0, stream: STREAM.train, datasetCount: 0,
  lr: 0, beta1: 0.9, beta2: 0.999, adamEps: 1e-8, step: 0, weightDecay: 0, klWeight: 1, freeBits: 0,
  epoch: 0, totalSamples: 1, chunk: 0, noiseRows: 0, noiseRow0: 0, clipNorm: 0, klCapacity: 0,
};

export function encodeStepParams(partial: Partial<StepParams>, out?: ArrayBuffer): ArrayBuffer {
  // Fields given as undefined keep their defaults.
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  const p: StepParams = { ...STEP_PARAMS_DEFAULTS, ...given };
  // From the f32 betas the kernel uses, so the corrections match its moment decay exactly.
  const b1 = Math.fround(p.beta1), b2 = Math.fround(p.beta2);
  return STEP_PARAMS.encode({
    seed_lo: p.seed >>> 0,
    seed_hi: Math.floor(p.seed / 2 ** 32) >>> 0,
    counter: p.counter,
    batch_start: p.batchStart,
    valid_rows: p.validRows,
    history_slot: p.historySlot,
    stream: p.stream,
    dataset_count: p.datasetCount,
    lr: p.lr,
    beta1: p.beta1,
    beta2: p.beta2,
    adam_eps: p.adamEps,
    bias_c1: p.step > 0 ? 1 / (1 - b1 ** p.step) : 1,
    bias_c2: p.step > 0 ? 1 / Math.sqrt(1 - b2 ** p.step) : 1,
    weight_decay: p.weightDecay,
    kl_weight: p.klWeight,
    free_bits: p.freeBits,
    epoch: p.epoch,
    total_samples: p.totalSamples,
    chunk: p.chunk,
    noise_rows: p.noiseRows,
    noise_row0: p.noiseRow0,
    clip_norm: p.clipNorm,
    kl_capacity: p.klCapacity,
  }, out);
}
