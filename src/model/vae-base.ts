// What a model holds: its configuration, kernels, buffers (parameters, gradients, optimizer
// state), the plan cache of its compiled graphs and the device it lives on, with creation's
// memory checks, the operation queue and destruction. Reading and replacing the parameters and
// optimizer state is VaeState's (vae-state.ts), and the operations on a model (training steps,
// evaluation, encoding, decoding, sampling) are the VAE class's (vae.ts), which extends both.
import { STEP_PARAMS } from '../../shaders/common';
import { type AcquiredDevice, isDeviceGone, wrapDevice } from '../gpu/device';
import { BufferArena, writeData } from '../gpu/buffers';
import { lendBuffer } from '../gpu/handed-out';
import { type PipelineCache, pipelineCacheFor } from '../gpu/pipelines';
import type { Precision } from './precision';
import { ConfigError, shown } from '../errors';
import { FailureWatch } from '../gpu/failure-watch';
import { encodeStepParams, STEP_PARAMS_DEFAULTS, type StepParams } from '../step-params';
import { klCapacityAt, klWeightAt, type VaeConfig } from './config';
import { buildModel, type ModelParts } from './build';
import { recordGraph, type GraphKind, type ModelBuffers, type Plan, type RecordOptions } from './graphs';
import { kernelsFor, withKernelOverrides, type KernelChoice } from './kernel-choice';
import { LossRing } from './loss-ring';
import type { ParamLayout } from './params';
import { oneHot } from './labels';
import { modelLabelPrefix } from '../gpu/labels';
import { PlanCache } from './plan-cache';
import { CallQueue } from './call-queue';
import { HotKernels } from './hot-kernels';
import { resolveTraining, type GraphCompileProgress, type TrainingOptions, type VaeOptions } from './vae-options';
import { createModelBuffers } from './model-buffers';
import { CreationScopedArena, type OutOfMemoryScopes } from './creation-scopes';
import { countModelOff, countModelOn } from './device-users';
import { describeRows } from './vae-inputs';

/** Numbers the models made in this JavaScript realm, for their buffers' labels (modelLabelPrefix). */
let nextModelId = 1;

export abstract class VaeBase {
  readonly config: Readonly<VaeConfig>;
  readonly parts: ModelParts;
  readonly layout: ParamLayout;
  readonly training: TrainingOptions;
  readonly device: GPUDevice;
  readonly kernels: KernelChoice;
  /** Storage of hidden activations: 'f16' (half the bytes, f32 sums) or 'f32'. */
  readonly precision: Precision;
  readonly losses: LossRing;
  /** Training steps taken, the refused ones included (Adam's own count t is the watch's fourth number). */
  step = 0;
  /**
   * @deprecated Has no effect, and is kept only so that code which sets it still runs. The data
   * draws (dynamic binarization, dequantization) of a training step are keyed by its step count
   * instead, so they are fresh at every step with nothing to set, and a resumed run repeats them.
   */
  epoch = 0;
  readonly arena: BufferArena;
  readonly cache: PipelineCache;
  readonly buffers: ModelBuffers;
  protected readonly plans: PlanCache;
  private readonly onCompileProgress?: GraphCompileProgress;
  private readonly stepBytes = new ArrayBuffer(STEP_PARAMS.bytes);
  protected readonly acquired: AcquiredDevice;
  private destroyed = false;
  /** The first WebGPU error seen on the device since this model was created; rethrown on the next call. */
  protected readonly failures: FailureWatch;
  /**
   * The model's operations in call order. Operations write the shared step uniform and read plans'
   * output buffers across awaits, so calls made without waiting for each other (e.g. Promise.all
   * of two samples) run one after another instead of reading each other's results.
   */
  protected readonly calls = new CallQueue();
  /** The training step's swap to larger-block kernels (hot-kernels.ts); the autotuner's products keep their measured kernels. */
  protected readonly hot = new HotKernels(() => !!this.kernels.hotMatmuls);
  /** Whether a swap of kernels may still bind: the model alive and its device neither lost nor destroyed. */
  protected readonly hotStillWanted = () => !this.destroyed && !this.failures.failure && !isDeviceGone(this.device);

