// The model API: a VAE whose every tensor operation runs in WGSL on a GPUDevice (the caller's or
// one we create). Training steps are one command encoder and one submit each; losses come back
// through the LossRing; pipelines and bind groups are built once per graph and cached.
import { ourLabel } from '../gpu/labels';
import { STEP_PARAMS } from '../../shaders/common';
import { initialWatch, WATCH_VEC4S } from '../../shaders/grad-norm';
import { type AcquiredDevice, describeAdapter, destroyOwnedDevice, isDeviceGoneAfterSettling, wrapDevice } from '../gpu/device';
import { BufferArena, formatBytes, readFloats, writeData } from '../gpu/buffers';
import { type CompileProgress, type PipelineCache, pipelineCacheFor } from '../gpu/pipelines';
import { autotuneMatmuls, matmulProducts } from './autotune';
import { autotuneConvs } from './autotune-conv';
import { convOpsOf } from './layers/conv-ops';
import { defaultAutotuneCache } from './autotune-cache';
import { checkPrecision, type Precision } from './precision';
import { ConfigError, DeviceLimitError, GpuError, kindOfValue } from '../errors';
import { FailureWatch } from '../gpu/failure-watch';
import { encodeStepParams, STEP_PARAMS_DEFAULTS, STREAM, type StepParams } from '../step-params';
import { DEFAULT_CONFIG, klCapacityAt, klWeightAt, resolveConfig, type VaeConfig } from './config';
import { buildModel, type ModelParts } from './build';
import { evalSamples, recordGraph, type GraphKind, type ModelBuffers, type Plan, type RecordOptions } from './graphs';
import { kernelsFor, withKernelOverrides, type KernelChoice } from './kernels';
import { LossRing, type StepLoss } from './loss-ring';
import type { ParamLayout } from './params';
import { estimateLogLikelihood, type LogLikelihoodOptions, type LogLikelihoodResult } from './iwae-eval';
import { oneHot } from './labels';
import { PlanCache } from './plan-cache';
import { ResidentData, type BatchSource, type PixelData } from './resident-data';
import { GeneratedSprites } from './generated-data';
import { checkCreationOptions, checkKnownKeys, DEFAULT_TRAINING, lrAt, resolveTraining, restateRefusal, type ElboResult, type TrainingOptions, type VaeOptions } from './vae-options';
import { createModelBuffers } from './model-buffers';

export { DEFAULT_TRAINING, LR_DECAYS, lrAt, type ElboResult, type LrDecay, type TrainingOptions, type VaeOptions } from './vae-options';

/**
 * Models alive on each device this library acquired (acquire*Device): such a device is destroyed
 * with the last of them, so models that share it do not pull it from under each other.
 */
const ownedDeviceUsers = new WeakMap<GPUDevice, number>();

/**
 * The device's out-of-memory errors while a model is being created, each allocation in an error
 * scope of its own, pushed and popped around that one allocation with no await between. A scope
 * held open across awaits would, on a device shared with the app, take in the app's errors or be
 * popped by the app (and ours pop the app's scope) in place of each other.
 */
class OutOfMemoryScopes {
  private readonly results: Promise<GPUError | null>[] = [];
  private open = true;

  constructor(private readonly device: GPUDevice) {}

  /** Runs `allocate` (synchronous) in a scope of its own while creation lasts. */
  around<T>(allocate: () => T): T {
    if (!this.open) return allocate();
    this.device.pushErrorScope('out-of-memory');
    try {
      return allocate();
    } finally {
      // Caught here, so a creation that fails for another reason leaves no rejection unhandled.
      this.results.push(this.device.popErrorScope().catch(() => null));
    }
  }

  /** Ends scoping (later allocations' errors go to the model's FailureWatch); the first error seen, or null. */
  async close(): Promise<GPUError | null> {
    this.open = false;
    return (await Promise.all(this.results)).find((e) => e !== null) ?? null;
  }
}

