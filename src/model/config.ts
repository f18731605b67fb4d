// The model's configuration, its defaults (PyTorch examples/vae: 784-400-20, ReLU, Bernoulli) and
// validation with messages that name the bad field and a valid choice.
import { ACTIVATIONS, type Activation } from '../../shaders/activation';
import type { Binarize } from '../../shaders/batch';
import { LIKELIHOODS, type Likelihood } from '../../shaders/likelihood';
import { fitsF32 } from '../../shaders/common';
import { ConfigError, literal, shown } from '../errors';
import { checkKnownKeys } from '../edit-distance';
import { WEIGHT_INITS, type WeightInit } from './module';
import { OBJECTIVES, type ObjectiveName } from './objectives/objective';
import { TC_ESTIMATORS, type TcEstimator } from '../../shaders/tc';

/**
 * Gaussian decoder scale: a fixed sigma, a log-sigma learned globally or per pixel, or a log-scale
 * the decoder predicts for every pixel of every example ('predicted': the decoder outputs a mean
 * and a log-scale per pixel, clamped to LOG_SCALE_RANGE in shaders/likelihood.ts).
 */
export type GaussianSigma = number | 'learned' | 'learned-pixel' | 'predicted';

export const ARCHITECTURES = ['mlp', 'conv'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];

export const NORMALIZATIONS = ['none', 'group'] as const;
export type Normalization = (typeof NORMALIZATIONS)[number];

/** How the conv decoder doubles its pictures' sides (VaeConfig.upsample). */
export const UPSAMPLINGS = ['transposed', 'nearest'] as const;
export type Upsampling = (typeof UPSAMPLINGS)[number];

export interface VaeConfig {
  /** Values per example: imageChannels * rows * cols (784 for MNIST). */
  inputDim: number;
  /** Image shape for pictures, [rows, cols]. */
  imageShape: [number, number];
  /** Channels per pixel: 1 (grey) or 3 (RGB); an example is stored channel-major (NCHW). */
  imageChannels: number;
  /** Dense layers ('mlp', PyTorch examples/vae) or stride-2 convolutions ('conv', src/model/build.ts). */
  arch: Architecture;
  /** Encoder hidden sizes of the mlp architecture; the decoder mirrors them ([] for the conv architecture, which has none). */
  hidden: number[];
  /**
   * Output channels of the conv architecture's stride-2 convolutions, one per halving of the
   * image; the decoder mirrors them. Left empty, resolveConfig picks them from the image size.
   */
  channels: number[];
  /**
   * Dense layers of the conv architecture between the flattened features and the latent head
   * (the decoder mirrors them before its dense input layer); empty: the head reads the features.
   */
  dense: number[];
  /**
   * Normalization after each hidden convolution of the conv architecture: none, or GroupNorm
   * (conv -> GroupNorm -> activation) with `normGroups` groups, or for a layer whose channels it
   * does not divide, the largest divisor of them below it.
   */
  norm: Normalization;
  /** GroupNorm's groups per layer (at most; see norm). */
  normGroups: number;
  /**
   * How the conv decoder doubles the sides: 'transposed' (4x4 stride-2 transposed convolutions)
   * or 'nearest' (2x nearest-neighbour upsampling, then a 3x3 stride-1 convolution), which has
   * none of the transposed convolution's checkerboard patterns (Odena et al. 2016).
   */
  upsample: Upsampling;
  /**
   * How the conv architecture's convolution weights start (src/model/module.ts WeightInit):
   * 'kaiming' (ReLU gain on the hidden convolutions, the conv default) or 'pytorch' (nn.Conv2d's
   * own default, which shrinks a deep ReLU stack's signal about sqrt(6)-fold per layer). Dense
   * layers and the decoder's output convolution keep PyTorch's.
   */
  init: WeightInit;
  latent: number;
  activation: Activation;
  likelihood: Likelihood;
  /** Used when likelihood is 'gaussian'. */
  sigma: GaussianSigma;
  /** Samples of z per example: L Monte Carlo samples for the ELBO, K importance samples for IWAE. */
  samples: number;
  /**
   * Training objective: the ELBO (with beta, warm-up, free bits), the IWAE bound, or beta-TCVAE
   * (the ELBO plus (beta - 1) times the batch estimate of the code's total correlation).
   */
  objective: ObjectiveName;
  /** Weight of the KL term (beta-VAE); 1 gives the ELBO. For tcvae, the weight of the total correlation. */
  beta: number;
  /**
   * beta-TCVAE's estimate of the total correlation (shaders/tc.ts): 'mws', minibatch-weighted
   * sampling, or 'mss', a two-strata stratified estimate, whose offset does not grow with the data
   * set's size. The gradients differ only through the weights of the batch's own examples.
   */
  tcEstimator: TcEstimator;
  /** Linear KL warm-up: the KL weight grows from beta/N to beta over the first N steps (0: off). */
  warmupSteps: number;
  /**
   * Cyclical KL annealing (Fu et al. 2019): the warm-up starts again every N steps, so the weight
   * ramps from beta/W to beta over the first W = warmupSteps steps of each cycle, then holds (0: off).
   */
  klCycleSteps: number;
  /** Free bits per latent dimension (Kingma et al. 2016), in nats (0: off). */
  freeBits: number;
  /**
   * Capacity control (Burgess et al. 2018, "Understanding disentangling in beta-VAE"): the loss is
   * rec + beta |KL - C| with C, in nats, growing linearly from 0 to klCapacity over the first
   * capacitySteps steps, then held. beta (their gamma) holds the batch's KL at C, so the code is
   * given information a little at a time (0: off).
   */
  klCapacity: number;
  /** Steps over which the capacity C grows from 0 to klCapacity (0: C is klCapacity from the start). */
  capacitySteps: number;
  /** Classes of a conditional VAE (0: unconditional): the one-hot label joins x and z. */
  classes: number;
  /** Binarized data: drawn afresh at every training step ('dynamic'), drawn once ('fixed'), or grey levels ('none'). */
  binarize: Binarize;
  /** Uniform dequantization of 8-bit levels, x = (g + u) / 256, for continuous likelihoods (bits/dim). */
  dequantize: boolean;
}

