// Matmul benchmark: times every `matmul()` variant on the VAE's training shapes (forward X W^T,
// dX = dY W, dW = dY^T X of a 784-400-(2x20) encoder and 20-400-784 decoder) at batch 128 and
// 1024, plus a square 1024^3 case. Each case is one dispatch in its own compute pass, timed with
// timestamp queries (wall clock around submit when the adapter has no `timestamp-query`), after
// warm-up runs; the median of the repetitions is reported. Kernels are the bare product (no
// bias or activation epilogue: that is O(M N) next to the O(M N K) product).
//
//   npx tsx bench/matmul.ts [--json] [--variants=register,tiled] [--batches=128,1024] [--square=1024|0]
//                           [--reps=5] [--warmup=1] [--quick]
//
// Prints a table of median ms and GFLOP/s per shape and variant; with --json, one JSON object per
// line instead: {"bench":"matmul","variant":..,"M":..,"N":..,"K":..,"transA":..,"transB":..,"median_ms":..,"gflops":..}.
// `runMatmulBench(device, opts)` is the same run for a bigger benchmark to call.
import { pathToFileURL } from 'node:url';
import { benchData as fill, median } from './common';
import { timeGraph } from './time-graph';
import { MATMUL_TILES, matmul, matmulVariantNeedsSubgroups, type MatmulVariant } from '../shaders/matmul';
import { PipelineCache } from '../src/gpu/pipelines';
import { KernelGraph } from '../src/graph';

export interface MatmulBenchCase {
  /** Which product of the layer this is: forward, dX or dW, or square. */
  label: string;
  M: number;
  N: number;
  K: number;
  transA: boolean;
  transB: boolean;
}

export interface MatmulBenchResult extends MatmulBenchCase {
  bench: 'matmul';
  variant: MatmulVariant;
  median_ms: number;
  gflops: number;
}

export interface MatmulBenchOptions {
  /** Variants to time; defaults to every entry of MATMUL_TILES the device can run. */
  variants?: MatmulVariant[];
  /** Batch sizes for the training shapes (default 128 and 1024). */
  batches?: number[];
  /** Side of the square case; 0 leaves it out (default 1024). */
  square?: number;
  /** Timed repetitions per case (default 5) and untimed warm-up runs before them (default 1). */
  reps?: number;
  warmup?: number;
  /** Only run cases this accepts. */
  filter?: (c: MatmulBenchCase) => boolean;
  /** Pipeline cache to share with the caller; a fresh one by default. */
  cache?: PipelineCache;
  /** Called with each result as soon as it is measured. */
  onResult?: (r: MatmulBenchResult) => void;
}

/** Layer sizes of the default model: encoder 784-400-(mu, logvar of 20), decoder 20-400-784. */
const LAYERS: [inDim: number, outDim: number][] = [[784, 400], [400, 40], [20, 400], [400, 784]];

/** The matmuls of one training step at batch B, deduplicated, plus the square case. */
export function matmulBenchCases(batches: number[] = [128, 1024], square = 1024): MatmulBenchCase[] {
  const cases: MatmulBenchCase[] = [];
  const seen = new Set<string>();
  const add = (c: MatmulBenchCase) => {
    const key = `${c.M},${c.N},${c.K},${c.transA},${c.transB}`;
    if (!seen.has(key)) { seen.add(key); cases.push(c); }
  };
  for (const B of batches) {
    for (const [inDim, outDim] of LAYERS) add({ label: `fwd B=${B}`, M: B, N: outDim, K: inDim, transA: false, transB: true });
    // dX of every layer but the first (whose input is the data): dY [B,out] W [out,in].
    for (const [inDim, outDim] of LAYERS.slice(1)) add({ label: `dX B=${B}`, M: B, N: inDim, K: outDim, transA: false, transB: false });
    for (const [inDim, outDim] of LAYERS) add({ label: `dW B=${B}`, M: outDim, N: inDim, K: B, transA: true, transB: false });
  }
  if (square > 0) add({ label: 'square', M: square, N: square, K: square, transA: false, transB: false });
  return cases;
}


