// The training worker: owns the GPU device, the model and the rendering, so the page's main
// thread only handles controls and charts and never freezes. Commands from the page run one at a
// time (a promise chain); the training loop runs beside them and is stopped through its Session.
import { acquireBrowserDevice, describeAdapter, readCheckpoint, DataError, type AcquiredDevice } from '../../src/index';
import type { DataSource, ErrorKind, FromWorker, RunState, Settings, ToWorker } from '../shared/protocol';
import { loadData, type LoadedData } from './data';
import { classesOf, Session } from './session';
import { Views } from './views';

/** The parts of DedicatedWorkerGlobalScope used here (the project compiles against the DOM lib). */
interface WorkerScope {
  postMessage(message: unknown, transfer: Transferable[]): void;
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
}
const scope = self as unknown as WorkerScope;
const post = (m: FromWorker, transfer: Transferable[] = []) => scope.postMessage(m, transfer);

let acquired: AcquiredDevice | null = null;
let views: Views | null = null;
let session: Session | null = null;
/** What the current model was built from, to rebuild it on a new device after a loss. */
let built: { settings: Settings; data: LoadedData } | null = null;
/** Last weights read back (pause, epoch end, save, load): what a lost device restarts from. */
let snapshot: { bytes: Uint8Array; step: number } | null = null;
let lost = false;

const setState = (state: RunState, detail?: string) => post({ type: 'state', state, detail });

/** Waits for the GPU to finish what was submitted, so a state change means "the views are drawn". */
const drained = () => acquired?.device.queue.onSubmittedWorkDone();

function settle(detail?: string): void {
  setState(lost ? 'lost' : session?.training ? 'training' : session ? 'paused' : acquired ? 'idle' : 'failed', detail);
}

function kindOf(e: unknown): ErrorKind {
  const name = (e as Error)?.name;
  if (name === 'NoWebGPUError') return 'no-webgpu';
  if (name === 'DataError') return 'data';
  if (name === 'ConfigError' || name === 'DeviceLimitError') return 'config';
  if (name === 'CheckpointError') return 'checkpoint';
  return 'internal';
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
    const dead = session;
    session = null;
    try { dead?.destroy(); } catch { /* its buffers died with the device */ }
    setState('lost');
    const why = info.reason === 'destroyed' ? 'it was destroyed' : 'the driver reset or the GPU process crashed';
    post({ type: 'error', kind: 'device-lost', message: `The GPU device was lost (${why}${info.message ? `: ${info.message}` : ''}).`, snapshotStep: snapshot?.step });
  });
  acq.device.addEventListener('uncapturederror', (ev) => console.error('WebGPU error:', (ev as GPUUncapturedErrorEvent).error.message));
  return acq;
}

/** A fresh device after a loss; on failure `acquired` stays null and the error is reported. */
async function replaceDevice(): Promise<void> {
  lost = false;
  acquired = null;
  acquired = await acquire();
  views!.attach(acquired.device, built?.data.test ?? null);
}

async function takeSnapshot(s: Session): Promise<void> {
  snapshot = { bytes: await s.checkpoint(), step: s.steps };
}

function startLoop(s: Session): void {
  s.onEpochEnd = () => takeSnapshot(s);
  s.start((error) => {
    if (error) {
      reportError(error);
      if (!lost) settle();
    }
  });
  setState('training');
}

async function dropSession(): Promise<void> {
  const s = session;
  session = null;
  if (!s) return;
  await s.stop().catch(() => undefined);
  s.destroy();
}

