// Half precision against f32: the default model (784-400-20, Bernoulli, Adam 1e-3, batch 128), or
// with --arch conv the default conv model for 28x28 (stride-2 convolutions to 7x7 and back, every
// hidden feature map in f16), trained for one epoch of MNIST from the same seed and the same batches in each precision (the
// CLI's protocol: the epoch's order is the first permutation drawn from Philox(seed, 1)), then the
// test -ELBO of both on the 10,000 test digits. The bar: within 0.5 nats.
// Needs an adapter with shader-f16; on a CPU-only machine that is Deno's wgpu on Mesa's lavapipe:
//   npm run bench:f16 [-- --arch conv] [-- --limit N]   (scripts/bench-f16.sh: picks the lavapipe
//                                                      driver when there is no GPU)
// --limit N trains on the first N training images only (one pass over them).
// Prints one JSON line per precision and a summary; writes bench/results/f16-accuracy[-conv].json.
import { writeFileSync } from 'node:fs';
import { acquireBrowserDevice, describeAdapter } from '../src/gpu/device';
import { loadMnistNode } from '../src/data/mnist-node';
import { VAE } from '../src/model/vae';
import type { VaeConfig } from '../src/model/config';
import { Philox } from '../src/rng';

const args = process.argv.slice(2);
const option = (name: string) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : undefined; };
const arch = option('arch') ?? 'mlp';
if (arch !== 'mlp' && arch !== 'conv') throw new Error(`--arch must be mlp or conv, got '${arch}'`);
const limit = option('limit') === undefined ? undefined : Number(option('limit'));
if (limit !== undefined && !(Number.isInteger(limit) && limit >= 128)) throw new Error(`--limit needs a whole number of at least one batch (128), got '${option('limit')}'`);
const config: Partial<VaeConfig> = arch === 'conv' ? { arch: 'conv', imageShape: [28, 28] as [number, number], imageChannels: 1, inputDim: 784, latent: 20 } : { hidden: [400], latent: 20 };

const acquired = await acquireBrowserDevice();
const adapter = describeAdapter(acquired.adapter);
if (!acquired.device.features.has('shader-f16')) throw new Error(`this adapter (${adapter}) has no shader-f16; run on a GPU that has it, or on Mesa's lavapipe (scripts/bench-f16.sh)`);
const [train, test] = [await loadMnistNode('train', limit ? { limit } : {}), await loadMnistNode('test')];
const batch = 128, steps = Math.ceil(train.count / batch);
const results: Record<string, unknown>[] = [];
for (const precision of ['f32', 'f16'] as const) {
  const vae = await VAE.create(config, { device: { ...acquired, owned: false }, batch, lr: 1e-3, seed: 0, precision });
  const trainData = vae.upload({ images: train.images, count: train.count, name: 'train' });
  trainData.setOrder(new Philox(0, 1).permutation(train.count));
  const testData = vae.upload({ images: test.images, count: test.count, name: 'test' });
  const t0 = performance.now();
  for (let i = 0; i < steps; i++) await vae.trainStep({ data: trainData, index: i });
  const trainLoss = (await vae.readLosses()).at(-1)?.loss ?? Number.NaN;
  const seconds = (performance.now() - t0) / 1000;
  const test_ = await vae.elbo(testData, { seed: 1 });
  const r = { precision, arch, examples: train.count, steps, train_loss_last: trainLoss, test_elbo: test_.loss, test_rec: test_.rec, test_kl: test_.kl, seconds, ms_per_step: (seconds * 1000) / steps, adapter };
  console.log(JSON.stringify(r));
  results.push(r);
  vae.destroy();
}
const gap = (results[1].test_elbo as number) - (results[0].test_elbo as number);
console.log(`${arch}: test -ELBO after ${steps} steps: f32 ${(results[0].test_elbo as number).toFixed(2)}, f16 ${(results[1].test_elbo as number).toFixed(2)}, f16 - f32 = ${gap.toFixed(3)} nats (bar: within 0.5)`);
writeFileSync(`bench/results/f16-accuracy${arch === 'conv' ? '-conv' : ''}.json`, JSON.stringify({ date: new Date().toISOString(), arch, results, gap_nats: gap }, null, 2) + '\n');
