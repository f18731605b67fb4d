// The first phase of `webgpu-vae train`: the flags read against the defaults (a new run, from
// scratch or from a trained model's parameters) or against the run being resumed, and everything
// that can be refused refused, before the device is acquired, data is loaded or kernels compile.
// A new run's folder is claimed here; nothing else is written.
import { existsSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { ConfigError } from '../errors';
import { DEFAULT_CONFIG, resolveConfig, type VaeConfig } from '../model/config';
import { checkTcBatch } from '../model/vae-options';
import type { TrainingState } from '../training-state';
import { stringFlag, UsageError } from './args';
import { initFromNote, initialParamsFor, readInitialModel, withArchitectureOf } from './init-from';
import { objectiveFlagGiven } from './objective-flags';
import { exampleShape } from './io';
import { toFlags } from './messages';
import { isInside } from './output-file';
import { checkModelMatchesState, checkRecordMatchesState, claimNewRunDir, machineFlagsOf, modelBehindState, readRunState } from './run-dir';
import { checkRunDirFree } from './run-lock';
import { DATA_SOURCES } from '../data/sources';
import type { DatasetName } from './io';
import { checkDataFlags, checkNormGroups, checkResumeFlags, configFields, dataFlags, DEFAULT_RUN, runFields, type Flags, type RunOptions } from './train-options';

export interface RunSetup {
  config: VaeConfig;
  run: RunOptions;
  outDir: string;
  /** The training state of a resumed run; null for a new one. */
  resumed: TrainingState | null;
  /** A resumed run's learning rate and precision as saved (null for a new run), to report a change. */
  lrWas: number | null;
  precisionWas: RunOptions['precision'] | null;
  /** Parameters of a new run started from a trained model (`--init-from`). */
  initialParams: Float32Array | null;
  /** What a run started from a model takes differently from it without being asked (initFromNote). */
  initNote?: string | null;
  /**
   * A finished run resumed with nothing left to train, whose model.safetensors is behind its
   * training state (how, as modelBehindState says): the attempt only rewrites the model and the pictures.
   */
  modelBehind?: string;
}

/**
 * Reads a run's model and options from the flags: a resumed run (`resumeDir`) from its own folder,
 * which the flags may repeat but not change; a new one from the defaults, or from a checkpoint's
 * architecture with `--init-from`. `restarting`: the run continues after a lost device or a rollback.
 */
export async function setUpRun(f: Flags, resumeDir: string | undefined, restarting: boolean): Promise<RunSetup> {
  return resumeDir ? setUpResumedRun(f, resumeDir, restarting) : setUpNewRun(f);
}

function setUpResumedRun(f: Flags, resumeDir: string, restarting: boolean): RunSetup {
  if (f.force) throw new UsageError('--force starts a run over and --resume continues one; give one of them');
  if (f['init-from'] !== undefined) throw new UsageError(`--init-from starts a new run from a model's parameters and --resume continues the run in ${resumeDir} from its own; give one of them`);
  const out = stringFlag('out', f.out);
  if (out !== undefined && resolvePath(out) !== resolvePath(resumeDir)) throw new UsageError(`--out ${out} and --resume ${resumeDir} differ; a resumed run stays in its folder, so leave out --out`);
  checkRunDirFree(resumeDir);
  const resumed = readRunState(resumeDir);
  // A run started before 0.15.0 has no pictureListing: its folder is listed by the rules it started with.
  const savedRun = { ...DEFAULT_RUN, pictureListing: 1 as const, ...(resumed.run as Partial<RunOptions>), optimizer: resumed.training.optimizer, lr: resumed.training.lr, seed: resumed.training.seed };
  const config = resumed.config;
  checkRecordMatchesState(resumeDir, config, resumed);
  checkModelMatchesState(resumeDir, config);
  const run = runFields(f, savedRun, resumeDir);
  // The folder the run recorded is checked as a typed --data-dir is, before any device starts.
  if (f['data-dir'] === undefined && run.dataDir && !existsSync(run.dataDir)) {
    throw new UsageError(`the run in ${resumeDir} read --data-dir ${run.dataDir}, which does not exist now; if its data moved, give its new place with --data-dir`);
  }
  checkDataFlags(f, run);
  checkResumeFlags(f, resumeDir, { ...config, ...savedRun }, { ...config, ...configFields(f, config, run.dataset, resumeDir), ...run });
  const done = resumed.progress.epochsDone;
  // A restart after the last epoch's checkpoint (a device lost while writing the pictures) only
  // writes them; so does a finished run whose last model write was cut off, after rewriting it.
  const modelBehind = run.epochs <= done ? modelBehindState(resumeDir, resumed.progress.step) : null;
  if (run.epochs <= done && !restarting && !modelBehind) {
    throw new UsageError(`the run in ${resumeDir} has already trained ${done} epoch${done === 1 ? '' : 's'}` +
      `${f.epochs === undefined ? ', all it was asked for' : ''}; pass --epochs N with N > ${done} to train it longer`);
  }
  checkCosineSpan(run, resumeDir, resumed.progress.stepsPerEpoch);
  checkLrAfterDecay(run, savedRun.lr, resumeDir, resumed.progress.step);
  return { config, run, outDir: resumeDir, resumed, lrWas: savedRun.lr, precisionWas: savedRun.precision, initialParams: null, ...(modelBehind ? { modelBehind } : {}) };
}

/**
 * A cosine decay spans the steps its run first asked for, and a resumed run keeps that span (its
 * rate must go on from where it was). Epochs past it would train at --lr-min: refused when that
 * is 0, as they would not train at all.
 */
function checkCosineSpan(run: RunOptions, dir: string, stepsPerEpoch: number): void {
  if (run.lrDecay !== 'cosine' || !run.lrDecaySteps || run.lrMin > 0 || run.epochs * stepsPerEpoch <= run.lrDecaySteps) return;
  const lastEpoch = Math.floor(run.lrDecaySteps / stepsPerEpoch);
  throw new UsageError(`the run in ${dir} decays its learning rate along a cosine to --lr-min 0 at step ${run.lrDecaySteps} (epoch ${lastEpoch}), ` +
    `so --epochs ${run.epochs} would train the epochs after ${lastEpoch} at rate 0, which changes nothing. To train it longer, start a new schedule ` +
    `from its weights: train --init-from ${join(dir, 'model.safetensors')} --lr-decay cosine --epochs N with the same data flags and another --out`);
}

/**
 * Past the end of its cosine decay a run trains at --lr-min whatever its --lr: a new --lr there
 * would be announced and recorded and change nothing, so it is refused.
 */
function checkLrAfterDecay(run: RunOptions, lrWas: number, dir: string, step: number): void {
  if (run.lrDecay !== 'cosine' || !run.lrDecaySteps || run.lr === lrWas || step < run.lrDecaySteps) return;
  throw new UsageError(`--lr ${run.lr} would change nothing: the run in ${dir} followed its cosine decay to --lr-min ${run.lrMin} by step ${run.lrDecaySteps}, ` +
    `and the steps after it train at --lr-min whatever --lr is. Resume without --lr, or start a new schedule from its weights: ` +
    `train --init-from ${join(dir, 'model.safetensors')} --lr ${run.lr} --lr-decay cosine --epochs N with the same data flags and another --out`);
}

/**
 * A conditional model taken from --init-from needs a label for every picture, below its class
 * count: said here, before the device starts and the pictures are read, rather than by the data.
 */
function checkInheritedClasses(classes: number, dataset: DatasetName, from: string, pictures: readonly [number, number, number]): void {
  if (!classes) return;
  const labels = DATA_SOURCES[dataset].classes;
  if (!labels) {
    // Only data sets the model's pictures fit: another size would be refused next.
    const fitting = Object.values(DATA_SOURCES).filter((s) => s.classes && s.classes.length <= classes && s.shape?.join('x') === pictures.join('x')).map((s) => `--dataset ${s.name}`);
    throw new UsageError(`--init-from ${from} is a model conditional on ${classes} classes, and --dataset ${dataset} has no labels to give it; ` +
      `start from an unconditional model, or train it on labelled ${pictures.join('x')} pictures of at most ${classes} classes${fitting.length ? ` (${fitting.join(', ')})` : ''}`);
  }
  if (labels.length > classes) {
    throw new UsageError(`--init-from ${from} is a model conditional on ${classes} classes, and --dataset ${dataset} has ${labels.length}; ` +
      `start from a model conditional on ${labels.length} classes, or from an unconditional one`);
  }
}

async function setUpNewRun(f: Flags): Promise<RunSetup> {
  const run = runFields(f, DEFAULT_RUN);
  checkDataFlags(f, run);
  // A run started from a trained model takes its architecture unless a flag changes it, and on a
  // folder of pictures its picture size and channels unless --image-size / --image-channels do.
  const initial = run.initFrom ? await readInitialModel(run.initFrom) : null;
  if (initial && run.dataset === 'folder') {
    const [rows0, cols0] = initial.config.imageShape;
    if (f['image-size'] === undefined && rows0 === cols0) run.imageSize = rows0;
    if (f['image-channels'] === undefined) run.imageChannels = initial.config.imageChannels === 1 ? 1 : 3;
  }
  // The data decides the picture: channels, rows and columns (a folder's from --image-size and --image-channels).
  const [channels, rows, cols] = exampleShape(run.dataset, dataFlags(run));
  // A --likelihood other than the checkpoint's brings its own default scale, not the checkpoint's
  // (a Bernoulli has none), so that what differs is said by the parameters it has or lacks; the
  // checkpoint's own likelihood, repeated, keeps its scale.
  const newLikelihood = initial && f.likelihood !== undefined && f.likelihood !== initial.config.likelihood;
  const inherited = initial && newLikelihood && f.sigma === undefined ? { ...initial.config, sigma: DEFAULT_CONFIG.sigma } : initial?.config;
  const fields = configFields(f, inherited ? withArchitectureOf(DEFAULT_CONFIG, inherited, typeof f.arch === 'string' ? f.arch : undefined) : DEFAULT_CONFIG, run.dataset);
  let config: VaeConfig;
  try {
    config = resolveConfig({ ...fields, inputDim: channels * rows * cols, imageShape: [rows, cols], imageChannels: channels });
    checkTcBatch(config.objective, run.batch);
  } catch (e) {
    // The library names its fields (klCapacity, init pytorch); the command line names flags.
    if (e instanceof ConfigError) throw new UsageError(toFlags(e.message));
    throw e;
  }
  if (initial) checkInheritedClasses(config.classes, run.dataset, initial.path, [initial.config.imageChannels, ...initial.config.imageShape]);
  const initialParams = initial ? initialParamsFor(initial, config) : null;
  if (initial) run.initFrom = initial.path;
  checkNormGroups(f, config);
  const stamp = new Date().toISOString().replace(/[:T]/g, '-').slice(0, 19);
  const outDir = stringFlag('out', f.out) ?? join('runs', `${run.dataset}-${stamp}`);
  if (run.dataDir && isInside(outDir, run.dataDir)) {
    // The run's samples.png and reconstructions.png would join the pictures it trains on (and
    // change the data a --resume checks against).
    throw new UsageError(`--out ${outDir} is inside --data-dir ${run.dataDir}: the run's pictures would join the training pictures; choose an --out outside it (e.g. runs/NAME)`);
  }
  checkRunDirFree(outDir);
  claimNewRunDir(outDir, !!f.force, machineFlagsOf(f));
  const initNote = initial ? initFromNote(initial, config, run.dataset, { dataset: f.dataset !== undefined, objective: objectiveFlagGiven(f) }) : null;
  return { config, run, outDir, resumed: null, lrWas: null, precisionWas: null, initialParams, initNote };
}