/** An arena whose every allocation, including those of plans built during creation, is scoped by `scopes`. */
class CreationScopedArena extends BufferArena {
  constructor(device: GPUDevice, private readonly scopes: OutOfMemoryScopes) {
    super(device);
  }

  override create(label: string, byteLength: number, usage?: GPUBufferUsageFlags): GPUBuffer {
    return this.scopes.around(() => super.create(label, byteLength, usage));
  }
}

export class VAE {
  readonly config: VaeConfig;
  readonly parts: ModelParts;
  readonly layout: ParamLayout;
  readonly training: TrainingOptions;
  readonly device: GPUDevice;
  readonly kernels: KernelChoice;
  /** Storage of hidden activations: 'f16' (half the bytes, f32 sums) or 'f32'. */
  readonly precision: Precision;
  readonly losses: LossRing;
  /** Adam steps taken. */
  step = 0;
  /** Epoch number for dynamic binarization (set by the training loop). */
  epoch = 0;
  readonly arena: BufferArena;
  readonly cache: PipelineCache;
  readonly buffers: ModelBuffers;
  private readonly plans: PlanCache;
  private readonly onCompileProgress?: CompileProgress;
  private readonly stepBytes = new ArrayBuffer(STEP_PARAMS.bytes);
  private readonly acquired: AcquiredDevice;
  private destroyed = false;
  /** The first WebGPU error seen on the device since this model was created; rethrown on the next call. */
  private readonly failures: FailureWatch;
  /**
   * Where the last GPU operation of this model ends. Operations write the shared step uniform and
   * read plans' output buffers across awaits, so calls made without waiting for each other (e.g.
   * Promise.all of two samples) run one after another instead of reading each other's results.
   */
  private queueTail: Promise<unknown> = Promise.resolve();

  private constructor(config: VaeConfig, opts: VaeOptions, outOfMemory: OutOfMemoryScopes) {
    this.config = config;
    this.precision = opts.precision ?? 'f32';
    this.training = resolveTraining(opts);
    const t = this.training;
    this.acquired = 'device' in opts.device && 'adapter' in opts.device ? (opts.device as AcquiredDevice) : wrapDevice(opts.device as GPUDevice);
    this.device = this.acquired.device;
    if (this.acquired.owned) ownedDeviceUsers.set(this.device, (ownedDeviceUsers.get(this.device) ?? 0) + 1);
    this.kernels = withKernelOverrides(kernelsFor(this.acquired.adapter), opts.kernels);
    const maxPlans = opts.maxPlans ?? 8;
    if (!(Number.isInteger(maxPlans) && maxPlans >= 1)) throw new ConfigError(`maxPlans must be an integer >= 1, got ${opts.maxPlans}`);
    this.parts = buildModel(config);
    this.layout = this.parts.layout;
    this.arena = new CreationScopedArena(this.device, outOfMemory);
    const budget = opts.memoryBudget ?? Infinity;
    if (!(budget > 0)) throw new ConfigError(`memoryBudget must be a positive number of bytes, got ${opts.memoryBudget}`);
    this.arena.budget = budget;
    this.cache = pipelineCacheFor(this.device);
    this.buffers = createModelBuffers(this.arena, this.layout, t, opts.initialParams);
    this.losses = new LossRing(this.device, this.buffers.history, t.lossEvery, 3, opts.onLosses, this.buffers.health);
    this.plans = new PlanCache(this.arena, maxPlans, planKey('train', t.batch, {}));
    this.failures = new FailureWatch(this.device);
    this.onCompileProgress = opts.onCompileProgress;
  }

