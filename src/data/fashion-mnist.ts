// Fashion-MNIST: Zalando's 28x28 grey clothing pictures in MNIST's IDX format, installed by
// Debian's `dataset-fashion-mnist` package (scripts/setup-debian.sh) as gzipped IDX files in
// /usr/share/datasets/fashion-mnist. Loading reuses the MNIST reader; only the place and the
// names differ. Node only: the demo takes the class names from class-names.ts, and the data
// sources import this file only when a split is loaded in Node.
import { DataError } from './idx';
import { type Dataset, type MnistSplit } from './mnist';
import { loadMnistNode } from './mnist-node';

/** Where Debian's dataset-fashion-mnist package puts the four IDX files (found with dpkg -L). */
export const FASHION_MNIST_DEBIAN_DIR = '/usr/share/datasets/fashion-mnist';

export { FASHION_MNIST_CLASSES } from './class-names';

export interface FashionMnistOptions {
  /** Keep only the first `limit` examples. */
  limit?: number;
  /** Folder holding the four IDX files (plain or .gz); defaults to the Debian package's folder. */
  dir?: string;
}

/** True when the Debian package's files are present. */
export async function fashionMnistInstalled(dir = FASHION_MNIST_DEBIAN_DIR): Promise<boolean> {
  const { existsSync } = await import('node:fs');
  const { join } = await import('node:path');
  return ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'].every(
    (f) => existsSync(join(dir, f)) || existsSync(join(dir, `${f}.gz`)),
  );
}

/** Loads a Fashion-MNIST split in Node. */
export async function loadFashionMnistNode(split: MnistSplit, opts: FashionMnistOptions = {}): Promise<Dataset & { labels: Uint8Array }> {
  const dir = opts.dir ?? FASHION_MNIST_DEBIAN_DIR;
  if (!opts.dir && !(await fashionMnistInstalled(dir))) {
    throw new DataError(
      `Fashion-MNIST not found in ${dir}: install it with \`apt-get install dataset-fashion-mnist\` ` +
        '(or run scripts/setup-debian.sh), or pass a folder holding its four IDX files.',
    );
  }
  const ds = await loadMnistNode(split, { dir, limit: opts.limit });
  return { ...ds, name: `fashion-mnist-${split}` };
}
