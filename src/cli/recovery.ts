// What `train` does when the GPU's step health check (shaders/grad-norm.ts) flags a step, and when
// the device is lost. The check runs inside every step and the optimizer never applies a flagged
// step; the flags reach the CPU with the losses (every 16 steps), where --on-nan picks the action:
//   stop        (default) end the run: say at which step and in which quantity, put the last
//               good checkpoint back in place (see below) and exit with BAD_NUMBERS_EXIT_CODE;
//   skip-batch  carry on: the flagged step was already skipped on the GPU (parameters and Adam's
//               moments untouched, its loss left out of the epoch's mean); each one is reported.
//               SKIP_LIMIT flagged steps in a row mean skipping cannot get past it, and the run
//               stops as with `stop`; each epoch reports how many of its steps were skipped, and
//               one with more than half skipped stops the run after its checkpoint (exit 3),
//               unless it is the first epoch and more follow (tooManySkipped);
//   rollback    go back to the last good checkpoint (or the initial parameters when there is
//               none), halve the learning rate and train on from there, at most MAX_ROLLBACKS
//               times, then stop. The halved rate is stored with the run, so --resume keeps it.
// The last good checkpoint: a checkpoint is written only once every step up to it was read back
// clean, but the parameters it holds are judged by the loss of the step after it. So when step
// s + 1 is the bad one, the checkpoint of step s holds the parameters that produced it, and the
// one before (kept in memory, KeptCheckpoints) is written back in its place.
// A lost device (driver reset, device.destroy()) ends the attempt; with --retries N (default 2)
// the run goes on from the last checkpoint (or from the start, when none was written) on a fresh
// device, up to N times. With none left it exits with DEVICE_LOST_EXIT_CODE, and --resume goes on.
// The flags are read, and skip-batch's limits applied, by the step loop through bad-steps.ts; the
// commands this file prints for going on are spelled in recovery-advice.ts.
import { GpuError } from '../errors';
import { BAD_NUMBERS_EXIT_CODE, BadStepError, type OnNan } from './bad-steps';
import { OutputError, writeFileAtomic } from './files';
import { lowerLr, newRunCommand, rateText, resumeAtCommand, runWriteFailed } from './recovery-advice';
import { resumeCommand, runPaths } from './run-dir';

/** Exit status of a run whose device was lost with no retries left. */
export const DEVICE_LOST_EXIT_CODE = 4;
/** Rollbacks (each halving the learning rate) before rollback gives up. */
export const MAX_ROLLBACKS = 3;

/** True when `e` (or the device's own lost promise) says the GPU device is gone. */
export function isDeviceLoss(e: unknown, lost: GPUDeviceLostInfo | null): boolean {
  return !!lost || (e instanceof GpuError && e.kind === 'device-lost');
}

/** One checkpoint's files, as written. */
export interface KeptCheckpoint {
  step: number;
  state: Uint8Array;
  model: Uint8Array | null;
}

/** The newest checkpoint written and the one before it, for going back past a bad one. */
export class KeptCheckpoints {
  private latest: KeptCheckpoint | null = null;
  private previous: KeptCheckpoint | null = null;

  wrote(kept: KeptCheckpoint): void {
    if (this.latest?.step === kept.step) {
      this.latest = kept;
      return;
    }
    this.previous = this.latest;
    this.latest = kept;
  }

  /** The newest checkpoint whose parameters gave a clean loss before step `badStep` (1-based), or null. */
  goodBefore(badStep: number): KeptCheckpoint | null {
    // Checkpoint s holds the parameters that step s + 1 is computed from.
    for (const k of [this.latest, this.previous]) if (k && k.step + 1 < badStep) return k;
    return null;
  }

  get newest(): KeptCheckpoint | null {
    return this.latest;
  }

  /** After going back to `kept`: it is the newest again, and nothing older is known. */
  resetTo(kept: KeptCheckpoint | null): void {
    this.latest = kept;
    this.previous = null;
  }
}

/** How a run goes on after a lost device or a rollback (passed to the restarted run). */
export interface Restart {
  reason: 'device lost' | 'rollback';
  /** Device-loss retries left, and rollbacks already made. */
  retries: number;
  rollbacks: number;
  /** The learning rate to continue with (halved by each rollback). */
  lr: number;
  kept: KeptCheckpoints;
}