/** The smallest fixed Gaussian scale: 1/sigma^2 (1e38) stays within float32's range (3.4e38). */
export const MIN_FIXED_SIGMA = 1e-19;

export const DEFAULT_CONFIG: VaeConfig = {
  inputDim: 784,
  imageShape: [28, 28],
  imageChannels: 1,
  arch: 'mlp',
  hidden: [400],
  channels: [],
  dense: [],
  norm: 'none',
  normGroups: 8,
  upsample: 'transposed',
  init: 'pytorch',
  latent: 20,
  activation: 'relu',
  likelihood: 'bernoulli',
  sigma: 1,
  samples: 1,
  objective: 'elbo',
  beta: 1,
  tcEstimator: 'mws',
  warmupSteps: 0,
  klCycleSteps: 0,
  freeBits: 0,
  klCapacity: 0,
  capacitySteps: 0,
  classes: 0,
  binarize: 'none',
  dequantize: false,
};

/**
 * The KL weight of training step t (1-based): beta, ramped linearly from beta/W to beta over the
 * first W = warmupSteps steps; with klCycleSteps = P the ramp restarts every P steps, so step t
 * takes the weight of step ((t - 1) mod P) + 1. A function of the step alone, computed on the CPU
 * into each step's uniform: nothing is read back. For beta-TCVAE the ramp alone (from 1/W to 1):
 * there beta weighs the total correlation, inside the objective.
 */
export function klWeightAt(c: Pick<VaeConfig, 'beta' | 'warmupSteps' | 'klCycleSteps'> & { objective?: VaeConfig['objective'] }, t: number): number {
  // For beta-TCVAE beta weighs the total correlation (inside the objective); the ramp scales both.
  const top = c.objective === 'tcvae' ? 1 : c.beta;
  if (c.warmupSteps <= 0) return top;
  const phase = c.klCycleSteps > 0 ? ((t - 1) % c.klCycleSteps) + 1 : t;
  return top * Math.min(1, phase / c.warmupSteps);
}

/** The KL capacity C of training step t (1-based), in nats: klCapacity * min(1, t / capacitySteps). */
export function klCapacityAt(c: Pick<VaeConfig, 'klCapacity' | 'capacitySteps'>, t: number): number {
  if (c.klCapacity <= 0) return 0;
  if (c.capacitySteps <= 0) return c.klCapacity;
  return c.klCapacity * Math.min(1, t / c.capacitySteps);
}

