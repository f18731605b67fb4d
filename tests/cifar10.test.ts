// CIFAR-10's binary format on small batch files the test writes: labels and planar pixels land
// where the format puts them, splits and limits, and every malformed file is a DataError.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { CIFAR10_FILES, CIFAR10_RECORD, cifar10FromBatches, loadCifar10Node } from '../src/data/cifar10';
import { DataError } from '../src/data/idx';
import { tempDir } from './helpers/temp-dir';

/** Pixel value of record `r` (global index), channel c, row y, column x: a function of all four. */
const pixel = (r: number, c: number, y: number, x: number) => (r * 13 + c * 85 + y * 7 + x) & 255;

/** A batch of `count` records starting at global index `first`, labels (first + i) % 10. */
function batch(first: number, count: number): Uint8Array {
  const out = new Uint8Array(count * CIFAR10_RECORD);
  for (let i = 0; i < count; i++) {
    const at = i * CIFAR10_RECORD;
    out[at] = (first + i) % 10;
    for (let c = 0; c < 3; c++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) out[at + 1 + c * 1024 + y * 32 + x] = pixel(first + i, c, y, x);
  }
  return out;
}

function writeCifar(dir: string, perBatch = 3): void {
  CIFAR10_FILES.train.forEach((f, b) => writeFileSync(join(dir, f), batch(b * perBatch, perBatch)));
  writeFileSync(join(dir, 'test_batch.bin'), batch(1000, 4));
}

describe('CIFAR-10 binary reader', () => {
  it('reads the five training batches in order, with labels and planar RGB pixels', async () => {
    const dir = tempDir('webgpu-vae-cifar-');
    writeCifar(dir);
    const train = await loadCifar10Node('train', { dir });
    expect([train.count, train.channels, train.rows, train.cols, train.name]).toEqual([15, 3, 32, 32, 'cifar10-train']);
    expect(Array.from(train.labels)).toEqual(Array.from({ length: 15 }, (_, i) => i % 10));
    for (const [r, c, y, x] of [[0, 0, 0, 0], [14, 2, 31, 31], [7, 1, 5, 30], [3, 2, 16, 0]]) {
      expect(train.images[r * 3072 + c * 1024 + y * 32 + x]).toBe(pixel(r, c, y, x));
    }
    const test = await loadCifar10Node('test', { dir });
    expect([test.count, test.labels[0], test.images[1024]]).toEqual([4, 0, pixel(1000, 1, 0, 0)]);
  });

  it('finds the files inside cifar-10-batches-bin and honours a limit', async () => {
    const dir = tempDir('webgpu-vae-cifar-');
    mkdirSync(join(dir, 'cifar-10-batches-bin'));
    writeCifar(join(dir, 'cifar-10-batches-bin'));
    const train = await loadCifar10Node('train', { dir, limit: 5 });
    expect(train.count).toBe(5);
    expect(train.images.length).toBe(5 * 3072);
    expect(train.images[4 * 3072]).toBe(pixel(4, 0, 0, 0));
    await expect(loadCifar10Node('train', { dir, limit: 0 })).rejects.toThrow(/limit must be a positive integer, got 0/);
  });

  it('names the missing files and the folder', async () => {
    const dir = tempDir('webgpu-vae-cifar-');
    writeFileSync(join(dir, 'data_batch_1.bin'), batch(0, 1));
    await expect(loadCifar10Node('train', { dir })).rejects.toThrow(
      /CIFAR-10 train split: data_batch_2\.bin, data_batch_3\.bin, data_batch_4\.bin, data_batch_5\.bin not found in .*webgpu-vae-cifar-/,
    );
    await expect(loadCifar10Node('test', { dir })).rejects.toThrow(/test_batch\.bin not found/);
    await expect(loadCifar10Node('test', { dir: join(dir, 'absent') })).rejects.toThrow(/CIFAR-10 folder .*absent does not exist/);
  });

  it('refuses a size that is not a multiple of 3073, naming the file and the leftover', () => {
    const good = batch(0, 2);
    const cases: [Uint8Array, RegExp][] = [
      [good.subarray(0, good.length - 1), /b\.bin: 6145 bytes is not a whole number of CIFAR-10 records of 3073 bytes \(1 record and 3072 bytes left over\)/],
      [new Uint8Array([...good, 1]), /6147 bytes .*\(2 records and 1 bytes left over\)/],
      [new Uint8Array(0), /b\.bin is empty \(0 bytes\); a CIFAR-10 batch holds records of 3073 bytes/],
    ];
    for (const [bytes, message] of cases) {
      expect(() => cifar10FromBatches([{ bytes, name: 'b.bin' }], 'x')).toThrow(DataError);
      expect(() => cifar10FromBatches([{ bytes, name: 'b.bin' }], 'x')).toThrow(message);
    }
  });

  it('says to decompress a gzipped batch', async () => {
    const dir = tempDir('webgpu-vae-cifar-');
    writeFileSync(join(dir, 'test_batch.bin'), gzipSync(batch(0, 2)));
    await expect(loadCifar10Node('test', { dir })).rejects.toThrow(/test_batch\.bin: the file is gzip-compressed, not a CIFAR-10 batch\. Decompress it first/);
  });

  it('refuses a label above 9, naming the record', () => {
    const bytes = batch(0, 3);
    bytes[2 * CIFAR10_RECORD] = 10;
    expect(() => cifar10FromBatches([{ bytes, name: 'c.bin' }], 'x')).toThrow(/c\.bin: record 2 has label 10, but CIFAR-10 labels are 0\.\.9/);
  });
});
