// The model API: a VAE whose every tensor operation runs in WGSL on a GPUDevice (the caller's or
// one we create). Training steps are one command encoder and one submit each; losses come back
// through the LossRing; pipelines and bind groups are built once per graph and cached. What the
// model holds (buffers, plans) is VaeBase's (vae-base.ts), the reads and writes of its parameters
// and optimizer state VaeState's (vae-state.ts), its forward passes VaeForward's (vae-forward.ts).
import { ourLabel } from '../gpu/labels';
import { isDeviceGoneAfterSettling } from '../gpu/device';
import { formatBytes, readFloats } from '../gpu/buffers';
import { ConfigError, DeviceLimitError, GpuError } from '../errors';
import { STREAM } from '../step-params';
import { resolveConfig, type VaeConfig } from './config';
import type { StepLoss } from './loss-ring';
import { checkLogLikelihoodOptions, estimateLogLikelihood, type LogLikelihoodOptions, type LogLikelihoodResult } from './iwae-eval';
import { ResidentData, type BatchSource, type PixelData } from './resident-data';
import { ResidentRows, type RowData } from './resident-rows';
import { GeneratedSprites } from './generated-data';
import { autotuneAdapterKey, autotuneMatmuls, matmulProducts } from './autotune';
import { autotuneConvs } from './autotune-conv';
import { convOpsOf } from './layers/conv-ops';
import { defaultAutotuneCache } from './autotune-cache';
import { checkPrecision } from './precision';
import { checkCreationOptions, checkElboOptions, checkTcBatch, DEFAULT_TRAINING, lrAt, restateRefusal, type ElboResult, type VaeOptions } from './vae-options';
import { checkNoLabels, checkRowsTakeNoise, checkRowValues, checkSource, copyLabels, rowsTypeError } from './vae-inputs';
import { OutOfMemoryScopes } from './creation-scopes';
import { VaeForward } from './vae-forward';
import { gentleWait } from '../gpu/gentle-wait';

/** Evaluation batches queued at a time when an evaluation can be stopped (`elbo`'s signal). */
const ELBO_BATCHES_QUEUED = 4;

/** Bytes of each example's figures an evaluation writes: its (rec, kl) as two f32. */
const ELBO_BYTES_PER_EXAMPLE = 8;
export { DEFAULT_TRAINING, LR_DECAYS, lrAt, type ElboResult, type GraphCompileProgress, type LrDecay, type TrainingOptions, type VaeOptions } from './vae-options';

export class VAE extends VaeForward {
  private constructor(config: VaeConfig, opts: VaeOptions, outOfMemory: OutOfMemoryScopes) {
    super(config, opts, outOfMemory);
  }

  static async create(config: Partial<VaeConfig>, opts: VaeOptions): Promise<VAE> {
    checkCreationOptions(opts);
    if (config === null || typeof config !== 'object') throw new ConfigError(`VAE.create's first argument is the model's configuration, an object (e.g. { latent: 20 }), got ${String(config)}`);
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
    // A device destroyed or lost while the kernels compiled: refused now, not at the first call.
    if (vae.failures.failure || (await isDeviceGoneAfterSettling(device))) {
      const lost = vae.failures.failure ?? new GpuError('VAE.create: the GPU device was lost while the model was being built; create the model on a new device (acquireNodeDevice(), acquireBrowserDevice() or your own)', 'VAE.create', 'device-lost');
      vae.discard();
      throw lost;
    }
    return vae;
  }

