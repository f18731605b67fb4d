// The worker's GPU device and what happens when it is lost. A lost device is replaced once
// automatically (see AUTO_RECOVERY_WINDOW_MS) and the run goes on from the last snapshot, through
// the bitmap presentation path, which needs nothing of the compositor; a second loss soon after
// is left to the user (the Restart button, which runs recover() too). Apart from the page's
// commands (worker.ts) because a loss arrives at any moment, beside them.
import { acquireBrowserDevice, readTrainingState, type AcquiredDevice } from '../../src/index';
import type { ViewName } from '../shared/protocol';
import { postModel } from './build';
import { lossMessage } from './failures';
import { startLoop } from './run-control';
import { Session } from './session';
import { Views } from './views';
import { current, drained, enqueue, post, setState, settle } from './worker-state';

/** A second loss within this time of an automatic recovery is left to the user (the Restart button). */
const AUTO_RECOVERY_WINDOW_MS = 60_000;

let lastAutoRecovery = -Infinity;
/** Resolves when the page answers a 'need-canvases' request. */
let canvasWaiter: ((canvases: Record<ViewName, OffscreenCanvas>) => void) | null = null;

/** Hands the canvases the page sent to the recovery waiting for them. */
export function receiveCanvases(canvases: Record<ViewName, OffscreenCanvas>): void {
  canvasWaiter?.(canvases);
}

/** A device whose loss, while it is the worker's, drops the model and starts the recovery (or says why not). */
export async function acquire(): Promise<AcquiredDevice> {
  const acq = await acquireBrowserDevice();
  acq.device.lost.then((info) => {
    if (current.acquired !== acq) return;
    current.lost = true;
    const wasTraining = current.keepTraining;
    const dead = current.session;
    current.session = null;
    try { dead?.destroy(); } catch { /* its buffers died with the device */ }
    setState('lost');
    const message = lossMessage(info);
    const now = performance.now();
    const snapshot = current.snapshot;
    if (now - lastAutoRecovery > AUTO_RECOVERY_WINDOW_MS) {
      lastAutoRecovery = now;
      const from = snapshot ? ` from the state saved at step ${snapshot.step}` : '';
      post({ type: 'notice', text: `${message} Restarting on a new device${from}${current.present === 'canvas' ? ', with pictures handed to the page as bitmaps' : ''}…` });
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

/** A fresh device after a loss; on failure `current.acquired` stays null and the error is thrown. */
export async function replaceDevice(): Promise<void> {
  current.lost = false;
  current.acquired = null;
  current.acquired = await acquire();
  current.views!.attach(current.acquired.device, current.built?.data.test ?? null);
}

/** Asks the page for fresh canvases and draws through ImageBitmaps from now on. */
async function switchToBitmaps(): Promise<void> {
  const canvases = await new Promise<Record<ViewName, OffscreenCanvas>>((resolve) => {
    canvasWaiter = resolve;
    post({ type: 'need-canvases', present: 'bitmap' });
  });
  current.present = 'bitmap';
  current.views = new Views(canvases, current.present, post);
}

/**
 * After a loss: a new device, and the run restored from the last snapshot (training again if it
 * was). An automatic recovery (`lossText`: what the page was told of the loss) then replaces its
 * "Restarting…" notice with what it did.
 */
export async function recover(auto: boolean, resume: boolean, lossText = ''): Promise<void> {
  setState('loading', 'Starting a new GPU device…');
  if (auto && current.present === 'canvas') await switchToBitmaps();
  try {
    await replaceDevice();
  } catch (e) {
    current.lost = true;
    setState('lost');
    post({ type: 'error', kind: 'device-lost', message: `The GPU device was lost, and a new one could not be started: ${(e as Error).message}`, snapshotStep: current.snapshot?.step });
    return;
  }
  if (!current.snapshot || !current.built) {
    if (auto) post({ type: 'notice', text: `${lossText} A new device was started; there was no model to restore.` });
    return settle();
  }
  const saved = readTrainingState(current.snapshot.state, 'the last saved state');
  current.session = await Session.restore(current.acquired!, current.built.settings, current.built.data, current.views!, post, saved);
  current.views!.attach(current.acquired!.device, current.built.data.test, current.session.vae.config.classes);
  postModel(current.session, post);
  await current.views!.refresh(current.session.vae, true);
  await drained();
  if (auto) post({ type: 'notice', text: `${lossText} Restored on a new device from the state saved at step ${current.snapshot.step}${current.present === 'bitmap' ? ', with pictures handed to the page as bitmaps' : ''}.` });
  if (resume) return startLoop(current.session);
  settle(`Restored the state saved at step ${current.snapshot.step}`);
}
