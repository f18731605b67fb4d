// `webgpu-vae train`: trains on any data set of src/data/sources.ts entirely on the GPU, reports
// per-epoch train/test -ELBO with its KL and reconstruction terms, and writes model.safetensors,
// samples.png (8x8 from the prior; 16 or 8 for pictures over 128 or 512 pixels a side, a row per
// class for a conditional model) and reconstructions.png (test images above their
// reconstructions) into the run directory. Its flags are read in train-options.ts and checked
// against the defaults or the resumed run in train-setup.ts; its data is loaded and checked in
// train-data.ts, its memory in train-memory.ts; what it reports and writes besides checkpoints is
// in train-report.ts; how a signal stops it in run-stop.ts. Its epoch's losses are counted in
// train-losses.ts and its checkpoints written by train-checkpoint.ts; what a bad step or a lost
// device leads to is decided in recovery.ts. An attempt at the run (its data, model, log and
// end-of-run pictures) is trained by train-attempt.ts, its epochs (their steps, when checkpoints
// are due, the test evaluation) by train-epoch.ts. This file reads each attempt's flags, takes its
// folder's lock, its device and its signals and gives them back, and starts the next attempt
// after a lost device or a rollback.
//
// Never losing work: the run folder also gets config.json (how the run was started) and
// metrics.jsonl (appended as training goes), and a checkpoint (model.safetensors plus
// training-state.safetensors, both replaced atomically) at the end of every epoch, every
// --save-every steps, and on Ctrl-C, SIGTERM or SIGHUP, after which the process exits with 128 + the
// signal's number (130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP; 130 for a stop a hook asks for).
// `--resume DIR` continues bit for bit: the parameters, Adam's moments and the step counter come
// back from the training state; the sampling noise, like the binarization and dequantization
// draws, is a function of seed and step; the data order of epoch e is the e-th permutation drawn
// from Philox(seed, 1), so the shuffles of the finished epochs are drawn again and discarded. With
// --lr it continues the same way at another learning rate.
import { existsSync, readFileSync } from 'node:fs';
import type { AcquiredDevice } from '../gpu/device';
import { AUTOTUNE_MODES } from '../model/autotune';
import { choiceFlag, intFlag, parseFlags, stringFlag, withoutFlags } from './args';
import type { ChunkWriter } from './files';
import { getDevice, makeReporter, type Print } from './io';
import { KeptCheckpoints, lossDeviceAtStep, recover, type Restart } from './recovery';
import { machineFlagsOf, runPaths } from './run-dir';
import { lockRunDir } from './run-lock';
import { RunStop } from './run-stop';
import { trainToEnd, type Attempt, type AttemptHeld } from './train-attempt';
import { FLAGS, type Flags } from './train-options';
import { setUpRun } from './train-setup';

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

/** The run going on after a failed attempt: the next attempt's flags and hooks. */
interface Retry {
  argv: string[];
  hooks: TrainHooks;
  /** The failed attempt's stop, which listens for signals until the next attempt's takes over. */
  stop: RunStop;
  /** Gives back what the failed attempt still holds once the run ends (see trainCommand). */
  release: () => void;
}

const readIfThere = (path: string): Uint8Array | null => (existsSync(path) ? new Uint8Array(readFileSync(path)) : null);

export async function trainCommand(argv: string[], hooks: TrainHooks = {}): Promise<number> {
  // A failed attempt's lock on the folder and device stay held while the attempts after it run,
  // and are given back after theirs when the run ends: the folder is never let go between
  // attempts (the next one takes the lock again, which this process holds once per taker,
  // run-lock.ts), and the device may be the one the next attempt trains on. Its signal handler
  // listens until the next attempt's takes over (RunStop.takeOver); releasing it again at the
  // end does nothing.
  const releases: (() => void)[] = [];
  try {
    for (let next: { argv: string[]; hooks: TrainHooks; stop?: RunStop } = { argv, hooks }; ;) {
      const outcome = await trainAttempt(next.argv, next.hooks, next.stop);
      if (typeof outcome === 'number') return outcome;
      releases.push(outcome.release);
      next = outcome;
    }
  } finally {
    releaseNewestFirst(releases);
  }
}

/** Calls the releases, the newest first; one that throws keeps none of the older ones from running. */
function releaseNewestFirst(releases: (() => void)[]): void {
  const newest = releases.pop();
  if (!newest) return;
  try {
    newest();
  } finally {
    releaseNewestFirst(releases);
  }
}