  /** Autotunes when asked, then plans and compiles the training step; frees everything on failure. */
  private async prepare(opts: VaeOptions): Promise<void> {
    const vae = this;
    try {
      checkPrecision(opts.precision, vae.device, vae.adapter, vae.config.activation);
      if (opts.autotune && opts.autotune !== 'off') {
        const { graph } = vae.record('train', vae.training.batch);
        const t0 = performance.now();
        const tune = { mode: opts.autotune, adapterKey: autotuneAdapterKey(vae.acquired), isSoftware: vae.adapter.isSoftware, cache: opts.autotuneCache ?? defaultAutotuneCache(), signal: opts.signal };
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

  /** Uploads a dataset to the GPU for trainStep, elbo and logLikelihood. Free it with `.destroy()` when done. */
  upload(data: PixelData): ResidentData {
    this.assertAlive();
    return new ResidentData(this.arena, data, this.config, data.name ?? 'data');
  }

  /**
   * Uploads rows of f32 values kept as they are (real-valued data for a Gaussian model; values in
   * [0, 1] for a Bernoulli one) for trainStep, elbo and logLikelihood, as `upload` does 8-bit
   * pictures. Free it with `.destroy()` when done.
   */
  uploadRows(data: RowData): ResidentRows {
    this.assertAlive();
    return new ResidentRows(this.arena, data, this.config, data?.name ?? 'rows', this.pixelValues);
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
        throw new ConfigError('trainStep takes a Float32Array of rows, or { data, index } with data from vae.upload(), vae.uploadRows() or vae.generateSprites() and a batch index >= 0');
      }
      checkSource(batch.data, this.config, this.device, 'trainStep');
      // Resident data brings its own labels; a second set beside it would be ignored.
      if (labels !== undefined) {
        throw new ConfigError('trainStep: a batch of resident data { data, index } takes its labels from that data (given to vae.upload()); leave the labels argument out');
      }
    }
    // What was checked is what runs: rows and labels copied now, as the caller may change them
    // before a queued step reads them.
    const rows = batch instanceof Float32Array ? batch.slice() : batch, ownLabels = copyLabels(labels);
    return this.exclusive(() => this.trainStepNow(rows, ownLabels));
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
      gather = await batch.data.gatherFor(plan, this.buffers, this.cache, 'trainStep');
    }
    await this.losses.ready();
    // Again after the awaits: the model or the data may have been destroyed since the call.
    this.assertAlive();
    if (!(batch instanceof Float32Array)) checkSource(batch.data, this.config, this.device, 'trainStep');
    const step = this.step;
    // `step` is Adam's t had every step before been applied: its bias corrections are used while
    // the GPU's count of applied steps (the step watch) agrees, and the GPU's own after a refusal.
    // Written before the count moves: a value the uniform refuses leaves the model's step as it was.
    this.writeStep({
      counter: step, batchStart: start, validRows: rows, historySlot: this.losses.slotOf(step), step: step + 1, klWeight: this.klWeightAt(step + 1), klCapacity: this.klCapacityAt(step + 1), lr: lrAt(this.training, step + 1),
      datasetCount: batch instanceof Float32Array ? 0 : batch.data.count,
    });
    this.step++;
    const enc = this.device.createCommandEncoder({ label: ourLabel('train-step') });
    gather?.encode(enc);
    plan.graph.encode(enc);
    const afterSubmit = this.losses.record(enc, step);
    this.device.queue.submit([enc.finish()]);
    afterSubmit?.();
    this.hot.afterStep(this.step, plan.graph, this.cache, this.hotStillWanted);
  }

