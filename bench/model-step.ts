// Any model's training step, timed by kernel family: the benchmark of the families the default
// step (npm run bench -- --profile) does not run, IWAE's weights, beta-TCVAE's total correlation
// (both estimators), the label concatenation of a conditional model, GroupNorm, nearest upsampling
// and dSprites drawn on the GPU, beside the matmuls and convolutions around them. The step's
// graphs (the batch's gather, then the train graph) are timed by `timeGraph` (GPU time from
// timestamp queries, each dispatch in its own pass; wall time without them), `rounds` times after
// one warm-up, after one real training step (so x holds a batch: rows of grey noise, which has no
// zeros to skip, or dSprites pictures); each dispatch's median is kept and summed per family (the
// kernel name's first word).
//
//   npx tsx bench/model-step.ts [--preset=NAME | --config='{"objective":"tcvae","beta":6}']
//       [--batch=64] [--rounds=5] [--dispatches=N] [--hot-kernels=on|off] [--json]
//
// --dispatches=N also lists the step's N slowest dispatches: median time, workgroups and kernel.
// --hot-kernels=off times the kernels of a run's first steps instead of the larger-block ones it
// swaps in after them (vae.upgradeKernels()).
//
// Presets (each a partial VaeConfig; --config adds to or overrides the preset's fields):
//   iwae         784-400-20, IWAE with K = 5            tcvae, tcvae-mss  784-400-20, beta 6, MWS or MSS
//   conditional  784-400-20 on 10 classes                group-norm       conv 1x28x28, 16-32, GroupNorm
//   nearest      conv 1x28x28, nearest upsampling        dsprites         the dSprites conv model, pictures drawn on the GPU
import { pathToFileURL } from 'node:url';
import { median, timesByFamily } from './common';
import { slowestDispatches } from './conv-model';
import { timeGraph } from './time-graph';
import { describeAdapter } from '../src/gpu/device';
import { DSPRITES_COUNT } from '../src/data/dsprites';
import type { VaeConfig } from '../src/model/config';
import { VAE } from '../src/model/vae';
import type { KernelGraph } from '../src/graph';

const CONV_28: Partial<VaeConfig> = { arch: 'conv', inputDim: 784, imageShape: [28, 28], channels: [16, 32], latent: 20 };

export const PRESETS: Record<string, Partial<VaeConfig>> = {
  iwae: { hidden: [400], latent: 20, objective: 'iwae', samples: 5 },
  tcvae: { hidden: [400], latent: 20, objective: 'tcvae', beta: 6 },
  'tcvae-mss': { hidden: [400], latent: 20, objective: 'tcvae', beta: 6, tcEstimator: 'mss' },
  conditional: { hidden: [400], latent: 20, classes: 10 },
  'group-norm': { ...CONV_28, norm: 'group', normGroups: 8 },
  nearest: { ...CONV_28, upsample: 'nearest' },
  dsprites: { arch: 'conv', inputDim: 4096, imageShape: [64, 64], channels: [16, 16, 16, 16], dense: [256], latent: 10, objective: 'tcvae', beta: 6 },
};

/** Sums each dispatch's median time by kernel family over the graphs (perDispatch[g] holds graph g's runs), largest first. */
export function byFamily(graphs: KernelGraph[], perDispatch: number[][][]): { family: string; dispatches: number; ms: number }[] {
  const names = graphs.flatMap((graph) => graph.nodes.map((node) => node.kernel.name));
  const samples = graphs.flatMap((graph, g) => graph.nodes.map((_, i) => perDispatch[g].map((run) => run[i])));
  return timesByFamily(names, samples).map(({ family, dispatches, ms }) => ({ family, dispatches, ms }));
}

