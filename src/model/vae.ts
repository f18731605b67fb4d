// The model API: a VAE whose every tensor operation runs in WGSL on a GPUDevice (the caller's or
// one we create). Training steps are one command encoder and one submit each; losses come back
// through the LossRing; pipelines and bind groups are built once per graph and cached.
import { STEP_PARAMS_BYTES } from '../../shaders/common';
import type { Optimizer } from '../../shaders/adam';
import { type AcquiredDevice, wrapDevice } from '../gpu/device';
import { BufferArena, readFloats, writeData } from '../gpu/buffers';
import { type PipelineCache, pipelineCacheFor } from '../gpu/pipelines';
import { ConfigError, GpuError } from '../errors';
import { encodeStepParams, STREAM, type StepParams } from '../step-params';
import { resolveConfig, type VaeConfig } from './config';
import { LossRing, type StepLoss } from './loss-ring';
import { initialParams, paramLayout, type ParamLayout } from './params';
import { buildPlan, kernelsFor, type GraphKind, type KernelChoice, type ModelBuffers, type Plan } from './plan';
import { ResidentData, type PixelData } from './resident-data';

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
}

export const DEFAULT_TRAINING: TrainingOptions = {
  batch: 128, optimizer: 'adam', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, seed: 0, lossEvery: 16,
};

export interface VaeOptions extends Partial<TrainingOptions> {
  /** A device the caller owns (never destroyed by us), or one from acquire*Device(). */
  device: GPUDevice | AcquiredDevice;
  /** Kernel variants; by default picked from the adapter (software vs GPU). */
  kernels?: Partial<KernelChoice>;
  /** Initial flat parameters (layout of paramLayout); default: PyTorch-style init from `seed`. */
  initialParams?: Float32Array;
  /** Called with each batch of losses read back from the GPU. */
  onLosses?: (losses: StepLoss[]) => void;
}

export interface ElboResult {
  /** -ELBO per example: rec + kl. */
  loss: number;
  rec: number;
  kl: number;
  examples: number;
}

const EVAL_BATCH = 1000;

export class VAE {
  readonly config: VaeConfig;
  readonly layout: ParamLayout;
  readonly training: TrainingOptions;
  readonly device: GPUDevice;
  readonly kernels: KernelChoice;
  readonly losses: LossRing;
  /** Adam steps taken. */
  step = 0;
  private readonly arena: BufferArena;
  private readonly cache: PipelineCache;
  private readonly buffers: ModelBuffers;
  private readonly plans = new Map<string, Promise<Plan>>();
  private readonly stepBytes = new ArrayBuffer(STEP_PARAMS_BYTES);
  private readonly acquired: AcquiredDevice;
  private destroyed = false;
  /** The first WebGPU error seen on the device since this model was created; rethrown on the next call. */
  private gpuFailure: GpuError | null = null;
  private readonly onUncapturedError = (ev: Event) => {
    const error = (ev as GPUUncapturedErrorEvent).error;
    const type = error.constructor?.name ?? '';
    const kind = /OutOfMemory/.test(type) ? 'out-of-memory' : /Validation/.test(type) ? 'validation' : 'internal';
    // Dawn quotes object labels; ours name the kernel or graph (e.g. "matmul_nt_bias_relu_register").
    const operation = /"(?:webgpu-vae:)?([\w.:\[\]-]+)"/.exec(error.message)?.[1] ?? 'unknown operation';
    this.gpuFailure ??= new GpuError(`WebGPU ${kind} error in ${operation}: ${error.message}`, operation, kind);
  };

