// The data phase of `webgpu-vae train`: the run's pictures loaded (dSprites training pictures as
// indices drawn on the GPU at each step), checked against the model's picture shape and, for a
// resumed run, against what it trained on; and the batch and epoch length they give.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Dataset } from '../data/mnist';
import { describePictureChanges, parsePictureList, PICTURE_LIST_FILE } from '../data/picture-list';
import type { VaeConfig } from '../model/config';
import type { TrainingState } from '../training-state';
import { UsageError } from './args';
import { selfName, shellQuote } from './self-name';
import { trainAndTest } from './train-report';
import { loadData, type DataFlags } from './io';
import { dataFlags, fingerprint, type RunOptions } from './train-options';

export interface RunData {
  train: Dataset;
  test: Dataset;
  /** dSprites training picture indices, when the pictures are drawn on the GPU rather than stored. */
  drawn: Uint32Array | null;
  /** Channels of the pictures (1 or 3). */
  channels: number;
  /** The training set's digest, kept in the run's record so that a resume can tell changed data. */
  trainPrint: string;
  /** A folder's held-out pictures' digest (see LoadedData.testFingerprint). */
  testFingerprint?: string;
  /** A folder: where its decoded pictures are cached, or null (LoadedData.pictureCache). */
  pictureCache?: string | null;
  /** A folder: name -> digest of each picture (LoadedData.pictureDigests), for the run's picture list. */
  pictureDigests?: () => Map<string, string>;
  /** The step's batch: at most the training set. */
  batch: number;
  stepsPerEpoch: number;
}

/** The classes below `classes` that no training picture is labelled with (none where the labels are not on the CPU). */
export function classesWithoutPictures(labels: ArrayLike<number> | undefined, classes: number): number[] {
  if (!labels || labels.length === 0) return [];
  const seen = new Uint8Array(classes);
  for (let i = 0; i < labels.length; i++) if (labels[i] < classes) seen[labels[i]] = 1;
  return Array.from({ length: classes }, (_, k) => k).filter((k) => !seen[k]);
}

/**
 * The pictures changed since the run started, by name, from the picture list it wrote
 * (PICTURE_LIST_FILE); null for a run without one (started before the list was kept) or when the
 * names and digests agree (the folder's order or split changed instead).
 */
function changedPictures(outDir: string, digests: () => Map<string, string>): string | null {
  let before: Map<string, string> | null;
  try {
    before = parsePictureList(readFileSync(join(outDir, PICTURE_LIST_FILE), 'utf8'));
  } catch {
    return null;
  }
  return before ? describePictureChanges(before, digests()) : null;
}

/**
 * Loads the run's data and checks it; sets a cosine decay's span (`run.lrDecaySteps`) when the
 * run starts one. `resumed`, `outDir`: the run being resumed, whose data must be the same.
 * `decoding`: a folder's decoding stops when the signal is aborted, and reports how far it is.
 */
export async function loadRunData(run: RunOptions, config: VaeConfig, resumed: TrainingState | null, outDir: string, say: { info: (line: string) => void; warn: (line: string) => void },
  decoding: Pick<DataFlags, 'signal' | 'onDecodeProgress'> = {}): Promise<RunData> {
  // dSprites training pictures are drawn on the GPU at each step (not rendered and stored),
  // except for dequantized training, which needs stored grey levels.
  const { train, test, indices, testFingerprint, allGrey, pictureCache, pictureDigests } = await loadData(run.dataset, { ...dataFlags(run), drawTrainOnGpu: !config.dequantize, warn: say.warn, ...decoding }).catch((e: Error) => {
    // A resumed run reads its data from where it started; the pictures may have moved since.
    if (resumed && run.dataDir && /does not exist/.test(e.message)) e.message += ` If the run's data moved, give its new place with --data-dir.`;
    throw e;
  });
  const drawn = indices && train.images.length === 0 ? indices.train : null;
  // A new run's colour model of grey pictures would learn three equal channels, and can drift to colour.
  if (allGrey && !resumed) say.warn(`the pictures in ${run.dataDir} are all greyscale, and the model is built for 3 colour channels: --image-channels 1 trains a grey model`);
  const channels = train.channels ?? 1;
  if (channels * train.rows * train.cols !== config.inputDim) {
    throw new UsageError(`${run.dataset} pictures are ${channels}x${train.rows}x${train.cols}, the model expects ${config.imageChannels}x${config.imageShape.join('x')}`);
  }
  const trainPrint = fingerprint(drawn ? new Uint8Array(drawn.buffer, drawn.byteOffset, drawn.byteLength) : train.images, config.classes ? train.labels : undefined);
  if (resumed && (resumed.run.trainData !== trainPrint || resumed.run.testExamples !== test.count)) {
    const was = trainAndTest(Number(resumed.run.trainExamples), Number(resumed.run.testExamples), run.dataDir ? 'picture' : 'example');
    const now = `${train.count} and ${test.count} now`;
    const sameCounts = resumed.run.trainExamples === train.count && resumed.run.testExamples === test.count;
    const changes = pictureDigests ? changedPictures(outDir, pictureDigests) : null;
    throw new UsageError(run.dataDir
      ? `the data in ${run.dataDir} differs from what the run in ${outDir} trained on (${was}, ${now}): ` +
        `${changes ?? (sameCounts ? 'as many pictures, but some were replaced, renamed or changed' : 'pictures were added, removed or changed')}. ` +
        `Restore them, or give the folder that holds the original ones with --data-dir; to train this model on the folder as it is now, ` +
        `start a new run from it: ${selfName()} train --init-from ${shellQuote(outDir)} --dataset folder --data-dir ${shellQuote(run.dataDir)} --out NEW_RUN`
      : `the data differs from what the run in ${outDir} trained on (${was} of ${run.dataset}, ${now}); resume with the same --limit and --test-limit`);
  }
  const unseen = config.classes > 0 && !resumed ? classesWithoutPictures(train.labels, config.classes) : [];
  if (unseen.length > 0) {
    say.warn(`the training labels hold ${config.classes - unseen.length} of the model's ${config.classes} classes: none is ${unseen.length === 1 ? 'class' : 'of classes'} ${unseen.join(', ')}, ` +
      'so the model learns nothing of them, and drawing one (sample --label) decodes a class it never saw');
  }
  if (train.count < run.batch) say.info(`note: the training set has ${train.count} example${train.count === 1 ? '' : 's'}, fewer than --batch ${run.batch}; each step uses all of them`);

  // A step uses at most the training set; a cosine decay spans the run as it starts, and a resumed
  // run keeps the span it started with.
  const batch = Math.min(run.batch, train.count), stepsPerEpoch = Math.ceil(train.count / batch);
  if (resumed && resumed.progress.stepsPerEpoch !== stepsPerEpoch) throw new UsageError(`the run in ${outDir} has ${resumed.progress.stepsPerEpoch} steps per epoch, this data gives ${stepsPerEpoch}; resume with the same data`);
  if (run.lrDecay === 'cosine' && !run.lrDecaySteps) run.lrDecaySteps = run.epochs * stepsPerEpoch;
  return { train, test, drawn, channels, trainPrint, testFingerprint, pictureCache, pictureDigests, batch, stepsPerEpoch };
}
