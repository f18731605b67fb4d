// Convolution methods chosen by measurement. Each convolution operation a graph records (a layer's
// forward, input gradient or weight gradient on its geometry: convOpsOf) can run as `direct`,
// `direct-subgroup`, `implicit-gemm` or `im2col` (layers/conv-ops.ts); which is fastest depends on the adapter and
// the shape: on SwiftShader im2col wins most operations of the 64x64 model, while the direct
// kernel keeps the input gradients at 32x32 (bench/RESULTS.md). `autotuneConvs` times every method
// on each operation, on standalone buffers, and keeps the fastest; the choice overrides the
// adapter's default (`KernelChoice.conv`) for that operation only. Results share the matmul
// autotuner's cache (keys start `conv|`), keyed by the adapter and the WGSL of every candidate.
// Time it after the matmuls: the im2col method runs on the model's tuned matmuls.
import { ourLabel } from '../gpu/labels';
import { convDims } from '../../shaders/conv';
import { BufferArena } from '../gpu/buffers';
import type { PipelineCache } from '../gpu/pipelines';
import { KernelGraph } from '../graph';
import { Tensor } from '../tensor';
import { sourceHash, type AutotuneOptions, type TunedConv } from './autotune';
import { compiledWithin, refuseLostDevice, refusesCandidate, timeBuiltGraph } from './autotune-timing';
import type { KernelChoice } from './kernel-choice';
import { CONV_METHODS, convOpKey, recordConvForward, recordConvInputGrad, recordConvWeightGrad, type ConvMethod, type ConvOpShape } from './layers/conv-ops';
import type { Recorder } from './module';
import { BufferUsage } from '../gpu/webgpu-flags';

/**
 * Methods to time, the adapter's likely winner first (quick mode may only reach the first few);
 * without subgroups `direct-subgroup` is `direct`, so it is left out.
 */
export function convMethodCandidates(isSoftware: boolean, subgroups = true): ConvMethod[] {
  const order: ConvMethod[] = isSoftware ? ['direct-subgroup', 'im2col', 'direct', 'implicit-gemm'] : ['implicit-gemm', 'im2col', 'direct-subgroup', 'direct'];
  return subgroups ? order : order.filter((m) => m !== 'direct-subgroup');
}

/** The buffers of one operation: inputs filled by nothing (timing only), outputs written. */
export type ConvOpBuffers = Record<'x' | 'w' | 'y' | 'dy' | 'dx' | 'dw', GPUBuffer>;

/**
 * One operation in one method, recorded into a graph of its own on the given buffers (im2col's
 * intermediate tensors are planned when the graph is built with an arena). Used by the autotuner
 * and by bench/conv.ts.
 */
export function recordConvOp(kernels: KernelChoice, shape: ConvOpShape, method: ConvMethod, buffers: ConvOpBuffers): KernelGraph {
  const d = convDims('conv-op', shape.geometry), g = shape.geometry;
  const graph = new KernelGraph(`conv-op:${method}:${convOpKey(shape)}`);
  // Conv operations use the graph, the kernel choice and tensors, nothing else of a model's recorder.
  const rec = { graph, kernels: { ...kernels, conv: method, convNarrow: undefined, convInputGrad: undefined, convTuned: undefined }, tensor: (name: string, dims: readonly number[]) => new Tensor(name, dims) } as unknown as Recorder;
  const bound = (name: string, dims: number[], buffer: GPUBuffer) => {
    const t = new Tensor(name, dims, true);
    t.slice = { buffer };
    return t;
  };
  const x = bound('x', [d.N, d.Cin, d.H, d.W], buffers.x), dy = bound('dy', [d.N, d.Cout, d.OH, d.OW], buffers.dy);
  if (shape.op === 'forward') recordConvForward(rec, g, x, { buffer: buffers.w }, bound('y', [d.N, d.Cout, d.OH, d.OW], buffers.y));
  else if (shape.op === 'dX') recordConvInputGrad(rec, g, dy, { buffer: buffers.w }, bound('dx', [d.N, d.Cin, d.H, d.W], buffers.dx));
  else recordConvWeightGrad(rec, g, dy, x, { buffer: buffers.dw });
  return graph;
}

