// What a VAE is created with: the training options and their defaults, the creation options
// (device, kernels, memory budget, ...), the evaluation result, and how a memory-budget refusal at
// creation is restated with the batch that fits. The model itself is vae.ts.
import type { Optimizer } from '../../shaders/adam';
import type { AcquiredDevice } from '../gpu/device';
import { formatBytes, MemoryBudgetError } from '../gpu/buffers';
import { ConfigError, kindOfValue, literal, shown } from '../errors';
import { looksLikeGpuDevice, whyNotADevice } from '../gpu/device-argument';
import { checkKnownKeys } from '../edit-distance';
import type { GraphKind } from './graphs';
import { AUTOTUNE_MODES, type AutotuneCache, type AutotuneMode } from './autotune';
import { MATMUL_VARIANTS, type MatmulVariant } from '../../shaders/matmul';
import { F32_MIN_NORMAL, fitsF32 } from '../../shaders/common';
import { CONV_METHODS, type ConvMethod } from './layers/conv-ops';
import type { KernelChoice } from './kernel-choice';
import type { StepLoss } from './loss-ring';

export interface TrainingOptions {
  /** Examples per training step (B). */
  batch: number;
  optimizer: Optimizer;
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  /** Seeds initialisation, shuffling and the sampling noise. */
  seed: number;
  /** Losses are read back every `lossEvery` steps. */
  lossEvery: number;
  /** Global gradient-norm clipping threshold (torch.nn.utils.clip_grad_norm_); 0 turns it off. */
  clipGrad: number;
  /**
   * Learning-rate decay: 'none' keeps `lr`; 'cosine' (Loshchilov & Hutter 2017, without restarts)
   * follows half a cosine from `lr` at step 1 to `lrMin` at step lrDecaySteps + 1, then holds `lrMin`.
   */
  lrDecay: LrDecay;
  /** Steps the cosine decay spans (cosine only). */
  lrDecaySteps: number;
  /** Where the cosine decay ends (default 0). */
  lrMin: number;
}

export type LrDecay = 'none' | 'cosine';
export const LR_DECAYS: readonly LrDecay[] = ['none', 'cosine'];

/**
 * The learning rate of training step t (1-based). A function of the step alone, written into each
 * step's uniform on the CPU, so a resumed run follows the same schedule bit for bit.
 */
export function lrAt(t: Pick<TrainingOptions, 'lr' | 'lrDecay' | 'lrDecaySteps' | 'lrMin'>, step: number): number {
  if (t.lrDecay !== 'cosine') return t.lr;
  const progress = Math.min(1, Math.max(0, step - 1) / t.lrDecaySteps);
  return t.lrMin + (t.lr - t.lrMin) * 0.5 * (1 + Math.cos(Math.PI * progress));
}

export const DEFAULT_TRAINING: TrainingOptions = {
  batch: 128, optimizer: 'adam', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, seed: 0, lossEvery: 16, clipGrad: 0,
  lrDecay: 'none', lrDecaySteps: 0, lrMin: 0,
};

export interface VaeOptions extends Partial<TrainingOptions> {
  /** A device the caller owns (never destroyed by us), or one from acquire*Device(). */
  device: GPUDevice | AcquiredDevice;
  /** Kernel variants; by default picked from the adapter (software vs GPU). */
  kernels?: Partial<KernelChoice>;
  /** Initial flat parameters (layout of paramLayout); default: PyTorch-style init from `seed`. */
  initialParams?: Float32Array;
  /**
   * Called with each batch of losses read back from the GPU; losses it takes are not kept for
   * readLosses(), which then only waits for the submitted steps and delivers their losses here. An
   * exception it throws never fails a training step (the read that called it belongs to no one
   * call): the first one is kept and thrown, once, by the next readLosses(), and the losses of a
   * call that threw are kept for the readLosses() after it.
   */
  onLosses?: (losses: StepLoss[]) => void;
  /** Graphs kept besides the training step's (default 16); the least recently used is freed beyond it. */
  maxPlans?: number;
  /** Time the matmul candidates for this model's products and keep the fastest (autotune.ts); default 'off'. */
  autotune?: AutotuneMode;
  /** Where autotune results are kept (default: IndexedDB in browsers, memory elsewhere; Node: `fileAutotuneCache()`). */
  autotuneCache?: AutotuneCache;
  /**
   * Progress of every pipeline compile a graph needs: `done` of `total` distinct pipelines of the
   * graph `graph` ('train', 'eval', 'sample', ...), counted afresh for each graph planned.
   */
  onCompileProgress?: GraphCompileProgress;
  /** Storage precision of activations: 'f32' (default); 'f16' needs the adapter's `shader-f16`. */
  precision?: 'f32' | 'f16';
  /**
   * The most GPU memory, in bytes, this model may allocate (default: no limit beyond the device's).
   * Every plan is checked against it before allocating, and the model is refused at creation with
   * the batch that would fit. WebGPU does not report a device's memory, so this is the owner's call.
   */
  memoryBudget?: number;
  /**
   * Cuts autotuning short once aborted (e.g. on Ctrl-C): no further candidate is timed, undecided
   * products keep the defaults, and creation goes on to compile the step.
   */
  signal?: AbortSignal;
  /**
   * Plan and compile the training step at creation (default true). false for a model that only
   * evaluates, encodes or draws: creation then allocates no training graph (a large model's is
   * most of its memory), and a first trainStep plans it.
   */
  prepareTraining?: boolean;
}

