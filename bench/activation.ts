// Activation benchmark: the stand-alone kernels of shaders/activation.ts, forward y = act(x) and
// backward dx = dy * act'(y), for every activation, on the sizes of the default model's hidden and
// output layers at batch 128 (128 x 400 and 128 x 784 values). Most of the model's activations run
// fused into a matmul's epilogue, which `npm run bench -- --profile` times with its product; these
// kernels run where no product is there to take them (a Bernoulli model's pictures, an act' that
// the layer below cannot fold), so they are timed here alone. Element-wise and memory-bound: the
// table gives GB/s of storage moved (2 values a forward, 3 a backward, 4 bytes each).
// Each kernel is one dispatch, timed with timestamp queries where the adapter has them (else the
// wall clock to the queue's completion: bench/time-graph.ts), the median of --reps after --warmup.
//
//   npx tsx bench/activation.ts [--rows=128] [--widths=400,784] [--reps=5] [--warmup=1] [--json]
import { pathToFileURL } from 'node:url';
import { benchData, median } from './common';
import { timeGraph } from './time-graph';
import { ACTIVATIONS, activationBackward, activationForward, type Activation } from '../shaders/activation';
import { BufferArena } from '../src/gpu/buffers';
import { describeAdapter } from '../src/gpu/device';
import { PipelineCache } from '../src/gpu/pipelines';
import { KernelGraph } from '../src/graph';

export interface ActivationBenchResult {
  bench: 'activation';
  activation: Activation;
  pass: 'forward' | 'backward';
  count: number;
  median_ms: number;
  gbps: number;
}

export interface ActivationBenchOptions { rows?: number; widths?: number[]; reps?: number; warmup?: number; activations?: Activation[] }

export async function runActivationBench(device: GPUDevice, opts: ActivationBenchOptions = {}): Promise<ActivationBenchResult[]> {
  const { rows = 128, widths = [400, 784], reps = 5, warmup = 1 } = opts;
  const acts = opts.activations ?? ACTIVATIONS.filter((a) => a !== 'none');
  const cache = new PipelineCache(device);
  const arena = new BufferArena(device, 'bench-activation');
  const results: ActivationBenchResult[] = [];
  try {
    for (const width of widths) {
      const count = rows * width;
      const buffer = (seed: number) => arena.upload(`values${seed}[${count}]`, benchData(count, seed));
      const [x, y, dy, dx] = [1, 2, 3, 4].map(buffer);
      for (const activation of acts) {
        const passes = [
          { pass: 'forward' as const, values: 2, graph: new KernelGraph(`activation-forward-${activation}`).add(activationForward({ activation, count }), { x, y }) },
          { pass: 'backward' as const, values: 3, graph: new KernelGraph(`activation-backward-${activation}`).add(activationBackward({ activation, count }), { y, dy, dx }) },
        ];
        for (const { pass, values, graph } of passes) {
          await graph.build(cache, arena);
          const ms = median(await timeGraph(device, graph, warmup, reps));
          results.push({ bench: 'activation', activation, pass, count, median_ms: Number(ms.toFixed(4)), gbps: Number(((values * 4 * count) / (ms * 1e6)).toPrecision(4)) });
        }
      }
    }
  } finally {
    arena.destroyAll();
  }
  return results;
}

/** The results as a table, one row per activation and size. */
export function activationTable(results: ActivationBenchResult[]): string {
  const lines = ['activation   values   forward ms  GB/s   backward ms  GB/s', '-----------  -------  ----------  -----  -----------  -----'];
  const keys = [...new Set(results.map((r) => `${r.activation}|${r.count}`))];
  for (const key of keys) {
    const [activation, count] = key.split('|');
    const of = (pass: string) => results.find((r) => `${r.activation}|${r.count}` === key && r.pass === pass)!;
    const f = of('forward'), b = of('backward');
    lines.push(`${activation.padEnd(11)}  ${count.padStart(7)}  ${f.median_ms.toFixed(3).padStart(10)}  ${f.gbps.toFixed(2).padStart(5)}  ${b.median_ms.toFixed(3).padStart(11)}  ${b.gbps.toFixed(2).padStart(5)}`);
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<void> {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const positive = (name: string, fallback: number) => {
    const raw = value(name);
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes a whole number of at least 1, got '${raw}'`);
    return n;
  };
  const widths = (value('widths') ?? '400,784').split(',').map(Number);
  if (widths.some((w) => !Number.isInteger(w) || w < 1)) throw new Error(`--widths takes whole numbers separated by commas, got '${value('widths')}'`);
  const { acquireNodeDevice } = await import('../src/gpu/node-device');
  const { device, adapter } = await acquireNodeDevice();
  const results = await runActivationBench(device, { rows: positive('rows', 128), widths, reps: positive('reps', 5), warmup: positive('warmup', 1) });
  const named = describeAdapter(adapter);
  if (argv.includes('--json')) for (const r of results) console.log(JSON.stringify({ ...r, adapter: named }));
  else console.log(`${named}\n${activationTable(results)}`);
  device.destroy();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(() => process.exit(0), (e: Error) => { console.error(`bench/activation.ts: ${e.message}`); process.exit(1); });
}
