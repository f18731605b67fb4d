// What a folder of pictures (Node) and a list of dropped files (browser) share once every picture
// is decoded: the options and their checks, and the seeded train/test split into two Datasets.
//
// The split: the examples, in the order of their sorted names, are permuted by Philox(seed,
// SPLIT_STREAM).permutation(count); the first round(count * testFraction) of that permutation
// form the test set (at least one when testFraction > 0) and the rest the training set, each kept
// in permutation order. The same names, seed and fraction give the same split on every platform.
import { Philox } from '../rng';
import { DataError } from './idx';
import type { ImageChannels } from './image-pixels';
import type { Dataset } from './mnist';

/** Largest picture decoded, in pixels (64 megapixels); larger ones are refused from their header. */
export const MAX_IMAGE_PIXELS = 64 * 1024 * 1024;

/** File name endings a folder is searched for (compared case-insensitively): PNG and JPEG under
 *  every name they are commonly saved with. Windows saves many downloaded JPEGs as .jfif, and
 *  .jpe is JPEG's registered ending; passed over, such files were lost from a folder without a
 *  word (not even counted as another format). The decoder goes by the bytes, not the name. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.jpe', '.jfif', '.jfi', '.pjpeg', '.pjp', '.apng'] as const;

/** Endings of picture formats that are not read (compared case-insensitively): such files are
 *  counted, so that a folder of them is refused with the reason, and one among PNGs and JPEGs is
 *  not passed over silently. Camera raw formats are included; documents and other files are not. */
export const OTHER_PICTURE_EXTENSIONS = [
  '.tif', '.tiff', '.webp', '.bmp', '.gif', '.heic', '.heif', '.avif', '.jxl', '.jp2', '.ico', '.psd',
  // Netpbm (classic vision data sets: the AT&T/ORL faces are .pgm), Targa, SVG, HDR and other
  // JPEG 2000 and XR endings: passed over as well, they were not even counted.
  '.pbm', '.pgm', '.ppm', '.pnm', '.pam', '.pfm', '.tga', '.svg', '.svgz', '.exr', '.hdr', '.jxr', '.wdp', '.hdp', '.j2k', '.jpx', '.jpf', '.pcx', '.dds', '.qoi',
  '.dng', '.nef', '.nrw', '.cr2', '.cr3', '.crw', '.arw', '.srf', '.sr2', '.orf', '.rw2', '.raf', '.pef', '.srw', '.raw', '.3fr', '.erf', '.kdc', '.mrw', '.x3f',
] as const;

/** Whether a file name ends in a read picture format (IMAGE_EXTENSIONS, any letter case). Which
 *  files a folder offers (hidden ones aside) is image-files.ts's isPictureName. */
export const hasPictureExtension = (name: string): boolean => IMAGE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));

/** Whether a file name ends in a picture format that is not read (OTHER_PICTURE_EXTENSIONS). */
export const hasOtherPictureExtension = (name: string): boolean => OTHER_PICTURE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));

/** Philox stream of the train/test split, apart from the streams training draws from. */
export const SPLIT_STREAM = 0x53504c54; // 'SPLT'

export interface ImageSetOptions {
  /** Side of the square every picture is cropped and resized to. */
  imageSize: number;
  /** 1: grey, 3: RGB. */
  channels: ImageChannels;
  /** Share of the pictures held out for testing, in [0, 1). Default 0.1. */
  testFraction?: number;
  /** Seed of the train/test shuffle. Default 0. */
  seed?: number;
  /** Refuse the whole set when any file cannot be decoded, instead of skipping it with a warning. */
  strict?: boolean;
  /** Receives each warning (a skipped file, an unusable cache); default console.warn. */
  warn?: (message: string) => void;
}

export interface ImageSet {
  train: Dataset;
  test: Dataset;
  /** Names of the decoded pictures, in the order of the stacked examples before the split. */
  files: string[];
  /** Files that could not be decoded, with the reason (empty when strict). */
  skipped: { file: string; reason: string }[];
  /** Names of the held-out pictures, in the order of the test set. */
  testFiles: string[];
}

export type ResolvedImageSetOptions = Required<Omit<ImageSetOptions, 'warn'>> & { warn: (message: string) => void };

