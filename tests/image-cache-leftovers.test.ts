// A picture cache's write killed midway (kill -9 while `train` cached a folder) left its temporary
// file, as large as the decoded pictures (37.7 MB of a 73.7 MB cache in the run that found it,
// GBs for a large folder), hidden in the user's picture folder for good, and one more for each
// kill. The next cache write removes those whose writer is gone, and leaves a running writer's,
// this process's own and every other file.
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheFileName, cachePath, readImageCache, writeImageCache, type CachedImages } from '../src/data/image-cache';
import { tempDir } from './helpers/temp-dir';
import { deadPid, liveProcess } from './helpers/process-ids';



describe('a picture cache write killed midway', () => {
  it('leaves a temporary file that the next cache write removes', async () => {
    const dir = tempDir('webgpu-vae-cache-leftovers-');
    const imageSize = 4, channels = 3, count = 2;
    const cache: CachedImages = { key: 'k', imageSize, channels, count, files: ['a.png', 'b.png'], skipped: [], allGrey: false, small: null, pixels: new Uint8Array(count * channels * imageSize ** 2).fill(9) };
    const dead = deadPid(), live = liveProcess();
    const left = {
      // Killed writers': this cache's, another size's, and another folder's in a shared cache directory.
      dead: [`${cacheFileName(4, 3)}.${dead}.tmp`, `${cacheFileName(64, 1)}.${dead}.tmp`, `${cacheFileName(4, 3, '0123456789abcdef')}.${dead}.tmp`],
      // A writer that still runs, this process writing another cache, and files that are no cache's.
      kept: [`${cacheFileName(64, 3)}.${live}.tmp`, `${cacheFileName(8, 3)}.${process.pid}.tmp`, 'photo.png', '.webgpu-vae-cache-4-3.bin.notes.tmp'],
    };
    for (const name of [...left.dead, ...left.kept]) writeFileSync(join(dir, name), 'partial');
    await writeImageCache(cachePath(dir, 4, 3), cache);
    expect(readdirSync(dir).sort()).toEqual([...left.kept, cacheFileName(4, 3)].sort());
    expect((await readImageCache(cachePath(dir, 4, 3), 'k'))?.count).toBe(2);
  });
});
