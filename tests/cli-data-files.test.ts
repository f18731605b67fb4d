// A --data-dir that exists but lacks the data set's files is refused with the other flag checks,
// before a device is asked for, naming the flag, the missing file, the split that reads it and a
// near name the folder has instead; a folder with the files the command reads passes.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setDeviceProvider, type DeviceProvider } from '../src/cli/io';
import { runMain } from './helpers/cli-main';
import { tempDir } from './helpers/temp-dir';

const FIXTURE = join(__dirname, 'fixtures', 'v1-checkpoint.safetensors');
const SENTINEL = 'all checks passed; no device in this test';
const root = tempDir('webgpu-vae-data-files-');

/**
 * A folder holding files of these names: empty, except CIFAR-10 batches, which hold one record of
 * 3073 bytes (the check reads names, and a batch's size; not contents).
 */
function folder(name: string, files: string[], batchBytes = 3073): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  for (const f of files) {
    mkdirSync(join(dir, f, '..'), { recursive: true });
    writeFileSync(join(dir, f), new Uint8Array(f.endsWith('.bin') ? batchBytes : 0));
  }
  return dir;
}

async function refused(argv: string[], message: RegExp): Promise<void> {
  const r = await runMain(argv);
  expect(r.stderr, 'reached the device').not.toContain(SENTINEL);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  expect(r.stderr.trimEnd()).toMatch(message);
}

async function passes(argv: string[]): Promise<void> {
  expect((await runMain(argv)).stderr).toContain(SENTINEL);
}

let previous: DeviceProvider;
beforeAll(() => { previous = setDeviceProvider(() => Promise.reject(new Error(SENTINEL))); });
afterAll(() => setDeviceProvider(previous));

