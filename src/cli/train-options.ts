// The flags of `webgpu-vae train`, read into the model configuration (VaeConfig) and the run's
// own options (RunOptions: data, optimizer, schedule, recovery), each flag left out taking its
// value from the defaults or, for `--resume`, from the run being resumed; and the checks that a
// resumed run is given the same model, data and optimizer it started with (its learning rate may
// change).
import type { PictureListing } from '../data/image-listing';
import { createHash } from 'node:crypto';
import { hashAll } from '../data/image-cache';
import { readdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { ACTIVATIONS, type Activation } from '../../shaders/activation';
import { LIKELIHOODS } from '../../shaders/likelihood';
import { TC_ESTIMATORS } from '../../shaders/tc';
import { DATA_SOURCES, dataSource } from '../data/sources';
import { isPictureName } from '../data/image-files';
import { ARCHITECTURES, MIN_FIXED_SIGMA, NORMALIZATIONS, UPSAMPLINGS, type GaussianSigma, type VaeConfig } from '../model/config';
import { WEIGHT_INITS } from '../model/module';
import { ARCHITECTURE_FIELDS } from './init-from';
import { keptObjectiveFlags } from './objective-flags';
import { OBJECTIVES, type ObjectiveName } from '../model/objectives/objective';
import { PRECISIONS, type Precision } from '../model/precision';
import { LR_DECAYS, type LrDecay } from '../model/vae-options';
import { choiceFlag, defineFlags, FLAG_RANGES, intFlag, listFlag, numberFlag, stringFlag, UsageError } from './args';
import { checkDataDir, DATASETS, type DataFlags, type DatasetName } from './io';
import { ON_NAN, type OnNan } from './bad-steps';

export const FLAGS = defineFlags('train', {
  dataset: { type: 'string' }, 'data-dir': { type: 'string' }, epochs: { type: 'string' }, batch: { type: 'string' },
  latent: { type: 'string' }, hidden: { type: 'string' }, dense: { type: 'string' }, norm: { type: 'string' }, 'norm-groups': { type: 'string' }, upsample: { type: 'string' }, init: { type: 'string' }, activation: { type: 'string' }, likelihood: { type: 'string' },
  sigma: { type: 'string' }, 'samples-per-x': { type: 'string' }, samples: { type: 'string' }, objective: { type: 'string' }, 'tc-estimator': { type: 'string' },
  beta: { type: 'string' }, 'warmup-steps': { type: 'string' }, 'kl-cycle-steps': { type: 'string' }, 'free-bits': { type: 'string' }, 'kl-capacity': { type: 'string' }, 'capacity-steps': { type: 'string' }, conditional: { type: 'boolean' },
  binarize: { type: 'string' }, dequantize: { type: 'boolean' }, optimizer: { type: 'string' },
  arch: { type: 'string' }, channels: { type: 'string' }, 'image-size': { type: 'string' }, 'image-channels': { type: 'string' }, strict: { type: 'boolean' },
  lr: { type: 'string' }, 'lr-decay': { type: 'string' }, 'lr-min': { type: 'string' }, seed: { type: 'string' }, limit: { type: 'string' }, 'test-limit': { type: 'string' },
  out: { type: 'string' }, json: { type: 'boolean' }, resume: { type: 'string' }, 'init-from': { type: 'string' }, force: { type: 'boolean' }, 'save-every': { type: 'string' }, autotune: { type: 'string' }, precision: { type: 'string' },
  'on-nan': { type: 'string' }, 'clip-grad': { type: 'string' }, retries: { type: 'string' }, 'max-gpu-memory': { type: 'string' },
} as const);

export type Flags = Record<keyof typeof FLAGS, string | boolean | undefined>;

/** Classes of a conditional model: the data set's label count, or a clear refusal when it has none. */
function classesOf(dataset: DatasetName): number {
  const classes = DATA_SOURCES[dataset].classes;
  if (!classes) throw new UsageError(`--conditional needs labelled data, and --dataset ${dataset} has no labels; leave out --conditional`);
  return classes.length;
}

/** What a run is besides the model configuration; stored in the training state as `run`. */
export interface RunOptions {
  dataset: DatasetName;
  dataDir: string | null;
  /** A folder of pictures: the side they are resized to, their channels, and whether a bad file stops the run. */
  imageSize: number;
  imageChannels: 1 | 3;
  strict: boolean;
  /**
   * The rules its folder is listed by (image-listing.ts): 2 for a run started on 0.15.0 or later,
   * 1 for one started before (whose training state lacks the field), so that it resumes on the
   * pictures it trained on.
   */
  pictureListing: PictureListing;
  limit: number | null;
  testLimit: number | null;
  /** --batch as given (a step uses at most the training set). */
  batch: number;
  optimizer: 'adam' | 'sgd';
  lr: number;
  /** Learning-rate decay; a cosine spans the run's steps as it started (lrDecaySteps, set once the data is known). */
  lrDecay: LrDecay;
  lrMin: number;
  lrDecaySteps: number;
  seed: number;
  epochs: number;
  saveEvery: number;
  /** What a step flagged NaN/Inf or diverging leads to (recovery.ts). */
  onNan: OnNan;
  /** Global gradient-norm clipping threshold; 0: none. */
  clipGrad: number;
  /** Restarts on a fresh device after the device is lost. */
  retries: number;
  /**
   * Storage of the hidden activations. A resumed run keeps the one it was saved with; an explicit
   * --precision changes it (the weights and Adam's moments are f32 either way), as --lr may.
   */
  precision: Precision;
  /** The checkpoint a new run's parameters started from (`--init-from`), or null for a random draw. */
  initFrom: string | null;
}

/** Importance samples per example of `--objective iwae` without --samples (Burda et al.'s smallest K above 1). */
export const IWAE_DEFAULT_SAMPLES = 5;
/** beta-TCVAE weighs the total correlation by beta - 1: at beta 1 it is the ELBO, at a beta below 1 it rewards correlation. */
export const tcvaeBetaWarning = (beta: number) => beta === 1
  ? '--objective tcvae with --beta 1 trains on the ELBO (the total correlation is weighed by beta - 1), at the cost of the TC estimate: give --beta above 1 (e.g. 6, as Chen et al. 2018 on dSprites)'
  : `--objective tcvae with --beta ${beta} weighs the total correlation by ${Number((beta - 1).toPrecision(6))}, below 0: it rewards correlated latent dimensions, the opposite of disentangling; give --beta above 1 (e.g. 6)`;

/** What a run that trains on the IWAE bound with one importance sample is told. */
export const IWAE_ONE_SAMPLE_WARNING = `--objective iwae with --samples 1 trains on the ELBO: the importance-weighted bound is tighter only with K > 1 (e.g. --samples ${IWAE_DEFAULT_SAMPLES}, the default)`;

/** --samples K (the objective's samples per example); --samples-per-x is its older name. */
function samplesFlag(f: Flags, objective: ObjectiveName, fallback: number): number {
  if (f.samples !== undefined && f['samples-per-x'] !== undefined) throw new UsageError('give --samples or --samples-per-x, not both');
  const max = objective === 'iwae' ? 5000 : 64;
  return f.samples !== undefined ? intFlag('samples', f.samples, fallback, 1, max) : intFlag('samples-per-x', f['samples-per-x'], fallback, 1, max);
}

function parseSigma(raw: string | boolean | undefined, fallback: GaussianSigma): GaussianSigma {
  if (raw === undefined) return fallback;
  if (raw === 'learned' || raw === 'learned-pixel' || raw === 'predicted') return raw;
  const sigma = numberFlag('sigma', raw, 1, (v) => v > 0, "a positive number, 'learned', 'learned-pixel' or 'predicted'");
  if (sigma < MIN_FIXED_SIGMA) throw new UsageError(`--sigma ${raw} is too small: the Gaussian's 1/sigma^2 would leave float32's range; give a sigma of at least ${MIN_FIXED_SIGMA} (in practice 1e-3 or more), or let the model learn it with --sigma learned`);
  return sigma;
}

/**
 * --sigma sets the gaussian likelihood's scale; under the bernoulli likelihood it would be recorded
 * in config.json and do nothing, so it is refused (for a resumed run, `resuming` names its folder).
 */
function checkSigma(f: Flags, likelihood: string, resuming?: string): void {
  if (f.sigma === undefined || likelihood === 'gaussian') return;
  throw new UsageError(resuming
    ? `--sigma sets the gaussian likelihood's scale, and the run in ${resuming} uses the ${likelihood} likelihood, which has none; resume without --sigma`
    : `--sigma sets the gaussian likelihood's scale, and the ${likelihood} likelihood${f.likelihood === undefined ? ' (the default)' : ''} has none: add --likelihood gaussian, or leave out --sigma`);
}

/** The model fields the flags give, each flag left out taking its value from `d` (a resumed run's own, with `resuming` its folder). */
export function configFields(f: Flags, d: VaeConfig, dataset: DatasetName, resuming?: string): Partial<VaeConfig> {
  const objective = choiceFlag('objective', f.objective, d.objective, OBJECTIVES);
  const arch = choiceFlag('arch', f.arch, d.arch, ARCHITECTURES);
  if (arch === 'conv' && f.hidden !== undefined) throw new UsageError('--hidden sets the mlp architecture\'s layers; give the conv architecture its dense layers with --dense (e.g. --dense 256)');
  for (const flag of ['channels', 'dense'] as const) {
    if (arch !== 'conv' && f[flag] !== undefined) {
      // --channels 1 or 3 reads as a picture's colour channels, which are --image-channels.
      const colours = flag === 'channels' && /^\s*[13]\s*$/.test(String(f.channels)) ? ` (a picture's colour channels are --image-channels ${String(f.channels).trim()})` : '';
      throw new UsageError(`--${flag} sets the conv architecture's ${flag === 'channels' ? 'convolution widths' : 'dense layers'}; add --arch conv, or give the mlp architecture its layers with --hidden${colours}`);
    }
  }
  if (arch === 'conv' && f.channels !== undefined && /^\s*[13]\s*$/.test(String(f.channels))) {
    // One convolution of 1 or 3 filters is never a model anyone means; the colour channels are meant.
    throw new UsageError(`--channels ${String(f.channels).trim()} would make one convolution of ${String(f.channels).trim()} filter(s): --channels sets the convolution widths (e.g. --channels 32,64); a picture's colour channels are --image-channels ${String(f.channels).trim()}`);
  }
  const norm = choiceFlag('norm', f.norm, d.norm, NORMALIZATIONS);
  if (arch !== 'conv' && norm !== 'none') throw new UsageError(`--norm ${norm} normalizes the conv architecture's convolutions; add --arch conv, or leave out --norm`);
  if (f['norm-groups'] !== undefined && norm !== 'group') throw new UsageError('--norm-groups sets GroupNorm\'s groups; add --norm group');
  const upsample = choiceFlag('upsample', f.upsample, d.upsample, UPSAMPLINGS);
  if (arch !== 'conv' && upsample !== 'transposed') throw new UsageError(`--upsample ${upsample} sets how the conv architecture's decoder grows its pictures; add --arch conv, or leave out --upsample`);
  const warmupSteps = intFlag('warmup-steps', f['warmup-steps'], d.warmupSteps, 0);
  const klCycleSteps = intFlag('kl-cycle-steps', f['kl-cycle-steps'], d.klCycleSteps, 0);
  if (klCycleSteps > 0 && !(warmupSteps > 0 && warmupSteps <= klCycleSteps)) {
    throw new UsageError(`--kl-cycle-steps ${klCycleSteps} restarts the KL warm-up every ${klCycleSteps} steps; give the ramp with --warmup-steps N, 1 <= N <= ${klCycleSteps} (e.g. --warmup-steps ${Math.max(1, Math.floor(klCycleSteps / 2))})`);
  }
  const klCapacity = numberFlag('kl-capacity', f['kl-capacity'], d.klCapacity, (v) => v >= 0, 'a number of nats >= 0 (0 turns capacity control off)');
  const capacitySteps = intFlag('capacity-steps', f['capacity-steps'], d.capacitySteps, 0);
  const likelihood = choiceFlag('likelihood', f.likelihood, d.likelihood, LIKELIHOODS);
  const sigma = parseSigma(f.sigma, d.sigma);
  // A resumed run keeps its likelihood: a different --likelihood is refused with the other resume
  // checks (checkResumeFlags), which name it first.
  if (!resuming || likelihood === d.likelihood) checkSigma(f, likelihood, resuming);
  if (capacitySteps > 0 && klCapacity === 0) throw new UsageError(`--capacity-steps ${capacitySteps} ramps the KL capacity; give the capacity with --kl-capacity NATS (e.g. --kl-capacity 25)`);
  return {
    arch,
    channels: listFlag('channels', f.channels, d.channels),
    dense: listFlag('dense', f.dense, d.dense),
    norm,
    normGroups: intFlag('norm-groups', f['norm-groups'], d.normGroups, 1, 1024),
    upsample,
    // Left out, a new model's init follows its architecture (resolveConfig) and a resumed one keeps its own.
    ...(f.init !== undefined ? { init: choiceFlag('init', f.init, d.init, WEIGHT_INITS) } : {}),
    hidden: listFlag('hidden', f.hidden, d.hidden),
    latent: intFlag('latent', f.latent, d.latent),
    activation: choiceFlag<Activation>('activation', f.activation, d.activation, ACTIVATIONS.filter((a) => a !== 'none')),
    likelihood,
    sigma,
    objective,
    // A run that turns to IWAE without --samples gets K = 5: with K = 1 the bound is the ELBO.
    samples: samplesFlag(f, objective, objective === 'iwae' && d.objective !== 'iwae' ? IWAE_DEFAULT_SAMPLES : d.samples),
    beta: numberFlag('beta', f.beta, d.beta, (v) => v >= 0, 'a number >= 0'),
    // An inherited estimator goes with an inherited tcvae objective only (another has no TC).
    tcEstimator: choiceFlag('tc-estimator', f['tc-estimator'], objective === 'tcvae' ? d.tcEstimator : 'mws', TC_ESTIMATORS),
    warmupSteps,
    klCycleSteps,
    freeBits: numberFlag('free-bits', f['free-bits'], d.freeBits, (v) => v >= 0, 'a number of nats >= 0 per latent dimension'),
    klCapacity,
    capacitySteps,
    classes: f.conditional ? classesOf(dataset) : d.classes,
    binarize: choiceFlag('binarize', f.binarize, d.binarize, ['none', 'dynamic', 'fixed'] as const),
    dequantize: f.dequantize === undefined ? d.dequantize : !!f.dequantize,
  };
}

/**
 * Refuses a --norm-groups that does not divide every convolution width: GroupNorm splits a layer's
 * channels into equal groups, and the model would otherwise use fewer groups in that layer
 * without a word. `config` is resolved (its widths known, the default ones included).
 */
export function checkNormGroups(f: Flags, config: Pick<VaeConfig, 'arch' | 'norm' | 'normGroups' | 'channels'>): void {
  if (f['norm-groups'] === undefined || config.arch !== 'conv' || config.norm !== 'group') return;
  const g = config.normGroups, widths = config.channels;
  const bad = widths.filter((w) => w % g !== 0);
  if (!bad.length) return;
  const valid = Array.from({ length: Math.min(...widths) }, (_, i) => i + 1).filter((d) => widths.every((w) => w % d === 0));
  const which = bad.length === widths.length ? `the convolution widths ${widths.join(', ')}` : `the convolution width${bad.length === 1 ? '' : 's'} ${bad.join(', ')} (of ${widths.join(', ')})`;
  throw new UsageError(`--norm-groups ${g} does not divide ${which}${f.channels === undefined ? ', the default --channels for these pictures' : ''}, ` +
    `and GroupNorm splits each layer's channels into equal groups; give --norm-groups ${valid.join(', ').replace(/, (\d+)$/, ' or $1')}`);
}

export const DEFAULT_RUN: RunOptions = { dataset: 'mnist', dataDir: null, imageSize: 64, imageChannels: 3, strict: false, pictureListing: 2, limit: null, testLimit: null, batch: 128, optimizer: 'adam', lr: 1e-3, lrDecay: 'none', lrMin: 0, lrDecaySteps: 0, seed: 0, epochs: 10, saveEvery: 0, onNan: 'stop', clipGrad: 0, retries: 2, precision: 'f32', initFrom: null };

/** The run's options from the flags over `d`: the defaults, or (`resumeDir` given) the resumed run's own. */
export function runFields(f: Flags, d: RunOptions, resumeDir?: string): RunOptions {
  const run = runFieldsUnchecked(f, d);
  if (f['lr-min'] !== undefined && run.lrDecay === 'none') throw new UsageError('--lr-min sets where a decaying learning rate ends; add --lr-decay cosine');
  if (run.lrMin > run.lr) {
    // A resumed run keeps its floor (its schedule goes on), so only --lr can move.
    throw new UsageError(resumeDir !== undefined
      ? `the run in ${resumeDir} decays its learning rate to --lr-min ${run.lrMin}, which it keeps, and --lr ${run.lr} is below that floor; resume with --lr ${run.lrMin} or higher`
      : `the decay's floor, --lr-min ${run.lrMin}, is above the learning rate ${run.lr}; a decay ends at or below where it starts: lower --lr-min or raise --lr`);
  }
  return run;
}

const absoluteOrNull = (dir: string | undefined) => (dir === undefined ? null : dir === '' ? dir : resolve(dir));

function runFieldsUnchecked(f: Flags, d: RunOptions): RunOptions {
  return {
    dataset: choiceFlag('dataset', f.dataset, d.dataset, DATASETS),
    // Recorded absolute, so that a resume or eval from another working directory finds the same folder.
    dataDir: absoluteOrNull(stringFlag('data-dir', f['data-dir'])) ?? d.dataDir,
    imageSize: intFlag('image-size', f['image-size'], d.imageSize, ...FLAG_RANGES['image-size']),
    imageChannels: choiceFlag('image-channels', f['image-channels'], String(d.imageChannels), ['1', '3'] as const) === '1' ? 1 : 3,
    strict: f.strict === undefined ? d.strict : !!f.strict,
    pictureListing: d.pictureListing,
    limit: f.limit === undefined ? d.limit : intFlag('limit', f.limit, 0),
    testLimit: f['test-limit'] === undefined ? d.testLimit : intFlag('test-limit', f['test-limit'], 0),
    batch: intFlag('batch', f.batch, d.batch, ...FLAG_RANGES.batch),
    optimizer: choiceFlag('optimizer', f.optimizer, d.optimizer, ['adam', 'sgd'] as const),
    lr: numberFlag('lr', f.lr, d.lr, (v) => v > 0, 'a positive number (e.g. 1e-3)'),
    lrDecay: choiceFlag('lr-decay', f['lr-decay'], d.lrDecay, LR_DECAYS),
    lrMin: numberFlag('lr-min', f['lr-min'], d.lrMin, (v) => v >= 0, 'a number >= 0, at most --lr (e.g. 1e-5)'),
    lrDecaySteps: d.lrDecaySteps,
    seed: intFlag('seed', f.seed, d.seed, 0),
    epochs: intFlag('epochs', f.epochs, d.epochs),
    saveEvery: intFlag('save-every', f['save-every'], d.saveEvery, 0),
    onNan: choiceFlag('on-nan', f['on-nan'], d.onNan, ON_NAN),
    clipGrad: numberFlag('clip-grad', f['clip-grad'], d.clipGrad, (v) => v >= 0, 'a gradient norm > 0 to clip to (e.g. 1), or 0 for none'),
    retries: intFlag('retries', f.retries, d.retries, ...FLAG_RANGES.retries),
    precision: choiceFlag('precision', f.precision, d.precision, PRECISIONS),
    initFrom: stringFlag('init-from', f['init-from']) ?? d.initFrom,
  };
}

/** What each data set's --data-dir holds, for refusals of a folder that holds something else. */
const WHAT_IT_READS: Record<string, string> = {
  mnist: 'IDX files', 'fashion-mnist': 'IDX files', cifar10: "CIFAR-10's binary batches", dsprites: 'no files (its pictures are drawn)', 'dsprites-color': 'no files (its pictures are drawn)',
};

/** Refuses data flags that the chosen data set would ignore or cannot do without. */
export function checkDataFlags(f: Flags, run: RunOptions): void {
  if (run.dataset === 'folder') return checkDataDir(run.dataset, run.dataDir);
  // A folder of pictures given without --dataset folder is the likely slip, not a broken MNIST copy.
  const forgotFolder = f.dataset === undefined ? ' (for a folder of your own pictures, add --dataset folder)' : '';
  // On a resume the data set is the run's own (no --dataset given either): a folder holding another
  // kind of data is the wrong folder, not a forgotten --dataset.
  const wrongFolder = (holds: string) => `--data-dir ${run.dataDir} holds ${holds}, and the run in ${f.resume} trains on ${run.dataset}, which reads ${WHAT_IT_READS[run.dataset] ?? 'other files'}: ` +
    `give --data-dir the folder of its ${run.dataset} files${dataSource(run.dataset).needsDir ? '' : ', or leave it out for the default copy'}`;
  if (f.dataset === undefined && run.dataDir && holdsPictures(run.dataDir)) {
    if (f.resume !== undefined) throw new UsageError(wrongFolder('PNG or JPEG pictures'));
    throw new UsageError(`--data-dir ${run.dataDir} holds PNG or JPEG pictures, and the data set is ${run.dataset} by default, which reads IDX files: add --dataset folder to train on the pictures`);
  }
  if (f.dataset === undefined && run.dataset !== 'cifar10' && run.dataDir && holdsCifarBatches(run.dataDir)) {
    if (f.resume !== undefined) throw new UsageError(wrongFolder('CIFAR-10 batch files (data_batch_*.bin, test_batch.bin)'));
    throw new UsageError(`--data-dir ${run.dataDir} holds CIFAR-10 batch files (data_batch_*.bin, test_batch.bin), and the data set is ${run.dataset} by default, which reads IDX files: add --dataset cifar10 to train on them`);
  }
  checkDataDir(run.dataset, run.dataDir, ['train', 'test']);
  const shape = dataSource(run.dataset).shape!;
  for (const flag of ['image-size', 'image-channels', 'strict'] as const) {
    if (f[flag] === undefined) continue;
    throw new UsageError(`--${flag} applies to --dataset folder (your pictures, cropped and resized); ${run.dataset} pictures are ${shape.join('x')} as they come, so leave out --${flag}${forgotFolder}`);
  }
}

/** Whether `dir` is a folder with a PNG or JPEG file directly in it (a quick look, not a listing of the tree). */
function holdsPictures(dir: string): boolean {
  try {
    return readdirSync(dir).some(isPictureName);
  } catch {
    return false; // not a readable folder: checkDataDir says so
  }
}

/** Whether `dir` has CIFAR-10's binary batch files directly in it. */
function holdsCifarBatches(dir: string): boolean {
  try {
    return readdirSync(dir).some((name) => /^(data_batch_[1-5]|test_batch)\.bin$/.test(name));
  } catch {
    return false;
  }
}

export function dataFlags(run: RunOptions): DataFlags {
  return {
    dir: run.dataDir ?? undefined, limit: run.limit ?? undefined, testLimit: run.testLimit ?? undefined, seed: run.seed,
    imageSize: run.imageSize, imageChannels: run.imageChannels, strict: run.strict, pictureListing: run.pictureListing,
  };
}

/**
 * Flags that must agree with a resumed run, with the field each one sets. `--lr` is not among them:
 * lowering the learning rate of a run that has plateaued is a resume's common purpose, and Adam's
 * moments do not depend on it; the change is recorded in config.json and the log.
 */
const FIXED_FLAGS: [flag: keyof Flags, field: string][] = [
  ['arch', 'arch'], ['channels', 'channels'], ['dense', 'dense'], ['norm', 'norm'], ['norm-groups', 'normGroups'], ['upsample', 'upsample'], ['init', 'init'], ['image-size', 'imageSize'], ['image-channels', 'imageChannels'],
  ['hidden', 'hidden'], ['latent', 'latent'], ['activation', 'activation'], ['likelihood', 'likelihood'], ['sigma', 'sigma'],
  ['objective', 'objective'], ['samples', 'samples'], ['samples-per-x', 'samples'], ['beta', 'beta'], ['warmup-steps', 'warmupSteps'], ['kl-cycle-steps', 'klCycleSteps'],
  ['tc-estimator', 'tcEstimator'], ['free-bits', 'freeBits'], ['kl-capacity', 'klCapacity'], ['capacity-steps', 'capacitySteps'], ['conditional', 'classes'], ['binarize', 'binarize'], ['dequantize', 'dequantize'], ['dataset', 'dataset'], ['strict', 'strict'], ['limit', 'limit'],
  ['test-limit', 'testLimit'], ['batch', 'batch'], ['optimizer', 'optimizer'], ['lr-decay', 'lrDecay'], ['lr-min', 'lrMin'], ['seed', 'seed'], ['clip-grad', 'clipGrad'],
];

/** The run's fields that say which examples it reads. */
const DATA_FIELDS = ['dataset', 'strict', 'limit', 'testLimit', 'binarize', 'dequantize'];

/** Refuses flags that contradict the run being resumed: it can only continue as it started. */
export function checkResumeFlags(f: Flags, dir: string, saved: VaeConfig & RunOptions, given: VaeConfig & RunOptions): void {
  for (const [flag, field] of FIXED_FLAGS) {
    if (f[flag] === undefined) continue;
    const want = (saved as unknown as Record<string, unknown>)[field], got = (given as unknown as Record<string, unknown>)[field];
    if (JSON.stringify(want) === JSON.stringify(got)) continue;
    // Switches (--strict, --dequantize) are named alone; the run either had them or not.
    const isSwitch = typeof f[flag] === 'boolean';
    const shown = flag === 'conditional' || isSwitch ? `--${flag}` : `--${flag} ${f[flag]}`;
    const theirs = flag === 'conditional' ? 'is not conditional' : isSwitch ? `was started without --${flag}` : `has ${flag} ${Array.isArray(want) ? want.join(',') : want ?? 'unset'}`;
    // What --init-from can change (the objective, the data, the optimizer), a new run from this one's model can take.
    // A conditional model's new run needs labels: not offered for a data set that has none.
    const unlabelled = field === 'dataset' && saved.classes > 0 && !DATA_SOURCES[given.dataset as DatasetName]?.classes;
    // The new run's command: the flag, the objective it belongs to where the run's is another (it
    // would be refused there), and the data flags as they were unless the flag is one of them.
    const needs = keptObjectiveFlags(saved, field).join(' ');
    const data = DATA_FIELDS.includes(field) ? 'and the other data flags as before' : 'with the same data flags';
    const fromModel = !unlabelled && !(ARCHITECTURE_FIELDS as readonly string[]).includes(field) && !['init', 'imageSize', 'imageChannels'].includes(field)
      ? `, or start a new run from its model under ${shown}${needs ? ` ${needs}` : ''}: --init-from ${dir} ${data} and another --out`
      : ', or start a new run with another --out';
    throw new UsageError(`${shown} does not match the run in ${dir}, which ${theirs}; resume without --${flag}${fromModel}`);
  }
}

/** A digest of the training set, so a resumed run can tell it is fed the same examples. */
export function fingerprint(images: Uint8Array, labels?: Uint8Array): string {
  // A chunk at a time: a folder's pictures may be over the 2 GiB one update takes.
  const h = hashAll(createHash('sha256'), images);
  if (labels) hashAll(h, labels);
  return h.digest('hex').slice(0, 16);
}