  static async create(config: Partial<VaeConfig>, opts: VaeOptions): Promise<VAE> {
    checkCreationOptions(opts);
    if (config === null || typeof config !== 'object') throw new ConfigError(`VAE.create's first argument is the model's configuration, an object (e.g. { latent: 20 }), got ${String(config)}`);
    checkKnownKeys('config field', Object.keys(config), Object.keys(DEFAULT_CONFIG));
    const resolved = resolveConfig(config);
    const device = 'adapter' in opts.device && 'device' in opts.device ? opts.device.device : (opts.device as GPUDevice);
    // Nothing may be made on a gone device (Dawn for Node crashes or hangs instead of reporting it).
    if (await isDeviceGoneAfterSettling(device)) {
      throw new GpuError('VAE.create: this GPU device is gone (destroyed with the last model on it, or lost); create the model on a new device (acquireNodeDevice(), acquireBrowserDevice() or your own)', 'VAE.create', 'device-lost');
    }
    // Allocation failures the device reports (rather than our budget) are caught here, at plan time.
    const outOfMemory = new OutOfMemoryScopes(device);
    let vae: VAE;
    try {
      // The constructor's allocations outside the arena (loss read-back staging) need a scope too.
      vae = outOfMemory.around(() => new VAE(resolved, opts, outOfMemory));
      await vae.prepare(opts);
    } catch (e) {
      void outOfMemory.close();
      throw restateRefusal(e, opts.batch ?? DEFAULT_TRAINING.batch);
    }
    // Allocations outside the arena during autotuning are not scoped; their out-of-memory errors reach the FailureWatch.
    const oom = (await outOfMemory.close()) ?? (vae.failures.failure?.kind === 'out-of-memory' ? vae.failures.failure : null);
    if (oom) {
      const planned = vae.arena.allocatedBytes;
      vae.discard();
      throw new DeviceLimitError(
        `the GPU ran out of memory allocating this model (${formatBytes(planned)} planned at batch ${vae.training.batch}: ${oom.message}); ` +
          'use a smaller batch or model',
      );
    }
    return vae;
  }

  /** Autotunes when asked, then plans and compiles the training step; frees everything on failure. */
  private async prepare(opts: VaeOptions): Promise<void> {
    const vae = this;
    try {
      checkPrecision(opts.precision, vae.device, vae.adapter);
      if (opts.autotune && opts.autotune !== 'off') {
        const { graph } = vae.record('train', vae.training.batch);
        const t0 = performance.now();
        const tune = { mode: opts.autotune, adapterKey: describeAdapter(vae.adapter), isSoftware: vae.adapter.isSoftware, cache: opts.autotuneCache ?? defaultAutotuneCache(), signal: opts.signal };
        vae.kernels.matmulTuned = await autotuneMatmuls(vae.cache, matmulProducts(graph.kernels), tune);
        // Convolutions after the matmuls (im2col runs on them), within what is left of quick's second.
        const ops = convOpsOf(graph);
        if (ops.length) {
          const convs = await autotuneConvs(vae.cache, ops, vae.kernels, opts.autotune === 'quick' ? { ...tune, budgetMs: Math.max(0, 1000 - (performance.now() - t0)) } : tune);
          vae.kernels.convTuned = Object.fromEntries(Object.entries(convs).map(([key, c]) => [key, c.method]));
        }
      }
      await vae.plan('train', vae.training.batch); // plan and compile the step up front
    } catch (e) {
      vae.discard();
      throw e;
    }
  }

