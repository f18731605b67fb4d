// The graph kinds a model runs, each a walk over the same parts (build.ts): the encoder's and
// decoder's modules, the sampler, the likelihood and the objective. Every graph is planned once
// for a row count (its tensors placed by the planner) and replayed each step.
//   train        x -> encoder -> q -> sample L -> decoder -> objective -> seeds -> decoder^T
//                  -> sampler^T -> encoder^T -> optimizer
//   eval         the train walk's forward half with the ELBO's record (no gradients)
//   encode       x -> encoder -> q
//   decode       z -> decoder -> images;  sample: prior z -> decoder -> images
//   decode-output z -> decoder (its raw output: logits, or means then log-scales)
//   reconstruct  x -> encoder -> z = mu -> decoder -> images
//   iwae-eval    x -> encoder -> q -> K_c samples -> decoder -> likelihood -> running logsumexp
import type { Optimizer } from '../../shaders/adam';
import { optimizerStep } from '../../shaders/adam';
import { GRAD_NORM, gradNormPartial, stepHealth } from '../../shaders/grad-norm';
import { iwaeChunk } from '../../shaders/iwae';
import type { BufferArena, BufferSlice } from '../gpu/buffers';
import { KernelGraph } from '../graph';
import { Tensor } from '../tensor';
import type { ModelParts } from './build';
import type { KernelChoice } from './kernel-choice';
import type { Backward, Grad, Module, Recorder } from './module';
import { ElboObjective } from './objectives/elbo';
import type { Objective } from './objectives/objective';

export type GraphKind = 'train' | 'eval' | 'encode' | 'decode' | 'decode-output' | 'reconstruct' | 'sample' | 'iwae-eval';

/** Buffers shared by every graph of one model. */
export interface ModelBuffers {
  params: GPUBuffer;
  grads: GPUBuffer;
  moment1: GPUBuffer;
  moment2: GPUBuffer;
  stepParams: GPUBuffer;
  /** Loss history ring: vec4 (loss, rec, kl, n) per step slot. */
  history: GPUBuffer;
  /** Running sums for evaluation (the objective's record). */
  accum: GPUBuffer;
  /** The step health watch and the optimizer's gate (shaders/grad-norm.ts). */
  watch: GPUBuffer;
  /** Health ring, beside the loss history: vec4 (gradient norm, flags, clip scale, smoothed loss) per slot. */
  health: GPUBuffer;
}

export interface GraphContext {
  parts: ModelParts;
  buffers: ModelBuffers;
  arena: BufferArena;
  kernels: KernelChoice;
  optimizer: Optimizer;
  /** Storage of hidden activations (VaeOptions.precision); f32 when absent. */
  precision?: 'f32' | 'f16';
}

export interface Plan {
  kind: GraphKind;
  /** Examples per dispatch of this graph. */
  rows: number;
  /** Samples of z per example in this graph. */
  samples: number;
  graph: KernelGraph;
  /** x [rows, D] for train/eval/encode/reconstruct/iwae-eval, z [rows, Z] for decode. */
  input: Tensor | null;
  /** One-hot labels [rows, C] of a conditional model. */
  condition: Tensor | null;
  /** images [rows, D] (probabilities or means), q [rows, 2Z] for encode, decoder output for eval. */
  output: Tensor;
  /** Every named tensor of the graph, for inspection and tests. */
  tensors: Record<string, Tensor>;
  /** The objective whose record this graph writes (train and eval). */
  objective: Objective | null;
}

class GraphRecorder implements Recorder {
  readonly graph: KernelGraph;
  readonly tensors: Record<string, Tensor> = {};

  constructor(private readonly ctx: GraphContext, label: string, readonly condition: Tensor | null, readonly hotSwapped = false) {
    this.graph = new KernelGraph(label);
  }

  get kernels() { return this.ctx.kernels; }
  get stepParams() { return this.ctx.buffers.stepParams; }
  get precision() { return this.ctx.precision ?? 'f32'; }

  tensor(name: string, shape: readonly number[], pinned = false): Tensor {
    let unique = name;
    for (let i = 2; unique in this.tensors; i++) unique = `${name}#${i}`;
    return (this.tensors[unique] = new Tensor(unique, shape, pinned));
  }

  private slice(buffer: GPUBuffer, name: string): BufferSlice {
    const t = this.ctx.parts.layout.byName.get(name);
    if (!t) throw new Error(`no parameter named ${name} in this model`);
    return { buffer, offset: t.offset * 4, size: t.count * 4 };
  }

