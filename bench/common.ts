// Shared pieces of the benchmark harness that run unchanged in Node and in the browser page:
// options, result records (one JSON object each with --json), statistics and the small dataset view
// both implementations train on. Nothing here imports Node modules.

export type BenchEnv = 'node' | 'chromium';
export type Impl = 'webgpu-vae' | 'tfjs-webgpu';

import type { AutotuneMode } from '../src/model/autotune';
import type { Precision } from '../src/model/precision';
import type { MatmulVariant } from '../shaders/matmul';
import type { PeakRecord } from './peak';

/** What to run and at which shape; parsed by args.ts, posted as-is to the Chromium page. */
export interface BenchOptions {
  batch: number;
  hidden: number[];
  latent: number;
  /** Timed steps: TF.js times this many single steps; ours times `blocks` blocks of this many steps. */
  steps: number;
  /** Untimed steps before timing (after the first, compiling, step). */
  warmup: number;
  /** Timed blocks for webgpu-vae (each ends with one loss read-back). */
  blocks: number;
  /**
   * The step comparison alternates the two implementations this many times (each round: ours
   * `blocks` blocks, then TF.js `steps` steps), so a machine that slows down or speeds up during
   * the run affects both alike; medians are over all rounds' samples.
   */
  rounds: number;
  /** Which implementations the train-step comparison runs. */
  impls: Impl[];
  step: boolean;
  profile: boolean;
  /** Repetitions of the profiled step; the median per kernel is kept. */
  profileReps: number;
  /** Batch sizes of the sweep (ours only); empty: no sweep. */
  sweep: number[];
  /** Sweep: timed examples per batch size (steps = max(2, ceil(this / batch))). */
  sweepExamples: number;
  matmul: boolean;
  /** Measure the adapter's arithmetic ceiling (bench/peak.ts). */
  peak: boolean;
  /** Side of the matmul table's square case; 0 leaves it out; null: 1024 on a GPU, 0 on a software adapter. */
  matmulSquare: number | null;
  /** Batch sizes of the model's products in the matmul table; null: the default of matmul-hook.ts. */
  matmulBatches: number[] | null;
  /** Variants of the matmul table; null: every one the device runs. */
  matmulVariants: MatmulVariant[] | null;
  /** Matmul autotuning at model creation (src/model/autotune.ts); 'off' keeps the adapter's defaults. */
  autotune: AutotuneMode;
  /** Storage of our model's hidden activations (src/model/precision.ts). */
  precision: Precision;
  /**
   * Our matmuls: shape-generic (sizes in a uniform) or specialized to each product's shape;
   * 'default' keeps the adapter's choice (generic on software adapters, specialized on GPUs).
   */
  matmulShapes: MatmulShapes;
  /**
   * Whether the first layer's products skip the data's zeros (KernelChoice.skipInputZeros);
   * 'default' keeps the adapter's choice (on for software adapters, off for GPUs).
   */
  skipZeros: SkipZeros;
  /** Our device's shaders with WebGPU's bounds checks on buffer accesses (Node; acquireNodeDevice's boundsChecks); unset: the environment's choice. */
  boundsChecks?: boolean;
  /** Examples of MNIST the benchmarks train on (uploaded once per model). */
  examples: number;
  lr: number;
}

export const MATMUL_SHAPES = ['default', 'generic', 'specialized'] as const;
export type MatmulShapes = (typeof MATMUL_SHAPES)[number];
export const SKIP_ZEROS = ['default', 'on', 'off'] as const;
export type SkipZeros = (typeof SKIP_ZEROS)[number];

export const FULL_SWEEP = [32, 64, 128, 256, 512, 1024, 2048, 4096];
export const SHORT_SWEEP = [32, 128, 512, 1024];

export interface StepRecord {
  bench: 'train_step';
  impl: Impl;
  env: BenchEnv;
  adapter: string;
  batch: number;
  hidden: number[];
  latent: number;
  median_ms: number;
  samples_per_s: number;
  /** Ours: the autotune mode its model was created with. */
  autotune?: AutotuneMode;
  /** Ours: the storage of its hidden activations. */
  precision?: Precision;
  /** Ours: whether its matmuls read their sizes from a uniform (shape-generic) rather than their source. */
  matmul_generic?: boolean;
  /** Ours: whether its first layer's products skipped the data's zeros (KernelChoice.skipInputZeros). */
  skip_input_zeros?: boolean;
  /** Ours: false when its shaders ran without WebGPU's bounds checks (--bounds-checks off). */
  bounds_checks?: boolean;
  /** Model construction to the end of the first step: pipeline/shader compilation included. */
  first_step_ms: number;
  /** Ours: distinct larger-block kernels swapped in after the first step, before timing, and their compile's ms (vae.upgradeKernels()). */
  hot_kernels?: number;
  hot_kernels_ms?: number;
  /** Dispatches and queue submits in one step (null: could not be counted). */
  dispatches: number | null;
  submits: number | null;
  /** Dispatches seen by the wrapped dispatchWorkgroups (a check on `dispatches` for ours). */
  dispatches_counted: number | null;
  /** GPU memory held: everything, and the resident training data within it. */
  gpu_bytes: number | null;
  data_bytes: number;
  /** Bytes planned for the step's activation tensors and bytes saved by reusing memory (ours; null for TF.js). */
  planned_bytes: number | null;
  saved_bytes: number | null;
  /** Per-step times (TF.js) or per-step means of each block (ours) the median is taken over. */
  samples_ms: number[];
  steps_per_sample: number;
  warmup: number;
  /** Training loss per example of the last timed step (sanity check: ~543 = 784 ln 2 at init). */
  loss: number | null;
}

