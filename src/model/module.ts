// The model's building blocks. A layer is a Module: it declares its parameters (with their
// checkpoint names and PyTorch layouts) and, given a Recorder, records its forward dispatches and
// returns its backward, which records the gradient dispatches when called. Encoder and decoder
// are sequences of modules (build.ts); graph kinds walk those sequences (graphs.ts).
import { activationForward, gradFromInput, type Activation } from '../../shaders/activation';
import type { BufferSlice } from '../gpu/buffers';
import type { KernelGraph } from '../graph';
import type { Tensor } from '../tensor';
import type { KernelChoice } from './kernel-choice';

/**
 * How a layer's weights start: PyTorch's default, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (kaiming_uniform
 * with a = sqrt(5)), or 'kaiming': nn.init.kaiming_uniform_(w, nonlinearity='relu'),
 * U(-sqrt(6/fan_in), sqrt(6/fan_in)), which keeps a ReLU stack's activations at the same scale
 * layer after layer instead of shrinking them about sqrt(6)-fold per layer. fan_in as PyTorch
 * computes it (weight.size(1) times the kernel's area). Biases keep PyTorch's default either way.
 * The conv architecture gives it to the hidden convolutions only: the decoder's output layer,
 * with no activation after it, keeps PyTorch's default (src/model/build.ts).
 */
export type WeightInit = 'pytorch' | 'kaiming';
export const WEIGHT_INITS: readonly WeightInit[] = ['pytorch', 'kaiming'];

/** U(-bound, bound) bound of a weight with this fan-in under `init`. */
export function weightBound(init: WeightInit | undefined, fanIn: number): number {
  return (init === 'kaiming' ? Math.sqrt(6) : 1) / Math.sqrt(fanIn);
}

/** How a parameter starts: PyTorch's U(-bound, bound) default, zeros, or a constant. */
export type ParamInit = { kind: 'uniform'; bound: number } | { kind: 'zeros' } | { kind: 'constant'; value: number };

export interface ParamSpec {
  /** Checkpoint name, e.g. `encoder.layers.0.weight`. */
  name: string;
  /** PyTorch layout: [out, in] for Linear weights. */
  shape: number[];
  init: ParamInit;
}

/**
 * A gradient flowing backward. `pre` says it is already with respect to the pre-activation of
 * the tensor it belongs to (the consumer folded act' into its own kernel), so the producer must
 * not apply act' again.
 */
export interface Grad {
  t: Tensor;
  pre: boolean;
}

/** Records the gradient dispatches; returns the gradient of the module's input when asked. */
export type Backward = (g: Recorder, dy: Grad, needInputGrad: boolean) => Grad | null;

export interface Module {
  /** Checkpoint prefix, e.g. `encoder.layers.0`. */
  readonly name: string;
  params(): ParamSpec[];
  /** Output shape of one example, from the input shape of one example. */
  outputShape(input: readonly number[]): number[];
  forward(g: Recorder, x: Tensor): { y: Tensor; backward: Backward };
}

/** What modules record into: one graph, its tensors, and the model's parameters and gradients. */
export interface Recorder {
  readonly graph: KernelGraph;
  readonly kernels: KernelChoice;
  /** The per-step uniform block. */
  readonly stepParams: GPUBuffer;
  /** A new tensor of this graph, placed by the planner; `pinned` for inputs, outputs and state. */
  tensor(name: string, shape: readonly number[], pinned?: boolean): Tensor;
  param(name: string): BufferSlice;
  grad(name: string): BufferSlice;
  /** The condition (one-hot labels [B, C]) of a conditional model, or null. */
  readonly condition: Tensor | null;
  /** Storage of hidden activations: 'f16' where the model asked for it (precision.ts); f32 otherwise. */
  readonly precision?: 'f32' | 'f16';
  /**
   * The graph's matmuls are later swapped for their larger-block forms (a training step, where the
   * model's kernels.hotMatmuls: hot-kernels.ts), so a zero-skipping product's lists are made for both.
   */
  readonly hotSwapped?: boolean;
}

/** Activation of a layer's output: used by consumers to fold act' into their backward. */
export function producedBy(t: Tensor, activation: Activation): Tensor {
  t.activation = activation;
  return t;
}

/**
 * The tensor a backward kernel binds (as its 'y') to fold act' of `t`'s activation: `t` itself, or
 * for an activation whose derivative needs the pre-activation (gelu), the one its producer kept.
 */
export function actGradInput(t: Tensor): Tensor {
  if (gradFromInput(t.activation as Activation) && !t.gradSource) {
    throw new Error(`tensor ${t.name}: act' of ${t.activation} needs the pre-activation, which its producer did not keep (recordActivated)`);
  }
  return t.gradSource ?? t;
}

/**
 * Records y = act(...) of a layer with an activation: `record(out, act)` records the layer's kernel
 * writing `out` with `act` fused in its epilogue. For an activation whose derivative needs the
 * pre-activation (gelu), the kernel writes the pre-activation instead, kept as y.gradSource, and an
 * activation_forward dispatch writes y from it.
 */
export function recordActivated(g: Recorder, y: Tensor, activation: Activation, record: (out: Tensor, activation: Activation) => void): Tensor {
  producedBy(y, activation);
  if (!gradFromInput(activation)) {
    record(y, activation);
    return y;
  }
  if (y.dtype !== 'f32') throw new Error(`${y.name}: ${activation} is f32 only (its activation_forward has no f16 variant)`);
  const pre = g.tensor(`${y.name}.pre`, y.shape);
  record(pre, 'none');
  g.graph.add(activationForward({ activation, count: y.size, sizedByBinding: true }), { x: pre, y });
  y.gradSource = pre;
  return y;
}
