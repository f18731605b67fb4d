// The training worker: owns the GPU device, the model and the rendering, so the page's main
// thread only handles controls and charts and never freezes. Commands from the page run one at a
// time (a promise chain); the training loop runs beside them and is stopped through its Session.
// The run's full training state is snapshot every SAVE_EVERY_STEPS steps or SAVE_EVERY_SECONDS of training, at each epoch's end and
// on pause, kept here for device-loss recovery and (for the built-in data sets) in browser storage for a reload.
// A lost device is replaced once automatically (see AUTO_RECOVERY_WINDOW_MS) and the run goes on
// from the snapshot, through the bitmap presentation path, which needs nothing of the compositor.
import { acquireBrowserDevice, describeAdapter, readTrainingState, type AcquiredDevice } from '../../src/index';
import { describeShape, PAGE_SYMBOLS } from '../../src/model/describe';
import { DRAWING_AFTER_PAUSE, type DataSource, type FromWorker, type PresentMode, type RunState, type Settings, type ToWorker, type ViewName } from '../shared/protocol';
import { forgetRun, isKeptSource, newRunId, readRun, storeRun } from '../shared/saved-run';
import { buildSession, postModel, type BuildContext, type Origin } from './build';
import type { LoadedData } from './data';
import { kindOf, lossMessage, lostSoon } from './failures';
import { Session } from './session';
import { Views } from './views';

/** A second loss within this time of an automatic recovery is left to the user (the Restart button). */
const AUTO_RECOVERY_WINDOW_MS = 60_000;

/** The parts of DedicatedWorkerGlobalScope used here (the project compiles against the DOM lib). */
interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

let acquired: AcquiredDevice | null = null;
let views: Views | null = null;
let present: PresentMode = 'canvas';
let session: Session | null = null;
/** What the current model was built from, to rebuild it on a new device after a loss. */
let built: { settings: Settings; data: LoadedData; source: DataSource; runId: string } | null = null;
/** The last training state read back (every SAVE_EVERY_STEPS steps or SAVE_EVERY_SECONDS, epoch end, pause, load): what a lost device restarts from. */
let snapshot: { state: Uint8Array; step: number } | null = null;
let lost = false;
/** True from Start or Resume until Pause (or a failure): whether a recovered run should train on. */
let keepTraining = false;
let lastAutoRecovery = -Infinity;
/** Resolves when the page answers a 'need-canvases' request. */
let canvasWaiter: ((canvases: Record<ViewName, OffscreenCanvas>) => void) | null = null;

const setState = (state: RunState, detail?: string) => post({ type: 'state', state, detail });

/** Waits for the GPU to finish what was submitted, so a state change means "the views are drawn". */
const drained = () => acquired?.device.queue.onSubmittedWorkDone();

function settle(detail?: string): void {
  setState(lost ? 'lost' : session?.training ? 'training' : session ? 'paused' : acquired ? 'idle' : 'failed', detail);
}

function reportError(e: unknown): void {
  if (lost) return; // failures caused by the lost device are explained by that message
  console.error(e);
  post({ type: 'error', kind: kindOf(e), message: (e as Error)?.message ?? String(e) });
}

async function acquire(): Promise<AcquiredDevice> {
  const acq = await acquireBrowserDevice();
  acq.device.lost.then((info) => {
    if (acquired !== acq) return;
    lost = true;
    const wasTraining = keepTraining;
    const dead = session;
    session = null;
    try { dead?.destroy(); } catch { /* its buffers died with the device */ }
    setState('lost');
    const message = lossMessage(info);
    const now = performance.now();
    if (now - lastAutoRecovery > AUTO_RECOVERY_WINDOW_MS) {
      lastAutoRecovery = now;
      const from = snapshot ? ` from the state saved at step ${snapshot.step}` : '';
      post({ type: 'notice', text: `${message} Restarting on a new device${from}${present === 'canvas' ? ', with pictures handed to the page as bitmaps' : ''}…` });
      enqueue(() => recover(true, wasTraining, message));
    } else if (dead || snapshot) {
      post({ type: 'error', kind: 'device-lost', message: `${message} It was lost again within a minute of the automatic restart.`, snapshotStep: snapshot?.step });
    } else {
      // No model was lost: the new device itself failed, so this browser's GPU process is the suspect.
      post({ type: 'error', kind: 'device-lost', message: `${message} It was lost again within a minute of the automatic restart, with no model on it: the browser's GPU process may be unusable now. Restart the browser (reloading the page is not enough), then try again; a model too large for the GPU can cause this, so start with a smaller one.` });
    }
  });
  acq.device.addEventListener('uncapturederror', (ev) => console.error('WebGPU error:', (ev as GPUUncapturedErrorEvent).error.message));
  return acq;
}

