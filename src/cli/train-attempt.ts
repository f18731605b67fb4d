// One attempt at a `train` run, once train.ts has read its flags and taken its folder's lock, its
// device and its signals: the data loaded, the model built and restored, the run's log opened and
// the start reported, the epochs trained (train-epoch.ts), and the end-of-run pictures drawn. What
// it makes (the model, the log, the progress bar) goes into the attempt's `held`, where train.ts
// finds it to give back or to replace when the attempt ends, however it ends.
import { join } from 'node:path';
import type { Dataset } from '../data/mnist';
import { formatPictureList, PICTURE_LIST_FILE } from '../data/picture-list';
import type { AcquiredDevice } from '../gpu/device';
import { gentleWait } from '../gpu/gentle-wait';
import { StepPacer } from '../gpu/step-pacer';
import type { AutotuneMode } from '../model/autotune';
import { fileAutotuneCache } from '../model/autotune-file-cache';
import type { BatchSource } from '../model/resident-data';
import { VAE } from '../model/vae';
import type { TrainingProgress } from '../training-state';
import { writeFileAtomic, type JsonLog } from './files';
import { memoryBudget, type makeReporter } from './io';
import { aboveBar, progressBar, type Progress } from './progress';
import type { KeptCheckpoints } from './recovery';
import { picturesCommands } from './recovery-advice';
import { machineFlagsOf, type RunPaths } from './run-dir';
import { stoppedExitCode, type RunStop } from './run-stop';
import type { TrainHooks } from './train';
import { RunCheckpoints } from './train-checkpoint';
import { loadRunData, type RunData } from './train-data';
import { runEpochs } from './train-epoch';
import { EpochLosses } from './train-losses';
import { checkFixedMemory, planAfterSteps } from './train-memory';
import { IWAE_ONE_SAMPLE_WARNING, tcvaeBetaWarning, type Flags } from './train-options';
import { coarseConvWarning, describeAutotune, describeBuiltModel, describeDrawnData, describeResume, describeStoredData, openRunLog, startEvent, writeFinalPictures } from './train-report';
import type { RunSetup } from './train-setup';

/** What an attempt holds once made, for its way out to stop, close and destroy. */
export interface AttemptHeld {
  vae: VAE | null;
  log: JsonLog | null;
  /** The epoch's progress bar: stopped on every way out, or its redraw timer keeps the process alive. */
  bar: Progress | null;
}

/** One attempt at the run, set up up to its first slow step (the data, the model). */
export interface Attempt {
  argv: string[];
  hooks: TrainHooks;
  f: Flags;
  report: ReturnType<typeof makeReporter>;
  autotune: AutotuneMode;
  maxGpuMiB: number | undefined;
  setup: RunSetup;
  paths: RunPaths;
  acquired: AcquiredDevice;
  /** What the device's lost promise said, once it has settled. */
  lostInfo: () => GPUDeviceLostInfo | null;
  /** The checkpoints this run wrote (or resumed from), for going back past a bad step. */
  kept: KeptCheckpoints;
  loseDeviceAt: number | null;
  stop: RunStop;
  held: AttemptHeld;
  /** Gives back what the attempt holds: its stop handler, its lock, its log, its model and its own device. */
  release: () => void;
}

/**
 * One attempt at the run: trains it to its end, or to a stop, and returns the exit status; throws
 * on a lost device or bad numbers, which train.ts answers (recover) and may retry.
 */