  private constructor(config: VaeConfig, opts: VaeOptions) {
    this.config = config;
    this.training = { ...DEFAULT_TRAINING, ...Object.fromEntries(Object.entries(opts).filter(([k, v]) => k in DEFAULT_TRAINING && v !== undefined)) };
    const t = this.training;
    if (!Number.isInteger(t.batch) || t.batch < 1 || t.batch > 65535) throw new ConfigError(`batch must be an integer in 1..65535, got ${t.batch}`);
    if (!(t.lr > 0)) throw new ConfigError(`lr must be > 0, got ${t.lr}`);
    if (t.optimizer !== 'adam' && t.optimizer !== 'sgd') throw new ConfigError(`optimizer must be 'adam' or 'sgd', got '${t.optimizer}'`);
    this.acquired = 'device' in opts.device && 'adapter' in opts.device ? (opts.device as AcquiredDevice) : wrapDevice(opts.device as GPUDevice);
    this.device = this.acquired.device;
    this.kernels = { ...kernelsFor(this.acquired.adapter), ...opts.kernels };
    this.layout = paramLayout(config);
    this.arena = new BufferArena(this.device);
    this.cache = pipelineCacheFor(this.device);
    const P = this.layout.totalFloats;
    const init = opts.initialParams ?? initialParams(this.layout, t.seed);
    if (init.length !== P) throw new ConfigError(`initialParams has ${init.length} floats, the layout needs ${P}`);
    this.buffers = {
      params: this.arena.upload('params', init),
      grads: this.arena.create('grads', P * 4),
      moment1: this.arena.create('adam.m', t.optimizer === 'adam' ? P * 4 : 4),
      moment2: this.arena.create('adam.v', t.optimizer === 'adam' ? P * 4 : 4),
      stepParams: this.arena.create('step-params', STEP_PARAMS_BYTES, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST),
      history: this.arena.create('loss-history', (t.lossEvery + 1) * 16),
      accum: this.arena.create('accum', 16),
    };
    this.losses = new LossRing(this.device, this.buffers.history, t.lossEvery, 3, opts.onLosses);
    this.device.addEventListener('uncapturederror', this.onUncapturedError);
    this.device.lost.then((info) => {
      if (this.destroyed) return;
      this.gpuFailure ??= new GpuError(`the GPU device was lost (${info.reason}): ${info.message}. Create the model again on a new device, e.g. from a saved checkpoint`, 'device', 'device-lost');
    });
  }