/** One attempt: trains, and says how the run ends or, after a lost device or a bad step, goes on. */
async function trainAttempt(argv: string[], hooks: TrainHooks, previousStop?: RunStop): Promise<number | Retry> {
  const a = await openAttempt(argv, hooks, previousStop);
  /** Set once the next attempt is to run: what this one holds is then given back when the run ends. */
  let handedOn = false;
  try {
    return await trainToEnd(a);
  } catch (e) {
    a.held.bar?.stop();
    const next = await retryAfter(e, a);
    handedOn = typeof next !== 'number';
    return next;
  } finally {
    if (!handedOn) a.release();
  }
}

/** Reads the flags and takes the run folder's lock, the device and the signals, in this order. */
async function openAttempt(argv: string[], hooks: TrainHooks, previousStop?: RunStop): Promise<Attempt> {
  const f = parseFlags('train', argv, FLAGS) as Flags;
  const report = makeReporter(!!f.json, hooks.print);
  const resumeDir = stringFlag('resume', f.resume);
  // Checked with the other flags, before the device: a bad value costs no start-up.
  const autotune = choiceFlag('autotune', f.autotune, 'off', AUTOTUNE_MODES);
  const maxGpuMiB = f['max-gpu-memory'] === undefined ? undefined : intFlag('max-gpu-memory', f['max-gpu-memory'], 0, 1);

  // Everything that can be refused is refused here, before the slow parts (device, data, compiling).
  const setup = await setUpRun(f, resumeDir, !!hooks.restart);
  const { run, outDir, resumed } = setup;
  const paths = runPaths(outDir);
  // Read before the lock and the device are taken (as setUpRun read the state), so that a bad
  // value or a run file that cannot be read leaves nothing held.
  const loseDeviceAt = hooks.restart ? null : lossDeviceAtStep();
  const kept = hooks.restart?.kept ?? new KeptCheckpoints();
  if (resumed && !hooks.restart) kept.wrote({ step: resumed.progress.step, state: readIfThere(paths.state)!, model: readIfThere(paths.model) });
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
  const held: AttemptHeld = { vae: null, log: null, bar: null };
  const stop = new RunStop(outDir, () => (existsSync(paths.state) ? `${paths.model} and ${paths.state} hold the last checkpoint` : 'no checkpoint was written'), report.info);
  // The failed attempt's stop listened until now: a stop it heard is this one's.
  if (previousStop) stop.takeOver(previousStop);
  const release = () => {
    stop.release();
    unlock();
    held.log?.close();
    held.vae?.destroy();
    // A device lent by the caller (or by the attempt before) is left alive.
    if (!hooks.device) acquired.device.destroy();
  };
  return { argv, hooks, f, report, autotune, maxGpuMiB, setup, paths, acquired, lostInfo: () => lost, kept, loseDeviceAt, stop, held, release };
}

/**
 * After `e` ended an attempt: bad numbers or a lost device are reported, and the run goes on from
 * the last checkpoint when asked to (recover). Returns the exit status, or the next attempt.
 */
async function retryAfter(e: unknown, a: Attempt): Promise<number | Retry> {
  const { report, held, hooks, argv, f } = a;
  const { run, outDir, resumed } = a.setup;
  const next = await recover(e, {
    onNan: run.onNan, lr: run.lr, clipGrad: run.clipGrad, machineFlags: machineFlagsOf(f), initFrom: run.initFrom, retries: run.retries, outDir, kept: a.kept, resumed: !!resumed, lostInfo: a.lostInfo, restart: hooks.restart, argv,
    // A failure found while answering a stop ends the run as the stop asked; it is not retried.
    stopped: a.stop.reason ? { said: a.stop.said } : null,
    info: report.info, event: (obj) => { report.event(obj); held.log?.write(obj); },
  });
  if (typeof next === 'number') return next;
  held.log?.close();
  held.log = null;
  held.vae?.destroy();
  held.vae = null;
  const device = next.freshDevice ? await (hooks.newDevice ?? (() => getDevice(report.status)))() : a.acquired;
  // From the checkpoint as a resumed run does; or from the start, over whatever the failed attempt left.
  // The run's record keeps its model, data, schedule and precision; the flags about this machine
  // (the autotuner, a memory cap) are not in it, so they are passed on.
  const machineFlags = machineFlagsOf(f);
  const args = next.fromCheckpoint ? ['--resume', outDir, '--epochs', String(run.epochs), ...machineFlags, ...(f.json ? ['--json'] : [])] : [...withoutFlags(argv, ['out', 'force']), '--out', outDir, '--force'];
  return {
    argv: args,
    hooks: { ...hooks, device, restart: next.restart },
    stop: a.stop,
    release: () => {
      try {
        // A fresh device got here is this attempt's to destroy, once the attempts on it are done.
        if (next.freshDevice && !hooks.newDevice) device.device.destroy();
      } finally {
        a.release();
      }
    },
  };
}
