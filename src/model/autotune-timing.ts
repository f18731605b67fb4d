// How the autotuners (autotune.ts for matmuls, autotune-conv.ts for convolutions) time one
// candidate: its pipelines compiled within what is left of the budget, then a few timed batches
// of runs. A candidate the device refuses (it does not compile, or needs more than the device's
// limits) is skipped and counted as measured, so one broken variant costs a choice, not the model.
import { DeviceLimitError, GpuError, ShaderCompileError } from '../errors';
import { isDeviceGoneAfterSettling } from '../gpu/device';
import { ConfigError } from '../../shaders/errors';
import type { Kernel } from '../../shaders/common';
import { gentleWait } from '../gpu/gentle-wait';
import { ourLabel } from '../gpu/labels';
import type { PipelineCache } from '../gpu/pipelines';
import type { KernelGraph } from '../graph';

/**
 * Whether `e` refuses one candidate rather than the run: a compile or validation failure, a limit
 * the candidate's buffers or workgroups exceed, or memory it cannot get. A lost device and
 * anything unexpected are the run's, and are thrown on.
 */
export function refusesCandidate(e: unknown): e is Error {
  if (e instanceof ShaderCompileError || e instanceof DeviceLimitError || e instanceof ConfigError) return true;
  return e instanceof GpuError && (e.kind === 'validation' || e.kind === 'out-of-memory');
}

/**
 * Throws (the run's error, not a refusal) when `device` is lost or destroyed: on a lost device
 * Dawn compiles and runs nothing and refuses nothing, so its timings measure nothing and must
 * not decide a choice, or reach the cache.
 */
export async function refuseLostDevice(device: GPUDevice): Promise<void> {
  if (await isDeviceGoneAfterSettling(device)) {
    throw new GpuError('autotune: the GPU device was lost or destroyed while the candidates were timed; nothing measured on it was kept', 'autotune', 'device-lost');
  }
}

/**
 * Compiles `kernels` into the cache, or gives up once `ms` have passed (false): the compiles go on
 * and land in the cache for a later use, so quick mode keeps to its budget even where one compile
 * takes seconds (SwiftShader). A compile that fails rejects, whenever it fails.
 */
export async function compiledWithin(cache: PipelineCache, kernels: readonly Kernel[], ms: number): Promise<boolean> {
  const compiles = cache.getAll(kernels, undefined, 'library').then(() => true);
  if (!Number.isFinite(ms)) return compiles;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), Math.max(0, ms)); });
  compiles.catch(() => undefined); // a failure after the budget ran out belongs to no one
  try {
    return await Promise.race([compiles, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Milliseconds per run of a built graph: the fastest of a few timed batches of runs, each encoded into one submit. */
export async function timeBuiltGraph(device: GPUDevice, graph: KernelGraph, budget: number): Promise<number> {
  const run = async (n: number) => {
    const t0 = performance.now();
    const enc = device.createCommandEncoder({ label: ourLabel('autotune') });
    for (let i = 0; i < n; i++) graph.encode(enc);
    device.queue.submit([enc.finish()]);
    await gentleWait(() => device.queue.onSubmittedWorkDone());
    return (performance.now() - t0) / n;
  };
  // Warm-up, then batches sized so that each lasts about a third of the budget: a fast kernel's
  // single dispatch would measure the submit and the wait, not the kernel.
  const target = budget / 3;
  let n = 1, per = await run(1);
  for (let i = 0; i < 3 && n < 1024 && per * n < target / 2; i++) {
    n = Math.min(1024, Math.max(2 * n, Math.ceil(target / Math.max(per, 1e-3))));
    per = await run(n);
  }
  // The fastest of 3 batches: other work on the machine only ever adds time, so the minimum is
  // the least disturbed figure (a median still picked noise on a machine at load 20).
  return Math.min(await run(n), await run(n), await run(n));
}
