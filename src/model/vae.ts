// The model API: a VAE whose every tensor operation runs in WGSL on a GPUDevice (the caller's or
// one we create). Training steps are one command encoder and one submit each; losses come back
// through the LossRing; pipelines and bind groups are built once per graph and cached. What the
// model holds (buffers, plans, parameters and optimizer state) is VaeBase's (vae-base.ts).
import { ourLabel } from '../gpu/labels';
import { describeAdapter, isDeviceGoneAfterSettling } from '../gpu/device';
import { formatBytes, readFloats, writeData } from '../gpu/buffers';
import { lendBuffer } from '../gpu/handed-out';
import { ConfigError, DeviceLimitError, GpuError, kindOfValue } from '../errors';
import { STREAM, type StepParams } from '../step-params';
import { DEFAULT_CONFIG, resolveConfig, type VaeConfig } from './config';
import { evalSamples, widestTensorBytes, type GraphKind, type Plan } from './graphs';
import type { StepLoss } from './loss-ring';
import { checkLogLikelihoodOptions, estimateLogLikelihood, type LogLikelihoodOptions, type LogLikelihoodResult } from './iwae-eval';
import { checkLabelList, oneHot } from './labels';
import { ResidentData, type BatchSource, type PixelData } from './resident-data';
import { GeneratedSprites } from './generated-data';
import { autotuneMatmuls, matmulProducts } from './autotune';
import { autotuneConvs } from './autotune-conv';
import { convOpsOf } from './layers/conv-ops';
import { defaultAutotuneCache } from './autotune-cache';
import { checkPrecision } from './precision';
import { checkKnownKeys } from '../edit-distance';
import { checkCreationOptions, checkElboOptions, checkSeed, checkTcBatch, DEFAULT_TRAINING, lrAt, restateRefusal, type ElboResult, type VaeOptions } from './vae-options';
import { checkNoLabels, checkPlanRows, checkRowCount, checkRowsTakeNoise, checkRowValues, checkSource, resultArray, rowsOf, rowsTypeError, type RowValues } from './vae-inputs';
import { OutOfMemoryScopes } from './creation-scopes';
import { VaeState } from './vae-state';
import { gentleWait } from '../gpu/gentle-wait';

/** Evaluation batches queued at a time when an evaluation can be stopped (`elbo`'s signal). */
const ELBO_BATCHES_QUEUED = 4;

export { DEFAULT_TRAINING, LR_DECAYS, lrAt, type ElboResult, type GraphCompileProgress, type LrDecay, type TrainingOptions, type VaeOptions } from './vae-options';

export class VAE extends VaeState {
  private constructor(config: VaeConfig, opts: VaeOptions, outOfMemory: OutOfMemoryScopes) {
    super(config, opts, outOfMemory);
  }

