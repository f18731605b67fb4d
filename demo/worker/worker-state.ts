// What the training worker holds between the page's messages, and what every part of it does with
// that: the device, the views, the model in training with what it was built from and its last
// training state read back; posting to the page, saying the run's state, reporting a failure, and
// the queue that runs commands one at a time. One shared object, so that the command handler
// (worker.ts), the run's start, snapshots and end (run-control.ts) and the recovery from a lost
// device (device-loss.ts) each read the value of the moment rather than a copy.
import type { AcquiredDevice } from '../../src/index';
import type { DataSource, FromWorker, PresentMode, RunState, Settings, ToWorker } from '../shared/protocol';
import type { LoadedData } from './data';
import { explainedToUser, kindOf } from './failures';
import type { Session } from './session';
import type { Views } from './views';

/** The parts of DedicatedWorkerGlobalScope used here (the project compiles against the DOM lib). */
interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
export const scope = self as unknown as WorkerScope;
export const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

export interface WorkerState {
  acquired: AcquiredDevice | null;
  views: Views | null;
  present: PresentMode;
  session: Session | null;
  /** What the current model was built from, to rebuild it on a new device after a loss. */
  built: { settings: Settings; data: LoadedData; source: DataSource; runId: string; loadedFrom?: string } | null;
  /** The last training state read back (every SAVE_EVERY_STEPS steps or SAVE_EVERY_SECONDS, epoch end, pause, load): what a lost device restarts from. */
  snapshot: { state: Uint8Array; step: number } | null;
  lost: boolean;
  /** True from Start or Resume until Pause (or a failure): whether a recovered run should train on. */
  keepTraining: boolean;
  /** A Reset arrived behind a command still loading data or compiling: that command's run must not start. */
  resetPending: boolean;
}

export const current: WorkerState = {
  acquired: null, views: null, present: 'canvas', session: null, built: null, snapshot: null,
  lost: false, keepTraining: false, resetPending: false,
};

export const setState = (state: RunState, detail?: string) => post({ type: 'state', state, detail });

/** Waits for the GPU to finish what was submitted, so a state change means "the views are drawn". */
export const drained = () => current.acquired?.device.queue.onSubmittedWorkDone();

export function settle(detail?: string): void {
  const { lost, session, acquired } = current;
  setState(lost ? 'lost' : session?.training ? 'training' : session ? 'paused' : acquired ? 'idle' : 'failed', detail);
}

export function reportError(e: unknown): void {
  if (current.lost) return; // failures caused by the lost device are explained by that message
  if (!explainedToUser(e)) console.error(e); // the page's banner is the report of the others
  post({ type: 'error', kind: kindOf(e), message: (e as Error)?.message ?? String(e) });
}

let queue: Promise<void> = Promise.resolve();
/** Runs `work` after the commands queued before it; a failure is reported and the state settled. */
export function enqueue(work: () => Promise<void>): void {
  queue = queue.then(work).catch((e) => {
    reportError(e);
    if (!current.lost) settle();
  });
}
