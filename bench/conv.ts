// Convolution benchmark: GFLOP/s of the forward, input-gradient and weight-gradient operations
// in every method of src/model/layers/conv-ops.ts (the single kernels of shaders/conv.ts, and
// `im2col`: its layout passes around the matmuls, timed together), on every convolution of the conv VAE (4x4 kernels, stride
// 2, padding 1; by default a 3x64x64 image and channels 32,64,128,256 at batch 64), beside
// TF.js's Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter kernels (WebGPU backend, NHWC, its
// native layout) on the same adapter in the same run. The decoder's transposed convolutions are
// these same geometries with forward and input gradient swapped, so the rows cover the model.
//
// Ours: one pass per operation (one dispatch, or im2col's three), timed with timestamp queries when the adapter has them (else the
// wall clock around submit and wait). TF.js: the wall clock around the op and a read of one
// element of its result, which forces the op to run; that read adds a fixed small cost.
// Both take the median of --reps runs after --warmup runs. FLOPs: 2 N Cout OH OW Cin k^2 for
// each of the three.
//
//   npx tsx bench/conv.ts [--batch=64] [--image=3,64,64] [--channels=32,64,128,256]
//                         [--variants=direct,implicit-gemm,im2col] [--reps=3] [--warmup=1] [--no-tfjs] [--json]
import { pathToFileURL } from 'node:url';
import { benchData as fill, median } from './common';
import { timeGraph } from './time-graph';
import { gentleWait } from '../src/gpu/gentle-wait';
import { convDims, type ConvGeometry } from '../shaders/conv';
import { PipelineCache } from '../src/gpu/pipelines';
import { BufferArena } from '../src/gpu/buffers';
import { recordConvOp, type ConvOpBuffers } from '../src/model/autotune-conv';
import { CONV_METHODS, CONV_OPS, type ConvMethod, type ConvOp, type ConvOpShape } from '../src/model/layers/conv-ops';
import type { KernelChoice } from '../src/model/kernel-choice';
import type { Tf } from './tfjs-vae';

export type { ConvOp };
const OPS = CONV_OPS;

export interface ConvBenchResult {
  bench: 'conv';
  impl: ConvMethod | 'tfjs';
  op: ConvOp;
  layer: string;
  median_ms: number;
  gflops: number;
}

/** The encoder's convolutions; the decoder's transposed ones are the same geometries. */
export function convBenchCases(batch: number, image: [number, number, number], channels: number[]): { layer: string; g: ConvGeometry }[] {
  let [C, H, W] = image;
  return channels.map((out, i) => {
    const g = { batch, inChannels: C, inHeight: H, inWidth: W, outChannels: out, kernel: 4, stride: 2, padding: 1 };
    const layer = `${C}x${H}x${W}->${out}x${H / 2}x${W / 2}`;
    [C, H, W] = [out, H / 2, W / 2];
    if (!Number.isInteger(H) || !Number.isInteger(W)) throw new Error(`conv bench: ${image} does not halve ${i + 1} times`);
    return { layer, g };
  });
}

const flops = (g: ConvGeometry) => {
  const d = convDims('bench', g);
  return 2 * d.N * d.Cout * d.OHW * d.CinKK;
};


/** One operation in one method (recorded by src/model/autotune-conv.ts, as the autotuner times it), its intermediate tensors planned in an arena freed afterwards. */
async function timeOurs(device: GPUDevice, cache: PipelineCache, kernels: KernelChoice, shape: ConvOpShape, method: ConvMethod, buffers: ConvOpBuffers, reps: number, warmup: number): Promise<number> {
  const arena = new BufferArena(device, 'bench-conv');
  try {
    const graph = await recordConvOp(kernels, shape, method, buffers).build(cache, arena);
    return median(await timeGraph(device, graph, warmup, reps));
  } finally {
    arena.destroyAll();
  }
}

async function timeTfjs(tf: Tf, g: ConvGeometry, op: ConvOp, reps: number, warmup: number): Promise<number> {
  const d = convDims('bench', g);
  const pad: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [d.P, d.P], [d.P, d.P], [0, 0]];
  const x = tf.tensor4d(fill(d.N * d.HW * d.Cin, 1), [d.N, d.H, d.W, d.Cin]);
  const f = tf.tensor4d(fill(d.KK * d.Cin * d.Cout, 2), [d.K, d.K, d.Cin, d.Cout]);
  const dy = tf.tensor4d(fill(d.N * d.OHW * d.Cout, 3), [d.N, d.OH, d.OW, d.Cout]);
  const attrs = { strides: [d.S, d.S], pad, dataFormat: 'NHWC', dimRoundingMode: undefined } as Record<string, unknown>;
  const run = () => {
    if (op === 'forward') return tf.conv2d(x, f, d.S, pad);
    if (op === 'dX') return tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: f }, { ...attrs, inputShape: [d.N, d.H, d.W, d.Cin] } as never);
    return tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [d.K, d.K, d.Cin, d.Cout] } as never);
  };
  const times: number[] = [];
  for (let r = 0; r < warmup + reps; r++) {
    const t0 = performance.now();
    const out = run() as ReturnType<Tf['conv2d']>;
    const one = tf.slice(out, [0, 0, 0, 0], [1, 1, 1, 1]);
    // As the step benchmark waits for TF.js (tfjs-vae.ts): a plain await spins a core in Node.
    await gentleWait(() => one.data());
    if (r >= warmup) times.push(performance.now() - t0);
    out.dispose(); one.dispose();
  }
  x.dispose(); f.dispose(); dy.dispose();
  return median(times);
}

