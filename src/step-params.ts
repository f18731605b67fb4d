// The StepParams uniform from the CPU side: friendly names and derived values (the seed split
// into two words, Adam's bias corrections) mapped onto the fields declared in shaders/common.ts.
// Every name and value is checked first: a kernel reads the uniform as raw words, so a misspelt
// field left at its default or a value wrapped into a u32 would give wrong results, silently.
import { BINARIZE_EVAL_STREAM, BINARIZE_STREAM, DEQUANTIZE_EVAL_STREAM, DEQUANTIZE_STREAM, TRAINING_STREAM } from '../shaders/batch';
import { F32_MIN_NORMAL, fitsF32, STEP_PARAMS, U32_MAX, type Kernel } from '../shaders/common';
import { checkKnownKeys } from './edit-distance';
import { ConfigError, shown } from './errors';

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
  /**
   * Adam step number t (1-based) for the bias corrections; 0 leaves them at 1. The ungated
   * optimizer applies them; the step health check (shaders/grad-norm.ts) counts t itself and
   * passes these on to the gated one only when its count is this t (no step refused).
   */
  step: number;
  weightDecay: number;
  /** Weight of the KL term for this step (beta times the warm-up ramp; the ramp alone for beta-TCVAE). */
  klWeight: number;
  /** Free bits per latent dimension; 0 turns them off. */
  freeBits: number;
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

/**
 * RNG streams: training noise, evaluation noise, prior samples and the data draws never overlap.
 * The first ones are `stream` values, the data draws' (binarization, dequantization: a training
 * step's, or an evaluation's) the last word of their Philox counter (shaders/batch.ts).
 */
export const STREAM = {
  train: TRAINING_STREAM, eval: 1, prior: 2, reconstruct: 3, binarize: BINARIZE_STREAM, iwae: 5, dequantize: DEQUANTIZE_STREAM,
  binarizeEval: BINARIZE_EVAL_STREAM, dequantizeEval: DEQUANTIZE_EVAL_STREAM,
} as const;

export const STEP_PARAMS_DEFAULTS: StepParams = {
  seed: 0, counter: 0, batchStart: 0, validRows: 0, historySlot: 0, stream: STREAM.train, datasetCount: 0,
  lr: 0, beta1: 0.9, beta2: 0.999, adamEps: 1e-8, step: 0, weightDecay: 0, klWeight: 1, freeBits: 0,
  totalSamples: 1, chunk: 0, noiseRows: 0, noiseRow0: 0, clipNorm: 0, klCapacity: 0,
};

/**
 * How each field is checked: what its uniform word can hold and the kernels can use. `seed` is
 * split into two u32 words and must be what the CPU twins (noiseAt, Philox) accept, or the draws
 * could not be reproduced; `step` only sets the bias corrections (any non-negative integer);
 * betas are Adam's decays, in [0, 1) so that the corrections stay finite; `adamEps` is as
 * VaeOptions.eps (resolveTraining): a normal f32, since GPUs flush a smaller one to 0 and a zero
 * gradient's update is then 0 / 0.
 */
const FIELD_RULES: Record<keyof StepParams, 'seed' | 'u32' | 'step' | 'f32' | 'beta' | 'eps'> = {
  seed: 'seed', counter: 'u32', batchStart: 'u32', validRows: 'u32', historySlot: 'u32', stream: 'u32', datasetCount: 'u32',
  lr: 'f32', beta1: 'beta', beta2: 'beta', adamEps: 'eps', step: 'step', weightDecay: 'f32', klWeight: 'f32', freeBits: 'f32',
  totalSamples: 'u32', chunk: 'u32', noiseRows: 'u32', noiseRow0: 'u32', clipNorm: 'f32', klCapacity: 'f32',
};
const FIELDS = Object.keys(FIELD_RULES) as (keyof StepParams)[];

/** Names a caller may reach for that are no field, with the field that does their job. */
const FIELD_FOR = new Map([
  ['t', "'step'"], ['learningRate', "'lr'"], ['eps', "'adamEps'"], ['epsilon', "'adamEps'"], ['betas', "'beta1' and 'beta2'"],
  ['bias_c1', "'step': the bias corrections are derived from it and the betas"], ['bias_c2', "'step': the bias corrections are derived from it and the betas"],
  ['epoch', "'counter': a training step's binarization and dequantization draws are keyed by its step counter, an evaluation's by its stream"],
]);