/** Times each case for each variant; results come back in (case, variant) order. */
export async function runMatmulBench(device: GPUDevice, opts: MatmulBenchOptions = {}): Promise<MatmulBenchResult[]> {
  const hasSubgroups = device.features.has('subgroups');
  const variants = (opts.variants ?? (Object.keys(MATMUL_TILES) as MatmulVariant[]))
    .filter((v) => hasSubgroups || !matmulVariantNeedsSubgroups(v));
  const cases = matmulBenchCases(opts.batches, opts.square).filter(opts.filter ?? (() => true));
  const reps = Math.max(1, opts.reps ?? 5), warmup = Math.max(0, opts.warmup ?? 1);
  const cache = opts.cache ?? new PipelineCache(device);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  const results: MatmulBenchResult[] = [];

  for (const c of cases) {
    const { M, N, K, transA, transB } = c;
    const a = device.createBuffer({ size: M * K * 4, usage });
    const b = device.createBuffer({ size: K * N * 4, usage });
    const out = device.createBuffer({ size: M * N * 4, usage });
    device.queue.writeBuffer(a, 0, fill(M * K, M * 31 + K));
    device.queue.writeBuffer(b, 0, fill(K * N, N * 17 + K));
    for (const variant of variants) {
      const kernel = matmul({ M, N, K, transA, transB, variant, subgroups: hasSubgroups });
      const graph = new KernelGraph(`bench:${kernel.name}`);
      graph.add(kernel, { a, b, c: out });
      await graph.build(cache);
      const times = await timeGraph(device, graph, warmup, reps);
      const ms = median(times);
      const result: MatmulBenchResult = {
        bench: 'matmul', variant, label: c.label, M, N, K, transA, transB,
        median_ms: Number(ms.toFixed(3)),
        gflops: Number(((2 * M * N * K) / (ms * 1e6)).toFixed(3)),
      };
      results.push(result);
      opts.onResult?.(result);
    }
    a.destroy(); b.destroy(); out.destroy();
  }
  return results;
}

/** Rows are shapes, two columns (ms, GFLOP/s) per variant. */
export function formatMatmulTable(results: MatmulBenchResult[]): string {
  const variants = [...new Set(results.map((r) => r.variant))];
  const shapes = [...new Map(results.map((r) => [`${r.label}|${r.M}|${r.N}|${r.K}|${r.transA}|${r.transB}`, r])).values()];
  const head = ['case', 'M', 'N', 'K', 'op', ...variants.flatMap((v) => [`${v} ms`, `${v} GF/s`])];
  const rows = shapes.map((s) => {
    const cells = [s.label, String(s.M), String(s.N), String(s.K), s.transA ? 'tA' : s.transB ? 'tB' : 'nn'];
    for (const v of variants) {
      const r = results.find((x) => x.variant === v && x.label === s.label && x.M === s.M && x.N === s.N && x.K === s.K && x.transA === s.transA && x.transB === s.transB);
      cells.push(r ? r.median_ms.toFixed(2) : '-', r ? r.gflops.toFixed(2) : '-');
    }
    return cells;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 5 && i !== 1 && i !== 2 && i !== 3 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const flag = (name: string) => argv.find((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  const value = (name: string) => flag(name)?.split('=')[1];
  const list = (name: string) => value(name)?.split(',').filter(Boolean);
  const json = !!flag('json');
  const quick = !!flag('quick');
  const { acquireNodeDevice } = await import('../src/gpu/node-device');
  const { device, adapter } = await acquireNodeDevice();
  if (!json) process.stderr.write(`adapter: ${adapter.vendor} ${adapter.architecture} ${adapter.description}\n`);
  const results = await runMatmulBench(device, {
    variants: list('variants') as MatmulVariant[] | undefined,
    batches: list('batches')?.map(Number) ?? (quick ? [128] : undefined),
    square: value('square') !== undefined ? Number(value('square')) : quick ? 0 : undefined,
    reps: value('reps') !== undefined ? Number(value('reps')) : quick ? 3 : undefined,
    warmup: value('warmup') !== undefined ? Number(value('warmup')) : undefined,
    onResult: json ? ({ label: _label, ...r }) => console.log(JSON.stringify(r)) : (r) => process.stderr.write(`  ${r.label} ${r.M}x${r.N}x${r.K} ${r.variant}: ${r.median_ms} ms\n`),
  });
  if (!json) console.log(formatMatmulTable(results));
  device.destroy();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