  protected constructor(config: VaeConfig, opts: VaeOptions, outOfMemory: OutOfMemoryScopes) {
    // Fixed at creation: the compiled graph follows it (free bits on or off, the layers' sizes), so
    // a field changed later would half apply and a checkpoint would record what never trained.
    // A copy (its lists may be the caller's), frozen rather than proxied so that it still posts
    // to a worker and clones.
    this.config = deepFreeze(structuredClone(config));
    this.precision = opts.precision ?? 'f32';
    // Frozen: every step reads it, and a field changed after creation would skip the checks made here.
    const training = resolveTraining(opts);
    this.training = Object.freeze({ ...training, betas: Object.freeze([...training.betas]) as unknown as [number, number] });
    const t = this.training;
    this.acquired = 'device' in opts.device && 'adapter' in opts.device ? (opts.device as AcquiredDevice) : wrapDevice(opts.device as GPUDevice);
    this.device = this.acquired.device;
    this.kernels = withKernelOverrides(kernelsFor(this.acquired.adapter), opts.kernels);
    const maxPlans = opts.maxPlans ?? DEFAULT_MAX_PLANS;
    if (!(Number.isInteger(maxPlans) && maxPlans >= 1)) throw new ConfigError(`maxPlans must be an integer >= 1, got ${shown(opts.maxPlans)}`);
    this.parts = buildModel(this.config);
    this.layout = this.parts.layout;
    // The model's own buffers carry its number, so that its failure watch tells them from another model's.
    const own = modelLabelPrefix(nextModelId++);
    this.arena = new CreationScopedArena(this.device, outOfMemory, own.slice(0, -1));
    const budget = opts.memoryBudget ?? Infinity;
    if (!(budget > 0)) throw new ConfigError(`memoryBudget must be a positive number of bytes, got ${shown(opts.memoryBudget)}`);
    this.arena.budget = budget;
    this.cache = pipelineCacheFor(this.device);
    this.buffers = createModelBuffers(this.arena, this.layout, t, opts.initialParams);
    this.losses = new LossRing(this.device, this.buffers.history, t.lossEvery, 3, opts.onLosses, this.buffers.health);
    this.plans = new PlanCache(this.arena, maxPlans, planKey('train', t.batch, {}));
    this.failures = new FailureWatch(this.device, own);
    this.onCompileProgress = opts.onCompileProgress;
    // Last, so that a constructor that throws leaves no count behind (no discard() follows it).
    countModelOn(this.acquired);
  }

  /** Frees what a failed creation allocated; the device itself stays with whoever passed it in. */
  protected discard(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.releaseDevice(false);
    this.failures.detach();
    this.losses.destroy();
    this.arena.destroyAll();
  }


  /** Bytes of GPU memory this model has allocated (parameters, optimizer state, all graphs, data). */
  get allocatedBytes(): number {
    return this.arena.allocatedBytes;
  }

  /** The buffer count this model owns (all freed by destroy()). */
  get bufferCount(): number {
    return this.arena.count;
  }

  /**
   * The flat parameter buffer (layout in `layout`), lent read-only for embedding: an app's destroy()
   * or mapAsync() of it, which would fail the next step far from the cause, is refused (handed-out.ts).
   */
  get parameterBuffer(): GPUBuffer {
    this.refuseLendingDestroyed('parameterBuffer');
    return lendBuffer(this.buffers.params, 'is vae.parameterBuffer', 'writes it at every training step and whenever its parameters are set');
  }

  /** Gradients of the last training step, same flat layout, lent read-only as parameterBuffer is. */
  get gradientBuffer(): GPUBuffer {
    this.refuseLendingDestroyed('gradientBuffer');
    return lendBuffer(this.buffers.grads, 'is vae.gradientBuffer', 'writes it at every training step');
  }

  /** A destroyed model's buffers are freed: lent, one would fail later as a device error far from here. */
  private refuseLendingDestroyed(name: string): void {
    if (this.destroyed) throw new ConfigError(`vae.${name}: this VAE was destroyed, and its buffers with it; read the buffer before destroy(), or create a new model`);
  }

  get adapter() {
    return this.acquired.adapter;
  }

  /** The graph `kind` for `rows` examples, planned and compiled once, then cached (boundedly). */
  plan(kind: GraphKind, rows: number, opts: RecordOptions = {}): Promise<Plan> {
    this.assertAlive();
    const build = async () => {
      const plan = this.record(kind, rows, opts);
      const report = this.onCompileProgress;
      await plan.graph.build(this.cache, this.arena, report && ((done, total) => report(done, total, kind)));
      return plan;
    };
    return this.plans.get(planKey(kind, rows, opts), build);
  }

  /** The graph `kind` for `rows` examples, recorded only: nothing placed, compiled or allocated (for sizing and autotuning). */
  record(kind: GraphKind, rows: number, opts: RecordOptions = {}): Plan {
    // Refused after destroy() as every other call is (docs/API.md, "Calls"): its graph would bind freed buffers.
    if (this.destroyed) this.assertAlive();
    const ctx = { parts: this.parts, buffers: this.buffers, arena: this.arena, kernels: this.kernels, optimizer: this.training.optimizer, precision: this.precision };
    return recordGraph(ctx, kind, rows, opts);
  }

  private readonly scratch = new Map<string, GPUBuffer>();