/** The uniform field a friendly field fills, for messages (seed fills two). */
const uniformFieldOf = (name: keyof StepParams) => (name === 'seed' ? 'seed_lo and seed_hi' : name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`));

/** Refuses a field a kernel could not use as meant: it would otherwise be encoded, wrapped or rounded, silently. */
function checkField(name: keyof StepParams, v: unknown): void {
  const rule = FIELD_RULES[name];
  const got = `got ${shown(v)}`;
  if (rule === 'seed' && !(Number.isSafeInteger(v) && (v as number) >= 0)) {
    throw new ConfigError(`encodeStepParams: seed must be a non-negative safe integer (0 to 2^53 - 1), ${got}; the Philox key is its two u32 words, and noiseAt and Philox refuse any other seed, so the GPU's draws could not be reproduced`);
  }
  if (rule === 'u32' && !(Number.isInteger(v) && (v as number) >= 0 && (v as number) <= U32_MAX)) {
    throw new ConfigError(`encodeStepParams: ${name} must be an integer from 0 to ${U32_MAX} (it fills the u32 StepParams.${uniformFieldOf(name)}), ${got}`);
  }
  if (rule === 'step' && !(Number.isSafeInteger(v) && (v as number) >= 0)) {
    throw new ConfigError(`encodeStepParams: step must be a non-negative integer (Adam's step number t, 1-based; 0 leaves the bias corrections at 1), ${got}`);
  }
  // Past f32's range a value would reach the kernel as an infinity.
  if ((rule === 'f32' || rule === 'beta' || rule === 'eps') && !(typeof v === 'number' && fitsF32(v))) {
    throw new ConfigError(`encodeStepParams: ${name} must be a finite number within f32's range (it fills the f32 StepParams.${uniformFieldOf(name)}), ${got}`);
  }
  if (rule === 'eps' && !((v as number) >= F32_MIN_NORMAL)) {
    throw new ConfigError(`encodeStepParams: adamEps must be at least 1.2e-38 (float32's smallest normal number: GPUs take a smaller one as 0, and a zero gradient's Adam update is then 0 / 0), ${got}`);
  }
  // In f32, as the kernel reads it: 0.99999999 is 1 there.
  if (rule === 'beta' && !((v as number) >= 0 && Math.fround(v as number) < 1)) {
    throw new ConfigError(`encodeStepParams: ${name} must be in [0, 1) as a float32 number (Adam's moment decay; the bias correction divides by 1 - ${name}^step)${(v as number) < 1 && (v as number) >= 0 ? ', and it rounds to 1 in float32 (the largest below 1 is 0.99999994)' : ''}, ${got}`);
  }
}

/**
 * A number b in [0, 1) as the two u32 words (high, low) of floor(b 2^64), the fixed-point format
 * in which the health check raises beta to the power t (shaders/bias-correction.ts). Exact for
 * any float64 b >= 2^-11 (its 53 significant bits end above 2^-64); below that the dropped bits
 * weigh under 2^-64, and b^t is nothing the corrections could show.
 */
export function fractionOf2To64(b: number): [hi: number, lo: number] {
  const scaled = b * 2 ** 32; // exact: a power-of-two scaling
  const hi = Math.floor(scaled);
  return [hi, Math.floor((scaled - hi) * 2 ** 32)];
}

/**
 * The StepParams uniform's bytes (STEP_PARAMS.bytes, into `out` if given) for the fields in
 * `partial`, the others at their defaults (STEP_PARAMS_DEFAULTS). A field given as undefined keeps
 * its default. Throws a ConfigError for a name that is no field (with the nearest one: a misspelt
 * field would otherwise be left at its default, e.g. validRows at 0, which zeroes every sum over
 * the batch) and for a value its kernels could not use as meant.
 */