/**
 * Fields added after checkpoints were first read elsewhere, written to a file only when they differ
 * from their default: a model that does not use one loads in the versions before it (which refuse
 * a field they do not know), and a reader of this version fills the default back in.
 */
const WRITTEN_WHEN_SET: readonly (keyof VaeConfig)[] = ['tcEstimator'];

/**
 * A configuration as a file stored it, to be resolved: a normGroups beside a norm other than
 * 'group', which no model used and which files written before resolveConfig refused it may hold,
 * is dropped rather than refused, so those files still load.
 */
export function configFromFile(stored: unknown): Partial<VaeConfig> {
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) return stored as Partial<VaeConfig>;
  const { normGroups, ...rest } = stored as Partial<VaeConfig>;
  return rest.norm === 'group' || normGroups === undefined ? (stored as Partial<VaeConfig>) : rest;
}

/** The configuration as checkpoints, training states and run records store it (see WRITTEN_WHEN_SET). */
export function configForFile(c: VaeConfig): Partial<VaeConfig> {
  const out: Partial<VaeConfig> = { ...c };
  for (const f of WRITTEN_WHEN_SET) if (c[f] === DEFAULT_CONFIG[f]) delete out[f];
  return out;
}

const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** Stride-2 halvings the conv architecture makes: down to 4x4, or to 7x7 for 28x28 inputs. */
export function convHalvings(rows: number, cols: number): number {
  let n = 0;
  for (let r = rows, c = cols; r % 2 === 0 && c % 2 === 0 && Math.min(r, c) > 7 && Math.min(r, c) / 2 >= 4; r /= 2, c /= 2) n++;
  return n;
}

/** Conv widths for a number of halvings: 32, 64, 128, 256, then 256 for each further halving. */
const convWidths = (halvings: number) => Array.from({ length: halvings }, (_, i) => Math.min(32 << i, 256));

/** Default conv widths: as many as convHalvings makes. */
export function defaultConvChannels(rows: number, cols: number): number[] {
  return convWidths(convHalvings(rows, cols));
}

/** How many times both sides halve evenly: the most stride-2 convolutions an image takes (0 with an odd side). */
export function mostHalvings(rows: number, cols: number): number {
  let n = 0;
  for (let r = rows, c = cols; r % 2 === 0 && c % 2 === 0; r /= 2, c /= 2) n++;
  return n;
}

/**
 * `partial` with every default filled in, checked: a field this version does not know (a typo
 * such as `hiden`) is refused, since it would otherwise be ignored; every field name ever written
 * to a checkpoint or training state is still known.
 */