  param(name: string): BufferSlice { return this.slice(this.ctx.buffers.params, name); }
  grad(name: string): BufferSlice { return this.slice(this.ctx.buffers.grads, name); }
}

interface ForwardPass {
  y: Tensor;
  backwards: Backward[];
  /** Whether a module before module i has parameters, so that i must pass a gradient back. */
  learnedBefore: boolean[];
}

function forwardAll(g: Recorder, modules: Module[], x: Tensor): ForwardPass {
  const backwards: Backward[] = [];
  let y = x;
  for (const m of modules) {
    const r = m.forward(g, y);
    backwards.push(r.backward);
    y = r.y;
  }
  return { y, backwards, learnedBefore: modules.map((_, i) => modules.slice(0, i).some((m) => m.params().length > 0)) };
}

/**
 * Runs the backwards last to first; returns the gradient of the sequence's input if asked. A
 * module after only parameter-free ones (a reshape or label concatenation at the input) skips
 * its input gradient unless the caller needs it: no one would read it.
 */
function backwardAll(g: Recorder, f: ForwardPass, dy: Grad, needInputGrad: boolean): Grad | null {
  let d: Grad | null = dy;
  for (let i = f.backwards.length - 1; i >= 0 && d; i--) d = f.backwards[i](g, d, needInputGrad || f.learnedBefore[i]);
  return d;
}

/** The stages graphs are made of; each kind below is a short composition of them. */
class Walk {
  readonly g: GraphRecorder;
  readonly parts: ModelParts;

  constructor(readonly ctx: GraphContext, readonly kind: GraphKind, readonly rows: number, readonly opts: RecordOptions) {
    const c = ctx.parts.config;
    const condition = c.classes > 0 ? new Tensor('condition', [rows, c.classes], true) : null;
    // Only the training step swaps in larger blocks (hot-kernels.ts); evaluations keep their kernels.
    this.g = new GraphRecorder(ctx, `${kind}[${rows}]`, condition, kind === 'train' && !!ctx.kernels.hotMatmuls);
    if (condition) this.g.tensors.condition = condition;
    this.parts = ctx.parts;
  }

  /**
   * A pinned input the caller fills before each run. The data (`x`) is expected to be mostly zeros
   * (a picture's background), unless it is dequantized: uniform noise on every level leaves none.
   */
  input(name: string, features: number): Tensor {
    const t = this.g.tensor(name, [this.rows, features], true);
    t.zerosLikely = name === 'x' && !this.parts.config.dequantize;
    return t;
  }

  forward(modules: Module[], x: Tensor) {
    return forwardAll(this.g, modules, x);
  }

  sample(q: Tensor, samples: number) {
    // Evaluations key each example's noise by its number and its sample's (reparam.ts), whatever the batch or chunk.
    const evaluation = this.kind === 'eval' || this.kind === 'iwae-eval';
    return this.parts.sampler.sample(this.g, q, samples, { pinNoise: this.kind === 'train', counterPerSample: evaluation });
  }

  images(out: Tensor): Tensor {
    return this.parts.likelihood.images(this.g, out, true);
  }

  plan(input: Tensor | null, output: Tensor, samples: number, objective: Objective | null = null): Plan {
    output.pinned = true;
    return { kind: this.kind, rows: this.rows, samples, graph: this.g.graph, input, condition: this.g.condition, output, tensors: this.g.tensors, objective };
  }
}

export interface RecordOptions {
  /** Importance samples per chunk (iwae-eval). */
  samples?: number;
  /** Where iwae-eval writes each example's bound (indexed by batch_start + row). */
  bounds?: GPUBuffer;
}

/** x -> encoder -> q -> z (S per example) -> decoder: the forward half shared by train, eval and iwae-eval. */
function forwardThrough(w: Walk, samples: number) {
  const x = w.input('x', w.parts.config.inputDim);
  const enc = w.forward(w.parts.encoder, x);
  const { z, eps } = w.sample(enc.y, samples);
  const dec = w.forward(w.parts.decoder, z);
  return { x, q: enc.y, z, eps, out: dec.y, enc, dec };
}

