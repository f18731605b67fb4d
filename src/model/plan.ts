// Graph planning: turns a VaeConfig into the static kernel graphs the model runs (training step,
// evaluation, encode, decode, reconstruct, sample), with every activation and gradient buffer
// allocated once per graph. Weights, gradients and optimizer moments are slices of the flat
// buffers described in params.ts. Dispatch order is forward, loss, backward (output layer first),
// optimizer; see README "How a step runs".
import { activationForward, type Activation } from '../../shaders/activation';
import { bindKernel } from '../../shaders/common';
import { elboReduce, elboRows, type GaussianScale } from '../../shaders/elbo';
import { optimizerStep, type Optimizer } from '../../shaders/adam';
import { columnSum, matmul, type MatmulVariant } from '../../shaders/matmul';
import { priorSample, reparamBackward, reparamForward } from '../../shaders/reparam';
import type { BufferArena, BufferSlice } from '../gpu/buffers';
import { KernelGraph } from '../graph';
import type { VaeConfig } from './config';
import { decoderLayers, encoderLayers, type LayerSpec, type ParamLayout } from './params';

export type GraphKind = 'train' | 'eval' | 'encode' | 'decode' | 'reconstruct' | 'sample';

/** Kernel variants; chosen per adapter (see kernelsFor) and overridable. */
export interface KernelChoice {
  matmul: MatmulVariant;
  elboThreadsPerRow: number;
  /** Whether the device has the `subgroups` feature (subgroup variants fall back without it). */
  subgroups: boolean;
}

/**
 * Software adapters (SwiftShader) pay dearly for workgroup barriers and memory, so they get the
 * register-blocked matmul (sharing B through subgroup broadcasts when available) and one thread
 * per ELBO row; GPUs get the shared-memory tiled matmul and a 64-thread row reduction.
 */
export function kernelsFor(adapter: { isSoftware: boolean; subgroups: boolean }): KernelChoice {
  const { isSoftware, subgroups } = adapter;
  if (isSoftware) return { matmul: subgroups ? 'register-subgroup' : 'register', elboThreadsPerRow: 1, subgroups };
  return { matmul: 'tiled', elboThreadsPerRow: 64, subgroups };
}

/** Buffers shared by every graph of one model. */
export interface ModelBuffers {
  params: GPUBuffer;
  grads: GPUBuffer;
  moment1: GPUBuffer;
  moment2: GPUBuffer;
  stepParams: GPUBuffer;
  /** Loss history ring: vec4 (loss, rec, kl, n) per step slot. */
  history: GPUBuffer;
  /** Running sums (rec, kl, n, batches) for evaluation. */
  accum: GPUBuffer;
}

export interface PlanContext {
  config: VaeConfig;
  layout: ParamLayout;
  buffers: ModelBuffers;
  arena: BufferArena;
  kernels: KernelChoice;
  optimizer: Optimizer;
}

export interface Plan {
  kind: GraphKind;
  rows: number;
  graph: KernelGraph;
  /** x [rows, D] for train/eval/encode/reconstruct, z [rows, Z] for decode. */
  input?: GPUBuffer;
  /** images [rows, D] (probabilities or means), or mulv [rows, 2Z] for encode. */
  output: GPUBuffer;
  /** Every activation buffer by name, for inspection and embedding. */
  buffers: Record<string, GPUBuffer>;
}

export function gaussianScale(c: VaeConfig): GaussianScale | undefined {
  if (c.likelihood !== 'gaussian') return undefined;
  if (c.sigma === 'learned') return 'learned-global';
  if (c.sigma === 'learned-pixel') return 'learned-pixel';
  return { fixedLogSigma: Math.log(c.sigma) };
}