  /** Frees what a failed creation allocated; the device itself stays with whoever passed it in. */
  private discard(): void {
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

  /** Read-only views for embedding: the flat parameter buffer and its layout. */
  get parameterBuffer(): GPUBuffer {
    return this.buffers.params;
  }

  /** Gradients of the last training step, same flat layout (read-only view). */
  get gradientBuffer(): GPUBuffer {
    return this.buffers.grads;
  }

  /** The gradients of the last training step, copied to the CPU (flat layout). */
  async flatGradients(): Promise<Float32Array> {
    this.assertAlive();
    return readFloats(this.device, this.buffers.grads);
  }

  get adapter() {
    return this.acquired.adapter;
  }

  /** The graph `kind` for `rows` examples, planned and compiled once, then cached (boundedly). */
  plan(kind: GraphKind, rows: number, opts: RecordOptions = {}): Promise<Plan> {
    return this.planKept(kind, rows, opts, false);
  }

  /** plan(), kept until destroy() when `handOut`: the caller gets its output buffer and may bind it at any later time. */
  private planKept(kind: GraphKind, rows: number, opts: RecordOptions, handOut: boolean): Promise<Plan> {
    this.assertAlive();
    const build = async () => {
      const plan = this.record(kind, rows, opts);
      await plan.graph.build(this.cache, this.arena, this.onCompileProgress);
      return plan;
    };
    return this.plans.get(planKey(kind, rows, opts), build, { pin: handOut });
  }

  /** The graph `kind` for `rows` examples, recorded only: nothing placed, compiled or allocated (for sizing and autotuning). */
  record(kind: GraphKind, rows: number, opts: RecordOptions = {}): Plan {
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
    if (have) this.arena.release(have);
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
      adamEps: t.eps, weightDecay: t.weightDecay, klWeight: 1, freeBits: this.config.freeBits, epoch: this.epoch, clipNorm: t.clipGrad, ...p,
    };
    writeData(this.device, this.buffers.stepParams, 0, new Uint8Array(encodeStepParams(full, this.stepBytes)));
  }

  /** Uploads a dataset to the GPU for trainEpoch/elbo. Free it with `.destroy()` when done. */
  upload(data: PixelData): ResidentData {
    this.assertAlive();
    return new ResidentData(this.arena, data, this.config, data.name ?? 'data');
  }

  /**
   * A dSprites training or test set drawn on the GPU at every step instead of stored: `indices`
   * are picture indices of the generated set (src/data/dsprites.ts; the colour set's with
   * `colour`), any subset or the whole of it. Use it wherever uploaded data goes.
   */
  generateSprites(indices: Uint32Array, opts: { colour?: boolean; name?: string } = {}): GeneratedSprites {
    this.assertAlive();
    return new GeneratedSprites(this.arena, indices, this.config, !!opts.colour, opts.name ?? 'dsprites');
  }

  /**
   * One optimisation step. `batch` is either grey levels in [0,1] as [rows, D] floats (rows <= batch
   * size; missing rows are padding and excluded), with `labels` for a conditional model, or a batch
   * index into resident data.
   */
  async trainStep(batch: Float32Array | { data: BatchSource; index: number }, labels?: ArrayLike<number>): Promise<void> {
    if (!(batch instanceof Float32Array)) {
      if (ArrayBuffer.isView(batch) || Array.isArray(batch)) throw rowsTypeError('trainStep', batch);
      if (!batch || typeof batch !== 'object' || !Number.isInteger(batch.index) || batch.index < 0) {
        throw new ConfigError('trainStep takes a Float32Array of rows, or { data, index } with data from vae.upload() or vae.generateSprites() and a batch index >= 0');
      }
      this.checkSource(batch.data, 'trainStep');
    }
    return this.exclusive(() => this.trainStepNow(batch, labels));
  }

  private async trainStepNow(batch: Float32Array | { data: BatchSource; index: number }, labels?: ArrayLike<number>): Promise<void> {
    this.assertAlive();
    const B = this.training.batch;
    const plan = await this.plan('train', B);
    let rows: number, start = 0, gather = null;
    if (batch instanceof Float32Array) {
      rows = this.writeRows(plan, batch, labels, 'trainStep');
    } else {
      start = batch.index * B;
      rows = Math.min(B, batch.data.count - start);
      if (rows < 1) throw new ConfigError(`trainStep: batch index ${batch.index} is past the end of the data (${batch.data.count} examples)`);
      gather = await batch.data.gatherFor(plan, this.buffers, this.cache);
    }
    await this.losses.ready();
    const step = this.step++;
    this.writeStep({
      counter: step, batchStart: start, validRows: rows, historySlot: this.losses.slotOf(step), step: step + 1, klWeight: this.klWeightAt(step + 1), klCapacity: this.klCapacityAt(step + 1), lr: lrAt(this.training, step + 1),
      datasetCount: batch instanceof Float32Array ? 0 : batch.data.count,
    });
    const enc = this.device.createCommandEncoder({ label: ourLabel('train-step') });
    gather?.encode(enc);
    plan.graph.encode(enc);
    const afterSubmit = this.losses.record(enc, step);
    this.device.queue.submit([enc.finish()]);
    afterSubmit?.();
  }