export interface ElboResult {
  /** -ELBO per example: rec + kl. */
  loss: number;
  rec: number;
  kl: number;
  examples: number;
}

/** The training options of `opts` over DEFAULT_TRAINING, checked; a bad one is refused by name. */
export function resolveTraining(opts: VaeOptions): TrainingOptions {
  const t: TrainingOptions = { ...DEFAULT_TRAINING, ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in DEFAULT_TRAINING && v !== undefined)) };
  if (!Number.isInteger(t.batch) || t.batch < 1 || t.batch > 65535) throw new ConfigError(`batch must be an integer in 1..65535, got ${shown(t.batch)}`);
  // Rates and norms reach the GPU as f32 (StepParams): past its range a step would refuse them, after the model was built.
  if (!(typeof t.lr === 'number' && t.lr > 0 && fitsF32(t.lr))) throw new ConfigError(`lr must be a number > 0 within f32's range (at most 3.4e38), got ${shown(t.lr)}`);
  if (!(Array.isArray(t.betas) && t.betas.length === 2 && t.betas.every((b) => typeof b === 'number' && b >= 0 && b < 1))) {
    throw new ConfigError(`betas must be two numbers in [0, 1) (Adam's beta1 and beta2, e.g. [0.9, 0.999]), got ${literal(t.betas)}`);
  }
  // The kernel's betas are f32: one that rounds to 1 there divides by 1 - 1 in the bias correction.
  const roundsToOne = t.betas.find((b) => Math.fround(b) === 1);
  if (roundsToOne !== undefined) throw new ConfigError(`betas must stay below 1 as float32 numbers, which the GPU uses: ${roundsToOne} rounds to 1 there (the largest below 1 is 0.99999994); give a smaller beta, e.g. 0.9999`);
  // Below f32's smallest normal number GPUs flush eps to 0, and a zero gradient's update is 0 / 0.
  if (!(t.eps >= F32_MIN_NORMAL && fitsF32(t.eps))) throw new ConfigError(`eps must be a number from 1.2e-38 (float32's smallest normal number: GPUs take a smaller one as 0) to 3.4e38 (Adam's epsilon, e.g. 1e-8), got ${shown(t.eps)}`);
  if (!(t.weightDecay >= 0 && Number.isFinite(t.weightDecay))) throw new ConfigError(`weightDecay must be a finite number >= 0, got ${shown(t.weightDecay)}`);
  checkSeed(t.seed, 'seed');
  if (!(Number.isInteger(t.lossEvery) && t.lossEvery >= 1 && t.lossEvery <= 4096)) {
    throw new ConfigError(`lossEvery (how often losses are read back, in steps) must be an integer in 1..4096, got ${shown(t.lossEvery)}`);
  }
  if (t.optimizer !== 'adam' && t.optimizer !== 'sgd') throw new ConfigError(`optimizer must be 'adam' or 'sgd', got '${t.optimizer}'`);
  if (!(typeof t.clipGrad === 'number' && t.clipGrad >= 0 && fitsF32(t.clipGrad))) throw new ConfigError(`clipGrad must be a number >= 0 within f32's range (0: no clipping), got ${shown(t.clipGrad)}`);
  if (!LR_DECAYS.includes(t.lrDecay)) throw new ConfigError(`lrDecay must be one of ${LR_DECAYS.join(', ')}; got '${t.lrDecay}'`);
  if (t.lrDecay === 'cosine' && !(Number.isInteger(t.lrDecaySteps) && t.lrDecaySteps >= 1)) {
    throw new ConfigError(`lrDecay 'cosine' needs lrDecaySteps, the steps the decay spans (an integer >= 1), got ${shown(t.lrDecaySteps)}`);
  }
  // Without a decay the span would be ignored, and the rate stay at lr for the whole run.
  if (t.lrDecay !== 'cosine' && t.lrDecaySteps !== 0) {
    throw new ConfigError(`lrDecaySteps (${shown(t.lrDecaySteps)}) only spans a cosine decay; add lrDecay: 'cosine', or leave lrDecaySteps out`);
  }
  if (!(typeof t.lrMin === 'number' && t.lrMin >= 0 && t.lrMin <= t.lr)) throw new ConfigError(`lrMin must be a number in [0, lr = ${t.lr}], got ${shown(t.lrMin)}`);
  // As lrDecaySteps: without a decay the floor would be ignored.
  if (t.lrDecay !== 'cosine' && t.lrMin !== 0) throw new ConfigError(`lrMin (${shown(t.lrMin)}) is the floor of a cosine decay; add lrDecay: 'cosine' and lrDecaySteps, or leave lrMin out`);
  return t;
}

