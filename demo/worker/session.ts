// One model being trained: the VAE, its data resident on the GPU, and the training loop. The loop
// follows the CLI's (src/cli/train-epoch.ts): per-epoch shuffles from Philox(seed, 1), one submit per
// step, losses read back through the model's loss ring without waiting for the GPU. Between
// steps it lets the views refresh and yields to the worker's event loop so pause/save messages
// are handled promptly. The model it trains is configured and created in session-model.ts; the
// chart points and the rate it reports are worked out in progress-report.ts.
import { Philox, saveCheckpoint, saveTrainingState, type AcquiredDevice, type BatchSource, type ResidentData, type StepLoss, type TrainingState, type VAE, type VaeConfig } from '../../src/index';
import { SAVE_EVERY_SECONDS, SAVE_EVERY_STEPS } from '../shared/saved-run';
import { dataSourceNamed } from '../../src/data/sources';
import type { EpochReport, FromWorker, Settings } from '../shared/protocol';
import type { LoadedData } from './data';
import { StepPacer } from '../../src/gpu/step-pacer';
import { lossChunk, Throughput } from './progress-report';
import { createModel } from './session-model';
import type { Views } from './views';

/** Yields to the event loop (a macrotask), unlike `await` on a settled promise. */
const channel = new MessageChannel();
const waiting: (() => void)[] = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldTask = () => new Promise<void>((resolve) => {
  waiting.push(resolve);
  channel.port2.postMessage(null);
});

/**
 * Longest time the page waits for news of completed steps. Losses come back through the loss
 * ring every lossEvery (16) steps, which on a slow model (over a second a step) left the status
 * at step 0 for a minute: once this much time has passed since the last report, the loop reads
 * the losses of the steps done so far. When steps are slow the pacer has already waited for the
 * GPU, so the read costs one small copy; when they are fast it costs one drain a second.
 */
export const PROGRESS_MS = 1000;

/** The training loss stopped being a number: the weights are no longer numbers either, so the run cannot go on. */
export class DivergedError extends Error {
  override name = 'DivergedError';
}

const DIVERGED_ADVICE = 'Start again with a smaller Learning rate (e.g. 0.001).';

/**
 * The epoch (from 1) that step `steps` fell in, given the counters after it: once an epoch ends
 * they point at the next one, 0 steps in, which has no step of its own yet.
 */
export function epochOfLastStep(epoch: number, stepInEpoch: number, steps: number): number {
  return stepInEpoch === 0 && steps > 0 ? epoch - 1 : epoch;
}

export class Session {
  private readonly order: Philox;
  private readonly stepsPerEpoch: number;
  private epoch = 1;
  private stepInEpoch = 0;
  /** Training time of the epoch in progress (steps only, so a pause or a reload adds nothing). */
  private epochMs = 0;
  private acc = { loss: 0, rec: 0, kl: 0, n: 0 };
  /** The loop and then its onStopped callback; null when neither runs. */
  private running: Promise<void> | null = null;
  /** Whether the loop itself runs: false from its end, while onStopped still runs. */
  private looping = false;
  private readonly pacer: StepPacer;
  private stopRequested = false;
  private readonly rate = new Throughput();
  /** When the last progress report was posted (performance.now()). */
  private lastReport = 0;
  private lastSavedStep = 0;
  /** When the last state was taken (performance.now()). */
  private lastSavedAt = performance.now();
  private trainedMs = 0;
  /** The last training loss reported to the page (NaN before the first). */
  lastLoss = NaN;
  /** Runs after each epoch's report (the worker snapshots the weights there). */
  onEpochEnd?: () => Promise<void>;
  /** Runs every SAVE_EVERY_STEPS steps or SAVE_EVERY_SECONDS while training (the worker keeps the run in browser storage). */
  onSaveDue?: () => Promise<void>;

  private constructor(
    readonly vae: VAE,
    readonly data: LoadedData,
    private readonly trainData: BatchSource,
    private readonly testData: ResidentData,
    private readonly views: Views,
    private readonly post: (m: FromWorker) => void,
  ) {
    this.order = new Philox(vae.training.seed, 1);
    this.pacer = new StepPacer(() => vae.device.queue.onSubmittedWorkDone());
    this.stepsPerEpoch = Math.ceil(data.train.count / vae.training.batch);
  }

  /** A new model from `settings`, or from a checkpoint's config and weights (`loaded`) when given. */
  static async create(device: AcquiredDevice, settings: Settings, data: LoadedData, views: Views, post: (m: FromWorker) => void,
    loaded?: { config: VaeConfig; flat: Float32Array }): Promise<Session> {
    const vae = await createModel(device, settings, data, post, loaded);
    try {
      // Compile the test evaluation now, so the first epoch's end does not stall on it.
      await vae.plan('eval', vae.training.batch);
      const train = data.drawn ? vae.generateSprites(data.drawn.indices, { colour: data.drawn.colour, name: `${data.name}-train` }) : vae.upload(data.train);
      return new Session(vae, data, train, vae.upload(data.test), views, post);
    } catch (e) {
      vae.destroy(); // no Session owns the model yet, so nothing else would free its buffers
      throw e;
    }
  }