  /** Writes rows of x (and their one-hot labels) into a plan's inputs, zero-padded; returns the row count. */
  private writeRows(plan: Plan, x: Float32Array, labels: ArrayLike<number> | undefined, what: string, width = this.config.inputDim): number {
    const rows = x.length / width;
    if (!Number.isInteger(rows) || rows < 1 || rows > plan.rows) {
      throw new ConfigError(`${what}: expected 1..${plan.rows} rows of ${width} values, got ${x.length} values`);
    }
    const padded = rows === plan.rows ? x : new Float32Array(plan.rows * width);
    if (padded !== x) padded.set(x);
    writeData(this.device, plan.input!.buffer, 0, padded);
    if (plan.condition) writeData(this.device, plan.condition.buffer, 0, oneHot(labels, rows, plan.rows, this.config.classes, what));
    return rows;
  }

  /** Waits for all submitted steps and returns every loss read since the last call. */
  async readLosses(): Promise<StepLoss[]> {
    return this.exclusive(async () => {
      this.assertAlive();
      if (this.step > 0) await this.losses.flush(this.step - 1);
      return this.losses.take();
    });
  }

  /** Refuses what is not a data set of this model's shape on this model's device. */
  private checkSource(data: BatchSource, what: string): void {
    if (!data || typeof data !== 'object' || typeof data.gatherFor !== 'function') {
      throw new ConfigError(`${what}: data must come from vae.upload() or vae.generateSprites(), got ${data === null ? 'null' : typeof data}`);
    }
    if (data.dim !== this.config.inputDim) {
      throw new ConfigError(`${what}: the data set has ${data.dim} values per example but this model takes ${this.config.inputDim}; upload it with this model (vae.upload)`);
    }
    if (data.device && data.device !== this.device) throw new ConfigError(`${what}: the data set lives on another GPUDevice; upload it with this model (vae.upload)`);
  }

  /** -ELBO, reconstruction and KL per example over a resident dataset, in batches of the training size. */
  async elbo(data: BatchSource, opts: { seed?: number } = {}): Promise<ElboResult> {
    this.checkSource(data, 'elbo');
    // Noise rows are numbered over the whole data set, sample by sample, in a u32 (shaders/reparam.ts).
    const samples = evalSamples(this.parts);
    if (samples * data.count > 2 ** 32) {
      throw new ConfigError(`elbo: ${samples} samples of ${data.count} examples are more noise rows than the GPU numbers (2^32); evaluate the data in parts of at most ${Math.floor(2 ** 32 / samples)} examples`);
    }
    return this.exclusive(() => this.elboNow(data, opts ?? {}));
  }

  private async elboNow(data: BatchSource, opts: { seed?: number }): Promise<ElboResult> {
    this.assertAlive();
    const B = this.training.batch;
    const plan = await this.plan('eval', B);
    const gather = await data.gatherFor(plan, this.buffers, this.cache);
    writeData(this.device, this.buffers.accum, 0, new Float32Array(4));
    for (let i = 0; i * B < data.count; i++) {
      this.writeStep({
        seed: opts.seed ?? this.training.seed, stream: STREAM.eval, batchStart: i * B, validRows: Math.min(B, data.count - i * B), datasetCount: data.count,
        noiseRows: data.count, noiseRow0: i * B,
      });
      const enc = this.device.createCommandEncoder({ label: ourLabel('eval') });
      gather.encode(enc);
      plan.graph.encode(enc);
      this.device.queue.submit([enc.finish()]);
    }
    return plan.objective!.summarize(await readFloats(this.device, this.buffers.accum, 0, 4));
  }

