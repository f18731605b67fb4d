// Data sets the worker makes itself rather than downloads: dSprites (grey or colour), chosen from
// a seeded permutation of the whole set with the same split as the CLI's `--dataset dsprites`
// (src/data/index-permutation.ts: a reserved test share, so the test images do not depend on the
// training size), and the user's own pictures, decoded with the browser's decoders by the
// library's loadImageFiles, centre-cropped, resized and split by a seeded shuffle. dSprites
// training pictures are not rendered here: the session hands their indices to
// VAE.generateSprites, which draws each step's rows on the GPU (8 bytes a picture, not 4 or 12 KiB).
import { ConfigError, DataError } from '../../src/index';
import { dspritesDataset, dspritesDrawnLater } from '../../src/data/dsprites';
import { dspritesColorDataset } from '../../src/data/dsprites-color';
import { loadImageFiles } from '../../src/data/image-files';
import type { ImageSet } from '../../src/data/image-set';
import { splitGenerated } from '../../src/data/index-permutation';
import { generatedSplitSizes } from '../../src/data/sources';
import type { Dataset } from '../../src/data/mnist';
import type { DataSource } from '../shared/protocol';
import type { Split } from './data';

/**
 * Training examples the demo takes at most (the settings form's own ceiling): the pictures are
 * drawn on the GPU, so the cost is the 8-byte index and the per-epoch shuffle, not the pictures.
 */
export const DSPRITES_DEMO_MAX = 1_000_000;
/** Test examples drawn: enough for a steady test loss and KL ranking, cheap to evaluate each epoch. */
export const DSPRITES_DEMO_TEST = 500;

/** Training pictures given as indices into a generated set, for the GPU to draw at each step. */
export interface DrawnOnGpu {
  indices: Uint32Array;
  colour: boolean;
}

/**
 * `train` training and DSPRITES_DEMO_TEST test examples of dSprites (colour: with shape and
 * background hues). The test pictures are rendered (they are few, and the views read them); the
 * training split carries no pixels, only its count and labels, and `drawn` its picture indices.
 */
export function dspritesSplits(colour: boolean, train: number, seed: number): { train: Split; test: Split; drawn: DrawnOnGpu } {
  const what = colour ? 'colour dSprites' : 'dSprites';
  const name = colour ? 'dsprites-color' : 'dsprites';
  const sizes = generatedSplitSizes(name)!;
  const most = Math.min(DSPRITES_DEMO_MAX, sizes.train);
  if (!Number.isInteger(train) || train < 1 || train > most) {
    throw new ConfigError(`${what} in the demo trains on 1 to ${most.toLocaleString('en')} examples (got ${train}); set Training examples to at most ${most.toLocaleString('en')}.`);
  }
  const indices = splitGenerated(sizes.count, train, DSPRITES_DEMO_TEST, seed);
  const make = colour ? dspritesColorDataset : dspritesDataset;
  return { train: dspritesDrawnLater(indices.train, colour, `${name}-train`), test: make(indices.test, `${name}-test`), drawn: { indices: indices.train, colour } };
}

/** A Split of unlabelled pictures: every label 0 (one class). */
const unlabelled = (ds: Dataset, name: string): Split => ({ ...ds, name, labels: ds.labels ?? new Uint8Array(ds.count) });

/** Reasons shown when a load of the user's pictures fails; the rest are counted. */
const REASONS_SHOWN = 3;

/** The user's pictures as train and test splits; an undecodable file is skipped, with a warning that names it. */
export async function imageFileSplits(source: Extract<DataSource, { kind: 'images' }>): Promise<{ train: Split; test: Split; warnings: string[] }> {
  if (source.files.length === 0) throw new DataError('no pictures chosen: drop a folder or PNG/JPEG files on the drop zone, or choose them with the file button.');
  const reasons: string[] = [];
  let set: ImageSet;
  try {
    set = await loadImageFiles(source.files, {
      imageSize: source.imageSize, channels: source.channels, seed: source.seed,
      warn: (message) => reasons.push(message.replace(/^skipping /, '')), // reported below, all together
    });
  } catch (e) {
    // The page shows no warnings, so a load that fails after skipping files (none decoded, too
    // few left) says in its own message, one line a file, why they were skipped.
    if (!(e instanceof DataError) || reasons.length === 0) throw e;
    const more = reasons.length > REASONS_SHOWN ? [`…and ${reasons.length - REASONS_SHOWN} more.`] : [];
    throw new DataError([e.message.replace(/ \(see the warnings\)\.$/, ':'), ...reasons.slice(0, REASONS_SHOWN), ...more].join('\n'));
  }
  const name = `your images (${set.files.length}${set.skipped.length ? `, ${set.skipped.length} skipped` : ''})`;
  const warnings = set.skipped.length
    ? [`Skipped ${set.skipped.length} of ${set.skipped.length + set.files.length} pictures that could not be decoded: ${set.skipped.map((s) => s.reason).join(' ')}`]
    : [];
  return { train: unlabelled(set.train, `${name}-train`), test: unlabelled(set.test, `${name}-test`), warnings };
}