/** A fresh device after a loss; on failure `acquired` stays null and the error is thrown. */
async function replaceDevice(): Promise<void> {
  lost = false;
  acquired = null;
  acquired = await acquire();
  views!.attach(acquired.device, built?.data.test ?? null);
}

/** Asks the page for fresh canvases and draws through ImageBitmaps from now on. */
async function switchToBitmaps(): Promise<void> {
  const canvases = await new Promise<Record<ViewName, OffscreenCanvas>>((resolve) => {
    canvasWaiter = resolve;
    post({ type: 'need-canvases', present: 'bitmap' });
  });
  present = 'bitmap';
  views = new Views(canvases, present, post);
}

/** Reads the session's training state back and keeps it (and, for a built-in data set, stores it in the browser). */
async function takeSnapshot(s: Session): Promise<void> {
  if (!built) return;
  const state = await s.state(built.settings);
  snapshot = { state, step: s.steps };
  const source = built.source;
  if (!isKeptSource(source)) return;
  const settings = built.settings, step = s.steps;
  // Storage runs beside training; a failure (private mode, quota) costs only the reload offer.
  const model = describeShape(s.vae.config, PAGE_SYMBOLS);
  const runId = built.runId;
  storeRun({ state, settings, model, step, epoch: s.currentEpoch, loss: s.lastLoss, savedAt: Date.now(), data: source, runId })
    .then(() => post({ type: 'stored', step, runId }))
    .catch((e) => console.warn(`could not keep the run in browser storage: ${(e as Error).message}`));
}

function startLoop(s: Session): void {
  // A Reset pressed while the model was loading or compiling waits in the queue: the run it
  // cancels does not start (the reset drops it next).
  if (resetPending) return;
  const device = acquired!.device;
  keepTraining = true;
  s.onEpochEnd = s.onSaveDue = () => takeSnapshot(s);
  s.start(async (error) => {
    if (!error) return;
    // A failure caused by a lost device is explained (and recovered from) by the loss handler.
    if (await lostSoon(device)) return;
    if (session !== s) return;
    keepTraining = false;
    // A diverged model's weights are not numbers: it is dropped rather than offered to Resume or Save.
    if ((error as Error)?.name === 'DivergedError') {
      forgetModel();
      s.destroy(); // reads still in flight end quietly (the loss ring expects a destroy)
    }
    reportError(error);
    if (!lost) settle();
  });
  setState('training');
}

/** Lets go of the current model and of what a lost device would restore it from. */
function forgetModel(): void {
  keepTraining = false;
  session = null;
  built = null;
  snapshot = null;
}

async function dropSession(): Promise<void> {
  const s = session;
  forgetModel();
  if (!s) return;
  await s.stop().catch(() => undefined);
  s.destroy();
}

/** What a build reads of the worker's state, when it reads it. */
const buildContext: BuildContext = {
  get acquired() { return acquired!; },
  get views() { return views!; },
  post, setState,
  dropCurrent: dropSession,
};

/**
 * A model for `source` in place of the current one (see buildSession), kept to rebuild after a
 * loss; with the metadata of the model file it read, for a 'load' (empty otherwise).
 */
/** Builds a model and its session; `runId` names the run in browser storage (a continued run keeps its own). */
async function build(settings: Settings, source: DataSource, origin: Origin = { kind: 'new' }, runId = newRunId()): Promise<{ session: Session; fileMetadata: Record<string, string> }> {
  const { session: s, data, fileMetadata } = await buildSession(buildContext, settings, source, origin);
  built = { settings, data, source, runId };
  return { session: s, fileMetadata: fileMetadata ?? {} };
}

/**
 * After a loss: a new device, and the run restored from the last snapshot (training again if it
 * was). An automatic recovery (`lossText`: what the page was told of the loss) then replaces its
 * "Restarting…" notice with what it did.
 */
async function recover(auto: boolean, resume: boolean, lossText = ''): Promise<void> {
  setState('loading', 'Starting a new GPU device…');
  if (auto && present === 'canvas') await switchToBitmaps();
  try {
    await replaceDevice();
  } catch (e) {
    lost = true;
    setState('lost');
    post({ type: 'error', kind: 'device-lost', message: `The GPU device was lost, and a new one could not be started: ${(e as Error).message}`, snapshotStep: snapshot?.step });
    return;
  }
  if (!snapshot || !built) {
    if (auto) post({ type: 'notice', text: `${lossText} A new device was started; there was no model to restore.` });
    return settle();
  }
  const saved = readTrainingState(snapshot.state, 'the last saved state');
  session = await Session.restore(acquired!, built.settings, built.data, views!, post, saved);
  views!.attach(acquired!.device, built.data.test, session.vae.config.classes);
  postModel(session, post);
  await views!.refresh(session.vae, true);
  await drained();
  if (auto) post({ type: 'notice', text: `${lossText} Restored on a new device from the state saved at step ${snapshot.step}${present === 'bitmap' ? ', with pictures handed to the page as bitmaps' : ''}.` });
  if (resume) return startLoop(session);
  settle(`Restored the state saved at step ${snapshot.step}`);
}