export function buildPlan(ctx: PlanContext, kind: GraphKind, rows: number): Plan {
  const { config: c, layout, buffers: mb, arena, kernels } = ctx;
  const graph = new KernelGraph(`${kind}[${rows}]`);
  const bufs: Record<string, GPUBuffer> = {};
  const buf = (name: string, floats: number) => (bufs[name] = arena.create(`${kind}.${name}`, floats * 4));
  const param = (name: string): BufferSlice => {
    const t = layout.byName.get(name)!;
    return { buffer: mb.params, offset: t.offset * 4, size: t.count * 4 };
  };
  const grad = (name: string): BufferSlice => {
    const t = layout.byName.get(name)!;
    return { buffer: mb.grads, offset: t.offset * 4, size: t.count * 4 };
  };
  const D = c.inputDim, Z = c.latent;
  const L = kind === 'train' || kind === 'eval' ? c.samples : 1;
  const B = rows;
  const variant = kernels.matmul, subgroups = kernels.subgroups;
  const enc = encoderLayers(c), dec = decoderLayers(c);

  /** y = act(x W^T + b) for each layer in turn; returns every layer's output. */
  const forward = (layers: LayerSpec[], x: GPUBuffer, M: number, prefix: string, lastActivation: Activation) => {
    const outs: GPUBuffer[] = [];
    let input = x;
    layers.forEach((l, i) => {
      const activation = i === layers.length - 1 ? lastActivation : c.activation;
      const out = buf(`${prefix}${i}`, M * l.outDim);
      const shape = { M, N: l.outDim, K: l.inDim };
      graph.add(bindKernel(matmul({ ...shape, transB: true, bias: true, activation, variant, subgroups }), shape), {
        a: input, b: param(l.weight), bias: param(l.bias), c: out,
      });
      outs.push(out);
      input = out;
    });
    return outs;
  };

  /** Gradients of `layers` given dPre of the last layer; returns d(input of layer 0) if asked. */
  const backward = (layers: LayerSpec[], inputs: GPUBuffer[], dLast: GPUBuffer, M: number, prefix: string, dInput0: GPUBuffer | null) => {
    let dPre = dLast;
    for (let i = layers.length - 1; i >= 0; i--) {
      const l = layers[i];
      const wShape = { M: l.outDim, N: l.inDim, K: M };
      graph.add(bindKernel(matmul({ ...wShape, transA: true, variant, subgroups }), wShape), { a: dPre, b: inputs[i], c: grad(l.weight) });
      graph.add(bindKernel(columnSum({ rows: M, cols: l.outDim }), { rows: M, cols: l.outDim }), { x: dPre, out: grad(l.bias) });
      if (i === 0 && !dInput0) break;
      const dIn = i === 0 ? dInput0! : buf(`${prefix}${i - 1}`, M * l.inDim);
      const xShape = { M, N: l.inDim, K: l.outDim };
      const gradActivation = i === 0 ? 'none' : c.activation;
      graph.add(bindKernel(matmul({ ...xShape, gradActivation, variant, subgroups }), xShape), {
        a: dPre, b: param(l.weight), ...(i === 0 ? {} : { y: inputs[i] }), c: dIn,
      });
      dPre = dIn;
    }
  };

  /** Decoder output -> pictures: sigmoid of logits, or the Gaussian mean itself. */
  const toImages = (out: GPUBuffer, M: number): GPUBuffer => {
    if (c.likelihood !== 'bernoulli') return out;
    const images = buf('images', M * D);
    graph.add(bindKernel(activationForward({ kind: 'sigmoid', count: M * D }), undefined), { x: out, y: images });
    return images;
  };

  const reparamShape = { batch: B, latent: Z, samples: L };
  if (kind === 'decode' || kind === 'sample') {
    const z = buf('z', B * Z);
    if (kind === 'sample') graph.add(bindKernel(priorSample({ count: B * Z }), { count: B * Z }), { params: mb.stepParams, z });
    const decOuts = forward(dec, z, B, 'dec', 'none');
    return { kind, rows, graph, input: z, output: toImages(decOuts[decOuts.length - 1], B), buffers: bufs };
  }

  const x = buf('x', B * D);
  const encOuts = forward(enc, x, B, 'enc', 'none');
  const mulv = encOuts[encOuts.length - 1];
  if (kind === 'encode') return { kind, rows, graph, input: x, output: mulv, buffers: bufs };

  const z = buf('z', L * B * Z), eps = buf('eps', L * B * Z), kl = buf('kl', B);
  graph.add(bindKernel(reparamForward({ ...reparamShape, meanOnly: kind === 'reconstruct' }), reparamShape), {
    params: mb.stepParams, mulv, z, eps, kl,
  });
  const decOuts = forward(dec, z, L * B, 'dec', 'none');
  const out = decOuts[decOuts.length - 1];
  if (kind === 'reconstruct') return { kind, rows, graph, input: x, output: toImages(out, B), buffers: bufs };

  // Loss (and, for training, d loss / d output).
  const train = kind === 'train';
  const scale = gaussianScale(c);
  const learned = typeof scale === 'string';
  const rec = buf('rec', L * B);
  const dout = train ? buf('dout', L * B * D) : null;
  const dls = train && learned ? buf('dls', L * B * (scale === 'learned-pixel' ? D : 1)) : null;
  graph.add(
    bindKernel(elboRows({ batch: B, samples: L, dim: D, likelihood: c.likelihood, scale, gradients: train, threadsPerRow: kernels.elboThreadsPerRow }), { rows: L * B }),
    { params: mb.stepParams, x, out, rec, ...(dout ? { dout } : {}), ...(learned ? { logsigma: param('likelihood.log_sigma') } : {}), ...(dls ? { dls } : {}) },
  );
  graph.add(bindKernel(elboReduce({ batch: B, samples: L }), undefined), { params: mb.stepParams, rec, kl, history: mb.history, accum: mb.accum });
  if (!train) return { kind, rows, graph, input: x, output: out, buffers: bufs };

  // Backward: decoder, sampling (+ KL), encoder; then the learned scale and the optimizer.
  const dz = buf('dz', L * B * Z);
  backward(dec, [z, ...decOuts.slice(0, -1)], dout!, L * B, 'd_dec', dz);
  const dmulv = buf('dmulv', B * 2 * Z);
  graph.add(bindKernel(reparamBackward(reparamShape), reparamShape), { params: mb.stepParams, mulv, eps, dz, dmulv });
  backward(enc, [x, ...encOuts.slice(0, -1)], dmulv, B, 'd_enc', null);
  if (dls) {
    const cols = scale === 'learned-pixel' ? D : 1;
    graph.add(bindKernel(columnSum({ rows: L * B, cols }), { rows: L * B, cols }), { x: dls, out: grad('likelihood.log_sigma') });
  }
  const opt = bindKernel(optimizerStep({ kind: ctx.optimizer, count: layout.totalFloats }), undefined);
  graph.add(opt, { params: mb.stepParams, p: mb.params, g: mb.grads, ...(ctx.optimizer === 'adam' ? { m: mb.moment1, v: mb.moment2 } : {}) });
  return { kind, rows, graph, input: x, output: out, buffers: bufs };
}
