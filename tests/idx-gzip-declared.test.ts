// A gzip-compressed IDX file is inflated no further than its own header declares: a small file
// that inflates far past it (a corrupt file, a "zip bomb") is refused there, not after up to
// 1 GiB were inflated and copied in memory.
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { DataError, parseIdxMaybeGzip } from '../src/data/idx';

const header = (n: number) => Uint8Array.from([0, 0, 8, 3, 0, 0, n >> 8, n & 255, 0, 0, 0, 28, 0, 0, 0, 28]);
const gz = (...parts: Uint8Array[]) => {
  const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return new Uint8Array(gzipSync(all, { level: 1 }));
};

describe('gzip IDX files and their declared size', () => {
  it('a file of exactly its declared size reads', async () => {
    const idx = await parseIdxMaybeGzip(gz(header(4), new Uint8Array(4 * 784)), 'a.gz');
    expect(idx.dims).toEqual([4, 28, 28]);
  });

  it('one that inflates to 32 MiB past a 4-picture header stops at the header\'s size', async () => {
    const error = await parseIdxMaybeGzip(gz(header(4), new Uint8Array(32 * 2 ** 20)), 'bomb.gz').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toMatch(/^bomb\.gz: size mismatch, file has trailing bytes: it decompresses to more than the 3152 bytes its header declares \(dims 4x28x28\); decompression was stopped there/);
  });

  it('a bad header is named from the first bytes, however far the file inflates', async () => {
    const bad = header(4); bad[0] = 0x12;
    await expect(parseIdxMaybeGzip(gz(bad, new Uint8Array(32 * 2 ** 20)), 'bad.gz')).rejects.toThrow(/^bad\.gz: not an IDX file \(bad magic 12 00 08 03/);
  });

  it('a cut file is still called truncated', async () => {
    await expect(parseIdxMaybeGzip(gz(header(4), new Uint8Array(100)), 'cut.gz')).rejects.toThrow(/^cut\.gz: size mismatch, file truncated/);
  });
});