export function resolveConfig(partial: Partial<VaeConfig> = {}): VaeConfig {
  if (partial === null || typeof partial !== 'object' || Array.isArray(partial)) {
    throw new ConfigError(`a model's configuration is an object of VaeConfig fields (e.g. { latent: 20 }), got ${literal(partial)}`);
  }
  checkKnownKeys('config field', Object.keys(partial), Object.keys(DEFAULT_CONFIG));
  const c: VaeConfig = { ...DEFAULT_CONFIG, ...partial };
  // Convolutions start with the ReLU gain unless told otherwise (a fresh model only: a loaded one
  // brings its parameters).
  if (partial.init === undefined) c.init = c.arch === 'conv' ? 'kaiming' : 'pytorch';
  if (!positiveInt(c.imageChannels) || ![1, 3].includes(c.imageChannels)) throw new ConfigError(`imageChannels must be 1 (grey) or 3 (RGB), got ${shown(c.imageChannels)}`);
  if (!positiveInt(c.inputDim)) throw new ConfigError(`inputDim must be a positive integer, got ${shown(c.inputDim)}`);
  if (partial.inputDim !== undefined && partial.imageShape === undefined) {
    if (c.inputDim % c.imageChannels !== 0) throw new ConfigError(`inputDim ${c.inputDim} is not a multiple of imageChannels ${c.imageChannels}: give an inputDim of channels x rows x cols, or imageShape [rows, cols] in its place`);
    const pixels = c.inputDim / c.imageChannels;
    const side = Math.round(Math.sqrt(pixels));
    c.imageShape = side * side === pixels ? [side, side] : [1, pixels];
  }
  if (!(Array.isArray(c.imageShape) && c.imageShape.length === 2 && c.imageShape.every(positiveInt))) {
    throw new ConfigError(`imageShape must be [rows, cols], two positive integers (e.g. [28, 28]), got ${literal(c.imageShape)}`);
  }
  // A picture's shape and channels given without inputDim: the values per example follow from them.
  if (partial.inputDim === undefined && (partial.imageShape !== undefined || partial.imageChannels !== undefined)) {
    c.inputDim = c.imageChannels * c.imageShape[0] * c.imageShape[1];
  }
  if (c.imageChannels * c.imageShape[0] * c.imageShape[1] !== c.inputDim) {
    throw new ConfigError(`imageShape ${c.imageShape.join('x')} with ${c.imageChannels} channel(s) does not hold inputDim=${c.inputDim} values`);
  }
  if (!ARCHITECTURES.includes(c.arch)) throw new ConfigError(`arch must be one of ${ARCHITECTURES.join(', ')}; got '${c.arch}'`);
  if (!Array.isArray(c.channels) || !c.channels.every(positiveInt)) {
    throw new ConfigError(`channels must be a list of positive integers (e.g. 32,64,128,256), got ${literal(c.channels)}`);
  }
  if (c.arch === 'conv') {
    const [rows, cols] = c.imageShape;
    const most = mostHalvings(rows, cols);
    if (most === 0) {
      throw new ConfigError(`the conv architecture halves the image with stride-2 convolutions, but ${rows}x${cols} has an odd side, which cannot be halved; use arch mlp, or images with even sides (an even imageShape; an even --image-size in the CLI)`);
    }
    if (c.channels.length === 0) c.channels = defaultConvChannels(rows, cols);
    if (c.channels.length === 0) {
      throw new ConfigError(`the conv architecture's default widths halve the image down to 4x4 or larger, and ${rows}x${cols} is too small for one halving of them; give the widths yourself, one per halving, at most ${most} (channels: [${convWidths(most).join(', ')}]; --channels ${convWidths(most).join(',')} in the CLI), or use arch mlp`);
    }
    if (c.channels.length > most) {
      throw new ConfigError(`${c.channels.length} stride-2 convolutions need image sides divisible by ${2 ** c.channels.length}; ${rows}x${cols} is not: give at most ${most} channels (channels: [${c.channels.slice(0, most).join(', ')}]; --channels ${c.channels.slice(0, most).join(',')} in the CLI)`);
    }
  } else if (c.channels.length > 0) {
    throw new ConfigError('channels sets the conv architecture\'s widths; the mlp architecture takes hidden sizes (hidden) instead');
  }
  if (!Array.isArray(c.dense) || !c.dense.every(positiveInt)) {
    throw new ConfigError(`dense must be a list of positive integers (e.g. 256), got ${literal(c.dense)}`);
  }
  if (c.arch !== 'conv' && c.dense.length > 0) {
    throw new ConfigError('dense sets the conv architecture\'s dense layers; the mlp architecture takes hidden sizes (hidden) instead');
  }
  if (!NORMALIZATIONS.includes(c.norm)) throw new ConfigError(`norm must be one of ${NORMALIZATIONS.join(', ')}; got '${c.norm}'`);
  if (c.arch !== 'conv' && c.norm !== 'none') {
    throw new ConfigError(`norm ${c.norm} normalizes the conv architecture's convolutions; the mlp architecture has none (use norm none, or arch conv)`);
  }
  if (!UPSAMPLINGS.includes(c.upsample)) throw new ConfigError(`upsample must be one of ${UPSAMPLINGS.join(', ')}; got '${c.upsample}'`);
  if (c.arch !== 'conv' && c.upsample !== 'transposed') {
    throw new ConfigError(`upsample ${c.upsample} sets how the conv architecture's decoder grows its pictures; the mlp architecture has no convolutions (use upsample transposed, or arch conv)`);
  }
  if (!WEIGHT_INITS.includes(c.init)) throw new ConfigError(`init must be one of ${WEIGHT_INITS.join(', ')}; got '${c.init}'`);
  if (c.arch !== 'conv' && c.init !== 'pytorch') {
    throw new ConfigError(`init ${c.init} sets the conv architecture's convolution weights; the mlp architecture starts as PyTorch's examples/vae (use init pytorch, or arch conv)`);
  }
  if (!positiveInt(c.normGroups)) throw new ConfigError(`normGroups must be a positive integer (e.g. 8), got ${literal(c.normGroups)}`);
  if (c.norm !== 'group' && c.normGroups !== DEFAULT_CONFIG.normGroups) {
    throw new ConfigError(`normGroups sets GroupNorm's groups, and this model has norm '${c.norm}', so it would do nothing: add norm 'group' (a conv model's), or leave normGroups out`);
  }
  if (c.arch === 'conv') {
    // The mlp architecture's layers: a conv model has none. Files written before it was cleared
    // recorded the default [400]; any list of sizes is read, and none is kept.
    if (!Array.isArray(c.hidden) || !c.hidden.every(positiveInt)) {
      throw new ConfigError(`hidden sets the mlp architecture's layers and a conv model does not use it: leave it out (or give []), got ${literal(c.hidden)}; the conv architecture's dense layers are dense (e.g. [256])`);
    }
    c.hidden = [];
  } else if (!Array.isArray(c.hidden) || c.hidden.length === 0 || !c.hidden.every(positiveInt)) {
    throw new ConfigError(`hidden must be a list of one or more positive integers (e.g. [400] or [512, 256]; on the command line --hidden 400 or 512,256), got ${literal(c.hidden)}`);
  }
  if (!positiveInt(c.latent)) throw new ConfigError(`latent must be a positive integer (e.g. 20), got ${shown(c.latent)}`);
  if (!ACTIVATIONS.includes(c.activation) || c.activation === 'none') {
    throw new ConfigError(`activation must be one of ${ACTIVATIONS.filter((a) => a !== 'none').join(', ')}; got '${c.activation}'`);
  }
  if (!LIKELIHOODS.includes(c.likelihood)) {
    throw new ConfigError(`likelihood must be one of ${LIKELIHOODS.join(', ')}; got '${c.likelihood}'`);
  }
  if (!(c.sigma === 'learned' || c.sigma === 'learned-pixel' || c.sigma === 'predicted' || (typeof c.sigma === 'number' && c.sigma > 0 && Number.isFinite(c.sigma)))) {
    throw new ConfigError(`sigma must be a positive number, 'learned', 'learned-pixel' or 'predicted'; got ${literal(c.sigma)}`);
  }
  if (typeof c.sigma === 'number' && c.sigma < MIN_FIXED_SIGMA) {
    throw new ConfigError(`sigma ${c.sigma} is too small: the Gaussian's 1/sigma^2 would leave float32's range; give a sigma of at least ${MIN_FIXED_SIGMA} (in practice 1e-3 or more), or 'learned'`);
  }
  if (c.likelihood === 'bernoulli' && c.sigma !== DEFAULT_CONFIG.sigma) {
    throw new ConfigError(`sigma sets the scale of the gaussian likelihood, and a Bernoulli model has none, so sigma ${literal(c.sigma)} would be ignored; use likelihood 'gaussian', or leave sigma out`);
  }
  if (!OBJECTIVES.includes(c.objective)) throw new ConfigError(`objective must be one of ${OBJECTIVES.join(', ')}; got '${c.objective}'`);
  const maxSamples = c.objective === 'iwae' ? 5000 : 64;
  if (!positiveInt(c.samples) || c.samples > maxSamples) throw new ConfigError(`samples must be an integer in 1..${maxSamples} for the ${c.objective} objective, got ${shown(c.samples)}`);
  // beta, free bits and the capacity reach the GPU as f32 (StepParams): past its range a training step would refuse them.
  if (!(typeof c.beta === 'number' && c.beta >= 0 && fitsF32(c.beta))) throw new ConfigError(`beta must be a number >= 0 within f32's range (at most 3.4e38), got ${shown(c.beta)}`);
  if (!(TC_ESTIMATORS as readonly unknown[]).includes(c.tcEstimator)) throw new ConfigError(`tcEstimator must be one of ${TC_ESTIMATORS.join(', ')}; got ${shown(c.tcEstimator)}`);
  if (c.tcEstimator !== 'mws' && c.objective !== 'tcvae') throw new ConfigError(`tcEstimator '${c.tcEstimator}' estimates the total correlation of the tcvae objective, and the ${c.objective} objective has none; use objective 'tcvae', or leave tcEstimator out`);
  if (!(Number.isInteger(c.warmupSteps) && c.warmupSteps >= 0)) throw new ConfigError(`warmupSteps must be an integer >= 0 (0 turns warm-up off), got ${shown(c.warmupSteps)}`);
  if (!(Number.isInteger(c.klCycleSteps) && c.klCycleSteps >= 0)) throw new ConfigError(`klCycleSteps must be an integer >= 0 (0 turns cycling off), got ${shown(c.klCycleSteps)}`);
  if (c.klCycleSteps > 0 && !(c.warmupSteps > 0 && c.warmupSteps <= c.klCycleSteps)) {
    throw new ConfigError(`klCycleSteps ${c.klCycleSteps} repeats the KL warm-up, so it needs warmupSteps between 1 and ${c.klCycleSteps} (the ramp within each cycle), got ${shown(c.warmupSteps)}`);
  }
  if (!(typeof c.freeBits === 'number' && c.freeBits >= 0 && fitsF32(c.freeBits))) throw new ConfigError(`freeBits must be a number of nats >= 0 within f32's range (0 turns it off), got ${shown(c.freeBits)}`);
  if (c.objective === 'iwae' && (c.beta !== 1 || c.warmupSteps > 0 || c.klCycleSteps > 0 || c.freeBits > 0)) {
    throw new ConfigError('beta, warm-up (cyclical or not) and free bits apply to the elbo and tcvae objectives only; the iwae bound has no separate KL term (use the elbo objective, or leave beta at 1 and warmupSteps, klCycleSteps and freeBits at 0)');
  }
  if (!(typeof c.klCapacity === 'number' && c.klCapacity >= 0 && fitsF32(c.klCapacity))) throw new ConfigError(`klCapacity must be a number of nats >= 0 within f32's range (0 turns capacity control off), got ${shown(c.klCapacity)}`);
  if (!(Number.isInteger(c.capacitySteps) && c.capacitySteps >= 0)) throw new ConfigError(`capacitySteps must be an integer >= 0 (0: the full capacity from the first step), got ${shown(c.capacitySteps)}`);
  if (c.capacitySteps > 0 && c.klCapacity === 0) throw new ConfigError(`capacitySteps ${c.capacitySteps} ramps the KL capacity, but klCapacity is 0 (off): give the capacity in nats (e.g. klCapacity 25)`);
  if (c.klCapacity > 0) {
    if (c.objective !== 'elbo') throw new ConfigError(`klCapacity controls the elbo objective's KL term; the ${c.objective} objective has its own (leave klCapacity at 0, or use the elbo objective)`);
    if (c.freeBits > 0 || c.warmupSteps > 0 || c.klCycleSteps > 0) {
      throw new ConfigError('klCapacity schedules the KL term itself (C grows over capacitySteps); it does not combine with free bits, KL warm-up or KL cycles: set those to 0');
    }
  }
  if (!(Number.isInteger(c.classes) && c.classes >= 0 && c.classes <= 1024)) throw new ConfigError(`classes must be an integer in 0..1024 (0: not conditional), got ${shown(c.classes)}`);
  if (!['none', 'dynamic', 'fixed'].includes(c.binarize)) throw new ConfigError(`binarize must be none, dynamic or fixed; got '${c.binarize}'`);
  if (typeof c.dequantize !== 'boolean') throw new ConfigError(`dequantize must be true or false, got ${literal(c.dequantize)}`);
  if (c.dequantize && c.likelihood !== 'gaussian') {
    throw new ConfigError("dequantize applies to the gaussian likelihood (a density on continuous values); the bernoulli likelihood takes grey levels or binarized pixels: set likelihood 'gaussian', or leave dequantize out");
  }
  if (c.dequantize && c.binarize !== 'none') throw new ConfigError('dequantize and binarize exclude each other: choose one way to turn 8-bit levels into model inputs');
  return c;
}