export async function trainToEnd(a: Attempt): Promise<number> {
  const { report, stop, held, paths } = a;
  const { config, run, outDir, resumed } = a.setup;
  // The model's fixed memory against the budget before the data is read: a picture folder at a
  // large --image-size takes minutes to decode and leaves a large cache beside the pictures.
  const budget = memoryBudget(a.acquired.adapter, a.maxGpuMiB);
  if (budget !== undefined) checkFixedMemory(a.acquired.device, budget, config, run);
  const data = await loadWatchedData(a);
  if (!data) {
    report.info(`${stop.said} while the pictures were decoded: stopped before the first step; nothing was trained or written (the pictures decoded so far are not cached)`);
    return stoppedExitCode(stop.reason);
  }
  const t0 = performance.now();
  const vae = held.vae = await createModel(a, data.batch, budget);
  if (stop.reason) {
    // Stopped while compiling: nothing was trained, so the run wrote nothing; a folder's cache, written once its pictures were decoded, stays.
    const cache = data.pictureCache ? ` (the decoded pictures stay cached in ${data.pictureCache} for the next run)` : '';
    report.info(`${stop.said} before the first step: stopped; nothing was trained, and the run wrote no files${cache}`);
    return stoppedExitCode(stop.reason);
  }
  const { trainData, testData } = await prepareModel(a, vae, data, budget, t0);
  const { progress, runRecord, log } = await startLog(a, vae, data);

  stop.phase = 'training';
  const losses = new EpochLosses(progress, run.onNan, vae, data.stepsPerEpoch, log, report);
  const checkpoints = new RunCheckpoints({
    model: vae, record: runRecord, progress, losses, paths, dataset: run.dataset, seed: run.seed, testFingerprint: data.testFingerprint, kept: a.kept, log, writeChunk: a.hooks.writeChunk,
  }, !!resumed);
  // Little work is left queued (a slow step, or about half a second of fast ones), so a stop is answered soon (step-pacer.ts).
  const pacer = new StepPacer(() => gentleWait(() => a.acquired.device.queue.onSubmittedWorkDone()));
  const stopped = await runEpochs({
    model: vae, config, run, trainData, testData, trainCount: data.train.count, stepsPerEpoch: data.stepsPerEpoch, progress, losses, checkpoints, pacer,
    log, report, stop, outDir, paths, held, afterStep: a.hooks.afterStep, loseDeviceAt: a.loseDeviceAt, device: a.acquired.device, again: resumed ? null : a.argv,
    machineFlags: machineFlagsOf(a.f),
  });
  if (stopped !== undefined) return stopped;
  if (a.setup.modelBehind) {
    // Nothing was left to train: the state's parameters are the model's, written again.
    await checkpoints.write();
    report.info(`${a.setup.modelBehind}, behind ${paths.state} (step ${progress.step}): its last write was cut off; rewrote it from the training state`);
  }
  return finishRun(a, vae, log, data.test, progress, t0);
}

/**
 * The run's data; while a folder's pictures are decoded (minutes for a large folder), a progress
 * display, and a stop ends the decoding before the next picture. null when a stop did.
 */
async function loadWatchedData(a: Attempt): Promise<RunData | null> {
  const { report, stop, held } = a;
  const { config, run, outDir, resumed } = a.setup;
  const onDecodeProgress = (done: number, total: number) => {
    if (done === 0) {
      report.info(`decoding the ${total} picture${total === 1 ? '' : 's'} in ${run.dataDir}`);
      if (!report.json) held.bar = progressBar('decoding [{bar}] {value}/{total} pictures | {eta_formatted} left');
      held.bar?.start(total, 0);
    } else {
      held.bar?.update(done);
    }
  };
  // Warnings (a file skipped) come while the bar is drawn: each clears the bar's line first.
  const say = { info: (line: string) => aboveBar(held.bar, () => report.info(line)), warn: (line: string) => aboveBar(held.bar, () => report.warn(line)) };
  try {
    return await loadRunData(run, config, resumed, outDir, say, { signal: stop.stopSignal, onDecodeProgress });
  } catch (e) {
    if (stop.stopSignal.aborted && e === stop.stopSignal.reason) return null;
    throw e;
  } finally {
    held.bar?.stop();
    held.bar = null;
  }
}

/** Builds the model on the attempt's device (compiling, and autotuning when asked; a stop cuts the tuning short). */
async function createModel(a: Attempt, batch: number, budget: number | undefined): Promise<VAE> {
  const { config, run, resumed, initialParams } = a.setup;
  return VAE.create(config, {
    autotune: a.autotune, autotuneCache: fileAutotuneCache(), signal: a.stop.stopSignal, precision: run.precision, memoryBudget: budget,
    device: { ...a.acquired, owned: false }, batch, optimizer: run.optimizer, lr: run.lr, seed: run.seed, clipGrad: run.clipGrad,
    lrDecay: run.lrDecay, lrMin: run.lrMin, lrDecaySteps: run.lrDecaySteps,
    ...(resumed ? { initialParams: resumed.params } : initialParams ? { initialParams } : {}),
  });
}