/**
 * The beta-TCVAE's total correlation is estimated from the other examples of each batch
 * (minibatch-weighted sampling, shaders/tc.ts); at a training batch of 1 there are none, the
 * estimate is a constant with no gradient, and the model would train the plain ELBO unsaid.
 * A model that does not train (prepareTraining false) may take any batch.
 */
export function checkTcBatch(objective: string, batch: number): void {
  if (objective === 'tcvae' && batch < 2) {
    throw new ConfigError(`objective 'tcvae' estimates the total correlation from the other examples of each batch, and a batch of ${batch} has none (it would train the plain ELBO); use a batch of 2 or more (the more examples, the closer the estimate)`);
  }
}

/** A seed (options.seed, sample's seed): Philox takes a non-negative safe integer; anything else would be truncated. */
export function checkSeed(seed: unknown, what: string): void {
  if (!(Number.isSafeInteger(seed) && (seed as number) >= 0)) throw new ConfigError(`${what} must be a non-negative integer, got ${shown(seed)}`);
}

/**
 * elbo's options: known names only (a misspelt `sed` would evaluate with the training seed,
 * silently), a seed Philox takes, and a signal that is an AbortSignal.
 */
export function checkElboOptions(opts: unknown): void {
  if (opts === undefined || opts === null) return;
  if (typeof opts !== 'object' || Array.isArray(opts)) throw new ConfigError(`elbo's second argument is its options, e.g. { seed: 1 }, got ${kindOfValue(opts)}`);
  checkKnownKeys('elbo option', Object.keys(opts), ['seed', 'signal']);
  const o = opts as { seed?: unknown; signal?: unknown };
  if (o.seed !== undefined) checkSeed(o.seed, 'elbo: seed');
  if (o.signal !== undefined && !isAbortSignal(o.signal)) throw new ConfigError(`elbo: signal must be an AbortSignal (an AbortController's .signal), got ${shown(o.signal)}`);
}

/** Duck-typed: an AbortSignal from another realm (a worker's, a test's polyfill) is not instanceof this one's. */
function isAbortSignal(x: unknown): boolean {
  const s = x as Partial<AbortSignal> | null;
  return !!s && typeof s === 'object' && typeof s.aborted === 'boolean' && typeof s.throwIfAborted === 'function' && typeof s.addEventListener === 'function';
}

/** Every field of `kernels`: Record<keyof KernelChoice, ...> so that a field added to KernelChoice must be listed here. */
const KERNEL_CHOICE_FIELDS: Record<keyof KernelChoice, true> = {
  matmul: true, conv: true, convNarrow: true, convInputGrad: true, likelihoodThreadsPerRow: true, convBiasSerial: true, groupNormSerial: true, splitBatchSums: true,
  subgroups: true, matmulGeneric: true, matmulTuned: true, convTuned: true, skipInputZeros: true, hotMatmuls: true,
};

