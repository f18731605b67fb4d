// Decoding a picture folder reports how far it is and stops between pictures when asked: a large
// folder takes minutes, and Ctrl-C should not wait for all of it. A stopped load caches nothing
// (a cache of part of the folder would be served as the whole).
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { cachePath } from '../src/data/image-cache';
import { loadImageFolder } from '../src/data/image-folder';
import { tempDir } from './helpers/temp-dir';

const png = (k: number) => encodePng({ width: 4, height: 4, data: new Uint8Array(48).fill(k * 20), channels: 3, depth: 8 });

function folderOf(n: number): string {
  const dir = tempDir('webgpu-vae-decoding-');
  for (let k = 0; k < n; k++) writeFileSync(join(dir, `p${k}.png`), png(k));
  return dir;
}
const opts = { imageSize: 4, channels: 3 as const, testFraction: 0.2 };

describe('loadImageFolder: decoding progress and stop', () => {
  it('reports each picture decoded, from 0 to all, and nothing when the pictures come from the cache', async () => {
    const dir = folderOf(5);
    const seen: [number, number][] = [];
    await loadImageFolder(dir, { ...opts, onDecodeProgress: (done, total) => seen.push([done, total]) });
    expect(seen).toEqual([[0, 5], [1, 5], [2, 5], [3, 5], [4, 5], [5, 5]]);
    const again: [number, number][] = [];
    const cached = await loadImageFolder(dir, { ...opts, onDecodeProgress: (done, total) => again.push([done, total]) });
    expect(again).toEqual([]);
    expect(cached.cachedAt).toBe(cachePath(dir, 4, 3));
  });

  it('stops before the next picture once the signal is aborted, with its reason, and writes no cache', async () => {
    const dir = folderOf(6);
    const stop = new AbortController();
    const seen: number[] = [];
    const load = loadImageFolder(dir, { ...opts, signal: stop.signal, onDecodeProgress: (done) => { seen.push(done); if (done === 2) stop.abort(); } });
    const error = await load.then(() => null, (e: unknown) => e);
    expect(error).toBeInstanceOf(DOMException);
    expect(error).toBe(stop.signal.reason);
    expect(seen).toEqual([0, 1, 2]);
    expect(existsSync(cachePath(dir, 4, 3))).toBe(false);
    // Not stopped, the next load decodes the whole folder and caches it.
    const whole = await loadImageFolder(dir, opts);
    expect(whole.files).toHaveLength(6);
    expect(existsSync(cachePath(dir, 4, 3))).toBe(true);
  });
});