export interface RecoveryContext {
  onNan: OnNan;
  lr: number;
  /** The run's --clip-grad (0: none), so that the advice does not ask for what is given. */
  clipGrad?: number;
  /** The run's --autotune and --max-gpu-memory, which the commands it prints to resume repeat (resumeCommand). */
  machineFlags?: string[];
  /** The model a new run started from (--init-from), named when its parameters are what went bad. */
  initFrom?: string | null;
  retries: number;
  outDir: string;
  /** The checkpoints written by this run (or read to resume it). */
  kept: KeptCheckpoints;
  /** True when the run was started with --resume, so it cannot start over from the initial parameters. */
  resumed: boolean;
  /** What the device's lost promise said, once it has settled. */
  lostInfo: () => GPUDeviceLostInfo | null;
  /** Set when this run is itself a restart. */
  restart?: Restart;
  /** The flags the run was started with (a new run's), for the command that starts it again. */
  argv?: string[];
  /**
   * Set when a stop (Ctrl-C, SIGTERM, a hook) was asked for before the failure was seen: the run
   * then neither retries nor rolls back. It ends with the failure's own status, not the stop's
   * (which says "saved, resume to go on"): a script learns that the numbers went bad or the device
   * was lost. `said` names the stop.
   */
  stopped?: { said: string } | null;
  info: (line: string) => void;
  event: (obj: Record<string, unknown>) => void;
}

/** What to do next: an exit status, or a restart from the last checkpoint (or from the start when there is none). */
export type Recovery = number | { fromCheckpoint: boolean; freshDevice: boolean; restart: Restart };

/** Writes a kept checkpoint's files back in place (state first: alone it is a consistent snapshot). */
function putBack(outDir: string, kept: KeptCheckpoint): void {
  const paths = runPaths(outDir);
  writeFileAtomic(paths.state, kept.state);
  if (kept.model) writeFileAtomic(paths.model, kept.model);
}

