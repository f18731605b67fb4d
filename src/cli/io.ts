// What every CLI command shares: getting the device (and saying which adapter), loading datasets,
// reading checkpoints with friendly errors, and writing output files.
import { PICTURE_LISTINGS, type PictureListing } from '../data/image-listing';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join } from 'node:path';
import { totalmem } from 'node:os';
import { readCheckpoint } from '../checkpoint';
import { describeAdapter, type AcquiredDevice } from '../gpu/device';
import { acquireNodeDevice, BOUNDS_CHECKS_VARIABLE } from '../gpu/node-device';
import type { Dataset } from '../data/mnist';
import { DATA_SOURCE_NAMES, dataSource, dataSourceNamed, loadDataSource, type DataSourceName, type LoadedData } from '../data/sources';
import { CheckpointError } from '../io/safetensors';
import { UsageError } from './args';
import { writeFileAtomic } from './files';
import { isOtherKindOfFile, notACheckpoint, notSafetensors, withDamageFix } from './checkpoint-file';
import { selfName } from './self-name';
import { checkDataFiles, type Split } from './data-files';
import { dataFilesFrom } from './paths';
import { recordedConfigDiffers } from './run-dir';

export const DATASETS = DATA_SOURCE_NAMES;
export type DatasetName = DataSourceName;

export interface DataFlags {
  dir?: string;
  limit?: number;
  testLimit?: number;
  seed?: number;
  /** Folder of pictures: side of the square crops and channels (1 grey, 3 RGB). */
  imageSize?: number;
  imageChannels?: 1 | 3;
  strict?: boolean;
  /** Folder of pictures: the listing rules its run started with (RunOptions.pictureListing). */
  pictureListing?: PictureListing;
  warn?: (line: string) => void;
  /** dSprites: leave the training pictures to be drawn on the GPU (LoadDataOptions.drawTrainOnGpu). */
  drawTrainOnGpu?: boolean;
  /** Read only the test files (LoadDataOptions.testOnly). */
  testOnly?: boolean;
  /** A folder: stop decoding, and how far it is (LoadDataOptions.signal, onDecodeProgress). */
  signal?: AbortSignal;
  onDecodeProgress?: (done: number, total: number) => void;
}

/**
 * The GPU memory a model may take, in bytes: --max-gpu-memory MiB when given; otherwise, on a
 * software adapter (whose buffers live in this machine's RAM), half of the RAM, so that a model
 * too big for the machine is refused at plan time instead of swapping or being killed; on a real
 * GPU, whose memory WebGPU does not report, no budget (the device's own out-of-memory error is
 * caught at plan time instead).
 */
export function memoryBudget(adapter: AcquiredDevice['adapter'], maxGpuMiB?: number): number | undefined {
  if (maxGpuMiB !== undefined) return maxGpuMiB * 2 ** 20;
  return adapter.isSoftware ? Math.floor(totalmem() / 2) : undefined;
}

/** The [channels, rows, cols] of one example of `name`, as the flags set it for a folder of pictures. */
export function exampleShape(name: DatasetName, flags: DataFlags): [number, number, number] {
  const shape = dataSource(name).shape;
  if (shape) return shape;
  return [flags.imageChannels ?? 3, flags.imageSize ?? 64, flags.imageSize ?? 64];
}

/**
 * Refuses a data set that reads files given no --data-dir, a generated one given a folder, and a
 * folder without the files of `splits` (the test split, which every command reads, unless told);
 * commands call it with their other flag checks, before any device starts.
 */
export function checkDataDir(name: DatasetName, dir: string | null | undefined, splits: readonly Split[] = ['test']): void {
  const source = dataSource(name);
  if (source.needsDir && !dir) {
    const from = dataFilesFrom(name);
    throw new UsageError(`--dataset ${name} reads files: give their folder with --data-dir DIR${from ? ` (${from})` : ''}`);
  }
  if (source.generated && dir) throw new UsageError(`--dataset ${name} is drawn in code and reads no files; leave out --data-dir ${dir}`);
  if (dir) checkDataFiles(name, dir, splits);
}

