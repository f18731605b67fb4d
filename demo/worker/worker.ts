// The training worker: owns the GPU device, the model and the rendering, so the page's main
// thread only handles controls and charts and never freezes. This file answers the page's
// messages: commands run one at a time (a promise chain, enqueue in worker-state.ts), and the
// training loop runs beside them, stopped through its Session. What they act on is held in
// worker-state.ts; the model is built, started, snapshot and dropped in run-control.ts; a lost
// device is replaced in device-loss.ts.
// The run's full training state is snapshot every SAVE_EVERY_STEPS steps or SAVE_EVERY_SECONDS of
// training, at each epoch's end and on pause, kept for device-loss recovery and (for the built-in
// data sets) in browser storage for a reload.
import { describeAdapter, readTrainingState } from '../../src/index';
import { DRAWING_AFTER_PAUSE, type ToWorker } from '../shared/protocol';
import { forgetRun, readRun } from '../shared/saved-run';
import { acquire, receiveCanvases, recover, replaceDevice } from './device-loss';
import { build, dropSession, startLoop, takeSnapshot } from './run-control';
import { Views } from './views';
import { current, drained, enqueue, post, scope, setState, settle } from './worker-state';
import { KeptRunError } from './failures';

async function handle(msg: ToWorker): Promise<void> {
  if (current.lost && msg.type !== 'recover' && msg.type !== 'reset') return;
  switch (msg.type) {
    case 'init': {
      current.present = msg.present;
      current.views = new Views(msg.canvases, current.present, post);
      try {
        current.acquired = await acquire();
      } catch (first) {
        post({ type: 'notice', text: `Could not start a GPU device (${(first as Error).message}); trying once more…` });
        current.acquired = await acquire();
      }
      current.views.attach(current.acquired.device, null);
      post({ type: 'ready', adapter: describeAdapter(current.acquired.adapter), software: current.acquired.adapter.isSoftware, features: [...current.acquired.device.features] });
      return settle();
    }
    case 'start':
      await forgetRun(); // a reload now should not offer the run this one replaces
      current.session = (await build(msg.settings, msg.data)).session;
      await takeSnapshot(current.session); // step 0: a device lost before the first save restarts this run
      return startLoop(current.session);
    case 'continue': {
      const saved = await readRun();
      if (!saved) throw new KeptRunError('There is no saved run in this browser any more (it was discarded or storage was cleared).');
      // The browser keeps one run for all the demo's tabs: another tab may have kept its own since the offer.
      if (saved.savedAt !== msg.savedAt) throw new KeptRunError('The run kept in this browser changed since this page offered it: another tab of the demo kept its own run (the browser keeps one, the latest). Reload the page to see the run it keeps now.');
      const state = readTrainingState(saved.state, 'the run saved in this browser');
      current.session = (await build(saved.settings, msg.data, { kind: 'state', state }, saved.runId, saved.loadedFrom)).session;
      current.snapshot = { state: saved.state, step: saved.step };
      await drained();
      // "Continue" trains on, as the run did before the reload.
      return startLoop(current.session);
    }
    case 'resume':
      if (current.session && !current.session.training) return startLoop(current.session);
      return settle(); // the page waits for a state after Resume

    case 'pause': {
      const s = current.session;
      if (!s?.training) return;
      current.keepTraining = false;
      setState('pausing');
      await s.stop();
      if (current.session !== s) return; // it failed while stopping, and was reported (see startLoop)
      // Paused now; the pictures of this step follow (a Resume or Save waits for them in the queue).
      settle(DRAWING_AFTER_PAUSE);
      await current.views!.refresh(s.vae, true);
      await takeSnapshot(s);
      await drained();
      return settle();
    }
    case 'reset':
      current.resetPending = false;
      await dropSession();
      await forgetRun();
      if (current.lost) await replaceDevice(); // a reset after a loss starts over on a new device
      current.views?.forgetData();
      await drained();
      return settle();
    case 'save': {
      if (!current.session) return;
      const saved = await current.session.checkpoint();
      const bytes = saved.bytes.slice(); // a buffer of its own, to transfer
      return post({ type: 'saved', bytes: bytes.buffer as ArrayBuffer, step: saved.step }, [bytes.buffer as ArrayBuffer]);
    }
    case 'load': {
      const bytes = new Uint8Array(msg.bytes);
      const loaded = await build(msg.settings, msg.data, { kind: 'file', bytes, name: msg.fileName });
      current.session = loaded.session;
      await takeSnapshot(current.session);
      await drained();
      // A model file holds weights only: training goes on from them with a new optimizer, counting from 0.
      const trained = Number(loaded.fileMetadata.step ?? loaded.fileMetadata.steps);
      return settle(`Loaded ${msg.fileName}${trained > 0 ? ` (trained ${trained.toLocaleString('en')} steps; training from it counts steps anew, with a new optimizer)` : ''}`);
    }
    case 'interpolate':
      return current.views?.interpolate(current.session?.vae ?? null, msg.a, msg.b);
    case 'view-class':
      return current.views?.setClass(current.session?.vae ?? null, msg.view, msg.label);
    case 'recover':
      return recover(false, false);
    case 'debug-lose-device':
      current.acquired?.device.destroy();
      return;
  }
}

scope.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === 'reset') current.resetPending = true;
  // Neither may wait behind a long command: losing the device is how the tests simulate a crash,
  // and new canvases are what a running recovery waits for.
  if (msg.type === 'debug-lose-device') return void handle(msg);
  if (msg.type === 'canvases') return void receiveCanvases(msg.canvases);
  enqueue(() => handle(msg));
};