async function build(settings: Settings, source: DataSource, loaded?: { bytes: Uint8Array; name: string }): Promise<Session> {
  const ck = loaded ? readCheckpoint(loaded.bytes, loaded.name) : undefined;
  setState('loading', source.kind === 'mnist' ? 'Loading MNIST…' : `Reading ${source.name}…`);
  const data = await loadData(source, settings.subset);
  const { rows, cols } = data.train;
  if (ck && ck.config.inputDim !== rows * cols) {
    throw new DataError(`${loaded!.name} was trained on ${ck.config.imageShape.join('x')} images but ${data.name} has ${rows}x${cols} images; choose the dataset it was trained on`);
  }
  if (ck && ck.config.classes > 0 && classesOf(data) > ck.config.classes) {
    throw new DataError(`${loaded!.name} is conditional on labels 0 to ${ck.config.classes - 1} but ${data.name} has labels up to ${classesOf(data) - 1}; choose the dataset it was trained on`);
  }
  post({ type: 'dataset', name: data.name, train: data.train.count, test: data.test.count, rows, cols });
  setState('loading', 'Compiling the model’s shaders…');
  const s = await Session.create(acquired!, settings, data, views!, post, ck);
  views!.attach(acquired!.device, data.test, s.vae.config.classes);
  built = { settings, data };
  post({ type: 'model', config: s.vae.config, params: s.vae.layout.paramCount, batch: s.vae.training.batch });
  // Draw the starting point (and compile the views' graphs now rather than mid-training).
  await views!.refresh(s.vae, true);
  return s;
}

async function handle(msg: ToWorker): Promise<void> {
  if (lost && msg.type !== 'recover' && msg.type !== 'reset') return;
  switch (msg.type) {
    case 'init': {
      views = new Views(msg.canvases, msg.present, post);
      acquired = await acquire();
      views.attach(acquired.device, null);
      post({ type: 'ready', adapter: describeAdapter(acquired.adapter), software: acquired.adapter.isSoftware });
      return settle();
    }
    case 'start':
      await dropSession();
      snapshot = null;
      session = await build(msg.settings, msg.data);
      return startLoop(session);
    case 'resume':
      if (session && !session.training) startLoop(session);
      return;
    case 'pause': {
      const s = session;
      if (!s?.training) return;
      setState('pausing');
      await s.stop();
      await views!.refresh(s.vae, true);
      await takeSnapshot(s);
      await drained();
      return settle();
    }
    case 'reset':
      await dropSession();
      snapshot = null;
      built = null;
      if (lost) await replaceDevice(); // a reset after a loss starts over on a new device
      views?.clear();
      await drained();
      return settle();
    case 'save': {
      if (!session) return;
      await takeSnapshot(session);
      const copy = snapshot!.bytes.slice(); // the snapshot keeps its own bytes
      return post({ type: 'saved', bytes: copy.buffer, step: snapshot!.step }, [copy.buffer]);
    }
    case 'load': {
      const bytes = new Uint8Array(msg.bytes);
      readCheckpoint(bytes, msg.fileName); // refuse a bad file before dropping the current model
      await dropSession();
      session = await build(msg.settings, msg.data, { bytes, name: msg.fileName });
      snapshot = { bytes, step: 0 };
      await drained();
      return settle(`Loaded ${msg.fileName}`);
    }
    case 'interpolate':
      return views?.interpolate(session?.vae ?? null, msg.a, msg.b);
    case 'view-class':
      return views?.setClass(session?.vae ?? null, msg.view, msg.label);
    case 'recover': {
      setState('loading', 'Starting a new GPU device…');
      await replaceDevice();
      if (snapshot && built) {
        const ck = readCheckpoint(snapshot.bytes, 'the last saved weights');
        session = await Session.create(acquired!, built.settings, built.data, views!, post, ck);
        post({ type: 'model', config: session.vae.config, params: session.vae.layout.paramCount, batch: session.vae.training.batch });
        await views!.refresh(session.vae, true);
        await drained();
        return settle(`Restored the weights saved at step ${snapshot.step}`);
      }
      return settle();
    }
    case 'debug-lose-device':
      acquired?.device.destroy();
      return;
  }
}

let queue: Promise<void> = Promise.resolve();
scope.onmessage = (event) => {
  const msg = event.data;
  // Losing the device must not wait behind a long command: it is how the tests simulate a crash.
  if (msg.type === 'debug-lose-device') return void handle(msg);
  queue = queue.then(() => handle(msg)).catch((e) => {
    reportError(e);
    if (!lost) settle();
  });
};
