// CIFAR-10 in its binary format, for users who have the files (nothing is downloaded): the train
// split is data_batch_1.bin .. data_batch_5.bin and the test split test_batch.bin, each a run of
// 3073-byte records: 1 label byte (0..9), then 1024 red, 1024 green and 1024 blue bytes of a 32x32
// picture, rows top to bottom. That is already our planar (NCHW) layout, so pixels are copied
// as they are. `cifar10FromBatches` works on bytes (browsers too); `loadCifar10Node` reads a folder.
import { DataError, isGzip } from './idx';
import type { Dataset } from './mnist';

export { CIFAR10_CLASSES } from './class-names';
export const CIFAR10_SIDE = 32;
const PIXELS = 3 * CIFAR10_SIDE * CIFAR10_SIDE;
/** Bytes of one record: the label and the planar RGB pixels. */
export const CIFAR10_RECORD = 1 + PIXELS;

export const CIFAR10_FILES = {
  train: ['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin'],
  test: ['test_batch.bin'],
} as const;
export type Cifar10Split = keyof typeof CIFAR10_FILES;

/** Where CIFAR-10's binary batches come from, for a message that asks for them. */
export const CIFAR10_DOWNLOAD = 'the "CIFAR-10 binary version", cifar-10-binary.tar.gz, from https://www.cs.toronto.edu/~kriz/cifar.html';
/** The folder the readers want, and where it comes from: the words every refusal that asks for it uses. */
export const CIFAR10_FOLDER = `the cifar-10-batches-bin folder of ${CIFAR10_DOWNLOAD}`;

const FIX = 'Use the files of the "CIFAR-10 binary version" (cifar-10-binary.tar.gz), not the Python or MATLAB ones, and extract them again if they may be damaged.';

/** Refuses a batch of `size` bytes that is not a whole, non-zero number of records (a truncated or damaged file). */
export function checkBatchSize(size: number, name: string): void {
  if (size === 0) throw new DataError(`${name} is empty (0 bytes); a CIFAR-10 batch holds records of ${CIFAR10_RECORD} bytes. ${FIX}`);
  if (size % CIFAR10_RECORD !== 0) {
    const whole = Math.floor(size / CIFAR10_RECORD);
    throw new DataError(
      `${name}: ${size} bytes is not a whole number of CIFAR-10 records of ${CIFAR10_RECORD} bytes ` +
        `(${whole} record${whole === 1 ? '' : 's'} and ${size - whole * CIFAR10_RECORD} bytes left over). ${FIX}`,
    );
  }
}

/**
 * Refuses a batch from its first bytes (`head`, at least 2 when the file has them) and its byte
 * count: a gzip-compressed file first, since its size says nothing about the records inside and
 * "not a whole number of records" would send the user to download the files again.
 */
export function checkBatchHead(head: Uint8Array, size: number, name: string): void {
  // A batch starts with a label byte (0..9), never gzip's 1f 8b.
  if (isGzip(head)) {
    throw new DataError(
      `${name}: the file is gzip-compressed, not a CIFAR-10 batch. Decompress it first (gunzip; \`gunzip -c\` takes a name without .gz), ` +
        'or extract cifar-10-binary.tar.gz again with `tar xzf`.',
    );
  }
  checkBatchSize(size, name);
}

/** Checks one batch file and returns its record count. */
function checkBatch(bytes: Uint8Array, name: string): number {
  checkBatchHead(bytes, bytes.length, name);
  const count = bytes.length / CIFAR10_RECORD;
  for (let i = 0; i < count; i++) {
    const label = bytes[i * CIFAR10_RECORD];
    if (label > 9) {
      throw new DataError(
        `${name}: record ${i} has label ${label}, but CIFAR-10 labels are 0..9. ` +
          `This looks like another format (CIFAR-100's records start with 2 label bytes). ${FIX}`,
      );
    }
  }
  return count;
}

/** One Dataset from the batch files of a split, in the order given. */
export function cifar10FromBatches(batches: { bytes: Uint8Array; name: string }[], dataset: string, limit?: number): Dataset & { labels: Uint8Array } {
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new DataError(`${dataset}: limit must be a positive integer, got ${limit}.`);
  }
  const counts = batches.map((b) => checkBatch(b.bytes, b.name));
  const total = counts.reduce((a, b) => a + b, 0);
  const count = Math.min(total, limit ?? total);
  const images = new Uint8Array(count * PIXELS);
  const labels = new Uint8Array(count);
  let n = 0;
  for (let b = 0; b < batches.length && n < count; b++) {
    const { bytes } = batches[b];
    for (let i = 0; i < counts[b] && n < count; i++, n++) {
      const at = i * CIFAR10_RECORD;
      labels[n] = bytes[at];
      images.set(bytes.subarray(at + 1, at + CIFAR10_RECORD), n * PIXELS);
    }
  }
  return { images, labels, count, channels: 3, rows: CIFAR10_SIDE, cols: CIFAR10_SIDE, name: dataset };
}

export interface Cifar10Options {
  /** Folder holding the .bin files, or the folder that holds cifar-10-batches-bin/. */
  dir: string;
  /** Keep only the first `limit` examples. */
  limit?: number;
}

/** Loads a CIFAR-10 split from disk in Node. */
export async function loadCifar10Node(split: Cifar10Split, opts: Cifar10Options): Promise<Dataset & { labels: Uint8Array }> {
  const files = CIFAR10_FILES[split];
  if (!files) throw new DataError(`unknown CIFAR-10 split '${split}'; use 'train' or 'test'.`);
  const { existsSync } = await import('node:fs');
  const { readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  if (!existsSync(opts.dir)) throw new DataError(`CIFAR-10 folder ${opts.dir} does not exist. Check the path.`);
  const nested = join(opts.dir, 'cifar-10-batches-bin');
  const dir = !existsSync(join(opts.dir, files[0])) && existsSync(nested) ? nested : opts.dir;
  const missing = files.filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    throw new DataError(
      `CIFAR-10 ${split} split: ${missing.join(', ')} not found in ${dir}. The ${split} split needs ${files.join(', ')}; ` +
        'extract cifar-10-binary.tar.gz and point at the cifar-10-batches-bin folder.',
    );
  }
  const batches = [];
  let have = 0;
  for (const f of files) {
    if (opts.limit !== undefined && have >= opts.limit) break; // enough records already
    const path = join(dir, f);
    try {
      const buf = await readFile(path);
      batches.push({ bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength), name: path });
      have += Math.floor(buf.byteLength / CIFAR10_RECORD);
    } catch (e) {
      throw new DataError(`${path}: cannot read the file (${(e as Error).message}).`);
    }
  }
  return cifar10FromBatches(batches, `cifar10-${split}`, opts.limit);
}
