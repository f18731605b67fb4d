// MNIST as a Dataset: `mnistFromIdx` validates a pair of IDX image/label files (usable in
// browsers on fetched bytes). Reading them from disk in Node is mnist-node.ts, kept apart so that
// a browser bundle of the library never meets a Node module.
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

