// From a configuration to the model's parts: the encoder and decoder as module sequences, the
// posterior sampler, the likelihood and the objective, and the parameter layout they declare.
// The MLP architecture (PyTorch examples/vae, mirrored hidden sizes) is written as layer
// declarations, so other architectures are other declaration lists over the same registry.
import type { Activation } from '../../shaders/activation';
import { resolveConfig, type VaeConfig } from './config';
import { buildLayers, type LayerDecl } from './layers';
import { largestDivisorAtMost } from './layers/group-norm';
import { DecoderLikelihood } from './likelihood';
import type { Module } from './module';
import { ElboObjective } from './objectives/elbo';
import { IwaeObjective } from './objectives/iwae';
import type { Objective } from './objectives/objective';
import { TcvaeObjective } from './objectives/tcvae';
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

/** The convolution every conv layer uses: 4x4, stride 2, padding 1, which halves (or doubles) the side exactly. */
const HALVING = { kernel: 4, stride: 2, padding: 1 } as const;
/** The nearest-upsampling decoder's convolution: 3x3, stride 1, padding 1, which keeps the side. */
const KEEPING = { kernel: 3, stride: 1, padding: 1 } as const;

/**
 * The conv architecture. Encoder: [C, H, W] -> conv(channels[i]) with stride 2 per entry ->
 * flatten -> dense(dense[j]) layers, if any -> dense head to (mu, logvar). Decoder, its mirror:
 * dense(dense[j]) layers in reverse order, if any -> dense to [channels[last], h, w] -> transposed
 * convs back through the channels -> a last transposed conv to the image's channels (twice as
 * many with a predicted scale: means first, then log-scales, as NCHW rows flatten). With upsample
 * 'nearest', each transposed conv is a 2x nearest upsampling and a 3x3 conv of the same name.
 * A conditional model takes the one-hot label beside the flattened features and beside z.
 */
function convLayers(config: VaeConfig, posteriorWidth: number, outputChannels: number, label: (prefix: string) => LayerDecl[]) {
  const { channels, dense, activation, imageChannels: C, init } = config;
  const [rows, cols] = config.imageShape;
  const n = channels.length, h = rows >> n, w = cols >> n, last = channels[n - 1];
  // conv -> act, or conv -> GroupNorm -> act when normalized (the norm carries the activation).
  type ConvDecl = Extract<LayerDecl, { type: 'conv2d' | 'conv-transpose2d' }>;
  const normed = (prefix: string, i: number, out: number, conv: ConvDecl): LayerDecl[] => (config.norm === 'group'
    ? [{ ...conv, activation: 'none' }, { type: 'group-norm', name: `${prefix}.norms.${i}`, groups: largestDivisorAtMost(out, config.normGroups), activation }]
    : [conv]);
  const encoder: LayerDecl[] = [
    { type: 'reshape', name: 'encoder.image', shape: [C, rows, cols] },
    ...channels.flatMap((out, i) => normed('encoder', i, out, { type: 'conv2d', name: `encoder.layers.${i}`, out, activation, init, ...HALVING })),
    { type: 'flatten', name: 'encoder.flatten' },
    ...label('encoder'),
    ...dense.map((out, j): LayerDecl => ({ type: 'dense', name: `encoder.dense.${j}`, out, activation })),
    { type: 'dense', name: 'encoder.head', out: posteriorWidth, activation: 'none' },
  ];
  const widths = [...channels].reverse().slice(1);
  // Each decoder stage doubles the sides: a transposed convolution, or a nearest-neighbour
  // upsampling (no parameters) followed by a 3x3 convolution that keeps the size.
  const nearest = config.upsample === 'nearest';
  const doubling = (name: string): LayerDecl[] => (nearest ? [{ type: 'upsample', name, scale: 2 }] : []);
  // The ReLU gain of init 'kaiming' is for a ReLU-like activation after the layer; decoder.out has
  // none, and with it the output (a log-scale channel, under GroupNorm above it) started with
  // sqrt(6) = 2.4 times PyTorch's spread and 2-30x the reconstruction loss. So it keeps PyTorch's.
  const growing = (name: string, out: number, act: typeof activation, layerInit = init): ConvDecl => (nearest
    ? { type: 'conv2d', name, out, activation: act, init: layerInit, ...KEEPING }
    : { type: 'conv-transpose2d', name, out, activation: act, init: layerInit, ...HALVING });
  const decoder: LayerDecl[] = [
    ...label('decoder'),
    ...[...dense].reverse().map((out, j): LayerDecl => ({ type: 'dense', name: `decoder.dense.${j}`, out, activation })),
    { type: 'dense', name: 'decoder.input', out: last * h * w, activation },
    { type: 'reshape', name: 'decoder.image', shape: [last, h, w] },
    ...widths.flatMap((out, i) => [...doubling(`decoder.upsample.${i}`), ...normed('decoder', i, out, growing(`decoder.layers.${i}`, out, activation))]),
    ...doubling('decoder.upsample.out'),
    growing('decoder.out', outputChannels, 'none', 'pytorch'),
    { type: 'flatten', name: 'decoder.flatten' },
  ];
  return { encoder, decoder };
}

export function buildModel(config: VaeConfig): ModelParts {
  const sampler = new GaussianSampler(config.latent);
  // A conditional model sees the one-hot label beside x and beside z.
  const label = (prefix: string): LayerDecl[] => (config.classes > 0 ? [{ type: 'concat-label', name: `${prefix}.condition`, classes: config.classes }] : []);
  const likelihood = new DecoderLikelihood(config.likelihood, config.sigma, config.inputDim);
  const decls = config.arch === 'conv'
    ? convLayers(config, sampler.posteriorWidth, (likelihood.outputWidth / config.inputDim) * config.imageChannels, label)
    : {
      encoder: [...label('encoder'), ...mlp('encoder', config.hidden, config.activation, { name: 'encoder.head', features: sampler.posteriorWidth })],
      decoder: [...label('decoder'), ...mlp('decoder', [...config.hidden].reverse(), config.activation, { name: 'decoder.out', features: likelihood.outputWidth })],
    };
  const encoder = buildLayers(decls.encoder, [config.inputDim]).modules;
  const decoder = buildLayers(decls.decoder, [config.latent]).modules;
  const objective = config.objective === 'iwae' ? new IwaeObjective(config.samples)
    : config.objective === 'tcvae' ? new TcvaeObjective(config.samples, config.beta, config.freeBits > 0, config.tcEstimator)
    : new ElboObjective(config.samples, config.freeBits > 0 ? 'free-bits' : config.klCapacity > 0 ? 'capacity' : 'plain');
  const layout = layoutOf([...encoder, ...decoder].flatMap((m) => m.params()).concat(likelihood.params()));
  return { config, encoder, decoder, sampler, likelihood, objective, layout };
}

/** The parameter layout of a configuration (checkpoint names, shapes and flat offsets). */
export function paramLayout(config: Partial<VaeConfig>): ParamLayout {
  // Resolved here, so a partial config (as VAE.create takes) gets its defaults and checks, not a TypeError.
  return buildModel(resolveConfig(config)).layout;
}