/**
 * The data set a checkpoint command reads and its folder: --dataset as given (its folder checked
 * by the caller with the other flags, before the checkpoint is read), else the one the checkpoint
 * says it was trained on (the CLI records it), else MNIST, whose folder is checked here. Without
 * --data-dir, a data set read from files is read from the folder the run's record beside the
 * checkpoint gives (`recorded`: see recordedDataDir, an absolute path since runs record it so)
 * when that folder is still there, and `note` says so; otherwise the folder is asked for.
 */
export function checkpointDataset(given: DatasetName | undefined, metadata: Record<string, string>, dataDir: string | undefined, recorded: string | null = null):
  { dataset: DatasetName; dataDir: string | undefined; note: string | null } {
  // Given, it is read as given, except that the folder of the data set the run read is found as
  // when the data set is not given (`--dataset folder` alone reads the run's own pictures).
  if (given !== undefined && (dataDir !== undefined || !dataSource(given).needsDir || given !== trainedOn(metadata))) return { dataset: given, dataDir, note: null };
  const dataset = given ?? trainedOn(metadata) ?? 'mnist';
  // A name this command line does not know (a file from elsewhere) is said, not read as MNIST silently.
  const unknown = given === undefined && metadata.dataset && !trainedOn(metadata)
    ? `the checkpoint says it was trained on '${metadata.dataset}', which is none of ${DATASETS.join(', ')}: reading mnist (--dataset NAME for another)` : null;
  if (dataSource(dataset).needsDir && !dataDir) {
    if (recorded && isAbsolute(recorded) && existsSync(recorded) && statSync(recorded).isDirectory()) {
      checkDataDir(dataset, recorded);
      return { dataset, dataDir: recorded, note: `reading --data-dir ${recorded}, the folder the run that wrote the checkpoint read (--data-dir DIR for another)` };
    }
    const gone = recorded && isAbsolute(recorded) ? ', which is no longer there' : '';
    const used = recorded ? ` (the run that wrote it read --data-dir ${recorded}${gone})` : '';
    const from = dataFilesFrom(dataset);
    throw new UsageError(`the checkpoint was trained on --dataset ${dataset}, which reads files: give their folder with --data-dir DIR${used || (from ? ` (${from})` : '')}`);
  }
  // A data set that ships with the package (MNIST, Fashion-MNIST) which the run read from files of
  // its own: those files, while they are there, not the packaged copy (--dataset NAME reads that).
  if (!dataDir && given === undefined && recorded && isAbsolute(recorded)) {
    if (existsSync(recorded) && statSync(recorded).isDirectory()) {
      checkDataDir(dataset, recorded);
      return { dataset, dataDir: recorded, note: `reading --data-dir ${recorded}, the folder the run that wrote the checkpoint read (--data-dir DIR for another, --dataset ${dataset} for the packaged copy)` };
    }
    throw new UsageError(`the run that wrote the checkpoint read --dataset ${dataset} from --data-dir ${recorded}, which is no longer there: give those files' folder with --data-dir DIR, or --dataset ${dataset} to read the packaged copy`);
  }
  checkDataDir(dataset, dataDir);
  return { dataset, dataDir, note: unknown };
}

/**
 * The --data-dir that the run which wrote `checkpoint` read, from the run's record (config.json)
 * beside it; null when there is no readable record, or it describes another model or data set
 * (a checkpoint copied elsewhere, a folder that mixes runs).
 */
export function recordedDataDir(checkpoint: string, config: object, metadata: Record<string, string>): string | null {
  let record: { format?: unknown; config?: Record<string, unknown>; run?: { dataset?: unknown; dataDir?: unknown } };
  try {
    record = JSON.parse(readFileSync(join(dirname(checkpoint), 'config.json'), 'utf8'));
  } catch {
    return null;
  }
  if (record?.format !== 'webgpu-vae-run' || typeof record.run?.dataDir !== 'string' || !record.run.dataDir) return null;
  if (record.run.dataset !== trainedOn(metadata) || !record.config || typeof record.config !== 'object') return null;
  return recordedConfigDiffers(record.config, config).length === 0 ? record.run.dataDir : null;
}

