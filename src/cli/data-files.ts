// The files a --data-dir must hold for the data set and the splits a command reads, checked with
// the other flags: a folder that exists but lacks them is refused before a device is acquired or
// anything is loaded, naming the flag, the file and a near name the folder has instead; so is a
// file whose first bytes or size show it unusable (a gzip-compressed or truncated CIFAR-10 batch), and one that is not a
// regular file (a FIFO, whose read would wait forever for a writer; a folder; a device). The
// readers check the same files again, and their contents, when they load them.
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { CIFAR10_FILES, CIFAR10_FOLDER, checkBatchHead } from '../data/cifar10';
import { MNIST_FILES, nearlyNamed } from '../data/mnist-node';
import { UsageError } from './args';

export type Split = 'train' | 'test';

/** Each data set read from files: the files of a split, and whether a .gz of each is read too. */
/** `nested`: a subfolder the reader looks in when the folder itself lacks the files (the archive's own). */
/** `checkHead`: refuses a file whose first bytes (HEAD_BYTES) or byte count show it unusable. */
const DATA_FILES: Record<string, { files: (split: Split) => readonly string[]; gzip: boolean; what: string; nested?: string; checkHead?: (head: Uint8Array, size: number, path: string) => void }> = {
  mnist: { files: (split) => [MNIST_FILES[split].images, MNIST_FILES[split].labels], gzip: true, what: 'the four MNIST-format IDX files' },
  'fashion-mnist': { files: (split) => [MNIST_FILES[split].images, MNIST_FILES[split].labels], gzip: true, what: 'the four Fashion-MNIST IDX files' },
  cifar10: { files: (split) => CIFAR10_FILES[split], gzip: false, what: `CIFAR-10's binary batches (data_batch_1.bin ... data_batch_5.bin, test_batch.bin: ${CIFAR10_FOLDER})`, nested: 'cifar-10-batches-bin', checkHead: checkBatchHead },
};

/**
 * Refuses a `--data-dir` that lacks a file of `dataset` for `splits` (every command reads the
 * test split; train reads both). Data sets of picture folders or drawn in code have no such list.
 */
export function checkDataFiles(dataset: string, dir: string, splits: readonly Split[]): void {
  const set = DATA_FILES[dataset];
  if (!set) return;
  const first = set.files(splits[0] ?? 'test')[0];
  const inNested = set.nested && !existsSync(join(dir, first)) && existsSync(join(dir, set.nested));
  const given = inNested ? `${dir} (in its ${set.nested})` : dir;
  if (inNested) dir = join(dir, set.nested!);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return; // an unreadable folder is the path check's to refuse
  }
  for (const split of splits) {
    for (const name of set.files(split)) {
      const path = join(dir, name);
      if (existsSync(path)) {
        checkRegular(path, given, name, dataset, split);
        const size = sizeOf(path);
        if (size >= 0 && set.checkHead) set.checkHead(headOf(path), size, path);
        continue;
      }
      if (set.gzip && existsSync(`${path}.gz`)) {
        checkRegular(`${path}.gz`, given, `${name}.gz`, dataset, split);
        continue;
      }
      const near = nearlyNamed(entries, name, set.gzip);
      const alt = set.gzip ? ` (nor ${name}.gz)` : '';
      const fix = near ? `; it has ${near.found}: rename that to ${near.renameTo}` : `; give the folder that holds ${set.what}`;
      throw new UsageError(`--data-dir ${given} holds no ${name}${alt}, which --dataset ${dataset} reads for its ${split} split${fix}`);
    }
  }
}

/** What a path that exists but is not a regular file is, in words that follow "is". */
function notRegular(s: Stats): string {
  if (s.isDirectory()) return 'a folder';
  return s.isFIFO() ? 'a FIFO (named pipe)' : s.isSocket() ? 'a socket' : s.isCharacterDevice() || s.isBlockDevice() ? 'a device' : 'not a regular file';
}

/**
 * Refuses a data file that is not a regular file (links followed): reading a FIFO waits for a
 * writer that may never come, so the command would hang with no word after the adapter lines.
 */
function checkRegular(path: string, given: string, name: string, dataset: string, split: Split): void {
  let s: Stats;
  try {
    s = statSync(path);
  } catch {
    return; // vanished or unreadable: the reader names the failure
  }
  if (s.isFile()) return;
  throw new UsageError(`--data-dir ${given}: ${name} is ${notRegular(s)}, not a regular file, so --dataset ${dataset} cannot read its ${split} split from it; ` +
    `put the ${name} file itself in its place`);
}

/** A file's size in bytes; -1 for something that is not a plain file or cannot be read (the reader names the failure). */
function sizeOf(path: string): number {
  try {
    const stat = statSync(path);
    return stat.isFile() ? stat.size : -1;
  } catch {
    return -1;
  }
}

/** Bytes read from the start of a data file for checkHead: enough for a compression magic number. */
const HEAD_BYTES = 4;

/** The first HEAD_BYTES of a file (fewer when it is shorter); none when it cannot be read (the reader names the failure). */
function headOf(path: string): Uint8Array {
  const head = new Uint8Array(HEAD_BYTES);
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return new Uint8Array(0);
  }
  try {
    return head.subarray(0, readSync(fd, head, 0, HEAD_BYTES, 0));
  } catch {
    return new Uint8Array(0);
  } finally {
    closeSync(fd);
  }
}