async function handle(msg: ToWorker): Promise<void> {
  if (lost && msg.type !== 'recover' && msg.type !== 'reset') return;
  switch (msg.type) {
    case 'init': {
      present = msg.present;
      views = new Views(msg.canvases, present, post);
      try {
        acquired = await acquire();
      } catch (first) {
        post({ type: 'notice', text: `Could not start a GPU device (${(first as Error).message}); trying once more…` });
        acquired = await acquire();
      }
      views.attach(acquired.device, null);
      post({ type: 'ready', adapter: describeAdapter(acquired.adapter), software: acquired.adapter.isSoftware, features: [...acquired.device.features] });
      return settle();
    }
    case 'start':
      await forgetRun(); // a reload now should not offer the run this one replaces
      session = (await build(msg.settings, msg.data)).session;
      await takeSnapshot(session); // step 0: a device lost before the first save restarts this run
      return startLoop(session);
    case 'continue': {
      const saved = await readRun();
      if (!saved) throw new Error('There is no saved run in this browser any more (it was discarded or storage was cleared).');
      // The browser keeps one run for all the demo's tabs: another tab may have kept its own since the offer.
      if (saved.savedAt !== msg.savedAt) throw new Error('The run kept in this browser changed since this page offered it: another tab of the demo kept its own run (the browser keeps one, the latest). Reload the page to see the run it keeps now.');
      const state = readTrainingState(saved.state, 'the run saved in this browser');
      session = (await build(saved.settings, msg.data, { kind: 'state', state }, saved.runId)).session;
      snapshot = { state: saved.state, step: saved.step };
      await drained();
      // "Continue" trains on, as the run did before the reload.
      return startLoop(session);
    }
    case 'resume':
      if (session && !session.training) return startLoop(session);
      return settle(); // the page waits for a state after Resume

    case 'pause': {
      const s = session;
      if (!s?.training) return;
      keepTraining = false;
      setState('pausing');
      await s.stop();
      if (session !== s) return; // it failed while stopping, and was reported (see startLoop)
      // Paused now; the pictures of this step follow (a Resume or Save waits for them in the queue).
      settle(DRAWING_AFTER_PAUSE);
      await views!.refresh(s.vae, true);
      await takeSnapshot(s);
      await drained();
      return settle();
    }
    case 'reset':
      resetPending = false;
      await dropSession();
      await forgetRun();
      if (lost) await replaceDevice(); // a reset after a loss starts over on a new device
      views?.forgetData();
      await drained();
      return settle();
    case 'save': {
      if (!session) return;
      const saved = await session.checkpoint();
      const bytes = saved.bytes.slice(); // a buffer of its own, to transfer
      return post({ type: 'saved', bytes: bytes.buffer as ArrayBuffer, step: saved.step }, [bytes.buffer as ArrayBuffer]);
    }
    case 'load': {
      const bytes = new Uint8Array(msg.bytes);
      const loaded = await build(msg.settings, msg.data, { kind: 'file', bytes, name: msg.fileName });
      session = loaded.session;
      await takeSnapshot(session);
      await drained();
      // A model file holds weights only: training goes on from them with a new optimizer, counting from 0.
      const trained = Number(loaded.fileMetadata.step ?? loaded.fileMetadata.steps);
      return settle(`Loaded ${msg.fileName}${trained > 0 ? ` (trained ${trained.toLocaleString('en')} steps; training from it counts steps anew, with a new optimizer)` : ''}`);
    }
    case 'interpolate':
      return views?.interpolate(session?.vae ?? null, msg.a, msg.b);
    case 'view-class':
      return views?.setClass(session?.vae ?? null, msg.view, msg.label);
    case 'recover':
      return recover(false, false);
    case 'debug-lose-device':
      acquired?.device.destroy();
      return;
  }
}

let queue: Promise<void> = Promise.resolve();
function enqueue(work: () => Promise<void>): void {
  queue = queue.then(work).catch((e) => {
    reportError(e);
    if (!lost) settle();
  });
}

/** A Reset arrived behind a command still loading data or compiling: that command's run must not start. */
let resetPending = false;

scope.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === 'reset') resetPending = true;
  // Neither may wait behind a long command: losing the device is how the tests simulate a crash,
  // and new canvases are what a running recovery waits for.
  if (msg.type === 'debug-lose-device') return void handle(msg);
  if (msg.type === 'canvases') return void canvasWaiter?.(msg.canvases);
  enqueue(() => handle(msg));
};