/** The data set a checkpoint's metadata says it was trained on (the CLI records it), or null. */
export function trainedOn(metadata: Record<string, string>): DatasetName | null {
  return dataSourceNamed(metadata.dataset);
}

/**
 * Refuses, from the checkpoint alone (before any device or data), a data set whose pictures have
 * another size than the model's, naming the one the checkpoint was trained on. A folder of
 * pictures is resized to the model's size, so it always fits.
 */
export function checkDatasetFits(source: string, config: { inputDim: number; imageShape: [number, number]; imageChannels: number; classes?: number }, metadata: Record<string, string>, dataset: DatasetName): void {
  const shape = dataSource(dataset).shape;
  const withDir = (d: DatasetName) => `--dataset ${d}${dataSource(d).needsDir ? ' --data-dir DIR' : ''}`;
  // A conditional model encodes and decodes each picture with its class: pictures without one
  // (a folder) give it nothing to go on.
  if ((config.classes ?? 0) > 0 && !dataSource(dataset).classes) {
    const recorded = trainedOn(metadata);
    const labelled = recorded && dataSource(recorded).classes ? `: use the data set it was trained on, ${withDir(recorded)}` : ', such as the data set it was trained on';
    throw new UsageError(`${source} is conditional on ${config.classes} classes, and --dataset ${dataset} has no labels to go with its pictures; read labelled pictures of its size${labelled}`);
  }
  if (!shape || shape[0] * shape[1] * shape[2] === config.inputDim) return;
  // A checkpoint that names no data set (older ones, the demo's) is offered the data sets of its
  // picture size; any checkpoint may also be read against a folder of pictures, which is resized
  // to the model's size (the demo's models of the user's own pictures need that).
  const recorded = trainedOn(metadata);
  const folder = 'a folder of pictures (resized to fit): --dataset folder --data-dir DIR';
  const sized = DATASETS.filter((d) => { const s = dataSource(d).shape; return !!s && s[0] * s[1] * s[2] === config.inputDim; });
  const fix = recorded && recorded !== dataset
    ? `use the data set it was trained on: ${withDir(recorded)}, or leave out --dataset`
    : sized.length > 0 && !sized.includes(dataset)
      ? `use a data set of that size (${sized.map(withDir).join('; ')}) or ${folder}`
      : `give ${folder}`;
  throw new UsageError(`${source} models ${config.imageChannels}x${config.imageShape.join('x')} pictures, but ${dataset} has ${shape.join('x')}; ${fix}`);
}

/**
 * A conditional checkpoint read against a labelled data set other than its own, whose classes are
 * other things (a model of digits given Fashion-MNIST's labels: label 7 is a sneaker there, a
 * seven to the model): the figures and pictures then pair each picture with a class of another
 * meaning. Null where the classes mean the same, or the checkpoint names no data set.
 */
export function otherClassesWarning(source: string, classes: number, metadata: Record<string, string>, dataset: DatasetName): string | null {
  const recorded = trainedOn(metadata);
  if (!classes || !recorded || recorded === dataset) return null;
  const theirs = dataSource(recorded).classes, ours = dataSource(dataset).classes;
  if (!theirs || !ours || theirs.join('\n') === ours.join('\n')) return null;
  const name = (names: readonly string[], k: number) => (names[k] === String(k) ? `class ${k}` : names[k]);
  return `${source} is conditional on the classes of ${recorded}, and ${dataset}'s labels name other things (its label 0 is ${name(ours, 0)}, ` +
    `to the model ${name(theirs, 0)}): each picture is given a class of another meaning; --dataset ${recorded} reads the model's own`;
}

/** Train and test splits of a data set by name (src/data/sources.ts). */
export async function loadData(name: DatasetName, flags: DataFlags): Promise<LoadedData> {
  checkDataDir(name, flags.dir, flags.testOnly ? ['test'] : ['train', 'test']);
  return loadDataSource(name, {
    dir: flags.dir, limit: flags.limit, testLimit: flags.testLimit, seed: flags.seed,
    imageSize: flags.imageSize, channels: flags.imageChannels, strict: flags.strict, pictureListing: flags.pictureListing, warn: flags.warn, drawTrainOnGpu: flags.drawTrainOnGpu, testOnly: flags.testOnly,
    signal: flags.signal, onDecodeProgress: flags.onDecodeProgress,
  });
}


