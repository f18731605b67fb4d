// The model in training, from the worker's side: building it in place of the current one, starting
// its loop, keeping its training state (for a lost device, and in browser storage for a reload)
// and letting it go. A failure of the loop is reported here, and a diverged model dropped. Apart
// from the page's commands (worker.ts), which call these in turn, and from the recovery after a
// lost device (device-loss.ts), which restarts a run through startLoop.
import { describeShape, PAGE_SYMBOLS } from '../../src/model/describe';
import type { DataSource, Settings } from '../shared/protocol';
import { isKeptSource, newRunId, storeRun } from '../shared/saved-run';
import { buildSession, type BuildContext, type Origin } from './build';
import { lostSoon } from './failures';
import type { Session } from './session';
import { current, post, reportError, setState, settle } from './worker-state';

/** Reads the session's training state back and keeps it (and, for a built-in data set, stores it in the browser). */
export async function takeSnapshot(s: Session): Promise<void> {
  if (!current.built) return;
  const state = await s.state(current.built.settings);
  current.snapshot = { state, step: s.steps };
  const source = current.built.source;
  if (!isKeptSource(source)) return;
  const settings = current.built.settings, step = s.steps;
  // Storage runs beside training; a failure (private mode, quota) costs only the reload offer.
  const model = describeShape(s.vae.config, PAGE_SYMBOLS);
  const runId = current.built.runId;
  const { loadedFrom } = current.built;
  storeRun({ state, settings, model, step, epoch: s.currentEpoch, loss: s.lastLoss, savedAt: Date.now(), data: source, runId, ...(loadedFrom ? { loadedFrom } : {}) })
    .then(() => post({ type: 'stored', step, runId }))
    .catch((e) => console.warn(`could not keep the run in browser storage: ${(e as Error).message}`));
}

export function startLoop(s: Session): void {
  // A Reset pressed while the model was loading or compiling waits in the queue: the run it
  // cancels does not start (the reset drops it next).
  if (current.resetPending) return;
  const device = current.acquired!.device;
  current.keepTraining = true;
  s.onEpochEnd = s.onSaveDue = () => takeSnapshot(s);
  s.start(async (error) => {
    if (!error) return;
    // A failure caused by a lost device is explained (and recovered from) by the loss handler.
    if (await lostSoon(device)) return;
    if (current.session !== s) return;
    current.keepTraining = false;
    // A diverged model's weights are not numbers: it is dropped rather than offered to Resume or Save.
    if ((error as Error)?.name === 'DivergedError') {
      forgetModel();
      s.destroy(); // reads still in flight end quietly (the loss ring expects a destroy)
    }
    reportError(error);
    if (!current.lost) settle();
  });
  setState('training');
}

/** Lets go of the current model and of what a lost device would restore it from. */
function forgetModel(): void {
  current.keepTraining = false;
  current.session = null;
  current.built = null;
  current.snapshot = null;
}

export async function dropSession(): Promise<void> {
  const s = current.session;
  forgetModel();
  if (!s) return;
  await s.stop().catch(() => undefined);
  s.destroy();
}

/** What a build reads of the worker's state, when it reads it. */
const buildContext: BuildContext = {
  get acquired() { return current.acquired!; },
  get views() { return current.views!; },
  get hasModel() { return current.session !== null; },
  post, setState,
  dropCurrent: dropSession,
};

/**
 * A model for `source` in place of the current one (see buildSession), kept to rebuild after a
 * loss; with the metadata of the model file it read, for a 'load' (empty otherwise).
 * `runId` names the run in browser storage (a continued run keeps its own), `loadedFrom` the model
 * file it started from (a loaded file's name; a continued run keeps its own).
 */
export async function build(settings: Settings, source: DataSource, origin: Origin = { kind: 'new' }, runId = newRunId(), loadedFrom = origin.kind === 'file' ? origin.name : undefined): Promise<{ session: Session; fileMetadata: Record<string, string> }> {
  const { session: s, data, fileMetadata } = await buildSession(buildContext, settings, source, origin);
  current.built = { settings, data, source, runId, ...(loadedFrom ? { loadedFrom } : {}) };
  return { session: s, fileMetadata: fileMetadata ?? {} };
}