  /** Importance-weighted estimate of -log p(x) over a resident dataset (Burda et al. 2015); see iwae-eval.ts. */
  async logLikelihood(data: BatchSource, opts: LogLikelihoodOptions): Promise<LogLikelihoodResult> {
    this.checkSource(data, 'logLikelihood');
    if (!opts || typeof opts !== 'object') throw new ConfigError('logLikelihood needs options with the number of importance samples, e.g. { samples: 5000 }');
    return this.exclusive(async () => {
      this.assertAlive();
      return estimateLogLikelihood(this, data, opts);
    });
  }

  /**
   * Runs a forward-only graph for one chunk of rows; returns the plan, whose output holds the
   * result. `handOut`: the output buffer goes to the caller (the *ToBuffer calls), so the plan is kept.
   */
  private async dispatchForward(kind: GraphKind, rows: number, input: Float32Array | null, labels: ArrayLike<number> | undefined, step: Partial<StepParams> = {}, handOut = false): Promise<Plan> {
    this.assertAlive();
    const plan = await this.planKept(kind, rows, {}, handOut);
    const width = kind === 'decode' ? this.config.latent : this.config.inputDim;
    const valid = input ? this.writeRows(plan, input, labels, kind, width) : (step.validRows ?? rows);
    if (!input && plan.condition) writeData(this.device, plan.condition.buffer, 0, oneHot(labels, valid, rows, this.config.classes, kind));
    this.writeStep({ validRows: valid, ...step });
    const enc = this.device.createCommandEncoder({ label: ourLabel(kind) });
    plan.graph.encode(enc);
    this.device.queue.submit([enc.finish()]);
    return plan;
  }

  /** A forward graph over any number of rows, in chunks of the training batch (so no new pipelines). */
  private async runForward(kind: GraphKind, input: Float32Array | null, rows: number, labels: ArrayLike<number> | undefined, step: Partial<StepParams> = {}): Promise<Float32Array> {
    if (this.config.classes > 0 && labels && labels.length !== rows) throw new ConfigError(`${kind}: got ${labels.length} labels for ${rows} rows; give one class per row`);
    return this.exclusive(() => this.runForwardNow(kind, input, rows, labels, step));
  }

  private async runForwardNow(kind: GraphKind, input: Float32Array | null, rows: number, labels: ArrayLike<number> | undefined, step: Partial<StepParams>): Promise<Float32Array> {
    const B = this.training.batch;
    const inWidth = kind === 'decode' ? this.config.latent : this.config.inputDim;
    const outWidth = kind === 'encode' ? this.parts.sampler.posteriorWidth : this.config.inputDim;
    const result = new Float32Array(rows * outWidth);
    for (let r0 = 0; r0 < rows; r0 += B) {
      const n = Math.min(B, rows - r0);
      const chunk = input ? input.subarray(r0 * inWidth, (r0 + n) * inWidth) : null;
      const chunkLabels = labels ? Array.from(labels).slice(r0, r0 + n) : undefined;
      // Prior draws are numbered from the chunk's first row, so n samples do not depend on B.
      const plan = await this.dispatchForward(kind, B, chunk, chunkLabels, { ...step, ...(kind === 'sample' ? { validRows: n, noiseRow0: r0 } : {}) });
      result.set(await readFloats(this.device, plan.output.buffer, 0, n * outWidth), r0 * outWidth);
    }
    return result;
  }

  /**
   * GPU-side variants for rendering without a CPU round trip: they return the graph's output
   * buffer ([rows, D] decoder means, f32) as soon as the work is submitted. The buffer belongs to
   * the model: every call of the same kind and size returns it again, overwritten, and it stays
   * valid until destroy(), since its plan is kept out of the plan cache's eviction (so each size
   * used costs a plan's memory for the model's life); bind it read-only.
   */
  async sampleToBuffer(n: number, seed = this.training.seed, labels?: ArrayLike<number>): Promise<GPUBuffer> {
    checkRowCount(n, 'sampleToBuffer');
    return this.exclusive(async () => (await this.dispatchForward('sample', n, null, labels, { seed, stream: STREAM.prior, counter: 0 }, true)).output.buffer);
  }