export type DeviceProvider = (log: (line: string) => void) => Promise<AcquiredDevice>;

let provideDevice: DeviceProvider = (log) => acquireNodeDevice({ log });

/** Replaces how commands get their device (embedding; tests that stop a command once its checks pass); returns the previous provider. */
export function setDeviceProvider(provider: DeviceProvider): DeviceProvider {
  const previous = provideDevice;
  provideDevice = provider;
  return previous;
}

export async function getDevice(log: (line: string) => void): Promise<AcquiredDevice> {
  const acquired = await provideDevice(log);
  const unchecked = acquired.boundsChecks === false ? ` (shaders without WebGPU's bounds checks: ${BOUNDS_CHECKS_VARIABLE}=0)` : '';
  log(`adapter: ${describeAdapter(acquired.adapter)}${unchecked}`);
  return acquired;
}

/** A checkpoint file, read and checked (names, shapes, configuration) before any device starts. */
export async function readCheckpointFile(path: string): Promise<ReturnType<typeof readCheckpoint>> {
  let bytes: Uint8Array;
  try {
    // A picture, an archive or text is told from its first bytes, before a file of any size (a
    // data set's, a video's: up to 2 GiB) is read whole into memory.
    const head = await readHead(path);
    const kind = notSafetensors(head);
    if (kind && isOtherKindOfFile(kind)) throw new CheckpointError(notACheckpoint(path, head)!);
    const buf = await readFile(path);
    // A view, not a copy: a copy would hold the file twice in memory.
    bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new CheckpointError(code === 'ENOENT' ? `checkpoint ${path} does not exist; train one with \`${selfName()} train --out DIR\`` : `cannot read checkpoint ${path}: ${(e as Error).message}`);
  }
  try {
    return readCheckpoint(bytes, path);
  } catch (e) {
    // A picture, a JSON file, an empty or cut-off file: say what it is rather than which byte failed.
    if (!(e instanceof CheckpointError)) throw e;
    const instead = notACheckpoint(path, bytes);
    // Damage inside the file: the reader's words say where, and the fix is another file.
    throw new CheckpointError(instead ?? withDamageFix(e.message));
  }
}

/** The first 4 KiB of the file at `path` (all of it when shorter). */
async function readHead(path: string): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const head = new Uint8Array(4096);
    const { bytesRead } = await file.read(head, 0, head.length, 0);
    return head.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

/** Writes a whole output file atomically (see files.ts): an interrupted write leaves the old one. */
export async function writeOutput(path: string, bytes: Uint8Array): Promise<void> {
  writeFileAtomic(path, bytes);
}

export type Print = (stream: 'stdout' | 'stderr', text: string) => void;

const toProcess: Print = (stream, text) => process[stream].write(text);

/**
 * Prints one JSON object per line (--json) or a human line; `print` redirects both (embedding,
 * tests). Warnings (`warn`) always go to stderr, so that `eval ... > result.txt` keeps the
 * results alone and the warnings in sight.
 */
export function makeReporter(json: boolean, print: Print = toProcess) {
  return {
    json,
    event(obj: Record<string, unknown>) {
      if (json) print('stdout', JSON.stringify(obj) + '\n');
    },
    info(line: string) {
      print(json ? 'stderr' : 'stdout', line + '\n');
    },
    /** What the machine gives the command (the adapter, a software driver): never part of its results, so on stderr. */
    status(line: string) {
      print('stderr', line + '\n');
    },
    warn(line: string) {
      print('stderr', `warning: ${line}\n`);
    },
  };
}

/**
 * The rules a checkpoint's run listed its folder by, where it records them (`pictureListing`,
 * written since 0.16.0); undefined where it does not, or records rules this version lacks.
 */