export interface ConvBenchOptions {
  batch?: number;
  image?: [number, number, number];
  channels?: number[];
  variants?: ConvMethod[];
  /** The matmul choice the im2col method uses (default: the register-subgroup kernels, shape-generic). */
  kernels?: KernelChoice;
  reps?: number;
  warmup?: number;
  /** TF.js on the same adapter, or null to leave it out. */
  tf?: Tf | null;
  onResult?: (r: ConvBenchResult) => void;
}

export async function runConvBench(device: GPUDevice, opts: ConvBenchOptions = {}): Promise<ConvBenchResult[]> {
  const reps = opts.reps ?? 3, warmup = opts.warmup ?? 1;
  const cache = new PipelineCache(device);
  const results: ConvBenchResult[] = [];
  const push = (r: Omit<ConvBenchResult, 'bench' | 'gflops'>, g: ConvGeometry) => {
    const res: ConvBenchResult = { bench: 'conv', ...r, median_ms: Number(r.median_ms.toFixed(3)), gflops: Number((flops(g) / (r.median_ms * 1e6)).toFixed(3)) };
    results.push(res);
    opts.onResult?.(res);
  };
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
  for (const { layer, g } of convBenchCases(opts.batch ?? 64, opts.image ?? [3, 64, 64], opts.channels ?? [32, 64, 128, 256])) {
    const d = convDims('bench', g);
    const buf = (n: number, seed: number) => {
      const b = device.createBuffer({ size: n * 4, usage });
      device.queue.writeBuffer(b, 0, fill(n, seed));
      return b;
    };
    const x = buf(d.N * d.Cin * d.HW, 1), w = buf(d.Cout * d.CinKK, 2), dy = buf(d.N * d.Cout * d.OHW, 3);
    const y = buf(d.N * d.Cout * d.OHW, 4), dx = buf(d.N * d.Cin * d.HW, 5), dw = buf(d.Cout * d.CinKK, 6);
    const kernels = opts.kernels ?? { matmul: 'register-subgroup', matmulGeneric: true, conv: 'im2col', likelihoodThreadsPerRow: 1, subgroups: device.features.has('subgroups') };
    for (const variant of opts.variants ?? [...CONV_METHODS]) {
      for (const op of OPS) push({ impl: variant, op, layer, median_ms: await timeOurs(device, cache, kernels, { geometry: g, op }, variant, { x, w, dy, y, dx, dw }, reps, warmup) }, g);
    }
    for (const b of [x, w, dy, y, dx, dw]) b.destroy();
    if (opts.tf) for (const op of OPS) push({ impl: 'tfjs', op, layer, median_ms: await timeTfjs(opts.tf, g, op, reps, warmup) }, g);
  }
  return results;
}

/** Rows: layer and op; columns: ms and GFLOP/s per implementation. */
export function formatConvTable(results: ConvBenchResult[]): string {
  const impls = [...new Set(results.map((r) => r.impl))];
  const keys = [...new Set(results.map((r) => `${r.layer}|${r.op}`))];
  const head = ['layer', 'op', ...impls.flatMap((i) => [`${i} ms`, `${i} GF/s`])];
  const rows = keys.map((k) => {
    const [layer, op] = k.split('|');
    return [layer, op, ...impls.flatMap((i) => {
      const r = results.find((x) => x.impl === i && x.layer === layer && x.op === op);
      return r ? [r.median_ms.toFixed(1), r.gflops.toFixed(2)] : ['-', '-'];
    })];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const value = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1];
  const nums = (name: string) => value(name)?.split(',').map(Number);
  const json = argv.includes('--json');
  const { acquireBenchDevice, loadTfNode, releaseTfNode } = await import('./node-env');
  const { device, adapter } = await acquireBenchDevice((l) => process.stderr.write(`${l}\n`));
  process.stderr.write(`adapter: ${adapter.vendor} ${adapter.architecture} ${adapter.description}\n`);
  const tf = argv.includes('--no-tfjs') ? null : await loadTfNode();
  const results = await runConvBench(device, {
    batch: value('batch') ? Number(value('batch')) : undefined,
    image: nums('image') as [number, number, number] | undefined,
    channels: nums('channels'),
    variants: value('variants')?.split(',') as ConvMethod[] | undefined,
    reps: value('reps') ? Number(value('reps')) : undefined,
    warmup: value('warmup') ? Number(value('warmup')) : undefined,
    tf,
    onResult: (r) => (json ? console.log(JSON.stringify(r)) : process.stderr.write(`  ${r.layer} ${r.op} ${r.impl}: ${r.median_ms} ms, ${r.gflops} GFLOP/s\n`)),
  });
  if (!json) console.log(formatConvTable(results));
  await releaseTfNode();
  device.destroy();
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
}