  async decodeToBuffer(z: Float32Array, labels?: ArrayLike<number>): Promise<GPUBuffer> {
    const rows = this.rowsOf(z, this.config.latent, 'decodeToBuffer');
    return this.exclusive(async () => (await this.dispatchForward('decode', rows, z, labels, {}, true)).output.buffer);
  }

  async reconstructToBuffer(x: Float32Array, labels?: ArrayLike<number>): Promise<GPUBuffer> {
    const rows = this.rowsOf(x, this.config.inputDim, 'reconstructToBuffer');
    return this.exclusive(async () => (await this.dispatchForward('reconstruct', rows, x, labels, {}, true)).output.buffer);
  }

  private rowsOf(x: Float32Array, width: number, what: string): number {
    if (!(x instanceof Float32Array)) throw rowsTypeError(what, x);
    const rows = x.length / width;
    if (!Number.isInteger(rows) || rows < 1) throw new ConfigError(`${what}: expected rows of ${width} values, got ${x.length} values`);
    return rows;
  }

  /** mu and logvar of q(z|x) for each row of x ([rows, D] in [0,1]). */
  async encode(x: Float32Array, labels?: ArrayLike<number>): Promise<{ mu: Float32Array; logvar: Float32Array }> {
    const rows = this.rowsOf(x, this.config.inputDim, 'encode');
    const q = await this.runForward('encode', x, rows, labels);
    return this.parts.sampler.split(q, rows);
  }

