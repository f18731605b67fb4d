// The training state: everything besides the model needed to continue a run exactly where it
// stopped, as a safetensors file of its own (model.safetensors stays a plain model that PyTorch
// loads). It holds
//   <name>           the parameters, under their checkpoint names and shapes (as in the model file)
//   adam.m.<name>    Adam's first moment of that parameter, same shape (Adam only)
//   adam.v.<name>    Adam's second moment, same shape (Adam only)
// and, as JSON in the metadata, the model configuration (`config`), the optimizer settings
// (`training`: batch, lr, betas, eps, weight decay, seed, lossEvery), the caller's own run options
// (`run`) and the counters (`progress`). The parameters are repeated here so that the state alone
// is one consistent snapshot: the model file and this one are replaced one after the other, and a
// crash between the two must not pair moments of one step with weights of another. Tensors are
// stored per name, not as the flat GPU buffer, so the file does not depend on the buffer's padding.
// Noise and data order need no stored RNG state: noise is a pure function of seed and step, and the
// caller's per-epoch shuffles are redrawn from the seed (see src/cli/train-epoch.ts).
import { CHECKPOINT_FORMAT, TRAINING_STATE_FORMAT } from './checkpoint';
import { CheckpointError, decodeNamed, encodeSafetensors } from './io/safetensors';
import { matchTensors } from './io/tensor-match';
import { paramLayout } from './model/build';
import { ConfigError, kindOfValue } from './errors';
import { configForFile, configFromFile, resolveConfig, type VaeConfig } from './model/config';
import { tensorsByName } from './model/params';
import { checkWatch } from './model/optimizer-state';
import type { TrainingOptions, VAE } from './model/vae';

export { TRAINING_STATE_FORMAT };
export const TRAINING_STATE_VERSION = '1';

/** Where a run stands. Epochs count from 1; `epochStep` steps of epoch `epochsDone + 1` are done. */
export interface TrainingProgress {
  /** Optimizer steps taken since the start of the run (the model's `step`). */
  step: number;
  /** Epochs finished and evaluated. */
  epochsDone: number;
  /** Steps taken in the epoch in progress; equals the steps per epoch when it stopped before evaluating it. */
  epochStep: number;
  stepsPerEpoch: number;
  /** Sum of loss x examples and the examples over the epoch in progress, for its mean training loss. */
  epochLossSum: number;
  epochExamples: number;
  /** Wall-clock seconds spent training so far. */
  seconds: number;
  /**
   * The step health check's watch (smoothed loss, its minimum, accepted steps, Adam's step count;
   * `watchState()`), so that a resumed run judges its steps and corrects Adam's moments as the
   * uninterrupted one would. `saveTrainingState` reads it from the model when it is not given;
   * pass it back to `restoreOptimizer`.
   */
  watch?: number[];
}

export interface TrainingState {
  config: VaeConfig;
  training: TrainingOptions;
  run: Record<string, unknown>;
  progress: TrainingProgress;
  /** Parameters and Adam's moments in the model's flat layout (`paramLayout(config)`); no moments for SGD. */
  params: Float32Array;
  m: Float32Array | null;
  v: Float32Array | null;
}

const PROGRESS_FIELDS = ['step', 'epochsDone', 'epochStep', 'stepsPerEpoch', 'epochLossSum', 'epochExamples', 'seconds'] as const;
const COUNTED_FIELDS: readonly string[] = ['step', 'epochsDone', 'epochStep', 'stepsPerEpoch'];

/**
 * The training state of `vae` with the caller's run options and counters. It is read from the GPU
 * in one operation queued behind every call made on the model before this one, so parameters,
 * moments and watch belong to one step, that of the calls before it (un-awaited steps included).
 */
export async function saveTrainingState(vae: VAE, run: Record<string, unknown>, progress: TrainingProgress): Promise<Uint8Array<ArrayBuffer>> {
  // The counters readTrainingState checks, checked before writing: a file it would call damaged is not written.
  if (!progress || typeof progress !== 'object') throw new ConfigError(`saveTrainingState needs the run's counters as its third argument, got ${kindOfValue(progress)}; ${COUNTERS_FIX}`);
  const problem = progressProblem(progress);
  if (problem) throw new ConfigError(`saveTrainingState: ${problem}; ${COUNTERS_FIX}`);
  const state = await vae.trainingSnapshot();
  // Compared with the step the state was read at, not the one at the call: steps called before
  // it but not yet run are in the state, and counters of an earlier step would not resume it.
  if (progress.step !== state.step) {
    throw new ConfigError(`saveTrainingState: progress.step is ${progress.step} but the model's state was read at step ${state.step} (after every call made on it before saveTrainingState, ` +
      'training steps not yet awaited included); await those steps and pass counters of the step they reach, e.g. step: vae.step');
  }
  if (!progress.watch) progress = { ...progress, watch: state.watch };
  const tensors = tensorsByName(vae.layout, state.params);
  if (state.m && state.v) Object.assign(tensors, tensorsByName(vae.layout, state.m, 'adam.m.'), tensorsByName(vae.layout, state.v, 'adam.v.'));
  return encodeSafetensors(tensors, {
    format: TRAINING_STATE_FORMAT,
    version: TRAINING_STATE_VERSION,
    config: JSON.stringify(configForFile(vae.config)),
    training: JSON.stringify(vae.training),
    run: JSON.stringify(run),
    progress: JSON.stringify(progress),
  });
}

