// Checks made once the data is loaded and before a model is built for it, so that a mismatch is
// refused before the current run is given up or a model is compiled for nothing: a checkpoint's
// (or saved run's) image shape and classes against the data, and each split's size against what
// the GPU can bind as one buffer. Their messages name the page's fields, not the CLI's flags.
import { CheckpointError, DataError, DeviceLimitError, type VaeConfig } from '../../src/index';
import { datasetChannels, exampleSize } from '../../src/data/mnist';
import { formatBytes } from '../../src/gpu/buffers';
import type { DataSource } from '../shared/protocol';
import type { LoadedData, Split } from './data';
import { classesOf } from './session-model';

type ModelShape = Pick<VaeConfig, 'inputDim' | 'imageShape' | 'imageChannels' | 'classes'>;

const shape = (channels: number, rows: number, cols: number) => `${channels > 1 ? `${channels}x` : ''}${rows}x${cols}`;

/** Where a model to train on loaded data comes from, and what the page holds meanwhile. */
export interface ModelOrigin {
  /** The model file's name, or 'the saved run'. */
  what: string;
  /** A file picked with Load model; otherwise the run kept in this browser. */
  file: boolean;
  kind?: DataSource['kind'];
  /**
   * A model is in training and stays when the file is refused (the check comes before it is
   * dropped); the data's fields are locked until Reset.
   */
  replacing?: boolean;
}

/**
 * Throws when a model of `config` cannot train on `data`. A model file is refused as a file
 * (CheckpointError): the data is fine, the file was not loaded, and the run in training, if any,
 * goes on; its steps to load the file work from there (Reset first when the data's fields are
 * locked by a model). A saved run that does not fit its data is a DataError. The user's own
 * pictures take any size: the fix is then the Image size and Channels fields, for a model of
 * square pictures, rather than another data set.
 */
export function checkModelFitsData(config: ModelShape, data: LoadedData, origin: ModelOrigin): void {
  const { what, kind } = origin;
  const { rows, cols } = data.train;
  // "your images (60) have", "MNIST has".
  const have = kind === 'images' ? 'have' : 'has';
  let problem: string | null = null, fix = 'choose the dataset it was trained on';
  if (config.inputDim !== exampleSize(data.train)) {
    const [side, across] = config.imageShape, channels = config.imageChannels ?? 1;
    const channelsWord = channels === 3 ? 'RGB' : 'Grey'; // the Channels field's option
    problem = `${what} was trained on ${shape(channels, side, across)} images but ${data.name} ${have} ${shape(datasetChannels(data.train), rows, cols)} images`;
    if (kind === 'images' && side === across) fix = `set Image size to ${side} and Channels to ${channelsWord}`;
    else if (side === across) fix += ` (or Your own images at Image size ${side}, ${channelsWord})`;
  } else if (config.classes > 0 && classesOf(data) > config.classes) {
    problem = `${what} is conditional on labels 0 to ${config.classes - 1} but ${data.name} ${have} labels up to ${classesOf(data) - 1}`;
  }
  if (problem === null) return;
  if (!origin.file) throw new DataError(`${problem}; ${fix}`);
  const kept = origin.replacing ? '; the current model goes on as it was' : '';
  const steps = origin.replacing ? `press Reset (Save model first to keep the current model), ${fix}, then Load model again` : `${fix}, then Load model again`;
  throw new CheckpointError(`${problem}, so it was not loaded${kept}. To use it: ${steps}.`);
}

/**
 * Throws a DeviceLimitError when a split's pictures are more bytes than one storage binding may
 * hold (`maxBinding`: the device's maxStorageBufferBindingSize). Pictures drawn on the GPU
 * (dSprites' training split) hold no bytes. The test split has a fixed size, so only a smaller
 * picture helps it; the training split also fits with fewer Training examples.
 */
export function checkDataFitsDevice(data: LoadedData, maxBinding: number, kind: DataSource['kind']): void {
  const smaller = kind === 'images' ? 'choose a smaller Image size (or Grey channels)' : 'use smaller pictures';
  const describe = (split: Split, which: string) =>
    `the ${split.count.toLocaleString('en')} ${which} pictures of ${shape(datasetChannels(split), split.rows, split.cols)} take ${formatBytes(split.images.length)}, ` +
    `more than the ${formatBytes(maxBinding)} this GPU can hold in one buffer`;
  if (data.train.images.length > maxBinding) {
    const most = Math.floor(maxBinding / exampleSize(data.train));
    throw new DeviceLimitError(`${describe(data.train, 'training')}; set Training examples to at most ${most.toLocaleString('en')}${kind === 'images' ? `, or ${smaller}` : ''}.`);
  }
  if (data.test.images.length > maxBinding) {
    throw new DeviceLimitError(`${describe(data.test, 'test')}; fewer Training examples do not change the test pictures: ${smaller}.`);
  }
}