/** Restores a resumed run's optimizer, puts the data on the GPU, and says what was built. */
async function prepareModel(a: Attempt, vae: VAE, data: RunData, budget: number | undefined, t0: number): Promise<{ trainData: BatchSource; testData: BatchSource }> {
  const { report, autotune } = a;
  const { run, resumed, initialParams } = a.setup;
  if (resumed) await vae.restoreOptimizer({ m: resumed.m ?? undefined, v: resumed.v ?? undefined, step: resumed.progress.step, watch: resumed.progress.watch });
  const trainData = data.drawn ? vae.generateSprites(data.drawn, { colour: data.channels === 3, name: data.train.name }) : vae.upload(data.train);
  const testData = vae.upload(data.test);
  if (budget !== undefined) await planAfterSteps(vae, a.maxGpuMiB !== undefined);
  for (const line of await describeBuiltModel(vae, run, (performance.now() - t0) / 1000, !!initialParams)) report.info(line);
  if (a.setup.initNote) report.warn(a.setup.initNote);
  const coarse = resumed ? null : coarseConvWarning(vae.config, a.f.channels !== undefined);
  if (coarse) report.warn(coarse);
  if (!resumed && vae.config.objective === 'iwae' && vae.config.samples === 1) report.warn(IWAE_ONE_SAMPLE_WARNING);
  if (!resumed && vae.config.objective === 'tcvae' && vae.config.beta <= 1) report.warn(tcvaeBetaWarning(vae.config.beta));
  if (autotune !== 'off') report.info(`autotune ${autotune}: ${describeAutotune(vae.kernels)}`);
  return { trainData, testData };
}

/** Opens the run's record and log, and says that the run starts (or where it resumes). */
async function startLog(a: Attempt, vae: VAE, data: RunData): Promise<{ progress: TrainingProgress; runRecord: Record<string, unknown>; log: JsonLog }> {
  const { report } = a;
  const { config, run, outDir, resumed, lrWas, precisionWas, initialParams } = a.setup;
  const { train, test, drawn, stepsPerEpoch } = data;
  // A forced new run clears the old one only now that it is sure to start.
  const runRecord = { ...run, trainExamples: train.count, testExamples: test.count, trainData: data.trainPrint };
  const progress: TrainingProgress = resumed ? { ...resumed.progress } :
    { step: 0, epochsDone: 0, epochStep: 0, stepsPerEpoch, epochLossSum: 0, epochExamples: 0, seconds: 0 };
  const log = a.held.log = openRunLog({ outDir, vae, runRecord, progress, resumed, lrWas, precisionWas, restart: a.hooks.restart ?? null, force: !!a.f.force, warn: report.warn });
  // A folder's pictures by name and digest, so that a resume refused for a changed folder names them.
  if (!resumed && data.pictureDigests) writeFileAtomic(join(outDir, PICTURE_LIST_FILE), new TextEncoder().encode(formatPictureList(data.pictureDigests())));
  report.event(await startEvent(vae, run, a.autotune, outDir, { train, test, drawn: !!drawn }, resumed ? progress : null, !!initialParams));
  report.info(drawn ? describeDrawnData(run.dataset, train.count, config.inputDim, test.count, run.limit, run.testLimit) : describeStoredData(run.dataset, train.count, test.count, run.limit, run.testLimit));
  if (resumed) for (const line of describeResume(outDir, progress, stepsPerEpoch, run, lrWas, precisionWas)) report.info(line);
  return { progress, runRecord, log };
}

/** Draws the end-of-run pictures and says the run is done; a stop leaves the pictures to the reading commands. */
async function finishRun(a: Attempt, vae: VAE, log: JsonLog, test: Dataset, progress: TrainingProgress, t0: number): Promise<number> {
  const { paths, stop, report } = a;
  const files = { model: paths.model, samples: paths.samples, reconstructions: paths.reconstructions };
  stop.phase = 'drawing';
  // Large pictures take a while to draw.
  if (!await writeFinalPictures(vae, test, files, a.setup.run.seed, () => stop.reason !== null)) {
    const draw = picturesCommands(paths);
    log.write({ event: 'interrupted', step: vae.step, reason: stop.reason, pictures: 'skipped' });
    report.event({ event: 'interrupted', step: vae.step, files: { model: paths.model, state: paths.state }, pictures: 'skipped' });
    report.info(`${stop.said}: training was done and saved to ${a.setup.outDir}; the end-of-run pictures were not all drawn. To draw them:\n  ${draw.sample}\n  ${draw.reconstruct}`);
    return stoppedExitCode(stop.reason);
  }
  log.write({ event: 'done', step: vae.step, seconds: progress.seconds });
  report.event({ event: 'done', files, state: paths.state, steps: vae.step, seconds: (performance.now() - t0) / 1000 });
  report.info(`wrote ${files.model}, ${files.samples}, ${files.reconstructions}`);
  return 0;
}

