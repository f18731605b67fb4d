// From a configuration to the model's parts: the encoder and decoder as module sequences, the
// posterior sampler, the likelihood and the objective, and the parameter layout they declare.
// The MLP architecture (PyTorch examples/vae, mirrored hidden sizes) is written as layer
// declarations, so other architectures are other declaration lists over the same registry.
import type { Activation } from '../../shaders/activation';
import type { VaeConfig } from './config';
import { buildLayers, type LayerDecl } from './layers';
import { DecoderLikelihood } from './likelihood';
import type { Module } from './module';
import { ElboObjective } from './objectives/elbo';
import { IwaeObjective } from './objectives/iwae';
import type { Objective } from './objectives/objective';
import { layoutOf, type ParamLayout } from './params';
import { GaussianSampler } from './sampler';

export interface ModelParts {
  config: VaeConfig;
  encoder: Module[];
  decoder: Module[];
  sampler: GaussianSampler;
  likelihood: DecoderLikelihood;
  objective: Objective;
  layout: ParamLayout;
}

/** Hidden dense layers then an output layer, named as the checkpoint names them. */
function mlp(prefix: string, hidden: number[], activation: Activation, out: { name: string; features: number }): LayerDecl[] {
  return [
    ...hidden.map((h, i): LayerDecl => ({ type: 'dense', name: `${prefix}.layers.${i}`, out: h, activation })),
    { type: 'dense', name: out.name, out: out.features, activation: 'none' },
  ];
}

export function buildModel(config: VaeConfig): ModelParts {
  const sampler = new GaussianSampler(config.latent);
  // A conditional model sees the one-hot label beside x and beside z.
  const label = (prefix: string): LayerDecl[] => (config.classes > 0 ? [{ type: 'concat-label', name: `${prefix}.condition`, classes: config.classes }] : []);
  const encoder = buildLayers(
    [...label('encoder'), ...mlp('encoder', config.hidden, config.activation, { name: 'encoder.head', features: sampler.posteriorWidth })],
    [config.inputDim],
  ).modules;
  const likelihood = new DecoderLikelihood(config.likelihood, config.sigma, config.inputDim);
  const decoder = buildLayers(
    [...label('decoder'), ...mlp('decoder', [...config.hidden].reverse(), config.activation, { name: 'decoder.out', features: likelihood.outputWidth })],
    [config.latent],
  ).modules;
  const objective = config.objective === 'iwae' ? new IwaeObjective(config.samples) : new ElboObjective(config.samples, config.freeBits > 0);
  const layout = layoutOf([...encoder, ...decoder].flatMap((m) => m.params()).concat(likelihood.params()));
  return { config, encoder, decoder, sampler, likelihood, objective, layout };
}

/** The parameter layout of a configuration (checkpoint names, shapes and flat offsets). */
export function paramLayout(config: VaeConfig): ParamLayout {
  return buildModel(config).layout;
}
