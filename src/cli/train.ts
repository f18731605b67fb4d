// `webgpu-vae train`: trains on any data set of src/data/sources.ts entirely on the GPU, reports
// per-epoch train/test -ELBO with its KL and reconstruction terms, and writes model.safetensors,
// samples.png (8x8 from the prior) and reconstructions.png (test images above their
// reconstructions) into the run directory. Its flags are read in train-options.ts and checked
// against the defaults or the resumed run in train-setup.ts; its data is loaded and checked in
// train-data.ts, its memory in train-memory.ts; what it reports and writes besides checkpoints is
// in train-report.ts; how a signal stops it in run-stop.ts. Its epoch's losses are counted in
// train-losses.ts and its checkpoints written by train-checkpoint.ts; what a bad step or a lost
// device leads to is decided in recovery.ts. This file keeps the step loop, when checkpoints are
// due, and the restart after a failure.
//
// Never losing work: the run folder also gets config.json (how the run was started) and
// metrics.jsonl (appended as training goes), and a checkpoint (model.safetensors plus
// training-state.safetensors, both replaced atomically) at the end of every epoch, every
// --save-every steps, and on Ctrl-C or SIGTERM, after which the process exits with 130.
// `--resume DIR` continues bit for bit: the parameters, Adam's moments and the step counter come
// back from the training state; the sampling noise, like the binarization and dequantization
// draws, is a function of seed and step; the data order of epoch e is the e-th permutation drawn
// from Philox(seed, 1), so the shuffles of the finished epochs are drawn again and discarded. With
// --lr it continues the same way at another learning rate.
import { existsSync, readFileSync } from 'node:fs';
import type { AcquiredDevice } from '../gpu/device';
import { BAD_NUMBERS_EXIT_CODE, BadStepError, skippedStop, tooManySkipped } from './bad-steps';
import { KeptCheckpoints, lossDeviceAtStep, recover, type Restart } from './recovery';
import { picturesCommands } from './recovery-advice';
import { VAE } from '../model/vae';
import { AUTOTUNE_MODES } from '../model/autotune';
import { fileAutotuneCache } from '../model/autotune-file-cache';
import { Philox } from '../rng';
import type { TrainingProgress } from '../training-state';
import { choiceFlag, intFlag, parseFlags, stringFlag, withoutFlags } from './args';
import type { ChunkWriter, JsonLog } from './files';
import { StepPacer } from '../gpu/step-pacer';
import { gentleWait } from '../gpu/gentle-wait';
import { memoryBudget, getDevice, makeReporter, type Print } from './io';
import { progressBar, type Progress } from './progress';
import { FLAGS, IWAE_ONE_SAMPLE_WARNING, type Flags } from './train-options';
import { resumeCommand, runPaths } from './run-dir';
import { RunStop, stoppedExitCode } from './run-stop';
import { lockRunDir } from './run-lock';
import { setUpRun } from './train-setup';
import { loadRunData } from './train-data';
import { checkFixedMemory, planAfterSteps } from './train-memory';
import { RunCheckpoints } from './train-checkpoint';
import { EpochLosses } from './train-losses';
import { coarseConvWarning, describeAutotune, describeBuiltModel, describeDrawnData, describeResume, describeStoredData, epochSummary, openRunLog, startEvent, writeFinalPictures } from './train-report';


/** Ways in for code that runs training in-process (embedding, tests). */
export interface TrainHooks {
  /** Train on this device instead of acquiring one; it is left alive when training ends. */
  device?: AcquiredDevice;
  /** Receives what would go to stdout and stderr. */
  print?: Print;
  /** Called after every step with the steps taken; `stop()` stops the run as Ctrl-C does. */
  afterStep?: (step: number, stop: () => void) => void;
  /** Writes checkpoint bytes into the open temporary file (to inject failures). */
  writeChunk?: ChunkWriter;
  /** Gives the fresh device a run retries on after losing its device (default: a new one, like the first). */
  newDevice?: () => Promise<AcquiredDevice>;
  /** Set on the run that continues after a lost device or a rollback (recovery.ts). */
  restart?: Restart;
}

