// The same VAE and training step written the way a TensorFlow.js user would, on the WebGPU backend:
// 784-[hidden]-(mu, logvar) encoder with one 2Z-wide head like ours, ReLU, z = mu + exp(logvar/2) eps
// with eps from tf.randomNormal, decoder mirroring the encoder, Bernoulli loss from logits (sigmoid
// cross-entropy summed over pixels) + analytic KL, averaged over the batch, Adam(1e-3), minimised
// with optimizer.minimize (tf.variableGrads inside). The data sits on the GPU as one float tensor
// and each step slices its batch, as ours gathers from resident data.
//
// `tf` is passed in rather than imported: in Node, navigator.gpu must exist before the WebGPU
// backend module loads (see node-env.ts), and the browser page imports it statically.
import type * as TF from '@tensorflow/tfjs';
import { median, now, round, type BenchOptions, type StepRecord } from './common';
import { gentleWait } from '../src/gpu/gentle-wait';
import type { RunContext } from './step';

export type Tf = typeof TF;

interface Dense {
  w: TF.Variable;
  b: TF.Variable;
}

function dense(tf: Tf, inDim: number, outDim: number, seed: number): Dense {
  // PyTorch's nn.Linear initialisation (uniform +-1/sqrt(fan_in)), as our model uses.
  const k = 1 / Math.sqrt(inDim);
  return {
    w: tf.variable(tf.randomUniform([inDim, outDim], -k, k, 'float32', 2 * seed + 1)),
    b: tf.variable(tf.randomUniform([outDim], -k, k, 'float32', 2 * seed + 2)),
  };
}

export interface TfVae {
  encoder: Dense[];
  decoder: Dense[];
  variables: TF.Variable[];
  /** -ELBO averaged over the batch (one z sample per example). */
  loss(x: TF.Tensor2D): TF.Scalar;
  dispose(): void;
}

export function buildTfVae(tf: Tf, dims: { input: number; hidden: number[]; latent: number }): TfVae {
  const encDims = [dims.input, ...dims.hidden, 2 * dims.latent];
  const decHidden = [...dims.hidden].reverse();
  const decDims = [dims.latent, ...decHidden, dims.input];
  const encoder = encDims.slice(1).map((out, i) => dense(tf, encDims[i], out, i));
  const decoder = decDims.slice(1).map((out, i) => dense(tf, decDims[i], out, encoder.length + i));
  const variables = [...encoder, ...decoder].flatMap((l) => [l.w, l.b]);
  const mlp = (h: TF.Tensor2D, layers: Dense[]): TF.Tensor2D => {
    layers.forEach((l, i) => {
      const y = tf.add(tf.matMul(h, l.w), l.b) as TF.Tensor2D;
      h = i < layers.length - 1 ? tf.relu(y) : y;
    });
    return h;
  };
  const loss = (x: TF.Tensor2D): TF.Scalar => {
    const rows = x.shape[0];
    const [mu, logvar] = tf.split(mlp(x, encoder), 2, 1) as [TF.Tensor2D, TF.Tensor2D];
    const eps = tf.randomNormal([rows, dims.latent]);
    const z = tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), eps)) as TF.Tensor2D;
    const logits = mlp(z, decoder);
    // Bernoulli log-likelihood from logits, the numerically stable form of sigmoid cross-entropy.
    const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, x)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const kl = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, logvar), tf.square(mu)), tf.exp(logvar))));
    return tf.div(tf.add(tf.sum(bce), kl), rows) as TF.Scalar;
  };
  return { encoder, decoder, variables, loss, dispose: () => variables.forEach((v) => v.dispose()) };
}

/** Describes the adapter TF.js's backend gets (it requests its own from navigator.gpu). */
export async function tfjsAdapterName(describe: (a: GPUAdapter) => string): Promise<string> {
  const gpu = (globalThis as { navigator?: { gpu?: GPU } }).navigator?.gpu;
  const adapter = await gpu?.requestAdapter({ powerPreference: 'high-performance' });
  return adapter ? describe(adapter) : 'unknown adapter';
}