describe('a --data-dir without the data set files', () => {
  const test = ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
  const train = ['train-images-idx3-ubyte.gz', 'train-labels-idx1-ubyte.gz'];

  it('is refused before the device for train, naming the file, the split and the fix', async () => {
    const empty = folder('empty', []);
    await refused(['train', '--data-dir', empty, '--out', join(root, 'r')],
      new RegExp(`^webgpu-vae train: error: --data-dir ${empty} holds no train-images-idx3-ubyte \\(nor train-images-idx3-ubyte\\.gz\\), which --dataset mnist reads for its train split; give the folder that holds the four MNIST-format IDX files$`));
    const testOnly = folder('test-only', test);
    await refused(['train', '--dataset', 'fashion-mnist', '--data-dir', testOnly, '--out', join(root, 'r')], /holds no train-images-idx3-ubyte .*--dataset fashion-mnist reads for its train split/);
    await passes(['train', '--data-dir', folder('whole', [...test, ...train]), '--out', join(root, 'r')]);
  });

  it('names a file of a near name to rename', async () => {
    const kaggle = folder('kaggle', ['train-images.idx3-ubyte', ...train.slice(1), ...test]);
    await refused(['train', '--data-dir', kaggle, '--out', join(root, 'r')], /holds no train-images-idx3-ubyte .*; it has train-images\.idx3-ubyte: rename that to train-images-idx3-ubyte$/);
  });

  it('asks checkpoint commands for the test split only', async () => {
    await refused(['eval', '--checkpoint', FIXTURE, '--data-dir', folder('none', ['notes.txt'])], /holds no t10k-images-idx3-ubyte .*reads for its test split/);
    await passes(['eval', '--checkpoint', FIXTURE, '--data-dir', folder('test-only', test)]);
  });

  it('looks in CIFAR-10 archive folder, as the reader does', async () => {
    const batches = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
    const parent = folder('cifar', ['cifar-10-batches-bin/test_batch.bin']);
    await refused(['train', '--dataset', 'cifar10', '--data-dir', parent, '--out', join(root, 'r')],
      /--data-dir .*cifar \(in its cifar-10-batches-bin\) holds no data_batch_1\.bin, which --dataset cifar10 reads for its train split; give the folder that holds CIFAR-10's binary batches \(.*: the cifar-10-batches-bin folder of the "CIFAR-10 binary version", cifar-10-binary\.tar\.gz, from https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar\.html\)$/);
    // Without a folder at all, where the files come from.
    await refused(['train', '--dataset', 'cifar10', '--out', join(root, 'r')], /--dataset cifar10 reads files: give their folder with --data-dir DIR \(the cifar-10-batches-bin folder of the "CIFAR-10 binary version", cifar-10-binary\.tar\.gz, from https:\/\/www\.cs\.toronto\.edu\/~kriz\/cifar\.html\)$/);
    await passes(['train', '--dataset', 'cifar10', '--data-dir', folder('cifar-whole', batches.map((b) => `cifar-10-batches-bin/${b}`)), '--out', join(root, 'r')]);
  });

  it('refuses a truncated CIFAR-10 batch by its size, before the device', async () => {
    const batches = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
    const cut = folder('cifar-cut', batches, 2 * 3073 - 5);
    await refused(['train', '--dataset', 'cifar10', '--data-dir', cut, '--out', join(root, 'r')],
      /cifar-cut\/data_batch_1\.bin: 6141 bytes is not a whole number of CIFAR-10 records of 3073 bytes \(1 record and 3068 bytes left over\)\. Use the files of the "CIFAR-10 binary version"/);
    await refused(['eval', '--checkpoint', FIXTURE, '--dataset', 'cifar10', '--data-dir', folder('cifar-empty', ['test_batch.bin'], 0)], /test_batch\.bin is empty \(0 bytes\)/);
  });

  it('says a gzip-compressed CIFAR-10 batch is one and to gunzip it, not that its size is wrong', async () => {
    const batches = ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin'];
    const dir = folder('cifar-gz', batches);
    // A record of zeros compresses to a few dozen bytes: not a whole number of records.
    writeFileSync(join(dir, 'test_batch.bin'), gzipSync(new Uint8Array(3073)));
    await refused(['train', '--dataset', 'cifar10', '--data-dir', dir, '--out', join(root, 'r')],
      /cifar-gz\/test_batch\.bin: the file is gzip-compressed, not a CIFAR-10 batch\. Decompress it first \(gunzip/);
    await refused(['eval', '--checkpoint', FIXTURE, '--dataset', 'cifar10', '--data-dir', dir], /test_batch\.bin: the file is gzip-compressed/);
  });

  it('refuses a FIFO, a folder or a link to a FIFO where a data file belongs, before the device (a read of a FIFO waits forever)', async () => {
    const withFifo = folder('fifo', [...test.slice(1), ...train]);
    execFileSync('mkfifo', [join(withFifo, test[0])]);
    const says = (dir: string, name: string, kind: string, command: string) => new RegExp(
      `^webgpu-vae ${command}: error: --data-dir ${dir}: ${name} is ${kind}, not a regular file, so --dataset mnist cannot read its test split from it; put the ${name} file itself in its place$`);
    await refused(['train', '--limit', '256', '--test-limit', '64', '--epochs', '1', '--batch', '64', '--data-dir', withFifo, '--out', join(root, 'r')],
      says(withFifo, test[0], 'a FIFO \\(named pipe\\)', 'train'));
    await refused(['eval', '--checkpoint', FIXTURE, '--data-dir', withFifo, '--limit', '64'], says(withFifo, test[0], 'a FIFO \\(named pipe\\)', 'eval'));
    // The gzipped name is read when the plain one is absent: it is checked the same way.
    const gzFifo = folder('gz-fifo', test);
    execFileSync('mkfifo', [join(gzFifo, train[0])]);
    await refused(['train', '--data-dir', gzFifo, '--out', join(root, 'r')], /: train-images-idx3-ubyte\.gz is a FIFO \(named pipe\), not a regular file, so --dataset mnist cannot read its train split/);
    const withFolder = folder('a-folder', [...test.slice(1), ...train, `${test[0]}/x`]);
    await refused(['eval', '--checkpoint', FIXTURE, '--data-dir', withFolder], says(withFolder, test[0], 'a folder', 'eval'));
    const linked = folder('link-to-fifo', [...test.slice(1), ...train]);
    symlinkSync(join(withFifo, test[0]), join(linked, test[0]));
    await refused(['eval', '--checkpoint', FIXTURE, '--data-dir', linked], says(linked, test[0], 'a FIFO \\(named pipe\\)', 'eval'));
    // A regular file in its place passes.
    rmSync(join(withFifo, test[0]));
    writeFileSync(join(withFifo, test[0]), new Uint8Array(0));
    await passes(['eval', '--checkpoint', FIXTURE, '--data-dir', withFifo]);
  });
});
