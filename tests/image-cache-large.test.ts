// A folder whose decoded pictures are over 2 GiB (CelebA at 64x64 RGB is 2.5 GB) is cached and
// trained on: Node takes at most 2^31 - 1 bytes in one hash update, readFile or write, which
// failed the cache ("data is too long", every run decoding the folder again, and advice to make
// a writable folder writable) and then stopped `train` with an internal error. The cache's reads,
// writes and checksum go a chunk at a time; its round trip is checked here with small chunks, so
// that every boundary case runs without writing gigabytes.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../src/cli/train-options';
import { hashAll, readImageCache, writeImageCache, type CachedImages } from '../src/data/image-cache';
import { tempDir } from './helpers/temp-dir';

describe('pictures over 2 GiB', () => {
  it('fingerprints a training set over 2 GiB as one stream of its bytes (one update of it threw)', () => {
    const images = new Uint8Array(2 ** 31 + 4096);
    images[images.length - 1] = 7;
    // SHA-256 of those bytes, from Python's hashlib: hashlib.sha256(b).hexdigest()[:16].
    expect(fingerprint(images)).toBe('995c24551517cd60');
  }, 120_000);

  it('hashes in chunks to the digest of one update, so the caches and run records written before stay valid', () => {
    const bytes = Uint8Array.from({ length: 10_007 }, (_, i) => (i * 131) % 251);
    const once = createHash('sha256').update(bytes).digest('hex');
    for (const chunk of [1, 1000, 10_007, 1 << 20]) expect(hashAll(createHash('sha256'), bytes, chunk).digest('hex'), `chunk ${chunk}`).toBe(once);
  });

  it('writes and reads back a cache a chunk at a time, the file the same as one written whole', async () => {
    const imageSize = 7, channels = 3, count = 11;
    const pixels = Uint8Array.from({ length: count * channels * imageSize * imageSize }, (_, i) => (i * 37) % 256);
    const cache: CachedImages = { key: 'k', imageSize, channels, count, files: Array.from({ length: count }, (_, k) => `p${k}.png`), skipped: [], allGrey: false, small: null, pixels };
    const dir = tempDir('webgpu-vae-chunked-cache-');
    const [whole, chunked] = [join(dir, 'whole.bin'), join(dir, 'chunked.bin')];
    await writeImageCache(whole, cache);
    await writeImageCache(chunked, cache, 100); // the pixels (1617 bytes) in 17 writes, the last short
    expect(readFileSync(chunked).equals(readFileSync(whole)), 'the same bytes').toBe(true);
    for (const chunk of [100, 1 << 30]) {
      const back = await readImageCache(chunked, 'k', chunk);
      expect(back && Array.from(back.pixels), `read in chunks of ${chunk}`).toEqual(Array.from(pixels));
      expect(back?.files).toEqual(cache.files);
    }
  });
});