/** Compile progress of the graph of kind `graph`: `done` of its `total` distinct pipelines. */
export type GraphCompileProgress = (done: number, total: number, graph: GraphKind) => void;

/** The options VAE.create knows besides the training options. */
const CREATION_OPTIONS = ['device', 'kernels', 'initialParams', 'onLosses', 'maxPlans', 'autotune', 'autotuneCache', 'onCompileProgress', 'precision', 'memoryBudget', 'signal', 'prepareTraining'];

/**
 * Checks what VAE.create is given before anything is allocated: a device, known option names (a
 * misspelt one would otherwise be ignored), the autotune mode and the kernel overrides.
 */
export function checkCreationOptions(opts: VaeOptions | undefined): void {
  if (!opts || typeof opts !== 'object') throw new ConfigError('VAE.create needs options with a device, e.g. { device: await acquireNodeDevice() } (Node) or acquireBrowserDevice() (browsers)');
  if (!opts.device || typeof opts.device !== 'object') {
    throw new ConfigError('options.device is missing: pass your GPUDevice, or the result of acquireNodeDevice() (Node) or acquireBrowserDevice() (browsers)');
  }
  checkDeviceOption(opts.device);
  checkKnownKeys('option', Object.keys(opts), [...Object.keys(DEFAULT_TRAINING), ...CREATION_OPTIONS]);
  // A callback that is not a function would fail later, from inside a training step or a compile.
  for (const name of ['onLosses', 'onCompileProgress'] as const) {
    if (opts[name] !== undefined && typeof opts[name] !== 'function') throw new ConfigError(`${name} must be a function, got ${shown(opts[name])}`);
  }
  // Checked by type here, before anything is allocated: another array of the right length would
  // be uploaded as raw bytes (garbage from a Float64Array, a short buffer from a Uint8Array) and a
  // plain Array fails inside the upload. The length is checked against the layout when it is built.
  if (opts.initialParams !== undefined && !(opts.initialParams instanceof Float32Array)) {
    throw new ConfigError(`initialParams must be a Float32Array in the model's flat layout (as flatParameters() gives), got ${kindOfValue(opts.initialParams)}; convert with Float32Array.from(...)`);
  }
  if (opts.prepareTraining !== undefined && typeof opts.prepareTraining !== 'boolean') throw new ConfigError(`prepareTraining must be true or false, got ${shown(opts.prepareTraining)}`);
  if (opts.memoryBudget !== undefined && !(typeof opts.memoryBudget === 'number' && opts.memoryBudget > 0)) throw new ConfigError(`memoryBudget must be a positive number of bytes, got ${shown(opts.memoryBudget)}`);
  if (opts.signal !== undefined && !isAbortSignal(opts.signal)) throw new ConfigError(`signal must be an AbortSignal (an AbortController's .signal), got ${shown(opts.signal)}`);
  const cache = opts.autotuneCache as unknown;
  if (cache !== undefined && !(cache && typeof cache === 'object' && typeof (cache as { get?: unknown }).get === 'function' && typeof (cache as { set?: unknown }).set === 'function')) {
    throw new ConfigError(`autotuneCache must be an object with get(key) and set(key, record) returning promises (e.g. fileAutotuneCache(path) in Node, or memoryAutotuneCache()), got ${shown(cache)}`);
  }
  if (opts.autotune !== undefined && !AUTOTUNE_MODES.includes(opts.autotune)) {
    throw new ConfigError(`autotune must be one of ${AUTOTUNE_MODES.join(', ')}; got '${String(opts.autotune)}'`);
  }
  const k = opts.kernels;
  if (k !== undefined) {
    if (typeof k !== 'object' || k === null) throw new ConfigError(`kernels must be an object of kernel choices (e.g. { matmul: 'tiled' }), got ${String(k)}`);
    checkKnownKeys('kernels field', Object.keys(k), Object.keys(KERNEL_CHOICE_FIELDS));
    if (k.matmul !== undefined && !MATMUL_VARIANTS.includes(k.matmul)) throw new ConfigError(`kernels.matmul must be one of ${MATMUL_VARIANTS.join(', ')}; got '${String(k.matmul)}'`);
    for (const key of ['skipInputZeros', 'hotMatmuls'] as const) {
      if (k[key] !== undefined && typeof k[key] !== 'boolean') throw new ConfigError(`kernels.${key} must be true or false; got ${String(k[key])}`);
    }
    for (const key of ['conv', 'convNarrow', 'convInputGrad'] as const) {
      if (k[key] !== undefined && !CONV_METHODS.includes(k[key]!)) throw new ConfigError(`kernels.${key} must be one of ${CONV_METHODS.join(', ')}; got '${String(k[key])}'`);
    }
    // Tuned tables an app hands in: checked whole here, whatever the device (the autotuner's own are made valid).
    const table = (name: string, t: unknown) => {
      if (t !== undefined && (t === null || typeof t !== 'object' || Array.isArray(t))) throw new ConfigError(`kernels.${name} must be an object of choices by operation key, got ${shown(t)}`);
      return Object.entries((t ?? {}) as Record<string, unknown>);
    };
    for (const [key, rec] of table('matmulTuned', k.matmulTuned)) {
      const variant = (rec as { variant?: unknown } | null)?.variant;
      if (!MATMUL_VARIANTS.includes(variant as MatmulVariant)) throw new ConfigError(`kernels.matmulTuned['${key}'] must be { variant, tile?, ms, candidates } with variant one of ${MATMUL_VARIANTS.join(', ')}; got ${shown(rec)}`);
    }
    for (const [key, method] of table('convTuned', k.convTuned)) {
      if (!CONV_METHODS.includes(method as ConvMethod)) throw new ConfigError(`kernels.convTuned['${key}'] must be one of ${CONV_METHODS.join(', ')}; got ${shown(method)}`);
    }
  }
}

