// The epochs of one `train` attempt (train-attempt.ts sets them up; train.ts restarts the run after a failure):
// each epoch's steps, with its progress bar, its --save-every checkpoints and the losses read back
// as they come (train-losses.ts); then its test evaluation, its line and its checkpoint, and the
// stop when skip-batch skipped most of it. A stop (Ctrl-C, SIGTERM, a hook) is answered at a step
// boundary, before the evaluation, or within a few batches of it: the steps taken are saved, and
// the run says how to go on.
import { BadStepError, BAD_NUMBERS_EXIT_CODE, skippedStop, tooManySkipped } from './bad-steps';
import type { VAE } from '../model/vae';
import type { BatchSource } from '../model/resident-data';
import type { VaeConfig } from '../model/config';
import { Philox } from '../rng';
import type { TrainingProgress } from '../training-state';
import type { StepPacer } from '../gpu/step-pacer';
import type { JsonLog } from './files';
import { natsText } from './figure-text';
import type { makeReporter } from './io';
import { progressBar, type Progress } from './progress';
import { resumeCommand, type RunPaths } from './run-dir';
import { stoppedExitCode, type RunStop } from './run-stop';
import type { RunCheckpoints } from './train-checkpoint';
import type { EpochLosses } from './train-losses';
import type { RunOptions } from './train-options';
import { epochSummary } from './train-report';

/** What the epochs of one attempt share: the model and its data, the run's counters, its files and its stop. */
export interface EpochRun {
  model: VAE;
  config: VaeConfig;
  run: RunOptions;
  trainData: BatchSource;
  testData: BatchSource;
  trainCount: number;
  stepsPerEpoch: number;
  progress: TrainingProgress;
  losses: EpochLosses;
  checkpoints: RunCheckpoints;
  pacer: StepPacer;
  log: JsonLog;
  report: ReturnType<typeof makeReporter>;
  stop: RunStop;
  outDir: string;
  paths: RunPaths;
  /** The epoch's progress bar, kept where the attempt stops it when a step throws (its redraw timer keeps the process alive). */
  held: { bar: Progress | null };
  /** Called after every step (TrainHooks.afterStep), with a function that stops the run as Ctrl-C does. */
  afterStep?: (step: number, stop: () => void) => void;
  /** The step after which the device is destroyed, to test the recovery (lossDeviceAtStep), or null. */
  loseDeviceAt: number | null;
  device: GPUDevice;
  /** The flags of a new run, for the command that starts it again at a lower rate; null for a resumed run. */
  again: string[] | null;
  /** The run's --autotune and --max-gpu-memory, repeated by the command that resumes it (resumeCommand). */
  machineFlags: string[];
}

/** Where an epoch began: its number, its start time, and the step and examples it resumed at. */
interface EpochStart {
  epoch: number;
  start: number;
  first: number;
  examplesBefore: number;
}

/** Trains the epochs left; returns the exit status to stop with, or undefined once the last one is done. */
export async function runEpochs(r: EpochRun): Promise<number | undefined> {
  const { progress, losses, run } = r;
  // Epoch e trains in the e-th order drawn from Philox(seed, 1): a resumed run draws those of the
  // epochs already done again, and discards them.
  const order = new Philox(run.seed, 1);
  for (let done = 1; done <= progress.epochsDone; done++) order.permutation(r.trainCount);
  for (let epoch = progress.epochsDone + 1; epoch <= run.epochs; epoch++) {
    const e: EpochStart = { epoch, start: performance.now(), first: progress.epochStep, examplesBefore: losses.examples };
    const stopped = (await runEpoch(r, e, order)) ?? (await finishEpoch(r, e));
    if (stopped !== undefined) return stopped;
  }
  return undefined;
}

/**
 * How often a short epoch reads its losses back for the progress bar, in steps (0: never beyond
 * the model's own reads every `lossEvery` steps). An epoch of fewer than 4 x lossEvery steps (a
 * small folder of pictures) would otherwise show no loss, or none until late, before its epoch
 * line; reading a quarter of the way through costs one wait for the GPU and changes no figure.
 */