/** Checks the options and fills in the defaults; every refusal names the option and its range. */
export function resolveImageSetOptions(opts: ImageSetOptions): ResolvedImageSetOptions {
  const { imageSize, channels, testFraction = DEFAULT_TEST_FRACTION, seed = 0, strict = false } = opts;
  if (!Number.isInteger(imageSize) || imageSize < 1 || imageSize > 4096) {
    throw new DataError(`imageSize must be an integer from 1 to 4096 (e.g. 64), got ${imageSize}.`);
  }
  if (channels !== 1 && channels !== 3) {
    throw new DataError(`channels must be 1 (grey) or 3 (RGB), got ${channels}.`);
  }
  if (typeof testFraction !== 'number' || !(testFraction >= 0 && testFraction < 1)) {
    throw new DataError(`testFraction must be a number in [0, 1) (e.g. 0.1), got ${testFraction}.`);
  }
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new DataError(`seed must be a non-negative integer, got ${seed}.`);
  }
  const warn = opts.warn ?? ((message: string) => console.warn(message));
  return { imageSize, channels, testFraction, seed, strict: Boolean(strict), warn };
}

/** The share of a folder's pictures held out for testing when none is given (the CLI has no flag for it). */
export const DEFAULT_TEST_FRACTION = 0.1;

/** How many of `count` examples go to the test set. */
export function testCount(count: number, testFraction: number): number {
  if (testFraction === 0) return 0;
  return Math.min(count - 1, Math.max(1, Math.round(count * testFraction)));
}

function gather(stack: Uint8Array, order: Uint32Array, size: number): Uint8Array {
  const out = new Uint8Array(order.length * size);
  order.forEach((src, dst) => out.set(stack.subarray(src * size, (src + 1) * size), dst * size));
  return out;
}

/**
 * The too-few-pictures refusal below (splitImageSet) restated for a reader who sets no
 * testFraction (the command line, the page): the split in plain words, and no API-only fix.
 */
export const SPLIT_IN_PLAIN_WORDS: [RegExp, (whole: string, fraction: string) => string][] = [
  [/ \(or, in the API, [^()]*\)/g, () => ''],
  [/a train\/test split with testFraction ([\d.]+)/g, (_, f) => `holding ${f === '0.1' ? 'a tenth' : `${Number(f) * 100}%`} of them out for testing`],
];

/**
 * Splits `count` stacked examples (channels * imageSize^2 bytes each, planar) into train and
 * test Datasets, and says which stacked examples the test set holds (`testIndices`, in its
 * order). `source` names the folder or file list in errors and dataset names.
 */
export function splitImageSet(
  stack: Uint8Array,
  count: number,
  source: string,
  opts: Pick<ResolvedImageSetOptions, 'imageSize' | 'channels' | 'testFraction' | 'seed'>,
  where?: string,
): { train: Dataset; test: Dataset; testIndices: Uint32Array } {
  const { imageSize, channels, testFraction, seed } = opts;
  const size = channels * imageSize * imageSize;
  // In words: `folder:NAME` names the data sets, "the folder NAME" the refusals, or `where` (a
  // folder's path as given, which the user can find) when the caller has one.
  const subject = where ?? (source.startsWith('folder:') ? `the folder ${source.slice('folder:'.length)}` : source);
  if (stack.length !== count * size) {
    throw new DataError(`${subject}: ${stack.length} bytes of pixels for ${count} pictures of ${size} bytes each.`);
  }
  const needed = testFraction > 0 ? 2 : 1;
  if (count < needed) {
    throw new DataError(
      `${subject}: ${count} usable picture${count === 1 ? '' : 's'}, but a train/test split with testFraction ` +
        `${testFraction} needs at least ${needed}: one to train on and one to test. Add pictures (or, in the API, set testFraction 0 to train on all of them).`,
    );
  }
  const order = new Philox(seed, SPLIT_STREAM).permutation(count);
  const nTest = testCount(count, testFraction);
  const shape = { channels, rows: imageSize, cols: imageSize };
  const part = (idx: Uint32Array, split: string): Dataset => ({
    images: gather(stack, idx, size),
    count: idx.length,
    ...shape,
    name: `${source}-${split}`,
  });
  const testIndices = order.subarray(0, nTest);
  return { test: part(testIndices, 'test'), train: part(order.subarray(nTest), 'train'), testIndices };
}