/** What saveTrainingState's counters must be, for a loop of one's own. */
const COUNTERS_FIX = 'give { step, epochsDone, epochStep, stepsPerEpoch, epochLossSum, epochExamples, seconds }, numbers >= 0 with step = epochsDone x stepsPerEpoch + epochStep ' +
  '(a loop without epochs: epochsDone 0, epochStep = step = vae.step, stepsPerEpoch the steps it plans, at least step)';

/** What is wrong with a training state's counters, or null. */
function progressProblem(progress: TrainingProgress): string | null {
  for (const k of PROGRESS_FIELDS) {
    const v = progress[k];
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) return `progress.${k} is ${JSON.stringify(v)}, not a number >= 0`;
    // Steps and epochs are counted: 1.5 epochs done would resume at "epoch 2.5".
    if (COUNTED_FIELDS.includes(k) && !Number.isSafeInteger(v)) return `progress.${k} is ${v}, not a whole number`;
  }
  if (progress.epochsDone > 0 && progress.stepsPerEpoch === 0) return `progress counts ${progress.epochsDone} epochs done of 0 steps each`;
  if (progress.step !== progress.epochsDone * progress.stepsPerEpoch + progress.epochStep || progress.epochStep > progress.stepsPerEpoch) {
    return `step ${progress.step} does not match ${progress.epochsDone} epochs of ${progress.stepsPerEpoch} steps plus ${progress.epochStep}`;
  }
  return null;
}

/** What is wrong with a training state's step watch (saveTrainingState writes watchState()), or null. */
function watchProblem(progress: TrainingProgress): string | null {
  const watch: unknown = progress.watch;
  if (watch === undefined || watch === null) return null;
  try {
    checkWatch(watch);
  } catch (e) {
    return `progress.watch: ${(e as Error).message.replace(/^restoreOptimizer: /, '')}`;
  }
  // Accepted steps and Adam's applied steps are among the steps taken.
  const [, , accepted, applied] = watch as number[];
  if (accepted > progress.step || applied > progress.step) {
    return `progress.watch counts ${accepted} accepted and ${applied} applied steps, more than the ${progress.step} steps taken`;
  }
  return null;
}

function parseJson(source: string, key: string, text: string | undefined): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(text ?? '');
  } catch {
    throw new CheckpointError(`${source}: metadata '${key}' is missing or not JSON; the training state is damaged`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CheckpointError(`${source}: metadata '${key}' is not a JSON object; the training state is damaged`);
  return v as Record<string, unknown>;
}

/** Reads and checks a training state: format, configuration, every tensor's name and shape, the counters. */
export function readTrainingState(bytes: Uint8Array, source = 'training state'): TrainingState {
  const { tensors, metadata } = decodeNamed(bytes, source);
  if (metadata.format === CHECKPOINT_FORMAT) {
    throw new CheckpointError(`${source} is a model checkpoint, not a training state; resume from the run folder that holds training-state.safetensors`);
  }
  if (metadata.format !== TRAINING_STATE_FORMAT) throw new CheckpointError(`${source} is not a webgpu-vae training state (no format metadata)`);
  if (metadata.version !== TRAINING_STATE_VERSION) {
    throw new CheckpointError(`${source} has training-state version ${metadata.version}; this webgpu-vae reads version ${TRAINING_STATE_VERSION}${Number(metadata.version) > Number(TRAINING_STATE_VERSION) ? ': a newer webgpu-vae wrote it; resume it with that version' : ': start a new run, or one from its model checkpoint to keep the weights'}`);
  }
  let config: VaeConfig;
  try {
    config = resolveConfig(configFromFile(parseJson(source, 'config', metadata.config)));
  } catch (e) {
    if (e instanceof CheckpointError) throw e;
    throw new CheckpointError(`${source} has an invalid model configuration: ${(e as Error).message}`);
  }
  const training = parseJson(source, 'training', metadata.training) as unknown as TrainingOptions;
  const run = parseJson(source, 'run', metadata.run);
  const progress = parseJson(source, 'progress', metadata.progress) as unknown as TrainingProgress;
  const problem = progressProblem(progress) ?? watchProblem(progress);
  if (problem) throw new CheckpointError(`${source}: ${problem}; the training state is damaged`);

  const adam = training.optimizer === 'adam';
  const layout = paramLayout(config);
  const [params, m = null, v = null] = matchTensors(source, tensors, layout, adam ? ['', 'adam.m.', 'adam.v.'] : [''], 'this model and optimizer',
    'a training state holds the parameters and, for Adam, their moments under adam.m. and adam.v.');
  // Checked here, with the file named, rather than by restoreOptimizer once the device has started.
  const negative = v ? layout.tensors.find((t) => v.subarray(t.offset, t.offset + t.count).some((x) => x < 0)) : undefined;
  if (negative) {
    const at = v!.subarray(negative.offset, negative.offset + negative.count).findIndex((x) => x < 0);
    throw new CheckpointError(`${source}: adam.v.${negative.name}[${at}] is ${v![negative.offset + at]}, but Adam's second moment (a mean of squares) is never negative; the training state is damaged`);
  }
  return { config, training, run, progress, params, m, v };
}
