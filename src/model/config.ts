// The model's configuration, its defaults (PyTorch examples/vae: 784-400-20, ReLU, Bernoulli) and
// validation with messages that name the bad field and a valid choice.
import { ACTIVATIONS, type Activation } from '../../shaders/activation';
import type { Likelihood } from '../../shaders/elbo';
import { ConfigError } from '../errors';

/** Gaussian decoder scale: a fixed sigma, or a log-sigma learned globally or per pixel. */
export type GaussianSigma = number | 'learned' | 'learned-pixel';

export interface VaeConfig {
  /** Values per example (784 for MNIST). */
  inputDim: number;
  /** Image shape for pictures, rows * cols = inputDim. */
  imageShape: [number, number];
  /** Encoder hidden sizes; the decoder mirrors them. */
  hidden: number[];
  latent: number;
  activation: Activation;
  likelihood: Likelihood;
  /** Used when likelihood is 'gaussian'. */
  sigma: GaussianSigma;
  /** Monte Carlo samples of z per example (L). */
  samples: number;
  /** Weight of the KL term (beta-VAE); 1 gives the ELBO. */
  beta: number;
}

export const DEFAULT_CONFIG: VaeConfig = {
  inputDim: 784,
  imageShape: [28, 28],
  hidden: [400],
  latent: 20,
  activation: 'relu',
  likelihood: 'bernoulli',
  sigma: 1,
  samples: 1,
  beta: 1,
};

const positiveInt = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v > 0;

export function resolveConfig(partial: Partial<VaeConfig> = {}): VaeConfig {
  const c: VaeConfig = { ...DEFAULT_CONFIG, ...partial };
  if (partial.inputDim !== undefined && partial.imageShape === undefined) {
    const side = Math.round(Math.sqrt(c.inputDim));
    c.imageShape = side * side === c.inputDim ? [side, side] : [1, c.inputDim];
  }
  if (!positiveInt(c.inputDim)) throw new ConfigError(`inputDim must be a positive integer, got ${c.inputDim}`);
  if (c.imageShape[0] * c.imageShape[1] !== c.inputDim) {
    throw new ConfigError(`imageShape ${c.imageShape.join('x')} does not hold inputDim=${c.inputDim} values`);
  }
  if (!Array.isArray(c.hidden) || c.hidden.length === 0 || !c.hidden.every(positiveInt)) {
    throw new ConfigError(`hidden must be one or more positive integers (e.g. 400 or 512,256), got ${JSON.stringify(c.hidden)}`);
  }
  if (!positiveInt(c.latent)) throw new ConfigError(`latent must be a positive integer (e.g. 20), got ${c.latent}`);
  if (!ACTIVATIONS.includes(c.activation) || c.activation === 'none') {
    throw new ConfigError(`activation must be one of ${ACTIVATIONS.filter((a) => a !== 'none').join(', ')}; got '${c.activation}'`);
  }
  if (c.likelihood !== 'bernoulli' && c.likelihood !== 'gaussian') {
    throw new ConfigError(`likelihood must be 'bernoulli' or 'gaussian', got '${c.likelihood}'`);
  }
  if (!(c.sigma === 'learned' || c.sigma === 'learned-pixel' || (typeof c.sigma === 'number' && c.sigma > 0 && Number.isFinite(c.sigma)))) {
    throw new ConfigError(`sigma must be a positive number, 'learned' or 'learned-pixel'; got ${JSON.stringify(c.sigma)}`);
  }
  if (!positiveInt(c.samples) || c.samples > 64) throw new ConfigError(`samples (L) must be an integer in 1..64, got ${c.samples}`);
  if (!(typeof c.beta === 'number' && c.beta >= 0 && Number.isFinite(c.beta))) throw new ConfigError(`beta must be a number >= 0, got ${c.beta}`);
  return c;
}
