// The demo's training run kept in the browser's storage (IndexedDB), so a reload, a closed tab or
// a crashed GPU process loses at most the last few steps. One record: the training state (weights,
// Adam's moments and counters, as src/training-state.ts writes it for `train --resume`), the
// settings it was trained with, and what the page shows about it. The worker writes it every
// SAVE_EVERY_STEPS steps or SAVE_EVERY_SECONDS of training, at each epoch's end and on pause; the page reads it at load to offer to
// continue. Runs on the built-in data sets are kept (MNIST, Fashion-MNIST, dSprites); runs on the
// user's own files are not, as the files are not there after a reload. Beside it the page keeps
// the run's chart history (RunHistory), so the curves come back with the run.
import type { DataSource, EpochReport, LossChunk, Settings } from './protocol';

/** Data sets whose runs are kept: the page can fetch or draw them again after a reload. */
export type KeptSource = Extract<DataSource, { kind: 'mnist' | 'served' | 'dsprites' }>;

export function isKeptSource(source: DataSource): source is KeptSource {
  return source.kind === 'mnist' || source.kind === 'served' || source.kind === 'dsprites';
}

/** The data set's name as the page's picker shows it, and the picker's value for it. */
export function keptSourceName(source: KeptSource | undefined): { name: string; pickerValue: string } {
  if (!source || source.kind === 'mnist') return { name: 'MNIST', pickerValue: 'mnist' };
  if (source.kind === 'served') return { name: source.name, pickerValue: source.name.toLowerCase() };
  return source.colour ? { name: 'Colour dSprites', pickerValue: 'dsprites-color' } : { name: 'dSprites', pickerValue: 'dsprites' };
}

/** The kept run's data, its files fetched from where the page (at `base`) is served now. */
export function keptData(data: KeptSource | undefined, base: string): DataSource {
  if (!data || data.kind === 'mnist') return { kind: 'mnist', baseUrl: new URL('mnist/', base).href };
  if (data.kind === 'served') return { ...data, baseUrl: new URL(`${keptSourceName(data).pickerValue}/`, base).href };
  return data;
}

/**
 * What the charts and the summary showed, up to `step`, of the run `runId`. The page writes it
 * after each save the worker reports, so it may end before the kept run's step (a reload can cut
 * the last write short): the run then comes back with its curves up to that earlier save.
 */
export interface RunHistory {
  step: number;
  /** The run it belongs to (SavedRun.runId); absent in histories kept before runs had one. */
  runId?: string;
  progress: { chunks: LossChunk[]; examplesPerSecond: number }[];
  epochs: EpochReport[];
}

/** Steps between saves while training: ~5 s on a software GPU, a fraction of a second on a real one. */
export const SAVE_EVERY_STEPS = 100;
/** Training time between saves where SAVE_EVERY_STEPS would take longer (a conv model on a software GPU: minutes). */
export const SAVE_EVERY_SECONDS = 30;
/** When the run is kept, in the page's words. */
export const SAVED_WHEN = `every ${SAVE_EVERY_STEPS} steps or ${SAVE_EVERY_SECONDS} s of training, at the end of each epoch and on pause`;

export interface SavedRun {
  /** Training-state bytes (src/training-state.ts). */
  state: Uint8Array;
  settings: Settings;
  /** The model's shape as the page writes it ("784-256-2", "conv 28×28 → 16-32 → 2"); absent in runs saved before it was kept. */
  model?: string;
  step: number;
  epoch: number;
  /** The last training loss shown, NaN when none was. */
  loss: number;
  /** Milliseconds since 1970, when it was written. */
  savedAt: number;
  /** The data it trains on; absent in runs saved when only MNIST runs were kept. */
  data?: KeptSource;
  /** Names the run across its saves (a continued run keeps it), so its chart history is found; absent in older runs. */
  runId?: string;
  /** The model file the run started from (its name), which the run's saved files name; absent for a run started anew. */
  loadedFrom?: string;
}

/** A new run's name: unique enough to tell this browser's runs apart. */
export function newRunId(): string {
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
}

const DB_NAME = 'webgpu-vae-demo';
const STORE = 'runs';
const KEY = 'last';

function openDb(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    if (typeof indexedDB === 'undefined') return reject(new Error('this browser has no IndexedDB, so the run cannot be kept across reloads'));
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDB refused to open'));
  });
}

/** Runs one request in its own transaction and closes the database when the transaction is done. */
async function withStore<T>(mode: IDBTransactionMode, op: (store: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  const db = await openDb();
  try {
    return await new Promise<T>((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const req = op(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(req.result);
      tx.onerror = tx.onabort = () => reject(tx.error ?? req.error ?? new Error('IndexedDB transaction failed'));
    });
  } finally {
    db.close();
  }
}

export async function storeRun(run: SavedRun): Promise<void> {
  await withStore('readwrite', (s) => s.put(run, KEY));
}

/** The saved run, or null when there is none (or storage is unavailable). */
export async function readRun(): Promise<SavedRun | null> {
  try {
    const run = await withStore<SavedRun | undefined>('readonly', (s) => s.get(KEY));
    return run && run.state instanceof Uint8Array && Number.isFinite(run.step) ? run : null;
  } catch {
    return null;
  }
}

export async function forgetRun(): Promise<void> {
  await withStore('readwrite', (s) => s.delete(KEY)).catch(() => undefined);
  await withStore('readwrite', (s) => s.delete(HISTORY_KEY)).catch(() => undefined);
}

const HISTORY_KEY = 'history';

export async function storeHistory(history: RunHistory): Promise<void> {
  await withStore('readwrite', (s) => s.put(history, HISTORY_KEY));
}

/**
 * The chart history kept for `run`, or null (none, or one of another run). A run with a name takes
 * the history of that name, whatever save it ends at; an older run only the one of its own step.
 */
export async function readHistory(run: { step: number; runId?: string }): Promise<RunHistory | null> {
  try {
    const h = await withStore<RunHistory | undefined>('readonly', (s) => s.get(HISTORY_KEY));
    if (!h || !Array.isArray(h.progress) || !Array.isArray(h.epochs)) return null;
    const ours = run.runId !== undefined ? h.runId === run.runId : h.runId === undefined && h.step === run.step;
    return ours ? h : null;
  } catch {
    return null;
  }
}