  /**
   * A buffer of at least `bytes` kept for repeated use (e.g. per-example results of evaluation);
   * replaced by a larger one when needed. Its label names its size, so plans that bind it are
   * cached per buffer.
   */
  scratchBuffer(name: string, bytes: number): GPUBuffer {
    const have = this.scratch.get(name);
    if (have && have.size >= bytes) return have;
    if (have) {
      // Plans bound to the old buffer (iwae-eval's bounds, keyed by its label) are never asked for
      // again, as the buffer only grows: freed now, not held (a conv model's at tens of MiB each)
      // until maxPlans other plans evict them.
      this.plans.dropEndingIn(have.label);
      this.arena.release(have);
    }
    const b = this.arena.create(`${name}[${bytes}]`, bytes);
    this.scratch.set(name, b);
    return b;
  }

  /** Number of dispatches in one training step (gather included when training from resident data). */
  async dispatchesPerStep(resident = true): Promise<number> {
    return (await this.plan('train', this.training.batch)).graph.dispatchCount + (resident ? 1 : 0);
  }

  /** Bytes planned for the training step's tensors, and bytes saved by reusing memory. */
  async trainMemory(): Promise<{ plannedBytes: number; savedBytes: number }> {
    const { plannedBytes, savedBytes } = (await this.plan('train', this.training.batch)).graph.memory;
    return { plannedBytes, savedBytes };
  }

  /** The KL weight of Adam step t (1-based): see `klWeightAt` in config.ts. */
  klWeightAt(t: number): number {
    return klWeightAt(this.config, t);
  }

  /** The KL capacity C (nats) of Adam step t (1-based): see `klCapacityAt` in config.ts. */
  klCapacityAt(t: number): number {
    return klCapacityAt(this.config, t);
  }

  /** Writes the step uniform: the training defaults, overridden by `p`. */
  writeStep(p: Partial<StepParams>): void {
    const t = this.training;
    const full: StepParams = {
      ...STEP_PARAMS_DEFAULTS,
      seed: t.seed, validRows: t.batch, historySlot: t.lossEvery, lr: t.lr, beta1: t.betas[0], beta2: t.betas[1],
      adamEps: t.eps, weightDecay: t.weightDecay, klWeight: 1, freeBits: this.config.freeBits, clipNorm: t.clipGrad, ...p,
    };
    writeData(this.device, this.buffers.stepParams, 0, new Uint8Array(encodeStepParams(full, this.stepBytes)));
  }

  /** Writes rows of x (and their one-hot labels) into a plan's inputs, zero-padded; returns the row count. */
  protected writeRows(plan: Plan, x: Float32Array, labels: ArrayLike<number> | undefined, what: string, width = this.config.inputDim): number {
    const rows = x.length / width;
    if (!Number.isInteger(rows) || rows < 1 || rows > plan.rows) {
      throw new ConfigError(`${what}: expected 1..${plan.rows} rows of ${width} values, got ${describeRows(x.length, width)}`);
    }
    const padded = rows === plan.rows ? x : new Float32Array(plan.rows * width);
    if (padded !== x) padded.set(x);
    writeData(this.device, plan.input!.buffer, 0, padded);
    if (plan.condition) writeData(this.device, plan.condition.buffer, 0, oneHot(labels, rows, plan.rows, this.config.classes, what));
    return rows;
  }

  /** Frees every buffer this model created. A caller's device stays alive; ours is destroyed. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.failures.detach();
    this.losses.destroy();
    this.arena.destroyAll();
    this.plans.clear();
    this.releaseDevice(true);
  }

  /** Counts this model off its device, destroying an acquired one (when asked) with the last model on it. */
  private releaseDevice(destroyIfLast: boolean): void {
    countModelOff(this.device, destroyIfLast);
  }

  /**
   * Runs `op` after every operation this model was asked for before it (see `calls`). Callers
   * are async functions that call this before their first await, so the order of calls is kept.
   * `op` must not await another method that calls this: that would wait for `op` itself.
   */
  protected exclusive<T>(op: () => Promise<T>): Promise<T> {
    return this.calls.run(op);
  }

  /** Whether destroy() (or a failed creation's discard()) has run. */
  protected get isDestroyed(): boolean {
    return this.destroyed;
  }

  /** Throws if the model was destroyed or WebGPU reported an error since the last call. */
  assertAlive(): void {
    if (this.destroyed) throw new ConfigError('this VAE was destroyed; create a new model, or call destroy() after your calls have finished');
    if (this.failures.failure) throw this.failures.failure;
  }
}

/**
 * Plans kept besides the training step's. Each kind of forward call holds its batch's plan and
 * plans of fewer rows for its last chunks (vae-forward.ts); the demo's views, 5 kinds and 6 such
 * counts, fit.
 */
export const DEFAULT_MAX_PLANS = 16;

/** Plans differ by kind, rows and, for importance-weighted evaluation, samples per chunk and the bounds buffer. */
export function planKey(kind: GraphKind, rows: number, opts: RecordOptions): string {
  return `${kind}:${rows}:${opts.samples ?? ''}:${opts.bounds?.label ?? ''}`;
}

/** `value` with every object and array in it frozen (configurations are plain data). */
function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
