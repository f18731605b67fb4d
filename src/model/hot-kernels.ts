// Larger matmul blocks for a model that keeps training. The training step starts on kernels that
// compile fast (on SwiftShader the default model's first step takes about a second, compiles
// included); once it has run HOT_AFTER_STEPS times, the larger-block form of each of its products
// (hotMatmul, shaders/matmul-hot.ts) is compiled in the background, where Dawn and browsers compile,
// while steps go on, and swapped in between two steps (KernelGraph.swapKernels). Both forms give
// the same bits, so when the swap lands changes the speed and nothing else: a seed still
// reproduces a run to the last bit. On SwiftShader the default model's five took 1.7-3.2 s to
// compile and ran its step about 20% faster (bench/RESULTS.md, "Hot kernels"), which a run repays
// within its first epoch; a short run (a test, a demo's first seconds) never pays the compile.
// `vae.upgradeKernels()` swaps them in at once (the benchmark times the step after it).
// A shape-generic product (sizes in a uniform: the default on software adapters, for a fast first
// step) gets its larger form specialized, sizes in its source: 1-8% faster each on the default
// model's products (bench/RESULTS.md, "Specialized hot kernels").
import { matmul, type MatmulKernel } from '../../shaders/matmul';
import { hotMatmul } from '../../shaders/matmul-hot';
import type { Kernel } from '../../shaders/common';
import type { KernelGraph } from '../graph';
import type { PipelineCache } from '../gpu/pipelines';

/** Training steps after which a model's step swaps in its larger-block kernels. */
export const HOT_AFTER_STEPS = 100;

/**
 * The larger-block kernel of a matmul dispatch (hotMatmul), specialized to its shape; null where
 * there is none (not a matmul, not one hotMatmul considers, such as the autotuner's measured
 * choices, or none fits). A product with no larger form keeps its kernel: specialized alone it ran
 * 1-5% faster, too little for one more compile beside a run's steps (a conv model has several).
 */
export function hotKernel(kernel: Kernel): Kernel | null {
  const params = (kernel as Partial<MatmulKernel>).matmul;
  const larger = params ? hotMatmul(params)?.matmul : undefined;
  return larger ? matmul({ ...larger, generic: false }) : null;
}

/** One model's swap of its training step's kernels: started once, by the step count or on request. */
export class HotKernels {
  private swap: Promise<string[]> | null = null;
  private scheduled = false;
  private failure: unknown = null;

  /** `enabled`: asked when the swap would start (the model's kernels.hotMatmuls). */
  constructor(private readonly enabled: () => boolean) {}

  /**
   * After training step number `steps` (1 for the first): at HOT_AFTER_STEPS, starts the swap from a
   * task of its own, so that the step that reached the count returns at once (making the
   * kernels' WGSL and shader modules takes a few hundred ms of this thread on SwiftShader).
   */
  afterStep(steps: number, graph: KernelGraph, cache: PipelineCache, stillWanted: () => boolean): void {
    if (steps < HOT_AFTER_STEPS || this.scheduled || this.swap) return;
    this.scheduled = true;
    setTimeout(() => void this.start(graph, cache, stillWanted), 0);
  }

  /**
   * Starts the swap if it has not started, and returns it; nothing (and nothing remembered) while
   * disabled or unwanted. A failed compile leaves the step on the kernels it has (the swap is an
   * optimization the run does not need); the failure is kept, and `upgrade()` rethrows it.
   */
  start(graph: KernelGraph, cache: PipelineCache, stillWanted: () => boolean): Promise<string[]> {
    if (this.swap) return this.swap;
    if (!this.enabled() || !stillWanted()) return Promise.resolve([]);
    this.swap = graph.swapKernels(cache, hotKernel, stillWanted).catch((e) => {
      this.failure = e;
      return [];
    });
    return this.swap;
  }

  /** Starts the swap now, waits for it, and returns the names of the kernels swapped in. */
  async upgrade(graph: KernelGraph, cache: PipelineCache, stillWanted: () => boolean): Promise<string[]> {
    const names = await this.start(graph, cache, stillWanted);
    if (this.failure) throw this.failure;
    return names;
  }
}