/** Decides, after `e` ended a training attempt, whether and how the run goes on; rethrows errors it does not handle. */
export async function recover(e: unknown, c: RecoveryContext): Promise<Recovery> {
  // A destroyed device's lost promise settles on a later turn than the error it causes.
  await new Promise((r) => setTimeout(r, 20));
  const restart: Restart = c.restart ?? { reason: 'rollback', retries: c.retries, rollbacks: 0, lr: c.lr, kept: c.kept };
  const newest = c.kept.newest;
  const lost = c.lostInfo();
  if (isDeviceLoss(e, lost)) {
    // Whichever call noticed first (a map, a submit, the model's own check), the device says why.
    const what = lost ? `the GPU device was lost (${lost.reason}): ${lost.message}` : (e as Error).message.replace(/\. Create the model again.*$/, '');
    const where = newest ? `the last checkpoint (step ${newest.step}) in ${c.outDir} is intact` : 'no checkpoint was written yet';
    if (restart.retries > 0 && !c.stopped) {
      c.info(`${what}; ${where}; retrying ${newest ? 'from it' : 'from the start'} on a fresh device (${restart.retries - 1} ${restart.retries === 2 ? 'retry' : 'retries'} left)`);
      c.event({ event: 'device-lost', action: 'retry', message: what, checkpoint_step: newest?.step ?? null, retries_left: restart.retries - 1 });
      return { fromCheckpoint: !!newest, freshDevice: true, restart: { ...restart, reason: 'device lost', retries: restart.retries - 1, lr: c.lr } };
    }
    // Before the first checkpoint the folder holds config.json and metrics.jsonl: a new run there needs --force.
    const next = newest ? `continue with\n  ${resumeCommand(c.outDir, c.machineFlags)}`
      : !c.resumed && c.argv ? `start the run again (with --force: ${c.outDir} holds its files) with\n  ${newRunCommand(c.argv, c.outDir)}` : 'start the run again';
    const noRetry = c.stopped ? `${c.stopped.said}, so no retry; ` : c.retries ? 'no retries left; ' : '';
    c.info(`${what}; ${where}; ${noRetry}${next}`);
    c.event({ event: 'device-lost', action: 'stop', message: what, checkpoint_step: newest?.step ?? null, resume: newest ? resumeCommand(c.outDir, c.machineFlags) : null });
    return DEVICE_LOST_EXIT_CODE;
  }
  // A write that failed (disk full, no permission) and does not yet say how to go on.
  if (e instanceof OutputError && e.path !== undefined) throw runWriteFailed(e, c.outDir, newest?.step ?? null, c.argv, c.machineFlags);
  if (!(e instanceof BadStepError)) throw e;

  // The last good checkpoint goes back in place when the newest one holds the parameters that went bad.
  const good = c.kept.goodBefore(e.since);
  if (good && good !== newest) putBack(c.outDir, good);
  c.kept.resetTo(good);
  const where = good === newest && good ? `the last checkpoint (step ${good.step}) in ${c.outDir} is intact` :
    good ? `the checkpoint of step ${newest!.step} holds the parameters that produced it, so the one of step ${good.step} was put back in ${c.outDir}` :
    newest ? `the checkpoint of step ${newest.step} in ${c.outDir} holds the parameters that produced it, and no earlier one was kept` : 'no checkpoint was written yet';
  const fields = { step: e.step, quantities: e.quantities, loss: e.loss, grad_norm: e.gradNorm, checkpoint_step: good?.step ?? null };
  if (e.since === 1 && !c.resumed) {
    // A bad run from step 1 is computed from the starting parameters, before any update (skipped
    // steps apply none): a lower rate, clipping, skipping or rolling back changes nothing, so none
    // of them is offered.
    const start = c.initFrom ? `the parameters of ${c.initFrom} (--init-from)` : 'its starting parameters';
    c.info(`${e.message}; training stopped; ${where}. No update had been applied before the bad steps, so the learning rate is not the cause, and no rollback or skip gets past them. ` +
      `The model's settings or ${start} give these numbers: look for a fixed --sigma so small that 1/sigma^2 leaves float32, a --beta or --kl-capacity far too large, ` +
      `${c.initFrom ? 'a model saved from a run that diverged, ' : ''}or data far outside [0, 1]; change them and start again`);
    c.event({ event: 'bad-numbers', action: 'stop', reason: 'first-step', ...fields, lr: c.lr });
    return BAD_NUMBERS_EXIT_CODE;
  }
  const canStartOver = good || !c.resumed;
  if (c.onNan === 'rollback' && restart.rollbacks < MAX_ROLLBACKS && canStartOver && !c.stopped) {
    const lr = c.lr / 2;
    c.info(`${e.message}; the step was not applied; ${where}. Rolling back to ${good ? `step ${good.step}` : 'the initial parameters'} ` +
      `with the learning rate halved to ${rateText(lr)} (rollback ${restart.rollbacks + 1} of ${MAX_ROLLBACKS})`);
    c.event({ event: 'bad-numbers', action: 'rollback', ...fields, lr });
    return { fromCheckpoint: !!good, freshDevice: false, restart: { ...restart, reason: 'rollback', rollbacks: restart.rollbacks + 1, lr } };
  }
  const tried = c.stopped ? ` (${c.stopped.said} before it was seen: no ${c.onNan === 'rollback' ? 'rollback' : 'more steps'})`
    : c.onNan === 'rollback' ? (canStartOver ? ` after ${MAX_ROLLBACKS} rollbacks` : ' (no good checkpoint to roll back to)') : '';
  const lower = lowerLr(c.lr);
  // Commands that work as printed: the folder holds this run's files (config.json, metrics.jsonl),
  // so a new run in it needs --force; a good checkpoint can also be continued at the lower rate.
  const resume = good ? resumeAtCommand(c.outDir, lower, c.machineFlags) : null;
  const again = !c.resumed && c.argv ? newRunCommand(c.argv, c.outDir, lower) : null;
  const commands = [
    ...(resume ? [`continue from the checkpoint of step ${good!.step} at the lower rate with\n  ${resume}`] : []),
    ...(again ? [`start the new run in this folder, which holds this run's files, with --force:\n  ${again}`] : []),
  ];
  c.info(`${e.message}; the step was not applied, and training stopped${tried}; ${where}. The learning rate ${rateText(c.lr)} is probably too high: ` +
    `start a new run with a lower one, e.g. --lr ${lower}${c.clipGrad ? '' : ', or clip the gradients with --clip-grad 1'}` +
    `${c.onNan === 'stop' ? ', or let training go on with --on-nan skip-batch or rollback' : ''}` +
    `${c.resumed && !resume ? ` (a new run needs another --out, or --force to replace this run in ${c.outDir})` : ''}` +
    (commands.length ? `. To ${commands.join('; or ')}` : ''));
  c.event({ event: 'bad-numbers', action: 'stop', ...fields, lr: c.lr, suggested_lr: Number(lower), ...(resume ? { resume } : {}), ...(again ? { restart: again } : {}) });
  return BAD_NUMBERS_EXIT_CODE;
}

/**
 * Test hook: WEBGPU_VAE_TEST_LOSE_DEVICE_AT_STEP=k makes `train` destroy its device right after
 * step k of its first attempt, as a driver reset would take it, so the recovery can be tested on
 * the real command. Not for use outside tests.
 */
export function lossDeviceAtStep(): number | null {
  const raw = typeof process === 'undefined' ? undefined : process.env.WEBGPU_VAE_TEST_LOSE_DEVICE_AT_STEP;
  if (raw === undefined || raw === '') return null;
  const k = Number(raw);
  if (!Number.isInteger(k) || k < 1) throw new Error(`WEBGPU_VAE_TEST_LOSE_DEVICE_AT_STEP must be a step number >= 1, got '${raw}'`);
  return k;
}
