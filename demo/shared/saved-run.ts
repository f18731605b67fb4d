// The demo's training run kept in the browser's storage (IndexedDB), so a reload, a closed tab or
// a crashed GPU process loses at most the last few steps. One record: the training state (weights,
// Adam's moments and counters, as src/training-state.ts writes it for `train --resume`), the
// settings it was trained with, and what the page shows about it. The worker writes it every
// SAVE_EVERY_STEPS steps, at each epoch's end and on pause; the page reads it at load to offer to
// continue. Only MNIST runs are kept: the user's own files are not there after a reload.
import type { Settings } from './protocol';

/** Steps between saves while training: ~5 s on a software GPU, a fraction of a second on a real one. */
export const SAVE_EVERY_STEPS = 100;

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
}
