// A file given as a checkpoint is told from its first bytes (a picture, an archive, text) before it
// is read whole: a large file of another kind is refused for what it is, without holding it in memory.
import { closeSync, openSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readCheckpointFile } from '../src/cli/io';
import { tempDir } from './helpers/temp-dir';

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

describe('readCheckpointFile on a large file of another kind', () => {
  it('a 2.5 GB PNG (sparse) is named a PNG image, not refused for its size', async () => {
    const path = join(tempDir('webgpu-vae-head-'), 'video-frame.safetensors');
    const fd = openSync(path, 'w');
    writeSync(fd, PNG);
    closeSync(fd);
    truncateSync(path, 2.5 * 2 ** 30); // sparse: no disk used
    await expect(readCheckpointFile(path)).rejects.toThrow(/is not a model checkpoint \(it is a PNG image\)/);
  });
});