export function barReadInterval(stepsPerEpoch: number, lossEvery: number): number {
  return stepsPerEpoch < 4 * lossEvery ? Math.max(1, Math.ceil(stepsPerEpoch / 4)) : 0;
}

/**
 * One epoch's steps, with the --save-every checkpoints; returns the exit status of a stop, or
 * undefined once every step is taken and its loss read back.
 */
async function runEpoch(r: EpochRun, e: EpochStart, order: Philox): Promise<number | undefined> {
  const { model, losses, stop, stepsPerEpoch, progress, run } = r;
  const { epoch, start, first } = e;
  const epochBase = (epoch - 1) * stepsPerEpoch;
  let shown = first;
  // A resumed epoch goes on counting from its checkpoint; a new one starts at 0.
  if (first === 0) losses.skipped = 0;
  r.trainData.setOrder(order.permutation(r.trainCount));
  const bar = r.held.bar = r.report.json ? null : progressBar(`epoch ${epoch}/${run.epochs} [{bar}] {value}/{total} steps | {rate} steps/s | loss {loss}`);
  bar?.start(stepsPerEpoch, first, { rate: '-', loss: '-' });
  const readEvery = bar ? barReadInterval(stepsPerEpoch, model.training.lossEvery) : 0;
  for (let i = first; i < stepsPerEpoch; i++) {
    if (stop.reason) return await interrupt(r, epoch);
    await model.trainStep({ data: r.trainData, index: i });
    await r.pacer.afterStep();
    losses.take(readEvery && (i + 1) % readEvery === 0 && i + 1 < stepsPerEpoch ? await model.readLosses() : model.losses.take());
    // Steps are submitted ahead of the GPU: the bar counts those done, and shows no loss before one is read.
    // Losses come back every few steps, so the rate is taken when they do.
    const done = losses.stepsDone - epochBase;
    if (done !== shown) {
      shown = done;
      bar?.update(done, { rate: done > first ? ((done - first) / ((performance.now() - start) / 1000)).toFixed(2) : '-', loss: losses.examples > 0 ? natsText(losses.mean) : '-' });
    }
    r.afterStep?.(model.step, () => r.stop.request());
    if (model.step === r.loseDeviceAt) r.device.destroy();
    // A step's awaits may all resolve at once (no GPU wait); one turn of the event loop lets a
    // pending Ctrl-C be seen at this step rather than at the next wait for the GPU.
    await new Promise((resolve) => setImmediate(resolve));
    if (run.saveEvery && model.step % run.saveEvery === 0 && i + 1 < stepsPerEpoch && !stop.reason) {
      losses.take(await model.readLosses());
      Object.assign(progress, { step: model.step, epochStep: i + 1, epochLossSum: losses.sum, epochExamples: losses.examples });
      await r.checkpoints.write();
    }
  }
  if (stop.reason) return await interrupt(r, epoch);
  losses.take(await model.readLosses());
  // A stop that came while the last steps drained is answered before the test evaluation.
  if (stop.reason) return await interrupt(r, epoch);
  return undefined;
}

/** Stops at a step boundary: reads the losses still on the GPU, saves, says how to go on. */
async function interrupt(r: EpochRun, epoch: number): Promise<number> {
  const { model, losses, progress, stepsPerEpoch, stop, paths, outDir } = r;
  r.held.bar?.stop();
  losses.take(await model.readLosses());
  Object.assign(progress, { step: model.step, epochStep: model.step - progress.epochsDone * stepsPerEpoch, epochLossSum: losses.sum, epochExamples: losses.examples });
  if (r.checkpoints.savedStep !== progress.step) await r.checkpoints.write();
  const why = stop.said;
  r.log.write({ event: 'interrupted', step: progress.step, epoch, reason: stop.reason });
  r.report.event({ event: 'interrupted', step: progress.step, epoch, epoch_step: progress.epochStep, files: { model: paths.model, state: paths.state }, resume: resumeCommand(outDir, r.machineFlags) });
  r.report.info(`${why}: saved step ${progress.step} (epoch ${epoch}, ${progress.epochStep}/${stepsPerEpoch} steps) to ${outDir}; continue with\n  ${resumeCommand(outDir, r.machineFlags)}`);
  return stoppedExitCode(stop.reason);
}