  /**
   * The run saved by `state()`, continued exactly: weights, Adam's moments, the step (which fixes
   * the noise and the data order) and the epoch's counters. `settings` are the ones it was trained with.
   */
  static async restore(device: AcquiredDevice, settings: Settings, data: LoadedData, views: Views, post: (m: FromWorker) => void, saved: TrainingState): Promise<Session> {
    const s = await Session.create(device, { ...settings, batch: saved.training.batch, lr: saved.training.lr, seed: saved.training.seed }, data, views, post, { config: saved.config, flat: saved.params });
    try {
      if (s.stepsPerEpoch !== saved.progress.stepsPerEpoch) {
        throw new Error(`the saved run has ${saved.progress.stepsPerEpoch} steps per epoch but its settings now give ${s.stepsPerEpoch}; start a new run`);
      }
      await s.vae.restoreOptimizer({ m: saved.m ?? undefined, v: saved.v ?? undefined, step: saved.progress.step, watch: saved.progress.watch });
    } catch (e) {
      s.destroy();
      throw e;
    }
    const p = saved.progress, acc = (saved.run.acc ?? {}) as { rec?: number; kl?: number };
    s.epoch = p.epochsDone + 1;
    s.stepInEpoch = p.epochStep;
    // The data order: the shuffles of the epochs done are drawn again from the seed, and one
    // stopped mid-epoch goes on with its own shuffle (the loop draws one only at an epoch's start).
    for (let e = 0; e < p.epochsDone; e++) s.order.permutation(data.train.count);
    if (p.epochStep > 0) s.trainData.setOrder(s.order.permutation(data.train.count));
    s.acc = { loss: p.epochLossSum, rec: acc.rec ?? 0, kl: acc.kl ?? 0, n: p.epochExamples };
    s.trainedMs = p.seconds * 1000;
    s.epochMs = p.epochStep > 0 && typeof saved.run.epochMs === 'number' ? saved.run.epochMs : 0;
    s.lastSavedStep = p.step;
    s.lastLoss = typeof saved.run.lastLoss === 'number' ? saved.run.lastLoss : NaN;
    return s;
  }

  /**
   * Everything needed to continue this run, as training-state bytes (read back from the GPU).
   * Call it between steps: from onSaveDue or onEpochEnd, or while stopped.
   */
  async state(settings: Settings): Promise<Uint8Array> {
    this.collect(await this.vae.readLosses()); // the epoch's sums must include every step taken
    this.lastSavedStep = this.vae.step;
    this.lastSavedAt = performance.now();
    const run = { settings, acc: { rec: this.acc.rec, kl: this.acc.kl }, lastLoss: Number.isFinite(this.lastLoss) ? this.lastLoss : null, epochMs: this.epochMs };
    return saveTrainingState(this.vae, run, {
      step: this.vae.step, epochsDone: this.epoch - 1, epochStep: this.stepInEpoch, stepsPerEpoch: this.stepsPerEpoch,
      epochLossSum: this.acc.loss, epochExamples: this.acc.n, seconds: this.trainedMs / 1000,
    });
  }

  get training(): boolean {
    return this.looping;
  }

  get steps(): number {
    return this.vae.step;
  }

  start(onStopped: (error?: unknown) => void): void {
    if (this.running) return;
    this.stopRequested = false;
    const now = performance.now();
    this.rate.restart(now);
    this.lastReport = now;
    this.looping = true;
    // Not training from the loop's end on, so that onStopped (the worker reports a failure there)
    // sees a stopped run.
    this.running = this.loop().finally(() => (this.looping = false)).then(() => onStopped(), onStopped).finally(() => (this.running = null));
  }

  /** Stops after the current step and waits until every submitted step's loss is reported. */
  async stop(): Promise<void> {
    this.stopRequested = true;
    await this.running;
  }