  /** Decoder mean for each row of z ([rows, Z]): pixel probabilities (Bernoulli) or means (Gaussian). */
  async decode(z: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array> {
    return this.runForward('decode', z, this.rowsOf(z, this.config.latent, 'decode'), labels);
  }

  /** `n` new examples: z ~ N(0, I) drawn on the GPU from `seed`, decoded (of class `labels[i]` when conditional). */
  async sample(n: number, seed = this.training.seed, labels?: ArrayLike<number>): Promise<Float32Array> {
    checkRowCount(n, 'sample');
    return this.runForward('sample', null, n, labels, { seed, stream: STREAM.prior });
  }

  /** Decoder mean at z = mu(x) for each row of x. */
  async reconstruct(x: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array> {
    return this.runForward('reconstruct', x, this.rowsOf(x, this.config.inputDim, 'reconstruct'), labels);
  }

  /** Every parameter tensor by name, copied to the CPU. */
  async parameters(): Promise<Record<string, { shape: number[]; data: Float32Array }>> {
    const flat = await this.flatParameters();
    return Object.fromEntries(this.layout.tensors.map((t) => [t.name, { shape: t.shape, data: flat.slice(t.offset, t.offset + t.count) }]));
  }

  async flatParameters(): Promise<Float32Array> {
    this.assertAlive();
    return readFloats(this.device, this.buffers.params);
  }

  /** Replaces all parameters (flat layout) and resets the optimizer state. */
  setFlatParameters(flat: Float32Array): void {
    this.assertAlive();
    if (!(flat instanceof Float32Array)) throw new ConfigError(`setFlatParameters takes a Float32Array of ${this.layout.totalFloats} floats, got ${kindOfValue(flat)}`);
    if (flat.length !== this.layout.totalFloats) throw new ConfigError(`expected ${this.layout.totalFloats} floats, got ${flat.length}`);
    writeData(this.device, this.buffers.params, 0, flat);
    const zeros = new Float32Array(this.buffers.moment1.size / 4);
    writeData(this.device, this.buffers.moment1, 0, zeros);
    writeData(this.device, this.buffers.moment2, 0, zeros);
    this.step = 0;
    this.losses.resetTo(0);
    this.restoreWatch(null);
  }

  /** Adam's first and second moments (flat layout, like the parameters), copied to the CPU; null for SGD, which keeps none. */
  async optimizerState(): Promise<{ m: Float32Array; v: Float32Array } | null> {
    this.assertAlive();
    if (this.training.optimizer !== 'adam') return null;
    return { m: await readFloats(this.device, this.buffers.moment1), v: await readFloats(this.device, this.buffers.moment2) };
  }

  /**
   * Continues a saved run: Adam's moments (flat layout; none for SGD) and the number of steps
   * already taken, which fixes the next step's noise, bias corrections and KL weight. Give the
   * saved parameters as `initialParams` when creating the model.
   */
  restoreOptimizer(state: { m?: Float32Array; v?: Float32Array; step: number; watch?: ArrayLike<number> | null }): void {
    this.assertAlive();
    if (!Number.isSafeInteger(state.step) || state.step < 0) throw new ConfigError(`step must be an integer >= 0, got ${state.step}`);
    if (this.training.optimizer === 'adam') {
      const P = this.layout.totalFloats;
      if (state.m?.length !== P || state.v?.length !== P) throw new ConfigError(`Adam's moments need ${P} floats each, got ${state.m?.length ?? 'none'} and ${state.v?.length ?? 'none'}`);
      writeData(this.device, this.buffers.moment1, 0, state.m);
      writeData(this.device, this.buffers.moment2, 0, state.v);
    }
    this.step = state.step;
    this.losses.resetTo(state.step);
    this.restoreWatch(state.watch ?? null);
  }

  /**
   * The divergence watch of the step health check (shaders/grad-norm.ts): smoothed loss, its
   * running minimum, accepted steps. Saved with a checkpoint so that a resumed run judges its
   * steps exactly as an uninterrupted one.
   */
  async watchState(): Promise<number[]> {
    this.assertAlive();
    return Array.from(await readFloats(this.device, this.buffers.watch, 0, 4));
  }

  /** Sets the watch (null: nothing seen yet) and clears the last step's verdict. */
  private restoreWatch(watch: ArrayLike<number> | null): void {
    const w = initialWatch();
    if (watch) {
      if (watch.length !== 4 || !Array.from(watch).every(Number.isFinite)) throw new ConfigError(`the step watch needs 4 finite numbers, got [${Array.from(watch)}]`);
      w.set(watch);
    }
    writeData(this.device, this.buffers.watch, 0, w.subarray(0, 4 * WATCH_VEC4S));
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

  /** Counts this model off an acquired device, destroying it (when asked) with the last model on it. */
  private releaseDevice(destroyIfLast: boolean): void {
    if (!this.acquired.owned) return;
    const users = (ownedDeviceUsers.get(this.device) ?? 1) - 1;
    ownedDeviceUsers.set(this.device, users);
    if (users <= 0 && destroyIfLast) destroyOwnedDevice(this.device);
  }

  /**
   * Runs `op` after every operation this model was asked for before it (see queueTail). Callers
   * are async functions that call this before their first await, so the order of calls is kept.
   */
  private exclusive<T>(op: () => Promise<T>): Promise<T> {
    const run = this.queueTail.then(op, op);
    this.queueTail = run.catch(() => undefined);
    return run;
  }

  /** Throws if the model was destroyed or WebGPU reported an error since the last call. */
  assertAlive(): void {
    if (this.destroyed) throw new ConfigError('this VAE was destroyed; create a new model, or call destroy() after your calls have finished');
    if (this.failures.failure) throw this.failures.failure;
  }
}

/** Plans differ by kind, rows and, for importance-weighted evaluation, samples per chunk and the bounds buffer. */
function planKey(kind: GraphKind, rows: number, opts: RecordOptions): string {
  return `${kind}:${rows}:${opts.samples ?? ''}:${opts.bounds?.label ?? ''}`;
}

function checkRowCount(n: number, what: string): void {
  if (!Number.isInteger(n) || n < 1) throw new ConfigError(`${what}: n must be a positive integer, got ${n}`);
}

/** The error for rows given as something other than a Float32Array. */
function rowsTypeError(what: string, x: unknown): ConfigError {
  return new ConfigError(`${what}: rows must be a Float32Array (row-major, values in [0, 1]), got ${kindOfValue(x)}; convert with Float32Array.from(...)`);
}
