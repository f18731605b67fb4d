// The conv VAE's training step: webgpu-vae against the same model written in TensorFlow.js
// (WebGPU backend) on the same adapter, in the same run. The model is `--arch conv` on MNIST:
// 1x28x28 -> 4x4 stride-2 convolutions (32, 64 channels, ReLU) -> flatten -> dense to (mu, logvar)
// of 20 dimensions; decoder dense 64x7x7 (ReLU) -> 4x4 stride-2 transposed convolutions (32,
// ReLU; 1 channel of Bernoulli logits); -ELBO with one z per example, Adam 1e-3, batch 128.
// TF.js runs NHWC, its native layout, with explicit padding 1 for the convolutions and 'same'
// padding for the transposed ones (the same output sizes and arithmetic as PyTorch's padding 1).
// Each side: build, first step, `--warmup` steps; then `--rounds` alternating rounds of `--steps`
// steps each, timed as ours are in bench/step.ts (queued back to back, a read at the end) and
// TF.js's one at a time (its optimizer.minimize returns the cost, read each step); medians over
// all rounds, and each round's ratio.
//
//   npx tsx bench/conv-step.ts [--batch=128] [--channels=32,64] [--steps=5] [--warmup=1] [--rounds=3] [--conv=im2col|direct|direct-subgroup|implicit-gemm] [--json]
import type * as TF from '@tensorflow/tfjs';
import { pathToFileURL } from 'node:url';
import { median, now } from './common';
import type { Tf } from './tfjs-vae';
import { gentleWait } from '../src/gpu/gentle-wait';
import { describeAdapter } from '../src/gpu/device';
import { loadMnistNode } from '../src/data/mnist-node';
import type { ConvMethod } from '../src/model/layers/conv-ops';
import { VAE } from '../src/model/vae';

interface Options { batch: number; channels: number[]; latent: number; steps: number; warmup: number; conv?: ConvMethod }

/** The conv VAE as a TF.js user writes it (PyTorch-style uniform init, NHWC). */
function tfConvVae(tf: Tf, o: Options) {
  const [c1, c2] = o.channels;
  const u = (shape: number[], fanIn: number, seed: number) => tf.variable(tf.randomUniform(shape, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn), 'float32', seed));
  const v = {
    e1w: u([4, 4, 1, c1], 16, 1), e1b: u([c1], 16, 2), e2w: u([4, 4, c1, c2], 16 * c1, 3), e2b: u([c2], 16 * c1, 4),
    hw: u([c2 * 49, 2 * o.latent], c2 * 49, 5), hb: u([2 * o.latent], c2 * 49, 6),
    dw: u([o.latent, c2 * 49], o.latent, 7), db: u([c2 * 49], o.latent, 8),
    // conv2dTranspose filters are [k, k, out, in].
    t1w: u([4, 4, c1, c2], 16 * c1, 9), t1b: u([c1], 16 * c1, 10), t2w: u([4, 4, 1, c1], 16, 11), t2b: u([1], 16, 12),
  };
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [1, 1], [1, 1], [0, 0]];
  const loss = (x: TF.Tensor4D): TF.Scalar => {
    const B = x.shape[0];
    const h1 = tf.relu(tf.add(tf.conv2d(x, v.e1w as TF.Tensor4D, 2, pad), v.e1b)) as TF.Tensor4D;
    const h2 = tf.relu(tf.add(tf.conv2d(h1, v.e2w as TF.Tensor4D, 2, pad), v.e2b)) as TF.Tensor4D;
    const post = tf.add(tf.matMul(tf.reshape(h2, [B, c2 * 49]), v.hw), v.hb) as TF.Tensor2D;
    const [mu, logvar] = tf.split(post, 2, 1) as [TF.Tensor2D, TF.Tensor2D];
    const z = tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), tf.randomNormal([B, o.latent]))) as TF.Tensor2D;
    const d = tf.reshape(tf.relu(tf.add(tf.matMul(z, v.dw), v.db)), [B, 7, 7, c2]) as TF.Tensor4D;
    const u1 = tf.relu(tf.add(tf.conv2dTranspose(d, v.t1w as TF.Tensor4D, [B, 14, 14, c1], 2, 'same'), v.t1b)) as TF.Tensor4D;
    const logits = tf.add(tf.conv2dTranspose(u1, v.t2w as TF.Tensor4D, [B, 28, 28, 1], 2, 'same'), v.t2b);
    const bce = tf.add(tf.sub(tf.relu(logits), tf.mul(logits, x)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
    const kl = tf.mul(-0.5, tf.sum(tf.sub(tf.sub(tf.add(1, logvar), tf.square(mu)), tf.exp(logvar))));
    return tf.div(tf.add(tf.sum(bce), kl), B) as TF.Scalar;
  };
  return { variables: Object.values(v), loss, dispose: () => Object.values(v).forEach((t) => t.dispose()) };
}

export interface ConvStepResult { impl: 'webgpu-vae' | 'tfjs-webgpu'; median_ms: number; first_step_ms: number; samples_ms: number[]; loss: number }

/** One side, built and warmed up: `block()` times `steps` steps and returns its samples (ms a step). */
interface Side { first_step_ms: number; block: () => Promise<number[]>; loss: () => number; dispose: () => void }

