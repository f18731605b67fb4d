// The flat parameter layout: every tensor (weights [out, in] as in PyTorch, biases [out], the
// Gaussian log-sigma) at a 256-byte aligned offset in ONE buffer, so kernels bind slices of it and
// one optimizer dispatch updates everything. Tensor names are the checkpoint names:
//   encoder.layers.{i}.weight/bias   hidden layers of the encoder
//   encoder.head.weight/bias         [2Z, h]: rows 0..Z-1 give mu, rows Z..2Z-1 give logvar
//   decoder.layers.{i}.weight/bias   hidden layers of the decoder
//   decoder.out.weight/bias          [D, h]: logits (Bernoulli) or means (Gaussian)
//   likelihood.log_sigma             [1] or [D], learned Gaussian scale only
import { Philox } from '../rng';
import type { VaeConfig } from './config';

export interface TensorSpec {
  name: string;
  shape: number[];
  /** Offset in floats into the flat buffer (multiple of ALIGN_FLOATS). */
  offset: number;
  count: number;
  /** Fan-in for PyTorch's default init; 0 means initialise to zero. */
  fanIn: number;
}

export interface ParamLayout {
  tensors: TensorSpec[];
  byName: Map<string, TensorSpec>;
  /** Total floats including alignment padding (a multiple of 4). */
  totalFloats: number;
  /** Parameters proper, without padding. */
  paramCount: number;
}

/** 256 bytes: WebGPU's default minStorageBufferOffsetAlignment. */
export const ALIGN_FLOATS = 64;

export interface LayerSpec {
  weight: string;
  bias: string;
  inDim: number;
  outDim: number;
}

export function encoderLayers(c: VaeConfig): LayerSpec[] {
  const dims = [c.inputDim, ...c.hidden];
  const layers = c.hidden.map((h, i) => ({ weight: `encoder.layers.${i}.weight`, bias: `encoder.layers.${i}.bias`, inDim: dims[i], outDim: h }));
  layers.push({ weight: 'encoder.head.weight', bias: 'encoder.head.bias', inDim: dims[dims.length - 1], outDim: 2 * c.latent });
  return layers;
}

export function decoderLayers(c: VaeConfig): LayerSpec[] {
  const hidden = [...c.hidden].reverse();
  const dims = [c.latent, ...hidden];
  const layers = hidden.map((h, i) => ({ weight: `decoder.layers.${i}.weight`, bias: `decoder.layers.${i}.bias`, inDim: dims[i], outDim: h }));
  layers.push({ weight: 'decoder.out.weight', bias: 'decoder.out.bias', inDim: dims[dims.length - 1], outDim: c.inputDim });
  return layers;
}

export function paramLayout(c: VaeConfig): ParamLayout {
  const tensors: TensorSpec[] = [];
  let offset = 0;
  const add = (name: string, shape: number[], fanIn: number) => {
    const count = shape.reduce((a, b) => a * b, 1);
    tensors.push({ name, shape, offset, count, fanIn });
    offset += Math.ceil(count / ALIGN_FLOATS) * ALIGN_FLOATS;
  };
  for (const l of [...encoderLayers(c), ...decoderLayers(c)]) {
    add(l.weight, [l.outDim, l.inDim], l.inDim);
    add(l.bias, [l.outDim], l.inDim);
  }
  if (c.likelihood === 'gaussian' && typeof c.sigma === 'string') {
    add('likelihood.log_sigma', c.sigma === 'learned-pixel' ? [c.inputDim] : [1], 0);
  }
  return {
    tensors,
    byName: new Map(tensors.map((t) => [t.name, t])),
    totalFloats: offset,
    paramCount: tensors.reduce((s, t) => s + t.count, 0),
  };
}

/**
 * PyTorch's nn.Linear default: weight and bias ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform
 * with a = sqrt(5) reduces to this bound). Drawn from a Philox stream of `seed`, tensor by tensor.
 */
export function initialParams(layout: ParamLayout, seed: number): Float32Array {
  const flat = new Float32Array(layout.totalFloats);
  const rng = new Philox(seed);
  for (const t of layout.tensors) {
    if (t.fanIn === 0) continue;
    const bound = 1 / Math.sqrt(t.fanIn);
    for (let i = 0; i < t.count; i++) flat[t.offset + i] = rng.uniform(-bound, bound);
  }
  return flat;
}
