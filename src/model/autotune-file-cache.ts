// Node's autotune cache: one JSON object { key: choice } in a file. The path is, in order,
// $WEBGPU_VAE_AUTOTUNE_CACHE, $XDG_CACHE_HOME/webgpu-vae/autotune.json, or
// ~/.cache/webgpu-vae/autotune.json. A write reads the file, adds its entry and renames a temporary
// file over it, holding `<path>.lock` (a directory: mkdir is atomic) so that two processes tuning
// at once keep each other's entries; a crash mid-write leaves the previous contents, and an
// unreadable file is treated as empty.
import { mkdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AutotuneCache, AutotuneRecord } from './autotune';

/** How long a write waits for another process's lock before writing without it. */
const LOCK_WAIT_MS = 2000;
/** A lock older than this was left by a writer that died; it is taken over. */
const STALE_LOCK_MS = 10_000;

export function defaultAutotuneCachePath(): string {
  if (process.env.WEBGPU_VAE_AUTOTUNE_CACHE) return process.env.WEBGPU_VAE_AUTOTUNE_CACHE;
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'webgpu-vae', 'autotune.json');
}

function readAll(path: string): Record<string, AutotuneRecord> {
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

/** Runs `write` holding `lock`; without it after LOCK_WAIT_MS, or where no lock can be made, runs it anyway. */
async function withLock(lock: string, write: () => void): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  let held = false;
  while (!held) {
    try {
      mkdirSync(lock);
      held = true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') break; // an unwritable folder: the write fails on its own
      try {
        // Taken over by renaming it away, then checking that what was renamed is the stale lock:
        // another writer may have taken it over and made a fresh one since the stat, which goes back.
        if (Date.now() - statSync(lock).mtimeMs > STALE_LOCK_MS) {
          const stale = `${lock}.stale.${process.pid}`;
          renameSync(lock, stale);
          if (Date.now() - statSync(stale).mtimeMs > STALE_LOCK_MS) rmdirSync(stale);
          else renameSync(stale, lock);
        }
      } catch { /* released or taken over meanwhile */ }
      if (Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
  try {
    write();
  } finally {
    if (held) {
      try { rmdirSync(lock); } catch { /* taken over as stale */ }
    }
  }
}

export function fileAutotuneCache(path = defaultAutotuneCachePath()): AutotuneCache & { path: string } {
  return {
    path,
    async get(key) {
      return readAll(path)[key];
    },
    async set(key, value) {
      try {
        mkdirSync(dirname(path), { recursive: true });
      } catch {
        return; // an unwritable cache costs a measurement next time, nothing else
      }
      const tmp = `${path}.${process.pid}.tmp`;
      await withLock(`${path}.lock`, () => {
        try {
          // Read under the lock: another process's entries written since are kept.
          const all = readAll(path);
          all[key] = value;
          writeFileSync(tmp, JSON.stringify(all, null, 1));
          renameSync(tmp, path);
        } catch {
          try { unlinkSync(tmp); } catch { /* never written */ }
        }
      });
    },
  };
}
