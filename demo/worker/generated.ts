// Data sets the worker makes itself rather than downloads: dSprites (grey or colour), drawn from
// a seeded permutation of the whole set with the same split as the CLI's `--data dsprites`
// (src/data/index-permutation.ts: a reserved test share, so the test images do not depend on the
// training size), and the user's own pictures, decoded with the browser's decoders by the
// library's loadImageFiles, centre-cropped, resized and split by a seeded shuffle.
import { DataError } from '../../src/index';
import { DSPRITES_COUNT, dspritesDataset } from '../../src/data/dsprites';
import { DSPRITES_COLOR_COUNT, dspritesColorDataset } from '../../src/data/dsprites-color';
import { loadImageFiles } from '../../src/data/image-files';
import { splitGenerated } from '../../src/data/index-permutation';
import type { Dataset } from '../../src/data/mnist';
import type { DataSource } from '../shared/protocol';
import type { Split } from './data';

/**
 * Training examples the demo draws at most: a colour example is 12 KiB, so 20,000 of them take
 * 240 MiB in the worker and on the GPU. The CLI trains on any number, rendered on the fly.
 */
export const DSPRITES_DEMO_MAX = 20_000;
/** Test examples drawn: enough for a steady test loss and KL ranking, cheap to evaluate each epoch. */
export const DSPRITES_DEMO_TEST = 500;

/** `train` training and DSPRITES_DEMO_TEST test examples of dSprites (colour: with shape and background hues). */
export function dspritesSplits(colour: boolean, train: number, seed: number): { train: Split; test: Split } {
  const what = colour ? 'colour dSprites' : 'dSprites';
  if (!Number.isInteger(train) || train < 1 || train > DSPRITES_DEMO_MAX) {
    throw new DataError(`${what} in the demo draws 1 to ${DSPRITES_DEMO_MAX.toLocaleString('en')} training examples (got ${train}); set Training examples to at most ${DSPRITES_DEMO_MAX.toLocaleString('en')}.`);
  }
  const name = colour ? 'dsprites-color' : 'dsprites';
  const indices = splitGenerated(colour ? DSPRITES_COLOR_COUNT : DSPRITES_COUNT, train, DSPRITES_DEMO_TEST, seed);
  const make = colour ? dspritesColorDataset : dspritesDataset;
  return { train: make(indices.train, `${name}-train`), test: make(indices.test, `${name}-test`) };
}

/** A Split of unlabelled pictures: every label 0 (one class). */
const unlabelled = (ds: Dataset, name: string): Split => ({ ...ds, name, labels: ds.labels ?? new Uint8Array(ds.count) });

/** The user's pictures as train and test splits; an undecodable file is skipped, with a warning that names it. */
export async function imageFileSplits(source: Extract<DataSource, { kind: 'images' }>): Promise<{ train: Split; test: Split; warnings: string[] }> {
  if (source.files.length === 0) throw new DataError('no pictures chosen: drop a folder or PNG/JPEG files on the drop zone, or choose them with the file button.');
  const set = await loadImageFiles(source.files, {
    imageSize: source.imageSize, channels: source.channels, seed: source.seed,
    warn: () => undefined, // reported below, all together
  });
  const name = `your images (${set.files.length}${set.skipped.length ? `, ${set.skipped.length} skipped` : ''})`;
  const warnings = set.skipped.length
    ? [`Skipped ${set.skipped.length} of ${set.skipped.length + set.files.length} pictures that could not be decoded: ${set.skipped.map((s) => s.reason).join(' ')}`]
    : [];
  return { train: unlabelled(set.train, `${name}-train`), test: unlabelled(set.test, `${name}-test`), warnings };
}