export function encodeStepParams(partial: Partial<StepParams>, out?: ArrayBuffer): ArrayBuffer {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) {
    throw new ConfigError(`encodeStepParams takes an object of StepParams fields ({} for the defaults), got ${shown(partial)}`);
  }
  for (const key of Object.keys(partial)) {
    const instead = FIELD_FOR.get(key);
    if (instead) throw new ConfigError(`unknown StepParams field '${key}' (use ${instead}); the StepParams fields are ${FIELDS.join(', ')}`);
  }
  checkKnownKeys('StepParams field', Object.keys(partial), FIELDS);
  const given = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  for (const [name, v] of Object.entries(given)) checkField(name as keyof StepParams, v);
  const p: StepParams = { ...STEP_PARAMS_DEFAULTS, ...given };
  // As PyTorch's Adam: the betas and 1 - beta reach the kernel as f32 scalars each rounded once
  // from float64, and the bias corrections are taken from the float64 betas (1 - f32(0.999) is
  // 1.3e-5 away from 0.001 relatively, which v and the update would carry).
  const [b1Hi, b1Lo] = fractionOf2To64(p.beta1), [b2Hi, b2Lo] = fractionOf2To64(p.beta2);
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
    one_minus_beta1: 1 - p.beta1,
    one_minus_beta2: 1 - p.beta2,
    beta1_frac_hi: b1Hi,
    beta1_frac_lo: b1Lo,
    beta2_frac_hi: b2Hi,
    beta2_frac_lo: b2Lo,
    adam_eps: p.adamEps,
    bias_c1: p.step > 0 ? 1 / (1 - p.beta1 ** p.step) : 1,
    bias_c2: p.step > 0 ? 1 / Math.sqrt(1 - p.beta2 ** p.step) : 1,
    // Past a u32 no GPU count reaches it (grad-norm.ts counts to 2^24), so any larger step reads the same.
    adam_step: Math.min(p.step, U32_MAX),
    weight_decay: p.weightDecay,
    kl_weight: p.klWeight,
    free_bits: p.freeBits,
    total_samples: p.totalSamples,
    chunk: p.chunk,
    noise_rows: p.noiseRows,
    noise_row0: p.noiseRow0,
    clip_norm: p.clipNorm,
    kl_capacity: p.klCapacity,
  }, out);
}

/**
 * Fields whose default turns the kernels that read them into no-ops: `validRows` 0 zeroes every
 * sum and gradient over the batch, `lr` 0 leaves the parameters where they are.
 */
const NO_OP_DEFAULTS: Partial<Record<keyof StepParams, string>> = {
  validRows: 'its default 0 counts no row as real, which zeroes the sums and gradients over the batch; give the batch\'s real rows',
  lr: 'its default 0 moves no parameter; give the learning rate',
};

/** Uniform words derived from a field besides its own. */
const DERIVED_WORDS: Partial<Record<keyof StepParams, string[]>> = {
  seed: ['seed_lo', 'seed_hi'],
  step: ['bias_c1', 'bias_c2', 'adam_step'],
  beta1: ['one_minus_beta1', 'beta1_frac_hi', 'beta1_frac_lo'],
  beta2: ['one_minus_beta2', 'beta2_frac_hi', 'beta2_frac_lo'],
};

/** The StepParams fields a kernel's code reads (`params.valid_rows` is validRows). */
export function stepParamsRead(kernel: Pick<Kernel, 'code'>): (keyof StepParams)[] {
  const words = new Set([...kernel.code.matchAll(/\bparams\.(\w+)/g)].map((m) => m[1]));
  return FIELDS.filter((f) => [uniformFieldOf(f), ...(DERIVED_WORDS[f] ?? [])].some((w) => words.has(w)));
}

/**
 * encodeStepParams for the dispatches of `kernels`: refuses to leave at its default a field one of
 * them reads whose default would make it do nothing (validRows, lr), so a forgotten field is an
 * error rather than a step that trains nothing.
 */
export function stepParamsFor(kernels: readonly Pick<Kernel, 'code' | 'name'>[], partial: Partial<StepParams>, out?: ArrayBuffer): ArrayBuffer {
  for (const k of kernels) {
    for (const field of stepParamsRead(k)) {
      const why = NO_OP_DEFAULTS[field];
      if (why && (partial as Record<string, unknown>)?.[field] === undefined) throw new ConfigError(`stepParamsFor: kernel ${k.name} reads StepParams.${field}, which is not given: ${why}`);
    }
  }
  return encodeStepParams(partial, out);
}