  static async create(config: Partial<VaeConfig>, opts: VaeOptions): Promise<VAE> {
    const vae = new VAE(resolveConfig(config), opts);
    try {
      await vae.plan('train', vae.training.batch); // plan and compile the step up front
    } catch (e) {
      // Free what was allocated; the device itself stays with whoever passed it in.
      vae.destroyed = true;
      vae.device.removeEventListener('uncapturederror', vae.onUncapturedError);
      vae.losses.destroy();
      vae.arena.destroyAll();
      throw e;
    }
    return vae;
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

  plan(kind: GraphKind, rows: number): Promise<Plan> {
    this.assertAlive();
    const key = `${kind}:${rows}`;
    const cached = this.plans.get(key);
    if (cached) return cached;
    const ctx = { config: this.config, layout: this.layout, buffers: this.buffers, arena: this.arena, kernels: this.kernels, optimizer: this.training.optimizer };
    const p = (async (): Promise<Plan> => {
      const plan = buildPlan(ctx, kind, rows);
      await plan.graph.build(this.cache);
      return plan;
    })();
    this.plans.set(key, p);
    p.catch(() => this.plans.delete(key)); // a failed plan (e.g. over a device limit) may be retried smaller
    return p;
  }

  /** Number of dispatches in one training step (gather included when training from resident data). */
  async dispatchesPerStep(resident = true): Promise<number> {
    return (await this.plan('train', this.training.batch)).graph.dispatchCount + (resident ? 1 : 0);
  }

  private writeStep(p: Partial<StepParams>): void {
    const t = this.training;
    const full: StepParams = {
      seed: t.seed, counter: 0, batchStart: 0, validRows: t.batch, historySlot: t.lossEvery, stream: STREAM.train,
      datasetCount: 0, lr: t.lr, beta1: t.betas[0], beta2: t.betas[1], adamEps: t.eps, step: 0, weightDecay: t.weightDecay,
      klBeta: this.config.beta, ...p,
    };
    writeData(this.device, this.buffers.stepParams, 0, new Uint8Array(encodeStepParams(full, this.stepBytes)));
  }

  /** Uploads a dataset to the GPU for trainEpoch/elbo. Free it with `.destroy()` when done. */
  upload(data: PixelData): ResidentData {
    this.assertAlive();
    return new ResidentData(this.arena, data.count, this.config.inputDim, data.images, data.name ?? 'data');
  }

  /**
   * One optimisation step. `batch` is either grey levels in [0,1] as [rows, D] floats (rows <= batch
   * size; missing rows are padding and excluded), or a batch index into resident data.
   */
  async trainStep(batch: Float32Array | { data: ResidentData; index: number }): Promise<void> {
    this.assertAlive();
    const B = this.training.batch;
    const plan = await this.plan('train', B);
    let rows: number, start = 0, gather = null;
    if (batch instanceof Float32Array) {
      const D = this.config.inputDim;
      rows = batch.length / D;
      if (!Number.isInteger(rows) || rows < 1 || rows > B) {
        throw new ConfigError(`trainStep: batch must hold 1..${B} rows of ${D} values, got ${batch.length} values`);
      }
      const padded = rows === B ? batch : new Float32Array(B * D);
      if (padded !== batch) padded.set(batch);
      writeData(this.device, plan.input!, 0, padded);
    } else {
      start = batch.index * B;
      rows = Math.min(B, batch.data.count - start);
      if (rows < 1) throw new ConfigError(`trainStep: batch index ${batch.index} is past the end of the data (${batch.data.count} examples)`);
      gather = await batch.data.gatherFor(plan, this.buffers, this.cache);
    }
    await this.losses.ready();
    const step = this.step++;
    this.writeStep({
      counter: step, batchStart: start, validRows: rows, historySlot: this.losses.slotOf(step), step: step + 1,
      datasetCount: batch instanceof Float32Array ? 0 : batch.data.count,
    });
    const enc = this.device.createCommandEncoder({ label: 'train-step' });
    gather?.encode(enc);
    plan.graph.encode(enc);
    const afterSubmit = this.losses.record(enc, step);
    this.device.queue.submit([enc.finish()]);
    afterSubmit?.();
  }

  /** Waits for all submitted steps and returns every loss read since the last call. */
  async readLosses(): Promise<StepLoss[]> {
    this.assertAlive();
    if (this.step > 0) await this.losses.flush(this.step - 1);
    return this.losses.take();
  }

  /** -ELBO, reconstruction and KL per example over a resident dataset (one z sample per example). */
  async elbo(data: ResidentData, opts: { batch?: number; seed?: number } = {}): Promise<ElboResult> {
    const B = Math.min(opts.batch ?? EVAL_BATCH, data.count);
    const plan = await this.plan('eval', B);
    const gather = await data.gatherFor(plan, this.buffers, this.cache);
    writeData(this.device, this.buffers.accum, 0, new Float32Array(4));
    for (let i = 0; i * B < data.count; i++) {
      this.writeStep({ seed: opts.seed ?? this.training.seed, counter: i, stream: STREAM.eval, batchStart: i * B, validRows: Math.min(B, data.count - i * B), datasetCount: data.count });
      const enc = this.device.createCommandEncoder({ label: 'eval' });
      gather.encode(enc);
      plan.graph.encode(enc);
      this.device.queue.submit([enc.finish()]);
    }
    const [rec, kl, n] = await readFloats(this.device, this.buffers.accum, 0, 4);
    return { loss: (rec + kl) / n, rec: rec / n, kl: kl / n, examples: n };
  }

  /** Runs a forward-only graph on `input` ([rows, width] floats); returns the plan, whose output buffer holds the result. */
  private async dispatchForward(kind: GraphKind, input: Float32Array | null, rows: number, step: Partial<StepParams> = {}): Promise<Plan> {
    this.assertAlive();
    const plan = await this.plan(kind, rows);
    if (input) writeData(this.device, plan.input!, 0, input);
    this.writeStep({ validRows: rows, ...step });
    const enc = this.device.createCommandEncoder({ label: kind });
    plan.graph.encode(enc);
    this.device.queue.submit([enc.finish()]);
    return plan;
  }

  private async runForward(kind: GraphKind, input: Float32Array | null, rows: number, outWidth: number, step: Partial<StepParams> = {}): Promise<Float32Array> {
    const plan = await this.dispatchForward(kind, input, rows, step);
    return readFloats(this.device, plan.output, 0, rows * outWidth);
  }

  /**
   * GPU-side variants for rendering without a CPU round trip: they return the graph's output
   * buffer ([rows, D] decoder means, f32) as soon as the work is submitted. The buffer belongs to
   * the model and is overwritten by the next call of the same kind and size; bind it read-only.
   */
  async sampleToBuffer(n: number, seed = this.training.seed): Promise<GPUBuffer> {
    return (await this.dispatchForward('sample', null, n, { seed, stream: STREAM.prior, counter: 0 })).output;
  }

  async decodeToBuffer(z: Float32Array): Promise<GPUBuffer> {
    return (await this.dispatchForward('decode', z, this.rowsOf(z, this.config.latent, 'decode'))).output;
  }

  async reconstructToBuffer(x: Float32Array): Promise<GPUBuffer> {
    return (await this.dispatchForward('reconstruct', x, this.rowsOf(x, this.config.inputDim, 'reconstruct'))).output;
  }

  private rowsOf(x: Float32Array, width: number, what: string): number {
    const rows = x.length / width;
    if (!Number.isInteger(rows) || rows < 1) throw new ConfigError(`${what}: expected rows of ${width} values, got ${x.length} values`);
    return rows;
  }

  /** mu and logvar of q(z|x) for each row of x ([rows, D] in [0,1]). */
  async encode(x: Float32Array): Promise<{ mu: Float32Array; logvar: Float32Array }> {
    const D = this.config.inputDim, Z = this.config.latent;
    const rows = this.rowsOf(x, D, 'encode');
    const mulv = await this.runForward('encode', x, rows, 2 * Z);
    const mu = new Float32Array(rows * Z), logvar = new Float32Array(rows * Z);
    for (let r = 0; r < rows; r++) {
      mu.set(mulv.subarray(r * 2 * Z, r * 2 * Z + Z), r * Z);
      logvar.set(mulv.subarray(r * 2 * Z + Z, (r + 1) * 2 * Z), r * Z);
    }
    return { mu, logvar };
  }

  /** Decoder mean for each row of z ([rows, Z]): pixel probabilities (Bernoulli) or means (Gaussian). */
  async decode(z: Float32Array): Promise<Float32Array> {
    const rows = this.rowsOf(z, this.config.latent, 'decode');
    return this.runForward('decode', z, rows, this.config.inputDim);
  }

  /** `n` new examples: z ~ N(0, I) drawn on the GPU from `seed`, decoded. */
  async sample(n: number, seed = this.training.seed): Promise<Float32Array> {
    if (!Number.isInteger(n) || n < 1) throw new ConfigError(`sample: n must be a positive integer, got ${n}`);
    return this.runForward('sample', null, n, this.config.inputDim, { seed, stream: STREAM.prior, counter: 0 });
  }

  /** Decoder mean at z = mu(x) for each row of x. */
  async reconstruct(x: Float32Array): Promise<Float32Array> {
    const rows = this.rowsOf(x, this.config.inputDim, 'reconstruct');
    return this.runForward('reconstruct', x, rows, this.config.inputDim);
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
    if (flat.length !== this.layout.totalFloats) throw new ConfigError(`expected ${this.layout.totalFloats} floats, got ${flat.length}`);
    writeData(this.device, this.buffers.params, 0, flat);
    const zeros = new Float32Array(this.buffers.moment1.size / 4);
    writeData(this.device, this.buffers.moment1, 0, zeros);
    writeData(this.device, this.buffers.moment2, 0, zeros);
    this.step = 0;
    this.losses.resetTo(0);
  }

  /** Frees every buffer this model created. A caller's device stays alive; ours is destroyed. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.device.removeEventListener('uncapturederror', this.onUncapturedError);
    this.losses.destroy();
    this.arena.destroyAll();
    this.plans.clear();
    if (this.acquired.owned) this.device.destroy();
  }

  /** Throws if the model was destroyed or WebGPU reported an error since the last call. */
  private assertAlive(): void {
    if (this.destroyed) throw new Error('this VAE was destroyed');
    if (this.gpuFailure) throw this.gpuFailure;
  }
}