/** Storage buffers for every tensor an operation of `shape` may touch. */
export function convOpBuffers(device: GPUDevice, shape: ConvOpShape): ConvOpBuffers {
  const d = convDims('conv-op', shape.geometry);
  const usage = BufferUsage.STORAGE | BufferUsage.COPY_DST | BufferUsage.COPY_SRC;
  const make = (floats: number) => device.createBuffer({ label: ourLabel('autotune-conv'), size: Math.max(16, 4 * floats), usage });
  const image = d.N * d.Cin * d.H * d.W, out = d.N * d.Cout * d.OH * d.OW, weights = d.Cout * d.CinKK;
  return { x: make(image), dx: make(image), y: make(out), dy: make(out), w: make(weights), dw: make(weights) };
}

/**
 * Every method timed on one operation, or null when the budget ran out before all were, or the
 * device refused every one. A refused method (refusesCandidate) is skipped and reported.
 */
async function timeMethods(pipelines: PipelineCache, kernels: KernelChoice, shape: ConvOpShape, methods: ConvMethod[], left: () => number, perCandidateMs: number, onRefused?: AutotuneOptions['onRefused']): Promise<TunedConv | null> {
  const { device } = pipelines;
  const buffers = convOpBuffers(device, shape);
  let best: TunedConv | null = null;
  try {
    for (const method of methods) {
      if (left() <= 0) return null;
      const arena = new BufferArena(device, 'autotune-conv');
      try {
        const graph = recordConvOp(kernels, shape, method, buffers);
        if (!(await compiledWithin(pipelines, graph.kernels, left()))) return null;
        await graph.build(pipelines, arena);
        const ms = await timeBuiltGraph(device, graph, Math.min(left(), perCandidateMs));
        if (!best || ms < best.ms) best = { method, ms, candidates: methods.length };
      } catch (e) {
        if (!refusesCandidate(e)) throw e;
        onRefused?.(`${convOpKey(shape)} ${method}`, e);
      } finally {
        arena.destroyAll();
      }
    }
  } finally {
    Object.values(buffers).forEach((b) => b.destroy());
  }
  return best;
}

/**
 * The fastest method for each operation, from the cache where it has the answer. Returns the
 * choices by convOpKey; an operation without a complete measurement is left out (it keeps the default).
 */
export async function autotuneConvs(pipelines: PipelineCache, ops: readonly ConvOpShape[], kernels: KernelChoice, opts: AutotuneOptions): Promise<Record<string, TunedConv>> {
  const { device } = pipelines;
  const chosen: Record<string, TunedConv> = {};
  if (opts.mode === 'off') return chosen;
  const t0 = performance.now();
  const budget = opts.budgetMs ?? (opts.mode === 'quick' ? 1000 : Infinity);
  const left = () => (opts.signal?.aborted ? 0 : budget - (performance.now() - t0));
  const methods = convMethodCandidates(opts.isSoftware, kernels.subgroups);
  // Recording binds buffers but reads none of them: the cache key needs only the kernels' text.
  const small = device.createBuffer({ label: ourLabel('autotune-conv:small'), size: 16, usage: BufferUsage.STORAGE });
  const unbuilt = { x: small, w: small, y: small, dy: small, dx: small, dw: small };
  try {
    for (const shape of ops) {
      const opKey = convOpKey(shape);
      const sources = methods.map((m) => recordConvOp(kernels, shape, m, unbuilt).kernels.map((k) => k.code).join('\n'));
      const key = `conv|${opts.adapterKey}|${opKey}|${sourceHash(sources)}`;
      const cached = await opts.cache?.get(key);
      if (cached && 'method' in cached && CONV_METHODS.includes(cached.method)) {
        chosen[opKey] = cached;
        continue;
      }
      if (left() <= 0) continue;
      const best = await timeMethods(pipelines, kernels, shape, methods, left, opts.mode === 'quick' ? 50 : 200, opts.onRefused);
      // As for matmuls: only a complete measurement on a live device decides, and is cached.
      await refuseLostDevice(device);
      if (!best) continue;
      chosen[opKey] = best;
      await opts.cache?.set(key, best);
    }
  } finally {
    small.destroy();
  }
  return chosen;
}