/** TF.js's step, built and warmed up: `time()` adds `steps` timed steps, `record()` summarizes them all. */
export interface TfjsStepRun {
  time(): Promise<number[]>;
  record(): StepRecord;
  dispose(): void;
}

export async function prepareTfjsStep(tf: Tf, ctx: RunContext, opts: BenchOptions, adapter: string): Promise<TfjsStepRun> {
  const B = opts.batch, D = ctx.data.dim;
  const n = Math.min(ctx.data.count, Math.max(opts.examples, B));
  const batches = Math.floor(n / B);
  if (batches < 1) throw new Error(`batch ${B} needs at least that many examples; only ${n} loaded`);
  const before = tf.memory() as TF.MemoryInfo & { numBytesAllocatedInGPU?: number; numBytesInGPU?: number };
  const gpuBytes = (m: typeof before) => m.numBytesAllocatedInGPU ?? m.numBytesInGPU ?? null;

  ctx.log(`tfjs-webgpu: building the model and running the first step (batch ${B})`);
  const t0 = now();
  const pixels = new Float32Array(n * D);
  for (let i = 0; i < pixels.length; i++) pixels[i] = ctx.data.images[i] / 255;
  const xAll = tf.tensor2d(pixels, [n, D]);
  const model = buildTfVae(tf, { input: D, hidden: opts.hidden, latent: opts.latent });
  const optimizer = tf.train.adam(opts.lr, 0.9, 0.999, 1e-8);
  let index = 0;
  const step = async (): Promise<number> => {
    const start = (index++ % batches) * B;
    const cost = optimizer.minimize(() => model.loss(tf.slice(xAll, [start, 0], [B, D])), true, model.variables);
    if (!cost) throw new Error('optimizer.minimize returned no cost');
    // Waits for the whole step (the read is queued behind it), the same way as ours: through
    // gentleWait, so that in Node the wait does not spin a core the adapter needs.
    const [v] = await gentleWait(() => cost.data());
    cost.dispose();
    return v;
  };
  await step();
  const firstStepMs = now() - t0;
  for (let i = 0; i < opts.warmup; i++) await step();

  ctx.counter.reset();
  await step();
  const counted = ctx.counter.read();

  const samples: number[] = [];
  let loss = NaN;
  return {
    async time() {
      ctx.log(`tfjs-webgpu: timing ${opts.steps} steps`);
      const round0 = samples.length;
      for (let i = 0; i < opts.steps; i++) {
        const t = now();
        loss = await step();
        samples.push(now() - t);
      }
      return samples.slice(round0);
    },
    record() {
      const after = tf.memory() as typeof before;
      const allocated = gpuBytes(after);
      const ms = median(samples);
      return {
        bench: 'train_step', impl: 'tfjs-webgpu', env: ctx.env, adapter,
        batch: B, hidden: opts.hidden, latent: opts.latent,
        median_ms: round(ms), samples_per_s: round((B * 1000) / ms, 1),
        first_step_ms: round(firstStepMs, 1),
        dispatches: ctx.counter.active ? counted.dispatches : null,
        submits: ctx.counter.active ? counted.submits : null,
        dispatches_counted: ctx.counter.active ? counted.dispatches : null,
        gpu_bytes: allocated === null ? null : allocated - (gpuBytes(before) ?? 0),
        data_bytes: n * D * 4,
        planned_bytes: null, saved_bytes: null,
        samples_ms: samples.map((x) => round(x)), steps_per_sample: 1, warmup: opts.warmup,
        loss: Number.isFinite(loss) ? round(loss, 3) : null,
      };
    },
    dispose() {
      optimizer.dispose();
      model.dispose();
      xAll.dispose();
    },
  };
}