const WALKS: Record<GraphKind, (w: Walk) => Plan> = {
  encode(w) {
    const x = w.input('x', w.parts.config.inputDim);
    return w.plan(x, w.forward(w.parts.encoder, x).y, 1);
  },
  decode(w) {
    const z = w.input('z', w.parts.config.latent);
    return w.plan(z, w.images(w.forward(w.parts.decoder, z).y), 1);
  },
  'decode-output'(w) {
    const z = w.input('z', w.parts.config.latent);
    return w.plan(z, w.forward(w.parts.decoder, z).y, 1);
  },
  sample(w) {
    const z = w.parts.sampler.prior(w.g, w.rows);
    return w.plan(null, w.images(w.forward(w.parts.decoder, z).y), 1);
  },
  reconstruct(w) {
    const x = w.input('x', w.parts.config.inputDim);
    const z = w.parts.sampler.mean(w.g, w.forward(w.parts.encoder, x).y);
    return w.plan(x, w.images(w.forward(w.parts.decoder, z).y), 1);
  },
  eval(w) {
    const samples = evalSamples(w.parts);
    const f = forwardThrough(w, samples);
    const { sampler, likelihood } = w.parts;
    const objective = new ElboObjective(samples);
    // Each row's (rec, kl) in the pinned tensor example_figures, which elbo() copies out per batch.
    objective.record(w.g, f, { sampler, likelihood, targets: { ...targetsOf(w.ctx), perExample: true }, gradients: false });
    return w.plan(f.x, f.out, samples, objective);
  },
  'iwae-eval'(w) {
    const samples = w.opts.samples ?? 1;
    const f = forwardThrough(w, samples);
    const { rec } = w.parts.likelihood.rows(w.g, f.x, f.out, samples, { gradients: false });
    const state = w.g.tensor('iwae_state', [w.rows, 2], true);
    if (!w.opts.bounds) throw new Error('iwae-eval needs a bounds buffer');
    w.g.graph.add(iwaeChunk({ batch: w.rows, samples, layout: w.parts.sampler.layout }), {
      params: w.ctx.buffers.stepParams, q: f.q, z: f.z, eps: f.eps, rec, state, bounds: w.opts.bounds,
    });
    return w.plan(f.x, f.out, samples);
  },
  train(w) {
    const { objective, sampler, likelihood, layout } = w.parts;
    const f = forwardThrough(w, objective.samples);
    const seeds = objective.record(w.g, f, { sampler, likelihood, targets: targetsOf(w.ctx), gradients: true })!;
    const dz = backwardAll(w.g, f.dec, { t: seeds.dout, pre: true }, true)!;
    const dq = sampler.backward(w.g, f.q, f.eps, dz.t, seeds.dqDirect, seeds.dzDirect, objective.samples);
    backwardAll(w.g, f.enc, { t: dq, pre: true }, false);
    const b = w.ctx.buffers, adam = w.ctx.optimizer === 'adam';
    // The step is judged on the GPU (NaN/Inf, divergence, clip scale) and the optimizer skips a bad one.
    const partials = w.g.tensor('grad_norm_partials', [GRAD_NORM.partials]);
    w.g.graph.add(gradNormPartial({ count: layout.totalFloats }), { g: b.grads, partials });
    w.g.graph.add(stepHealth(), { params: b.stepParams, partials, history: b.history, watch: b.watch, health: b.health });
    w.g.graph.add(optimizerStep({ kind: w.ctx.optimizer, count: layout.totalFloats, gated: true }), {
      params: b.stepParams, p: b.params, g: b.grads, ...(adam ? { m: b.moment1, v: b.moment2 } : {}), watch: b.watch,
    });
    return w.plan(f.x, f.out, objective.samples, objective);
  },
};

const targetsOf = (ctx: GraphContext) => ({ history: ctx.buffers.history, accum: ctx.buffers.accum });

/** Records the graph `kind` for `rows` examples. */
export function recordGraph(ctx: GraphContext, kind: GraphKind, rows: number, opts: RecordOptions = {}): Plan {
  return WALKS[kind](new Walk(ctx, kind, rows, opts));
}

/**
 * Bytes of the largest tensor a recorded graph binds. Recorded for one row (and one sample), it is
 * what each row adds to the widest binding: for a conv model a feature map or im2col matrix, far
 * wider than the decoder's output.
 */
export function widestTensorBytes(plan: Plan): number {
  const bound = plan.graph.nodes.flatMap((n) => Object.values(n.resources)).filter((r): r is Tensor => r instanceof Tensor);
  return Math.max(4, ...bound.map((t) => t.root.bytes));
}

/** Samples per example when evaluating the ELBO: the training L (ELBO, TCVAE), or 1 for an IWAE-trained model. */
export function evalSamples(parts: ModelParts): number {
  return parts.objective.name === 'iwae' ? 1 : parts.objective.samples;
}