  static async create(config: Partial<VaeConfig>, opts: VaeOptions): Promise<VAE> {
    checkCreationOptions(opts);
    if (config === null || typeof config !== 'object') throw new ConfigError(`VAE.create's first argument is the model's configuration, an object (e.g. { latent: 20 }), got ${String(config)}`);
    checkKnownKeys('config field', Object.keys(config), Object.keys(DEFAULT_CONFIG));
    const resolved = resolveConfig(config);
    if (opts.prepareTraining !== false) checkTcBatch(resolved.objective, opts.batch ?? DEFAULT_TRAINING.batch);
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
      if (opts.prepareTraining !== false) await vae.plan('train', vae.training.batch); // plan and compile the step up front
    } catch (e) {
      vae.discard();
      throw e;
    }
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
    checkNoLabels(this.config, labels, 'trainStep');
    if (batch instanceof Float32Array) {
      checkRowValues(batch, this.config.inputDim, 'trainStep', this.pixelValues);
      checkRowsTakeNoise(this.config);
    } else {
      if (ArrayBuffer.isView(batch) || Array.isArray(batch)) throw rowsTypeError('trainStep', batch);
      if (!batch || typeof batch !== 'object' || !Number.isInteger(batch.index) || batch.index < 0) {
        throw new ConfigError('trainStep takes a Float32Array of rows, or { data, index } with data from vae.upload() or vae.generateSprites() and a batch index >= 0');
      }
      checkSource(batch.data, this.config, this.device, 'trainStep');
      // Resident data brings its own labels; a second set beside it would be ignored.
      if (labels !== undefined) {
        throw new ConfigError('trainStep: a batch of resident data { data, index } takes its labels from that data (given to vae.upload()); leave the labels argument out');
      }
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
    // Again after the awaits: the data may have been destroyed since the call.
    if (!(batch instanceof Float32Array)) checkSource(batch.data, this.config, this.device, 'trainStep');
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

  /** Waits for all submitted steps and returns every loss read since the last call (none that onLosses took). */
  async readLosses(): Promise<StepLoss[]> {
    return this.exclusive(async () => {
      this.assertAlive();
      if (this.step > 0) await this.losses.flush(this.step - 1);
      // The losses stay for the next call when onLosses's exception is thrown instead.
      this.losses.throwCallbackError();
      return this.losses.take();
    });
  }

  /** What this model's input rows hold: a Bernoulli model's pixels are probabilities, checked to lie in [0, 1]. */
  private get pixelValues(): RowValues {
    return this.config.likelihood === 'bernoulli' ? 'probabilities' : 'pixels';
  }

  /** -ELBO, reconstruction and KL per example over a resident dataset, in batches of the training size. */
  /**
   * The ELBO over a data set. With `signal`, the evaluation stops between batches once it is
   * aborted (rejecting with its reason), so a long evaluation does not hold up a stop.
   */
  async elbo(data: BatchSource, opts: { seed?: number; signal?: AbortSignal } = {}): Promise<ElboResult> {
    checkSource(data, this.config, this.device, 'elbo');
    checkElboOptions(opts);
    // Noise rows are numbered over the whole data set, sample by sample, in a u32 (shaders/reparam.ts).
    const samples = evalSamples(this.parts);
    if (samples * data.count > 2 ** 32) {
      throw new ConfigError(`elbo: ${samples} samples of ${data.count} examples are more noise rows than the GPU numbers (2^32); evaluate the data in parts of at most ${Math.floor(2 ** 32 / samples)} examples`);
    }
    return this.exclusive(() => this.elboNow(data, opts ?? {}));
  }

  private async elboNow(data: BatchSource, opts: { seed?: number; signal?: AbortSignal }): Promise<ElboResult> {
    this.assertAlive();
    const B = this.training.batch;
    const plan = await this.plan('eval', B);
    const gather = await data.gatherFor(plan, this.buffers, this.cache);
    checkSource(data, this.config, this.device, 'elbo'); // destroyed since the call?
    writeData(this.device, this.buffers.accum, 0, new Float32Array(4));
    for (let i = 0; i * B < data.count; i++) {
      // epoch 0 keys the test pictures' binarization or dequantization noise, whatever epoch
      // training is in, so an evaluation is the same during training and in `eval`.
      this.writeStep({
        epoch: 0, seed: opts.seed ?? this.training.seed, stream: STREAM.eval, batchStart: i * B, validRows: Math.min(B, data.count - i * B), datasetCount: data.count,
        noiseRows: data.count, noiseRow0: i * B,
      });
      const enc = this.device.createCommandEncoder({ label: ourLabel('eval') });
      gather.encode(enc);
      plan.graph.encode(enc);
      this.device.queue.submit([enc.finish()]);
      // With a signal, little is queued at a time: an abort is answered within a few batches.
      if (opts.signal && i % ELBO_BATCHES_QUEUED === ELBO_BATCHES_QUEUED - 1) {
        await gentleWait(() => this.device.queue.onSubmittedWorkDone());
        opts.signal.throwIfAborted();
      }
    }
    opts.signal?.throwIfAborted();
    return plan.objective!.summarize(await readFloats(this.device, this.buffers.accum, 0, 4));
  }

  /** Importance-weighted estimate of -log p(x) over a resident dataset (Burda et al. 2015); see iwae-eval.ts. */
  async logLikelihood(data: BatchSource, opts: LogLikelihoodOptions): Promise<LogLikelihoodResult> {
    checkSource(data, this.config, this.device, 'logLikelihood');
    checkLogLikelihoodOptions(opts);
    return this.exclusive(async () => {
      this.assertAlive();
      checkSource(data, this.config, this.device, 'logLikelihood');
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
    const width = kind === 'decode' || kind === 'decode-output' ? this.config.latent : this.config.inputDim;
    const valid = input ? this.writeRows(plan, input, labels, kind, width) : (step.validRows ?? rows);
    if (!input && plan.condition) writeData(this.device, plan.condition.buffer, 0, oneHot(labels, valid, rows, this.config.classes, kind));
    this.writeStep({ validRows: valid, ...step });
    const enc = this.device.createCommandEncoder({ label: ourLabel(kind) });
    plan.graph.encode(enc);
    this.device.queue.submit([enc.finish()]);
    return plan;
  }

  /** A forward graph over any number of rows, in chunks of the training batch (so no new pipelines). */
  private async runForward(kind: GraphKind, input: Float32Array | null, rows: number, labels: ArrayLike<number> | undefined, step: Partial<StepParams> = {}): Promise<Float32Array<ArrayBuffer>> {
    checkNoLabels(this.config, labels, kind);
    checkLabelList(labels, rows, kind);
    if (this.config.classes > 0 && labels && labels.length !== rows) throw new ConfigError(`${kind}: got ${labels.length} labels for ${rows} rows; give one class per row`);
    const outWidth = kind === 'encode' ? this.parts.sampler.posteriorWidth : kind === 'decode-output' ? this.parts.likelihood.outputWidth : this.config.inputDim;
    // Made at the call, so that a result too large to hold is refused before any GPU work.
    const result = resultArray(kind, rows, outWidth);
    return this.exclusive(() => this.runForwardNow(kind, input, rows, labels, step, result, outWidth));
  }

  private async runForwardNow(kind: GraphKind, input: Float32Array | null, rows: number, labels: ArrayLike<number> | undefined, step: Partial<StepParams>, result: Float32Array<ArrayBuffer>, outWidth: number): Promise<Float32Array<ArrayBuffer>> {
    const B = this.training.batch;
    const inWidth = kind === 'decode' || kind === 'decode-output' ? this.config.latent : this.config.inputDim;
    // Copied once: copying the whole array for each chunk made 100,000 rows take seconds.
    const allLabels = labels ? Array.from(labels) : undefined;
    for (let r0 = 0; r0 < rows; r0 += B) {
      const n = Math.min(B, rows - r0);
      const chunk = input ? input.subarray(r0 * inWidth, (r0 + n) * inWidth) : null;
      const chunkLabels = allLabels?.slice(r0, r0 + n);
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
    checkPlanRows('sampleToBuffer', n, this.bytesPerRow('sample'), this.device);
    checkSeed(seed, 'sampleToBuffer: seed');
    checkNoLabels(this.config, labels, 'sampleToBuffer');
    return this.exclusive(async () => lendBuffer((await this.dispatchForward('sample', n, null, labels, { seed, stream: STREAM.prior, counter: 0 }, true)).output.buffer, 'sampleToBuffer'));
  }

  async decodeToBuffer(z: Float32Array, labels?: ArrayLike<number>): Promise<GPUBuffer> {
    const rows = rowsOf(z, this.config.latent, 'decodeToBuffer', 'codes');
    checkPlanRows('decodeToBuffer', rows, this.bytesPerRow('decode'), this.device);
    checkNoLabels(this.config, labels, 'decodeToBuffer');
    return this.exclusive(async () => lendBuffer((await this.dispatchForward('decode', rows, z, labels, {}, true)).output.buffer, 'decodeToBuffer'));
  }

  async reconstructToBuffer(x: Float32Array, labels?: ArrayLike<number>): Promise<GPUBuffer> {
    const rows = rowsOf(x, this.config.inputDim, 'reconstructToBuffer', this.pixelValues);
    checkPlanRows('reconstructToBuffer', rows, this.bytesPerRow('reconstruct'), this.device);
    checkNoLabels(this.config, labels, 'reconstructToBuffer');
    return this.exclusive(async () => lendBuffer((await this.dispatchForward('reconstruct', rows, x, labels, {}, true)).output.buffer, 'reconstructToBuffer'));
  }

  private readonly rowBytes = new Map<GraphKind, number>();

  /** Bytes a row of the widest tensor of graph `kind` takes (recorded once per kind; nothing is allocated). */
  private bytesPerRow(kind: GraphKind): number {
    let bytes = this.rowBytes.get(kind);
    if (bytes === undefined) this.rowBytes.set(kind, (bytes = widestTensorBytes(this.record(kind, 1))));
    return bytes;
  }

  /** mu and logvar of q(z|x) for each row of x ([rows, D] in [0,1]). */
  async encode(x: Float32Array, labels?: ArrayLike<number>): Promise<{ mu: Float32Array<ArrayBuffer>; logvar: Float32Array<ArrayBuffer> }> {
    const rows = rowsOf(x, this.config.inputDim, 'encode', this.pixelValues);
    const q = await this.runForward('encode', x, rows, labels);
    return this.parts.sampler.split(q, rows);
  }

  /** Decoder mean for each row of z ([rows, Z]): pixel probabilities (Bernoulli) or means (Gaussian). */
  async decode(z: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array<ArrayBuffer>> {
    return this.runForward('decode', z, rowsOf(z, this.config.latent, 'decode', 'codes'), labels);
  }

  /**
   * The decoder's raw output for each row of z, what the likelihood reads: Bernoulli logits
   * [rows, D]; Gaussian means [rows, D], or with sigma 'predicted' [rows, 2D], each row's D means
   * then its D log-scales as the network gives them (the likelihood clamps them to [-7, 2]).
   */
  async decodeOutput(z: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array<ArrayBuffer>> {
    return this.runForward('decode-output', z, rowsOf(z, this.config.latent, 'decodeOutput', 'codes'), labels);
  }

  /**
   * `n` examples from the prior: z ~ N(0, I) drawn on the GPU from `seed`, decoded (of class
   * `labels[i]` when conditional). The same seed draws the same z, so by default (the model's
   * training seed) every call gives the same pictures; pass another seed for other draws.
   */
  async sample(n: number, seed = this.training.seed, labels?: ArrayLike<number>): Promise<Float32Array<ArrayBuffer>> {
    checkRowCount(n, 'sample');
    // The labels given second, the seed left out: say where they go.
    if (typeof seed === 'object' && seed !== null) throw new ConfigError(`sample: seed must be a non-negative integer, got ${kindOfValue(seed)}; labels come third: sample(n, seed, labels), e.g. sample(${n}, 0, labels)`);
    checkSeed(seed, 'sample: seed');
    return this.runForward('sample', null, n, labels, { seed, stream: STREAM.prior });
  }

  /** Decoder mean at z = mu(x) for each row of x. */
  async reconstruct(x: Float32Array, labels?: ArrayLike<number>): Promise<Float32Array<ArrayBuffer>> {
    return this.runForward('reconstruct', x, rowsOf(x, this.config.inputDim, 'reconstruct', this.pixelValues), labels);
  }
}