/**
 * Refuses an options.device that is neither a GPUDevice nor an acquire*Device() result, naming what
 * it is instead: anything else would fail later as a bare TypeError from deep inside the model.
 * Duck-typed, since Dawn's and browsers' device classes differ and a device may be wrapped (Proxy).
 */
function checkDeviceOption(given: object): void {
  if (looksLikeGpuDevice(given)) return;
  // acquire*Device()'s adapter summary names its device in a string field.
  if ('isSoftware' in given && 'vendor' in given && typeof (given as { device?: unknown }).device === 'string') {
    throw new ConfigError('options.device is the adapter summary of an acquire*Device() result (its .adapter), not a device; pass the result itself, or its .device');
  }
  if (!('device' in given)) throw new ConfigError(`options.device ${whyNotADevice(given, true)}`);
  if (!('adapter' in given)) {
    throw new ConfigError(
      'options.device is an object with a device but no adapter, so neither a GPUDevice nor the result of acquireNodeDevice() / acquireBrowserDevice(); ' +
        'pass the GPUDevice itself ({ device: yours.device }), or the acquire*Device() result unchanged',
    );
  }
  if (!looksLikeGpuDevice(given.device)) throw new ConfigError(`options.device.device ${whyNotADevice(given.device, true)}`);
}

/**
 * A budget refusal at creation, restated with what to change: step tensors grow with the batch,
 * the parameters and optimizer state do not, so the batch that fits is estimated from both.
 */
export function restateRefusal(e: unknown, batch: number): unknown {
  if (!(e instanceof MemoryBudgetError)) return e;
  const raise = 'raise the budget (memoryBudget; --max-gpu-memory in the CLI)';
  if (!e.what.startsWith('graph train')) {
    if (e.inUse > 0) return e;
    return new MemoryBudgetError(`${e.what} need ${formatBytes(e.needed)} of GPU memory, more than the ${formatBytes(e.budget)} budget; use a smaller model (hidden, channels, imageShape; --hidden, --channels, --image-size in the CLI) or ${raise}`, e.what, e.needed, e.inUse, e.budget);
  }
  const fits = Math.floor((batch * (e.budget - e.inUse)) / e.needed);
  const fix = fits >= 1 ? `use a batch of ${fits} or less (batch; --batch in the CLI), or ${raise}` : `even one example does not fit: use a smaller model (hidden, channels, imageShape; --hidden, --channels, --image-size in the CLI) or ${raise}`;
  return new MemoryBudgetError(
    `the training step at batch ${batch} needs ${formatBytes(e.needed)} of GPU memory beside ${formatBytes(e.inUse)} of parameters and optimizer state, ` +
      `but the memory budget is ${formatBytes(e.budget)}; ${fix}`,
    e.what, e.needed, e.inUse, e.budget,
  );
}
