// Node's autotune cache: one JSON object { key: choice } in a file. The path is, in order,
// $WEBGPU_VAE_AUTOTUNE_CACHE, $XDG_CACHE_HOME/webgpu-vae/autotune.json, or
// ~/.cache/webgpu-vae/autotune.json. Writes go to a temporary file renamed over the old one, so a
// crash mid-write leaves the previous contents; an unreadable file is treated as empty.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { AutotuneCache, AutotuneRecord } from './autotune';

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

export function fileAutotuneCache(path = defaultAutotuneCachePath()): AutotuneCache & { path: string } {
  return {
    path,
    async get(key) {
      return readAll(path)[key];
    },
    async set(key, value) {
      const all = readAll(path);
      all[key] = value;
      try {
        mkdirSync(dirname(path), { recursive: true });
        const tmp = `${path}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify(all, null, 1));
        renameSync(tmp, path);
      } catch { /* an unwritable cache costs a measurement next time, nothing else */ }
    },
  };
}
