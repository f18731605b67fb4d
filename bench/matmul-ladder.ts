// The tile ladder on one square product: every workgroup-memory candidate that `--autotune full`
// tries on a GPU (matmulCandidates in src/model/autotune.ts: the tiled variants at BK 8-32, 64x64
// to 128x128 blocks, 4x4 to 8x8 outputs per invocation, double-buffered and quad-sharing ones),
// timed on an n x n x n product as bench/matmul.ts times its cases (one dispatch per pass,
// timestamp queries, median of the repetitions). Shows how far the best tile is from the variant
// defaults, which is what a GPU's 50%-of-peak target turns on.
//
//   npx tsx bench/matmul-ladder.ts [--square=4096] [--reps=5] [--warmup=1] [--limit=N] [--json]
//
// --limit times only the first N candidates (gpu.sh --small, which only keeps the path working).
// With --json, one line per candidate: {"bench":"matmul_ladder","variant":..,"tile":"tiled-128
// 128x128 BK16 8x8/thread",..,"median_ms":..,"gflops":..}; else a table, fastest first.
import { pathToFileURL } from 'node:url';
import { benchData as fill, median } from './common';
import { timeGraph } from './time-graph';
import { isTiled, matmul, type MatmulVariant } from '../shaders/matmul';
import { describeTuning, matmulCandidates } from '../src/model/autotune';
import { PipelineCache } from '../src/gpu/pipelines';
import { KernelGraph } from '../src/graph';

export interface LadderRecord {
  bench: 'matmul_ladder';
  variant: MatmulVariant;
  /** The candidate in words (describeTuning). */
  tile: string;
  M: number;
  N: number;
  K: number;
  median_ms: number;
  gflops: number;
}

export async function runMatmulLadder(device: GPUDevice, side: number, reps = 5, warmup = 1, limit = Infinity, onRecord?: (r: LadderRecord) => void): Promise<LadderRecord[]> {
  if (!(Number.isInteger(side) && side > 0)) throw new Error(`matmul-ladder: --square must be a positive integer, got ${side}`);
  const subgroups = device.features.has('subgroups');
  // A variant's default tile and the same tile given explicitly are one candidate.
  const seen = new Set<string>();
  const candidates = matmulCandidates('full', device, false)
    .filter((c) => isTiled(c.variant) && !c.generic && !seen.has(describeTuning(c)) && !!seen.add(describeTuning(c)))
    .slice(0, limit);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const n2 = side * side;
  const a = device.createBuffer({ size: n2 * 4, usage }), b = device.createBuffer({ size: n2 * 4, usage }), c = device.createBuffer({ size: n2 * 4, usage });
  device.queue.writeBuffer(a, 0, fill(n2, side * 31));
  device.queue.writeBuffer(b, 0, fill(n2, side * 17));
  const cache = new PipelineCache(device);
  const records: LadderRecord[] = [];
  try {
    for (const cand of candidates) {
      const kernel = matmul({ M: side, N: side, K: side, transA: false, transB: false, variant: cand.variant, tile: cand.tile, subgroups });
      const graph = new KernelGraph(`bench:ladder:${kernel.name}`);
      graph.add(kernel, { a, b, c });
      await graph.build(cache);
      const ms = median(await timeGraph(device, graph, warmup, reps));
      const r: LadderRecord = {
        bench: 'matmul_ladder', variant: cand.variant, tile: describeTuning(cand), M: side, N: side, K: side,
        median_ms: Number(ms.toFixed(4)), gflops: Number(((2 * side ** 3) / (ms * 1e6)).toFixed(3)),
      };
      records.push(r);
      onRecord?.(r);
    }
  } finally {
    a.destroy(); b.destroy(); c.destroy();
  }
  return records;
}

async function main(argv: string[]): Promise<void> {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const json = argv.includes('--json');
  const { acquireNodeDevice } = await import('../src/gpu/node-device');
  const { device } = await acquireNodeDevice();
  const records = await runMatmulLadder(device, Number(value('square') ?? 4096), Number(value('reps') ?? 5), Number(value('warmup') ?? 1), Number(value('limit') ?? Infinity),
    json ? (r) => console.log(JSON.stringify(r)) : (r) => process.stderr.write(`  ${r.tile}: ${r.median_ms} ms\n`));
  if (!json) {
    for (const r of [...records].sort((x, y) => y.gflops - x.gflops)) console.log(`${r.tile.padEnd(44)} ${r.median_ms.toFixed(3).padStart(10)} ms ${r.gflops.toFixed(1).padStart(10)} GFLOP/s`);
  }
  device.destroy();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