function recordedListing(metadata: Record<string, string>, source: string, warn: (line: string) => void): PictureListing | undefined {
  const recorded = metadata.pictureListing;
  if (recorded === undefined) return undefined;
  const listing = PICTURE_LISTINGS.find((l) => String(l) === recorded);
  if (listing === undefined) warn(`${source} says its folder was listed by rules ${JSON.stringify(recorded)}, which this version does not know (a newer webgpu-vae wrote it?): listing it by this version's rules`);
  return listing;
}

/**
 * The test split a checkpoint is judged on: a folder's pictures cropped and resized to what it
 * was trained on, split (as a dSprites subset is drawn) with the training run's seed from the
 * checkpoint's metadata, so the examples are the held-out ones; refused when the pictures' shape
 * is not the model's. The split follows from the number of pictures, so a folder changed since
 * the run holds out others, some of which the run may have trained on: when the checkpoint
 * records its held-out pictures (`heldOutPictures`) and they differ, `warn` says so. Checkpoints
 * without the record are read as they always were. The folder is listed by the rules the run
 * listed it by: those the checkpoint records, or, for one that records none (written before
 * 0.16.0), the old rules where they give the held-out pictures it records.
 */
export async function heldOutTestSet(
  vae: { config: { inputDim: number; imageShape: [number, number]; imageChannels: number } },
  metadata: Record<string, string>, source: string, dataset: DatasetName, limit: number | undefined, dataDir: string | undefined,
  warn: (line: string) => void,
): Promise<Dataset> {
  const trainSeed = Number(metadata.seed ?? 0);
  const { config } = vae;
  // Only the test split's size is set, so a generated set (dSprites) draws the held-out examples
  // the run did (its training pictures are not even rendered); only the test files are read
  // (MNIST's t10k-*, CIFAR-10's test_batch.bin).
  const flags: DataFlags = {
    dir: dataDir, testLimit: limit, drawTrainOnGpu: true, testOnly: true,
    imageSize: config.imageShape[0], imageChannels: config.imageChannels as 1 | 3, seed: Number.isInteger(trainSeed) && trainSeed >= 0 ? trainSeed : 0,
  };
  // Warnings wait for the listing kept, so that none speaks of files the split did not read.
  const load = async (pictureListing?: PictureListing) => {
    const said: string[] = [];
    return { ...(await loadData(dataset, { ...flags, pictureListing, warn: (line) => said.push(line) })), said };
  };
  const recorded = recordedListing(metadata, source, warn);
  let kept = await load(recorded);
  // A folder run started before 0.15.0 listed its pictures by the old rules (PictureListing 1),
  // under which an unchanged folder holding a .jfif file or a picture under two names is another
  // set, split otherwise: where those rules hold out the very pictures the checkpoint records,
  // they are its test split (as its resume lists them), and nothing changed to warn of. Its
  // checkpoints, and 0.15.0's, record no rules, so the pictures decide.
  if (recorded === undefined && dataset === 'folder' && metadata.heldOutPictures && kept.testFingerprint && metadata.heldOutPictures !== kept.testFingerprint) {
    const older = await load(1);
    if (older.testFingerprint === metadata.heldOutPictures) kept = older;
  }
  for (const line of kept.said) warn(line);
  const { test, testFingerprint } = kept;
  const shape = [test.channels ?? 1, test.rows, test.cols];
  if (shape[0] * shape[1] * shape[2] !== config.inputDim) {
    throw new UsageError(`${source} models ${config.imageChannels}x${config.imageShape.join('x')} pictures, but ${dataset} has ${shape.join('x')}; use the data set it was trained on`);
  }
  if (metadata.heldOutPictures && testFingerprint && metadata.heldOutPictures !== testFingerprint) {
    warn(
      `the pictures in ${dataDir} changed since the run that wrote ${source}, or are another folder's (pictures added, removed, renamed or changed in size): its held-out test ` +
        'pictures are no longer the ones held out now, and some of these may be pictures it trained on, so the figures can look better than they are. ' +
        'For a fair figure, restore the folder as it was when the run trained, or train a new run on the folder as it is.',
    );
  }
  return test;
}