async function ours(acquired: Awaited<ReturnType<typeof import('./node-env').acquireBenchDevice>>, images: Uint8Array, count: number, o: Options): Promise<Side> {
  const t0 = now();
  const vae = await VAE.create({ arch: 'conv', inputDim: 784, imageShape: [28, 28], imageChannels: 1, channels: o.channels, latent: o.latent }, {
    device: { ...acquired, owned: false }, batch: o.batch, ...(o.conv ? { kernels: { conv: o.conv } } : {}),
  });
  const data = vae.upload({ images, count, name: 'bench' });
  const batches = Math.floor(count / o.batch);
  let index = 0, loss = NaN;
  await vae.trainStep({ data, index: index++ % batches });
  await vae.readLosses();
  const first = now() - t0;
  for (let i = 0; i < o.warmup; i++) await vae.trainStep({ data, index: index++ % batches });
  await vae.readLosses();
  return {
    first_step_ms: first,
    // Queued back to back and read at the end, as bench/step.ts times the MLP step: one sample.
    block: async () => {
      const t = now();
      for (let i = 0; i < o.steps; i++) await vae.trainStep({ data, index: index++ % batches });
      loss = (await vae.readLosses()).at(-1)?.loss ?? NaN;
      return [(now() - t) / o.steps];
    },
    loss: () => loss,
    dispose: () => vae.destroy(),
  };
}

async function tfjs(tf: Tf, images: Uint8Array, count: number, o: Options): Promise<Side> {
  const t0 = now();
  const xAll = tf.tensor4d(Float32Array.from(images, (g) => g / 255), [count, 28, 28, 1]);
  const model = tfConvVae(tf, o);
  const optimizer = tf.train.adam(1e-3, 0.9, 0.999, 1e-8);
  const batches = Math.floor(count / o.batch);
  let index = 0, loss = NaN;
  const step = async () => {
    const start = (index++ % batches) * o.batch;
    const cost = optimizer.minimize(() => model.loss(tf.slice(xAll, [start, 0, 0, 0], [o.batch, 28, 28, 1])), true, model.variables);
    if (!cost) throw new Error('optimizer.minimize returned no cost');
    const [v] = await gentleWait(() => cost.data());
    cost.dispose();
    return v;
  };
  await step();
  const first = now() - t0;
  for (let i = 0; i < o.warmup; i++) await step();
  return {
    first_step_ms: first,
    // One step at a time, its cost read each step (optimizer.minimize returns it): a sample each.
    block: async () => {
      const samples: number[] = [];
      for (let i = 0; i < o.steps; i++) {
        const t = now();
        loss = await step();
        samples.push(now() - t);
      }
      return samples;
    },
    loss: () => loss,
    dispose: () => { optimizer.dispose(); model.dispose(); xAll.dispose(); },
  };
}

async function main(argv: string[]): Promise<void> {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const o: Options = {
    batch: Number(value('batch') ?? 128), channels: (value('channels') ?? '32,64').split(',').map(Number), latent: 20,
    steps: Number(value('steps') ?? 5), warmup: Number(value('warmup') ?? 1), conv: value('conv') as ConvMethod | undefined,
  };
  const rounds = Number(value('rounds') ?? 3);
  if (o.channels.length !== 2) throw new Error('--channels takes the two widths of the MNIST conv model, e.g. 32,64');
  if (!(Number.isInteger(rounds) && rounds >= 1)) throw new Error(`--rounds must be a positive integer, got ${value('rounds')}`);
  const { acquireBenchDevice, loadTfNode, releaseTfNode } = await import('./node-env');
  const acquired = await acquireBenchDevice((l) => process.stderr.write(`${l}\n`));
  const adapter = describeAdapter(acquired.adapter);
  const mnist = await loadMnistNode('train', { limit: Math.max(1024, 2 * o.batch) });
  process.stderr.write(`conv step on ${adapter}: batch ${o.batch}, channels ${o.channels}, ${rounds} rounds of ${o.steps} timed steps each, alternating\n`);
  const sides = [await ours(acquired, mnist.images, mnist.count, o), await tfjs(await loadTfNode(), mnist.images, mnist.count, o)];
  // Alternating rounds, as bench/suite.ts compares the MLP steps: the adapter's speed drifts by
  // about 20% within minutes here, and a drift then touches both sides alike.
  const samples: number[][] = [[], []], roundRatios: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const [a, b] = [await sides[0].block(), await sides[1].block()];
    samples[0].push(...a);
    samples[1].push(...b);
    roundRatios.push(median(b) / median(a));
  }
  const results: ConvStepResult[] = (['webgpu-vae', 'tfjs-webgpu'] as const).map((impl, i) => ({
    impl, median_ms: median(samples[i]), first_step_ms: sides[i].first_step_ms, samples_ms: samples[i], loss: sides[i].loss(),
  }));
  for (const side of sides) side.dispose();
  await releaseTfNode();
  for (const r of results) process.stderr.write(`  ${r.impl}: ${r.median_ms.toFixed(1)} ms/step (first step ${r.first_step_ms.toFixed(0)} ms)\n`);
  const ratio = results[1].median_ms / results[0].median_ms;
  if (argv.includes('--json')) {
    for (const r of results) console.log(JSON.stringify({ bench: 'conv_step', adapter, batch: o.batch, channels: o.channels, ...r }));
    console.log(JSON.stringify({ bench: 'conv_step_ratio', adapter, batch: o.batch, ratio, round_ratios: roundRatios }));
  } else {
    console.log(`conv VAE step, batch ${o.batch}: webgpu-vae ${results[0].median_ms.toFixed(1)} ms, TF.js ${results[1].median_ms.toFixed(1)} ms: ${ratio.toFixed(2)}x (rounds ${roundRatios.map((x) => x.toFixed(2)).join(', ')})`);
  }
  acquired.device.destroy();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
