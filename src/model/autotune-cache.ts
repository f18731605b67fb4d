// Where autotune results live between runs. Browsers: IndexedDB (database `webgpu-vae`, store
// `autotune`). Node: a JSON file (src/model/autotune-file-cache.ts, exported from
// `webgpu-vae/node`). Elsewhere, or when storage fails, a map for the life of the process: a cache
// that cannot be read or written costs a measurement, never a failed model.
import type { AutotuneCache, AutotuneRecord } from './autotune';

export function memoryAutotuneCache(): AutotuneCache {
  const map = new Map<string, AutotuneRecord>();
  return {
    async get(key) { return map.get(key); },
    async set(key, value) { map.set(key, value); },
  };
}

const DB = 'webgpu-vae', STORE = 'autotune';

function request<T>(r: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

/** IndexedDB-backed cache; falls back to memory when IndexedDB is missing or refuses. */
export function indexedDbAutotuneCache(): AutotuneCache {
  const fallback = memoryAutotuneCache();
  let db: Promise<IDBDatabase | null> | null = null;
  const open = () => (db ??= (async () => {
    if (typeof indexedDB === 'undefined') return null;
    try {
      // A sandboxed frame or a storage policy makes open() throw at once (SecurityError), not fail later.
      const req = indexedDB.open(DB, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(STORE);
      return await request(req).catch(() => null);
    } catch {
      return null;
    }
  })());
  return {
    async get(key) {
      const d = await open();
      if (!d) return fallback.get(key);
      try {
        return (await request(d.transaction(STORE, 'readonly').objectStore(STORE).get(key))) as AutotuneRecord | undefined;
      } catch {
        return fallback.get(key);
      }
    },
    async set(key, value) {
      await fallback.set(key, value);
      const d = await open();
      if (!d) return;
      try {
        await request(d.transaction(STORE, 'readwrite').objectStore(STORE).put(value, key));
      } catch { /* kept in memory only */ }
    },
  };
}

/** The cache a model uses when none is given: IndexedDB where it exists, else memory. */
export function defaultAutotuneCache(): AutotuneCache {
  return typeof indexedDB !== 'undefined' ? indexedDbAutotuneCache() : memoryAutotuneCache();
}