  private async loop(): Promise<void> {
    const vae = this.vae, n = this.data.train.count;
    let lastYield = performance.now();
    while (!this.stopRequested) {
      if (this.stepInEpoch === 0) {
        this.trainData.setOrder(this.order.permutation(n));
        this.epochMs = 0;
      }
      const t0 = performance.now();
      await vae.trainStep({ data: this.trainData, index: this.stepInEpoch });
      await this.pacer.afterStep(); // little queued (step-pacer.ts), so Pause is answered within a step or half a second
      const stepMs = performance.now() - t0;
      this.trainedMs += stepMs;
      this.epochMs += stepMs;
      this.collect(vae.losses.take());
      if (performance.now() - this.lastReport >= PROGRESS_MS) this.collect(await vae.readLosses());
      const epochEnded = ++this.stepInEpoch === this.stepsPerEpoch;
      if (epochEnded) {
        this.say('evaluating the test set');
        await this.endEpoch();
      }
      const unsaved = vae.step - this.lastSavedStep;
      if (this.onSaveDue && (unsaved >= SAVE_EVERY_STEPS || (unsaved > 0 && performance.now() - this.lastSavedAt >= SAVE_EVERY_SECONDS * 1000))) await this.onSaveDue();
      await this.views.maybeRefresh(vae, { step: vae.step, trainedMs: this.trainedMs, epochEnded }, () => this.say('drawing the views'));
      this.say('');
      if (performance.now() - lastYield > 20) {
        await yieldTask();
        lastYield = performance.now();
      }
    }
    this.collect(await vae.readLosses());
  }

  private saying = '';

  /**
   * What training is doing between steps, for the status line (an epoch's test evaluation, a
   * redraw of every view: seconds on a software GPU, when no step runs); '' when back to steps.
   */
  private say(detail: string): void {
    // Once a pause or stop is asked for, the worker says that, and training says nothing over it.
    if (detail === this.saying || this.stopRequested) return;
    this.saying = detail;
    this.post({ type: 'state', state: 'training', detail: detail ? `${detail}…` : undefined });
  }

  /** Folds newly read losses into the epoch's sums and reports them as one chart point. */
  private collect(losses: StepLoss[]): void {
    if (!losses.length) return;
    const chunk = lossChunk(losses);
    let examples = 0;
    for (const l of losses) {
      examples += l.examples;
      this.acc.loss += l.loss * l.examples;
      this.acc.rec += l.rec * l.examples;
      this.acc.kl += l.kl * l.examples;
      this.acc.n += l.examples;
    }
    // Stop at the first loss that is not a number: training on would only hide it until the
    // epoch's end, and the weights it came from cannot be resumed or saved.
    if (!Number.isFinite(chunk.loss)) {
      throw new DivergedError(`training diverged by step ${chunk.step + 1} (loss ${chunk.loss}), and the weights with it, so the run is dropped. ${DIVERGED_ADVICE}`);
    }
    this.lastLoss = chunk.loss;
    this.lastReport = performance.now();
    this.post({ type: 'progress', chunks: [chunk], epoch: this.epoch, examplesPerSecond: this.rate.add(examples) });
  }

  private async endEpoch(): Promise<void> {
    this.collect(await this.vae.readLosses()); // every loss of this epoch, so the mean is exact
    const evalStart = performance.now();
    const t = await this.vae.elbo(this.testData, { seed: this.vae.training.seed });
    const a = this.acc;
    const report: EpochReport = {
      epoch: this.epoch, step: this.vae.step - 1,
      train: { loss: a.loss / a.n, rec: a.rec / a.n, kl: a.kl / a.n },
      test: { loss: t.loss, rec: t.rec, kl: t.kl, examples: t.examples },
      seconds: (this.epochMs + performance.now() - evalStart) / 1000,
    };
    if (!Number.isFinite(report.train.loss)) throw new DivergedError(`training diverged in epoch ${this.epoch} (loss ${report.train.loss}), so the run is dropped. ${DIVERGED_ADVICE}`);
    this.post({ type: 'epoch', report });
    this.epoch++;
    this.stepInEpoch = 0;
    this.acc = { loss: 0, rec: 0, kl: 0, n: 0 };
    // After the counters move on: a state saved here starts the next epoch when restored.
    await this.onEpochEnd?.();
  }

  /** The epoch the last step was taken in, as the status line counts it: at an epoch's end, that epoch. */
  get currentEpoch(): number {
    return epochOfLastStep(this.epoch, this.stepInEpoch, this.vae.step);
  }

  /**
   * The model as checkpoint bytes, in the CLI's format (same metadata keys where they apply), and
   * the step its weights are of (a step in flight when Save was pressed included).
   */
  async checkpoint(): Promise<{ bytes: Uint8Array; step: number }> {
    let at = this.vae.step;
    // 'step' as the CLI writes it; 'steps' as this page wrote it before. The data set by the
    // command line's name, so that its eval and reconstruct read the same one.
    const bytes = await saveCheckpoint(this.vae, (step) => {
      at = step;
      return { dataset: dataSourceNamed(this.data.name) ?? this.data.name, step: String(step), steps: String(step), source: 'webgpu-vae demo' };
    });
    return { bytes, step: at };
  }

  destroy(): void {
    this.vae.destroy(); // frees the resident data too: it lives in the model's buffer arena
  }
}
