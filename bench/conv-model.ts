// A conv VAE's whole training step under each choice of convolution methods: the adapter's
// defaults (on software adapters im2col, with `direct-subgroup` for layers of 16-64 channels)
// against one method for every layer. Each is the model's train graph timed by `timeGraph` (GPU
// time from timestamp queries, each dispatch in its own pass), in alternating rounds so that a
// shared machine's drift falls on every choice alike; medians over all rounds. No data is read:
// the step's arithmetic does not depend on the pixels, since a conv model's first layer, a
// convolution, never skips the data's zeros (a dense first layer would: KernelChoice.skipInputZeros).
//
//   npx tsx bench/conv-model.ts [--image=1,64,64] [--channels=16,16,16,16] [--dense=256] [--latent=10]
//       [--batch=64] [--upsample=transposed|nearest] [--predicted] [--methods=defaults,im2col,direct-subgroup] [--rounds=3] [--top=12] [--json]
//
// Where the adapter has timestamps, the defaults' `--top` slowest dispatches follow their line
// (JSON: {"bench":"conv_model_dispatch","index":..,"kernel":..,"workgroups":..,"median_ms":..}).
import { pathToFileURL } from 'node:url';
import { median } from './common';
import { timeGraph } from './time-graph';
import { describeAdapter } from '../src/gpu/device';
import { CONV_METHODS, type ConvMethod } from '../src/model/layers/conv-ops';
import { VAE } from '../src/model/vae';
import type { KernelGraph } from '../src/graph';

type Choice = 'defaults' | ConvMethod;

/** The `top` dispatches of a graph by median GPU time over the timed runs (timestamps only). */
export function slowestDispatches(graph: KernelGraph, runs: number[][], top: number) {
  if (!runs.length) return [];
  return graph.nodes.map((n, index) => ({
    index, kernel: n.kernel.name, workgroups: n.kernel.workgroups.reduce((a, b) => a * b, 1), median_ms: Number(median(runs.map((r) => r[index])).toFixed(4)),
  })).sort((a, b) => b.median_ms - a.median_ms).slice(0, top);
}

async function main(argv: string[]): Promise<void> {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const list = (name: string, fallback: string) => (value(name) ?? fallback).split(',').filter(Boolean);
  const [channelsIn, height, width] = list('image', '1,64,64').map(Number);
  const channels = list('channels', '16,16,16,16').map(Number);
  const dense = value('dense') === 'none' ? [] : list('dense', '256').map(Number);
  const latent = Number(value('latent') ?? 10), batch = Number(value('batch') ?? 64), rounds = Number(value('rounds') ?? 3), top = Number(value('top') ?? 12);
  const choices = list('methods', 'defaults,im2col,direct-subgroup') as Choice[];
  const unknown = choices.filter((c) => c !== 'defaults' && !CONV_METHODS.includes(c as ConvMethod));
  if (unknown.length) throw new Error(`--methods: unknown ${unknown.join(', ')}; use defaults or ${CONV_METHODS.join(', ')}`);

  const { acquireBenchDevice } = await import('./node-env');
  const acquired = await acquireBenchDevice((l) => process.stderr.write(`${l}\n`));
  const { device } = acquired;
  if (!device.features.has('timestamp-query')) process.stderr.write('no timestamp-query: timing wall-clock to queue completion\n');
  const upsample = (value('upsample') ?? 'transposed') as 'transposed' | 'nearest';
  // --predicted: a Gaussian decoder predicting a scale per pixel (twice the output channels).
  const predicted = argv.includes('--predicted') ? { likelihood: 'gaussian' as const, sigma: 'predicted' as const } : {};
  const config = { arch: 'conv' as const, inputDim: channelsIn * height * width, imageShape: [height, width] as [number, number], imageChannels: channelsIn, channels, dense, latent, upsample, ...predicted };
  const models = [];
  for (const choice of choices) {
    const vae = await VAE.create(config, { device: { ...acquired, owned: false }, batch, seed: 1, ...(choice === 'defaults' ? {} : { kernels: { conv: choice } }) });
    const graph = (await vae.plan('train', batch)).graph;
    models.push({ choice, vae, graph, ms: [] as number[], dispatches: [] as number[][] });
  }
  const adapter = describeAdapter(acquired.adapter);
  process.stderr.write(`conv model ${channelsIn}x${height}x${width}, channels ${channels}, dense ${dense.join(',') || 'none'}, latent ${latent}, batch ${batch} on ${adapter}\n`);
  for (let r = 0; r < rounds; r++) for (const m of models) m.ms.push(...(await timeGraph(device, m.graph, 1, 2, (ms) => m.dispatches.push(ms))));
  for (const m of models) {
    const record = { bench: 'conv_model', adapter, choice: m.choice, image: [channelsIn, height, width], batch, channels, dense, median_ms: Number(median(m.ms).toFixed(3)), samples_ms: m.ms.map((x) => Number(x.toFixed(3))) };
    if (argv.includes('--json')) console.log(JSON.stringify(record));
    else console.log(`${m.choice.padEnd(16)} ${record.median_ms.toFixed(1).padStart(8)} ms  (${record.samples_ms.join(' ')})`);
    if (m.choice === 'defaults') for (const d of slowestDispatches(m.graph, m.dispatches, top)) {
      if (argv.includes('--json')) console.log(JSON.stringify({ bench: 'conv_model_dispatch', adapter, ...d }));
      else console.log(`  #${String(d.index).padStart(2)} ${d.kernel.padEnd(48)} ${d.median_ms.toFixed(3).padStart(9)} ms  ${d.workgroups} workgroups`);
    }
    m.vae.destroy();
  }
  device.destroy();
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