/**
 * The end of an epoch whose steps are all taken: the test evaluation, the epoch's line and its
 * checkpoint. Returns the exit status of a stop, or of an epoch that skip-batch skipped most of;
 * undefined to go on. Throws a BadStepError when the epoch's figures went bad.
 */
async function finishEpoch(r: EpochRun, e: EpochStart): Promise<number | undefined> {
  const { model, losses, stop, stepsPerEpoch, progress, run } = r;
  const { epoch, start, first } = e;
  r.held.bar?.stop();
  const trainSeconds = (performance.now() - start) / 1000;
  // A stop during the evaluation ends it within a few batches; the epoch's steps are saved, and
  // a resumed run evaluates the epoch before it goes on.
  const t = await model.elbo(r.testData, { seed: run.seed, signal: stop.stopSignal }).catch(async (err: unknown) => {
    if (stop.reason && stop.stopSignal.aborted && err === stop.stopSignal.reason) return null;
    throw err;
  });
  if (!t) return await interrupt(r, epoch);
  const seconds = (performance.now() - start) / 1000;
  const trainLoss = losses.mean;
  if (losses.examples === 0 || !Number.isFinite(trainLoss) || !Number.isFinite(t.loss)) throw badEpoch(r, epoch, trainLoss, t.loss);
  const line = {
    event: 'epoch', epoch, step: model.step, train_loss: trainLoss, test_loss: t.loss, test_kl: t.kl, test_rec: t.rec, seconds, samples_per_s: (losses.examples - e.examplesBefore) / trainSeconds,
    skipped_steps: losses.skipped, epoch_steps: stepsPerEpoch,
  };
  r.report.event(line);
  r.report.info(epochSummary(r.config, line, stepsPerEpoch - first, trainSeconds));
  losses.sum = 0;
  losses.examples = 0;
  Object.assign(progress, { step: model.step, epochsDone: epoch, epochStep: 0, epochLossSum: 0, epochExamples: 0 });
  // The log gets the epoch's line with its checkpoint, so an epoch that a resume runs again is logged once.
  await r.checkpoints.write([line]);
  // skip-batch passes isolated bad steps; an epoch that skipped most of its steps did not train.
  if (tooManySkipped(losses.skipped, stepsPerEpoch, epoch, run.epochs)) {
    const stopped = skippedStop({ skipped: losses.skipped, stepsPerEpoch, epoch, step: model.step, lr: run.lr, clipGrad: run.clipGrad, outDir: r.outDir, again: r.again });
    r.log.write(stopped.event);
    r.report.event(stopped.event);
    r.report.info(stopped.text);
    return BAD_NUMBERS_EXIT_CODE;
  }
  return undefined;
}

/**
 * An epoch with every step skipped, or a figure the steps' own checks did not see: handled as a
 * bad step (recovery.ts), so --on-nan decides what follows.
 */
function badEpoch(r: EpochRun, epoch: number, trainLoss: number, testLoss: number): BadStepError {
  const { model, losses } = r;
  const what = losses.examples === 0 ? `every step of epoch ${epoch} was bad and skipped` : `${Number.isFinite(trainLoss) ? 'test' : 'training'} loss of epoch ${epoch}: NaN or infinite`;
  // Skipped steps leave the parameters as they were: the bad run began at its first skip,
  // and a checkpoint written since holds the parameters that produced it. That holds whether or
  // not the epoch's earlier steps counted: a run of skips at its end is a run of bad steps.
  // Without skips the bad figure comes from the parameters after the last step's update, as a
  // step model.step + 1 would: its checkpoint holds them, the one before it does not.
  const since = losses.watch.badInARow > 0 ? losses.watch.badRunSince(model.step) : model.step + 1;
  const last = losses.examples === 0 ? losses.watch.lastBad : null;
  return new BadStepError(model.step, [what], last ? last.loss : Number.isFinite(trainLoss) ? testLoss : trainLoss, last ? last.gradNorm : NaN, since < model.step ? `every step since step ${since} was skipped, so the parameters are those that went bad there` : '', since);
}