export interface RatioRecord {
  bench: 'train_step_ratio';
  env: BenchEnv;
  batch: number;
  /** tfjs-webgpu median step time / webgpu-vae median step time (> 1: ours is faster). */
  ratio: number;
  /** The same ratio within each round of the alternating comparison, in order. */
  round_ratios: number[];
}

export interface ProfileRecord {
  bench: 'profile';
  impl: 'webgpu-vae';
  env: BenchEnv;
  adapter: string;
  batch: number;
  /** Kernel family: the first word of the kernel name; 'total' sums every kernel. */
  family: string;
  kernels: string[];
  dispatches: number;
  gpu_ms: number;
  share: number;
  /** Only on the 'total' record: the unprofiled step's median time, for comparison. */
  step_ms?: number;
  /** Only on the 'total' record: GPU time from the start of the step's first pass to the end of its last, as it runs unprofiled. */
  span_gpu_ms?: number;
}

export interface SweepRecord {
  bench: 'sweep';
  impl: 'webgpu-vae';
  env: BenchEnv;
  adapter: string;
  batch: number;
  median_ms: number;
  samples_per_s: number;
  first_step_ms: number;
  gpu_bytes: number;
  steps: number;
}

export interface NoteRecord {
  bench: 'note';
  env: BenchEnv;
  message: string;
}

/** A matmul result from bench/matmul.ts, tagged with where it ran. */
export interface MatmulRecord {
  bench: 'matmul';
  env: BenchEnv;
  adapter: string;
  [key: string]: unknown;
}

/** One matmul product's autotuned choice in the step comparison's model. */
export interface AutotuneRecord {
  bench: 'autotune';
  env: BenchEnv;
  adapter: string;
  mode: AutotuneMode;
  /** MxNxK and transposes, e.g. 128x400x784nt. */
  product: string;
  choice: string;
  ms: number;
  candidates: number;
}

export type BenchRecord = StepRecord | RatioRecord | ProfileRecord | SweepRecord | NoteRecord | MatmulRecord | AutotuneRecord | PeakRecord;

/** The training data as both implementations see it: u8 pixels, `dim` per example. */
export interface BenchData {
  images: Uint8Array;
  count: number;
  dim: number;
}

/** The first `count` examples (a view, no copy). */
export function subset(data: BenchData, count: number): BenchData {
  const n = Math.min(count, data.count);
  return { images: data.images.subarray(0, n * data.dim), count: n, dim: data.dim };
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export const round = (x: number, digits = 3) => Number(x.toFixed(digits));

export const now = () => performance.now();

/** Family of a kernel name: the first word (`matmul_nt_bias_relu_register` -> `matmul`). */
export function kernelFamily(name: string): string {
  return name.split(/[_\[:.\s-]/)[0] || name;
}

/**
 * Each dispatch's median time summed by kernel family (`kernelFamily` of its kernel's name),
 * largest first: `names[i]` and `samples[i]` (its timed runs) belong to dispatch i.
 */
export function timesByFamily(names: string[], samples: number[][]): { family: string; kernels: string[]; dispatches: number; ms: number }[] {
  const families = new Map<string, { kernels: Set<string>; dispatches: number; ms: number }>();
  names.forEach((name, i) => {
    const family = kernelFamily(name);
    const f = families.get(family) ?? { kernels: new Set<string>(), dispatches: 0, ms: 0 };
    f.kernels.add(name);
    f.dispatches++;
    f.ms += median(samples[i]);
    families.set(family, f);
  });
  return [...families].map(([family, f]) => ({ family, kernels: [...f.kernels], dispatches: f.dispatches, ms: f.ms })).sort((a, b) => b.ms - a.ms);
}

/** Deterministic operands in [-0.1, 0.1) for kernel benchmarks (xorshift32 from `seed`). */
export function benchData(n: number, seed: number): Float32Array<ArrayBuffer> {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    out[i] = ((s >>> 0) / 4294967296 - 0.5) * 0.2;
  }
  return out;
}