async function main(argv: string[]): Promise<void> {
  // --name=VALUE or --name VALUE.
  const value = (name: string) => {
    const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
    if (i < 0) return undefined;
    return argv[i].includes('=') ? argv[i].slice(name.length + 3) : argv[i + 1];
  };
  const presetName = value('preset') ?? 'tcvae';
  const preset = PRESETS[presetName];
  if (!preset) throw new Error(`--preset: unknown '${presetName}'; use one of ${Object.keys(PRESETS).join(', ')}, or --config='{...}'`);
  const given = value('config');
  let extra: Partial<VaeConfig> = {};
  try {
    extra = given ? JSON.parse(given) : {};
  } catch {
    throw new Error(`--config must be a JSON object of VaeConfig fields, e.g. --config='{"objective":"tcvae","beta":6}'; got ${given}`);
  }
  const config = { ...preset, ...extra };
  const batch = Number(value('batch') ?? 64), rounds = Number(value('rounds') ?? 5), json = argv.includes('--json');
  const listed = Number(value('dispatches') ?? 0);
  if (!Number.isInteger(listed) || listed < 0) throw new Error(`--dispatches takes a count of dispatches to list (0 or more), got ${value('dispatches')}`);
  const sprites = presetName === 'dsprites' && config.inputDim === 4096;

  const { acquireBenchDevice } = await import('./node-env');
  const acquired = await acquireBenchDevice((l) => process.stderr.write(`${l}\n`));
  const { device } = acquired;
  if (!device.features.has('timestamp-query')) process.stderr.write('no timestamp-query: timing wall-clock to queue completion, the whole graph only\n');
  const hot = value('hot-kernels') ?? 'on';
  if (hot !== 'on' && hot !== 'off') throw new Error(`--hot-kernels takes on or off, got ${hot}`);
  const vae = await VAE.create(config, { device: { ...acquired, owned: false }, batch, seed: 1 });
  const plan = await vae.plan('train', batch);
  // The step a run settles into (its larger-block kernels, src/model/hot-kernels.ts) unless asked otherwise.
  if (hot === 'on') process.stderr.write(`hot kernels: ${new Set(await vae.upgradeKernels()).size} swapped in\n`);
  // The batch's gather: dSprites drawn on the GPU, or rows of an uploaded data set of grey noise.
  const indices = Uint32Array.from({ length: 4 * batch }, (_, i) => (i * 7919) % DSPRITES_COUNT);
  const data = sprites
    ? vae.generateSprites(indices)
    : vae.upload({
      images: Uint8Array.from({ length: 4 * batch * vae.config.inputDim }, (_, i) => (i * 2654435761) >>> 24),
      count: 4 * batch, ...(vae.config.classes ? { labels: Uint8Array.from({ length: 4 * batch }, (_, i) => i % vae.config.classes) } : {}),
    });
  // One real step first: it writes the step's parameters, so the timed gather copies a batch into
  // x (before it, x held zeros, and a first layer that skips zeros looked free: 0.9 ms where an
  // MNIST batch takes 7-10).
  await vae.trainStep({ data, index: 0 });
  await vae.readLosses();
  const gather = await data.gatherFor(plan, vae.buffers, vae.cache);
  const graphs = [gather, plan.graph];
  const perDispatch: number[][][] = graphs.map(() => []);
  const totals: number[] = [];
  for (let r = 0; r < rounds; r++) {
    let total = 0;
    for (const [g, graph] of graphs.entries()) total += median(await timeGraph(device, graph, r === 0 ? 1 : 0, 1, (ms) => perDispatch[g].push(ms)));
    totals.push(total);
  }
  const adapter = describeAdapter(acquired.adapter);
  const families = perDispatch.every((p) => p.length) ? byFamily(graphs, perDispatch) : [];
  const step = median(totals);
  const slowest = graphs
    .flatMap((graph, g) => slowestDispatches(graph, perDispatch[g], listed).map((d) => ({ graph: graph.label, ...d })))
    .sort((a, b) => b.median_ms - a.median_ms).slice(0, listed);
  if (json) {
    console.log(JSON.stringify({ bench: 'model_step', adapter, preset: presetName, config, batch, median_ms: Number(step.toFixed(3)), samples_ms: totals.map((t) => Number(t.toFixed(3))) }));
    for (const f of families) console.log(JSON.stringify({ bench: 'model_step_family', adapter, preset: presetName, ...f, ms: Number(f.ms.toFixed(4)) }));
    for (const d of slowest) console.log(JSON.stringify({ bench: 'model_step_dispatch', adapter, preset: presetName, ...d }));
  } else {
    console.log(`${presetName}: ${JSON.stringify(config)}, batch ${batch}, on ${adapter}`);
    console.log(`step ${step.toFixed(2)} ms (median of ${rounds}: ${totals.map((t) => t.toFixed(1)).join(' ')})`);
    for (const f of families) console.log(`  ${f.family.padEnd(14)} ${String(f.dispatches).padStart(3)} dispatches ${f.ms.toFixed(3).padStart(10)} ms ${((100 * f.ms) / step).toFixed(1).padStart(6)}%`);
    if (slowest.length) console.log(`the ${slowest.length} slowest dispatches (graph, index in it, median ms, workgroups, kernel):`);
    for (const d of slowest) console.log(`  ${d.graph.padEnd(10)} ${String(d.index).padStart(3)} ${d.median_ms.toFixed(3).padStart(10)} ms ${String(d.workgroups).padStart(6)}  ${d.kernel}`);
  }
  vae.destroy();
  device.destroy();
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