const readIfThere = (path: string): Uint8Array | null => (existsSync(path) ? new Uint8Array(readFileSync(path)) : null);

export async function trainCommand(argv: string[], hooks: TrainHooks = {}): Promise<number> {
  const f = parseFlags('train', argv, FLAGS) as Flags;
  const report = makeReporter(!!f.json, hooks.print);
  const resumeDir = stringFlag('resume', f.resume);
  // Checked with the other flags, before the device: a bad value costs no start-up.
  const autotune = choiceFlag('autotune', f.autotune, 'off', AUTOTUNE_MODES);
  const maxGpuMiB = f['max-gpu-memory'] === undefined ? undefined : intFlag('max-gpu-memory', f['max-gpu-memory'], 0, 1);

  // Everything that can be refused is refused here, before the slow parts (device, data, compiling).
  const { config, run, outDir, resumed, lrWas, precisionWas, initialParams } = await setUpRun(f, resumeDir, !!hooks.restart);
  const paths = runPaths(outDir);
  // Before the device starts: a second process training into the same folder is refused at once.
  const unlock = lockRunDir(outDir);
  if (hooks.restart) {
    Object.assign(run, { retries: hooks.restart.retries, lr: hooks.restart.lr });
    // A rollback halves the rate; a decay's floor follows it down rather than sit above it.
    run.lrMin = Math.min(run.lrMin, run.lr);
  }

  const acquired: AcquiredDevice = hooks.device ? { ...hooks.device, owned: false } : await getDevice(report.status).catch((e: unknown) => {
    unlock();
    throw e;
  });
  let lost: GPUDeviceLostInfo | null = null;
  acquired.device.lost.then((info) => { lost = info; });
  /** The checkpoints this run wrote (or resumed from), for going back past a bad step. */
  const kept = hooks.restart?.kept ?? new KeptCheckpoints();
  if (resumed && !hooks.restart) kept.wrote({ step: resumed.progress.step, state: readIfThere(paths.state)!, model: readIfThere(paths.model) });
  const loseDeviceAt = hooks.restart ? null : lossDeviceAtStep();
  let vae: VAE | null = null;
  let log: JsonLog | null = null;
  /** The epoch's progress bar: stopped on every way out, or its redraw timer keeps the process alive. */
  let bar: Progress | null = null;
  const stop = new RunStop(outDir, () => (existsSync(paths.state) ? `${paths.model} and ${paths.state} hold the last checkpoint` : 'no checkpoint was written'), report.info);
  try {
    // The model's fixed memory against the budget before the data is read: a picture folder at a
    // large --image-size takes minutes to decode and leaves a large cache beside the pictures.
    const budget = memoryBudget(acquired.adapter, maxGpuMiB);
    if (budget !== undefined) checkFixedMemory(acquired.device, budget, config, run);
    const { train, test, drawn, channels: dataChannels, trainPrint, testFingerprint, batch, stepsPerEpoch } = await loadRunData(run, config, resumed, outDir, report);
    const t0 = performance.now();
    vae = await VAE.create(config, {
      autotune, autotuneCache: fileAutotuneCache(), signal: stop.stopSignal, precision: run.precision, memoryBudget: budget,
      device: { ...acquired, owned: false }, batch, optimizer: run.optimizer, lr: run.lr, seed: run.seed, clipGrad: run.clipGrad,
      lrDecay: run.lrDecay, lrMin: run.lrMin, lrDecaySteps: run.lrDecaySteps,
      ...(resumed ? { initialParams: resumed.params } : initialParams ? { initialParams } : {}),
    });
    if (stop.reason) {
      // Stopped while loading or compiling: nothing was trained, so nothing is written.
      report.info(`${stop.reason} received before the first step: stopped; nothing was written`);
      return stoppedExitCode(stop.reason);
    }
    if (resumed) await vae.restoreOptimizer({ m: resumed.m ?? undefined, v: resumed.v ?? undefined, step: resumed.progress.step, watch: resumed.progress.watch });
    const trainData = drawn ? vae.generateSprites(drawn, { colour: dataChannels === 3, name: train.name }) : vae.upload(train);
    const testData = vae.upload(test);
    if (budget !== undefined) await planAfterSteps(vae, maxGpuMiB !== undefined);
    for (const line of await describeBuiltModel(vae, run, (performance.now() - t0) / 1000, !!initialParams)) report.info(line);
    const coarse = resumed ? null : coarseConvWarning(vae.config, f.channels !== undefined);
    if (coarse) report.warn(coarse);
    if (!resumed && vae.config.objective === 'iwae' && vae.config.samples === 1) report.warn(IWAE_ONE_SAMPLE_WARNING);
    if (autotune !== 'off') report.info(`autotune ${autotune}: ${describeAutotune(vae.kernels)}`);

    // The run's record and log. A forced new run clears the old one only now that it is sure to start.
    const runRecord = { ...run, trainExamples: train.count, testExamples: test.count, trainData: trainPrint };
    const progress: TrainingProgress = resumed ? { ...resumed.progress } :
      { step: 0, epochsDone: 0, epochStep: 0, stepsPerEpoch, epochLossSum: 0, epochExamples: 0, seconds: 0 };
    log = openRunLog({ outDir, vae, runRecord, progress, resumed, lrWas, precisionWas, restart: hooks.restart ?? null, force: !!f.force, warn: report.warn });
    report.event(await startEvent(vae, run, autotune, outDir, { train, test, drawn: !!drawn }, resumed ? progress : null, !!initialParams));
    report.info(drawn ? describeDrawnData(run.dataset, train.count, config.inputDim) : describeStoredData(run.dataset, train.count, test.count, run.limit));
    if (resumed) for (const line of describeResume(outDir, progress, stepsPerEpoch, run, lrWas, precisionWas)) report.info(line);

    const model = vae, metrics = log;
    stop.phase = 'training';
    const losses = new EpochLosses(progress, run.onNan, model, stepsPerEpoch, metrics, report);
    const checkpoints = new RunCheckpoints({ model, record: runRecord, progress, losses, paths, dataset: run.dataset, seed: run.seed, testFingerprint, kept, log: metrics, writeChunk: hooks.writeChunk }, !!resumed);
    // Little work is left queued (a slow step, or about half a second of fast ones), so a stop is answered soon (step-pacer.ts).
    const pacer = new StepPacer(() => gentleWait(() => acquired.device.queue.onSubmittedWorkDone()));
    const requestStop = () => stop.request();

    const order = new Philox(run.seed, 1);
    for (let e = 1; e <= progress.epochsDone; e++) order.permutation(train.count);
    for (let epoch = progress.epochsDone + 1; epoch <= run.epochs; epoch++) {
      const start = performance.now();
      const first = progress.epochStep, examplesBefore = losses.examples;
      const epochBase = (epoch - 1) * stepsPerEpoch;
      let shown = first;
      // A resumed epoch goes on counting from its checkpoint; a new one starts at 0.
      if (first === 0) losses.skipped = 0;
      trainData.setOrder(order.permutation(train.count));
      bar = report.json ? null : progressBar(`epoch ${epoch}/${run.epochs} [{bar}] {value}/{total} steps | {rate} steps/s | loss {loss}`);
      bar?.start(stepsPerEpoch, first, { rate: '-', loss: '-' });
      /** Stops at a step boundary: reads the losses still on the GPU, saves, says how to go on. */
      const interrupt = async (): Promise<number> => {
        bar?.stop();
        losses.take(await model.readLosses());
        Object.assign(progress, { step: model.step, epochStep: model.step - progress.epochsDone * stepsPerEpoch, epochLossSum: losses.sum, epochExamples: losses.examples });
        if (checkpoints.savedStep !== progress.step) await checkpoints.write();
        const why = stop.said;
        metrics.write({ event: 'interrupted', step: progress.step, epoch, reason: stop.reason });
        report.event({ event: 'interrupted', step: progress.step, epoch, epoch_step: progress.epochStep, files: { model: paths.model, state: paths.state }, resume: resumeCommand(outDir) });
        report.info(`${why}: saved step ${progress.step} (epoch ${epoch}, ${progress.epochStep}/${stepsPerEpoch} steps) to ${outDir}; continue with\n  ${resumeCommand(outDir)}`);
        return stoppedExitCode(stop.reason);
      };
      for (let i = first; i < stepsPerEpoch; i++) {
        if (stop.reason) return await interrupt();
        await vae.trainStep({ data: trainData, index: i });
        await pacer.afterStep();
        losses.take(vae.losses.take());
        // Steps are submitted ahead of the GPU: the bar counts those done, and shows no loss before one is read.
        // Losses come back every few steps, so the rate is taken when they do.
        const done = losses.stepsDone - epochBase;
        if (done !== shown) {
          shown = done;
          bar?.update(done, { rate: done > first ? ((done - first) / ((performance.now() - start) / 1000)).toFixed(2) : '-', loss: losses.examples > 0 ? losses.mean.toFixed(2) : '-' });
        }
        hooks.afterStep?.(vae.step, requestStop);
        if (vae.step === loseDeviceAt) acquired.device.destroy();
        // A step's awaits may all resolve at once (no GPU wait); one turn of the event loop lets a
        // pending Ctrl-C be seen at this step rather than at the next wait for the GPU.
        await new Promise((r) => setImmediate(r));
        if (run.saveEvery && vae.step % run.saveEvery === 0 && i + 1 < stepsPerEpoch && !stop.reason) {
          losses.take(await vae.readLosses());
          Object.assign(progress, { step: vae.step, epochStep: i + 1, epochLossSum: losses.sum, epochExamples: losses.examples });
          await checkpoints.write();
        }
      }
      if (stop.reason) return await interrupt();
      losses.take(await vae.readLosses());
      // A stop that came while the last steps drained is answered before the test evaluation.
      if (stop.reason) return await interrupt();
      bar?.stop();
      const trainSeconds = (performance.now() - start) / 1000;
      // A stop during the evaluation ends it within a few batches; the epoch's steps are saved, and
      // a resumed run evaluates the epoch before it goes on.
      const t = await vae.elbo(testData, { seed: run.seed, signal: stop.stopSignal }).catch(async (e: unknown) => {
        if (stop.reason && stop.stopSignal.aborted && e === stop.stopSignal.reason) return null;
        throw e;
      });
      if (!t) return await interrupt();
      const seconds = (performance.now() - start) / 1000;
      const trainLoss = losses.mean;
      if (losses.examples === 0 || !Number.isFinite(trainLoss) || !Number.isFinite(t.loss)) {
        // Every step skipped, or a figure the steps' own checks did not see: handled as a bad step.
        const what = losses.examples === 0 ? `every step of epoch ${epoch} was bad and skipped` : `${Number.isFinite(trainLoss) ? 'test' : 'training'} loss of epoch ${epoch}: NaN or infinite`;
        // Skipped steps leave the parameters as they were: the bad run began at its first skip,
        // and a checkpoint written since holds the parameters that produced it.
        const since = losses.examples === 0 ? losses.watch.badRunSince(vae.step) : vae.step;
        const last = losses.examples === 0 ? losses.watch.lastBad : null;
        throw new BadStepError(vae.step, [what], last ? last.loss : Number.isFinite(trainLoss) ? t.loss : trainLoss, last ? last.gradNorm : NaN, since < vae.step ? `every step since step ${since} was skipped, so the parameters are those that went bad there` : '', since);
      }
      const line = {
        event: 'epoch', epoch, step: vae.step, train_loss: trainLoss, test_loss: t.loss, test_kl: t.kl, test_rec: t.rec, seconds, samples_per_s: (losses.examples - examplesBefore) / trainSeconds,
        skipped_steps: losses.skipped, epoch_steps: stepsPerEpoch,
      };
      report.event(line);
      report.info(epochSummary(config, line, stepsPerEpoch - first, trainSeconds));
      losses.sum = 0;
      losses.examples = 0;
      Object.assign(progress, { step: vae.step, epochsDone: epoch, epochStep: 0, epochLossSum: 0, epochExamples: 0 });
      // The log gets the epoch's line with its checkpoint, so an epoch that a resume runs again is logged once.
      await checkpoints.write([line]);
      // skip-batch passes isolated bad steps; an epoch that skipped most of its steps did not train.
      if (tooManySkipped(losses.skipped, stepsPerEpoch, epoch, run.epochs)) {
        const stopped = skippedStop({ skipped: losses.skipped, stepsPerEpoch, epoch, step: vae.step, lr: run.lr, outDir, again: resumed ? null : argv });
        log.write(stopped.event);
        report.event(stopped.event);
        report.info(stopped.text);
        return BAD_NUMBERS_EXIT_CODE;
      }
    }

    const files = { model: paths.model, samples: paths.samples, reconstructions: paths.reconstructions };
    stop.phase = 'drawing';
    // Large pictures take a while to draw; a stop then leaves the pictures to the reading commands.
    if (!await writeFinalPictures(vae, test, files, run.seed, () => stop.reason !== null)) {
      const draw = picturesCommands(paths);
      log.write({ event: 'interrupted', step: vae.step, reason: stop.reason, pictures: 'skipped' });
      report.event({ event: 'interrupted', step: vae.step, files: { model: paths.model, state: paths.state }, pictures: 'skipped' });
      report.info(`${stop.said}: training was done and saved to ${outDir}; the end-of-run pictures were not all drawn. To draw them:\n  ${draw.sample}\n  ${draw.reconstruct}`);
      return stoppedExitCode(stop.reason);
    }
    log.write({ event: 'done', step: vae.step, seconds: progress.seconds });
    report.event({ event: 'done', files, state: paths.state, steps: vae.step, seconds: (performance.now() - t0) / 1000 });
    report.info(`wrote ${files.model}, ${files.samples}, ${files.reconstructions}`);
    return 0;
  } catch (e) {
    bar?.stop();
    // Bad numbers or a lost device: say so, and go on from the last checkpoint when asked to.
    const next = await recover(e, {
      onNan: run.onNan, lr: run.lr, retries: run.retries, outDir, kept, resumed: !!resumed, lostInfo: () => lost, restart: hooks.restart, argv,
      // A failure found while answering a stop ends the run as the stop asked; it is not retried.
      stopped: stop.reason ? { said: stop.said } : null,
      info: report.info, event: (obj) => { report.event(obj); log?.write(obj); },
    });
    if (typeof next === 'number') return next;
    log?.close();
    log = null;
    vae?.destroy();
    vae = null;
    const device = next.freshDevice ? await (hooks.newDevice ?? (() => getDevice(report.status)))() : acquired;
    // From the checkpoint as a resumed run does; or from the start, over whatever the failed attempt left.
    // The run's record keeps its model, data, schedule and precision; the flags about this machine
    // (the autotuner, a memory cap) are not in it, so they are passed on.
    const machineFlags = (['autotune', 'max-gpu-memory'] as const).flatMap((k) => (f[k] === undefined ? [] : [`--${k}`, String(f[k])]));
    const args = next.fromCheckpoint ? ['--resume', outDir, '--epochs', String(run.epochs), ...machineFlags, ...(f.json ? ['--json'] : [])] : [...withoutFlags(argv, ['out', 'force']), '--out', outDir, '--force'];
    try {
      return await trainCommand(args, { ...hooks, device, restart: next.restart });
    } finally {
      if (next.freshDevice && !hooks.newDevice) device.device.destroy();
    }
  } finally {
    stop.release();
    unlock();
    log?.close();
    vae?.destroy();
    if (!hooks.device) {
      acquired.device.destroy();
    }
  }
}