  /**
   * Swaps the training step's larger-block matmul kernels in now, instead of after its first
   * HOT_AFTER_STEPS steps (src/model/hot-kernels.ts): they compile in the background while calls go
   * on, and give the same results. Resolves with the names of the kernels swapped in: none where
   * the adapter's kernels have no larger form (GPUs, devices without `subgroups`), with
   * `kernels: { hotMatmuls: false }`, or for products too small for larger blocks; a product the
   * autotuner measured keeps its kernel.
   */
  async upgradeKernels(): Promise<string[]> {
    this.assertAlive();
    const plan = await this.plan('train', this.training.batch);
    this.assertAlive(); // destroyed meanwhile: nothing may compile for it
    return this.hot.upgrade(plan.graph, this.cache, this.hotStillWanted);
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


  /**
   * -ELBO, reconstruction and KL per example over a data set, in batches of the training size.
   * With `signal`, the evaluation stops between batches once it is aborted (rejecting with its
   * reason), so a long evaluation does not hold up a stop.
   */
  async elbo(data: BatchSource, opts: { seed?: number; signal?: AbortSignal } = {}): Promise<ElboResult> {
    this.assertAlive(); // before the data: a destroyed model's data sets are destroyed with it
    checkSource(data, this.config, this.device, 'elbo');
    checkElboOptions(opts);
    // Each example's (rec, kl) is copied into one buffer read back at the end (elboNow): it must fit one buffer.
    const maxExamples = Math.floor(this.device.limits.maxBufferSize / ELBO_BYTES_PER_EXAMPLE);
    if (data.count > maxExamples) {
      throw new ConfigError(`elbo: ${data.count} examples need ${data.count * ELBO_BYTES_PER_EXAMPLE} bytes of per-example figures, past the device's largest buffer (${this.device.limits.maxBufferSize} bytes); evaluate the data in parts of at most ${maxExamples} examples`);
    }
    const checked = { ...opts }; // as checked: a later change of the caller's object does not reach the queued run
    return this.exclusive(() => this.elboNow(data, checked));
  }

  private async elboNow(data: BatchSource, opts: { seed?: number; signal?: AbortSignal }): Promise<ElboResult> {
    this.assertAlive();
    const B = this.training.batch;
    // Each example's (rec, kl), summed below in example order: the figure is the same whatever the
    // batch (a training run's epoch line and a later eval at another batch agree to the last bit).
    const examples = this.scratchBuffer('eval.examples', data.count * ELBO_BYTES_PER_EXAMPLE);
    const plan = await this.plan('eval', B);
    const figures = plan.tensors.example_figures.resolve();
    const gather = await data.gatherFor(plan, this.buffers, this.cache, 'elbo');
    this.assertAlive(); // the model or the data destroyed since the call?
    checkSource(data, this.config, this.device, 'elbo');
    for (let i = 0; i * B < data.count; i++) {
      // The eval stream keys the pictures' binarization or dequantization noise apart from every
      // training step's, the same at every step, so an evaluation is the same during training and in `eval`.
      this.writeStep({
        seed: opts.seed ?? this.training.seed, stream: STREAM.eval, batchStart: i * B, validRows: Math.min(B, data.count - i * B), datasetCount: data.count,
        noiseRows: data.count, noiseRow0: i * B,
      });
      const enc = this.device.createCommandEncoder({ label: ourLabel('eval') });
      gather.encode(enc);
      plan.graph.encode(enc);
      const rows = Math.min(B, data.count - i * B);
      enc.copyBufferToBuffer(figures.buffer, figures.offset ?? 0, examples, i * B * ELBO_BYTES_PER_EXAMPLE, rows * ELBO_BYTES_PER_EXAMPLE);
      this.device.queue.submit([enc.finish()]);
      // With a signal, little is queued at a time: an abort is answered within a few batches.
      if (opts.signal && i % ELBO_BATCHES_QUEUED === ELBO_BATCHES_QUEUED - 1) {
        await gentleWait(() => this.device.queue.onSubmittedWorkDone());
        opts.signal.throwIfAborted();
        this.assertAlive();
      }
    }
    opts.signal?.throwIfAborted();
    const rows = await readFloats(this.device, examples, 0, 2 * data.count);
    let rec = 0, kl = 0;
    for (let b = 0; b < data.count; b++) { rec += rows[2 * b]; kl += rows[2 * b + 1]; }
    return { loss: (rec + kl) / data.count, rec: rec / data.count, kl: kl / data.count, examples: data.count };
  }

  /** Importance-weighted estimate of -log p(x) over a resident dataset (Burda et al. 2015); see iwae-eval.ts. */
  async logLikelihood(data: BatchSource, opts: LogLikelihoodOptions): Promise<LogLikelihoodResult> {
    this.assertAlive(); // before the data: a destroyed model's data sets are destroyed with it
    checkSource(data, this.config, this.device, 'logLikelihood');
    checkLogLikelihoodOptions(opts);
    const checked = { ...opts }; // as checked: a later change of the caller's object does not reach the queued run
    return this.exclusive(async () => {
      this.assertAlive();
      checkSource(data, this.config, this.device, 'logLikelihood');
      return estimateLogLikelihood(this, data, checked);
    });
  }
}
