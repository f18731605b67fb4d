// Runs kernels the way the library does (PipelineCache + KernelGraph), so kernel tests also
// exercise the scheduler's binding and compilation paths. The device is Dawn's in Node and the
// browser's own WebGPU when the same tests run inside Chromium (vitest.browser.config.ts).
import type { Kernel } from '../../shaders/common';
import { writeData } from '../../src/gpu/buffers';
import { acquireBrowserDevice } from '../../src/gpu/device';
import { type PipelineCache, pipelineCacheFor } from '../../src/gpu/pipelines';
import { KernelGraph } from '../../src/graph';
import { gentleWait } from '../../src/gpu/gentle-wait';

/**
 * Where the tests run: Node (Dawn through the `webgpu` package), headless Chromium (its own Dawn
 * and Tint) or Deno (wgpu and naga). The kernel files run in all three; tests of how a model
 * records its graph (TypeScript that is the same everywhere) run in Node only, and the tiled
 * matmuls built for GPUs, whose pipelines take Chromium 4-11 s each on SwiftShader, run in a cut
 * of their cases outside Node (tests/matmul.test.ts).
 */
export const TEST_HOST: 'node' | 'chromium' | 'deno' = 'Deno' in globalThis ? 'deno' : typeof window !== 'undefined' ? 'chromium' : 'node';

let shared: Promise<{ device: GPUDevice; cache: PipelineCache }> | null = null;

export function gpu(): Promise<{ device: GPUDevice; cache: PipelineCache }> {
  if (!shared) {
    // Browsers and Deno (wgpu) have navigator.gpu; Node gets Dawn through the `webgpu` package.
    const inBrowser = (typeof window !== 'undefined' || 'Deno' in globalThis) && typeof navigator !== 'undefined';
    // The Node module is imported only in Node, so the browser bundle never sees node:fs.
    const acquire = inBrowser ? acquireBrowserDevice() : import('../../src/gpu/node-device').then((m) => m.acquireNodeDevice());
    shared = acquire.then(({ device }) => ({ device, cache: pipelineCacheFor(device) }));
  }
  return shared;
}

type Data = Float32Array | Uint32Array | Int32Array;
export type Inputs = Record<string, ArrayLike<number> | Data>;

/**
 * What every output buffer holds before a kernel runs. NaN, not zero: a kernel that skips an
 * element leaves NaN there, and one that accumulates into its output (`+=` where `=` is meant)
 * turns every element NaN, so both fail the comparison instead of passing on a zeroed buffer.
 */
export const UNWRITTEN = Number.NaN;

/** True when every element of `values` still holds the NaN fill (e.g. padding past the end). */
export const untouched = (values: ArrayLike<number>) => Array.from(values).every(Number.isNaN);

export interface RunOptions {
  /** Initial value of every output buffer (default UNWRITTEN). */
  fill?: number;
}

/**
 * Uploads `inputs` (plain arrays become f32), allocates `outputs` (element counts) filled with
 * `options.fill` (NaN by default), runs the kernels in order in one pass and returns every named
 * buffer's final contents as f32. Kernels in a sequence share buffers by name.
 */
export async function runKernels(kernels: Kernel[], inputs: Inputs, outputs: Record<string, number>, options: RunOptions = {}): Promise<Record<string, Float32Array>> {
  const { device, cache } = await gpu();
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const buffers: Record<string, GPUBuffer> = {};
  for (const [name, data] of Object.entries(inputs)) {
    const typed = data instanceof Float32Array || data instanceof Uint32Array || data instanceof Int32Array ? data : Float32Array.from(data);
    const isUniform = name === 'params';
    const buf = device.createBuffer({ size: Math.max(16, typed.byteLength), usage: isUniform ? GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST : usage });
    writeData(device, buf, 0, typed);
    buffers[name] = buf;
  }
  const fill = options.fill ?? UNWRITTEN;
  for (const [name, count] of Object.entries(outputs)) {
    const size = Math.max(16, count * 4);
    buffers[name] = device.createBuffer({ size, usage });
    writeData(device, buffers[name], 0, new Float32Array(size / 4).fill(fill));
  }
  const graph = new KernelGraph('test');
  for (const k of kernels) {
    graph.add(k, Object.fromEntries(k.bindings.map((b) => [b.name, buffers[b.name]])));
  }
  await graph.build(cache);
  device.pushErrorScope('validation');
  const enc = device.createCommandEncoder();
  graph.encode(enc);
  const names = Object.keys(outputs).concat(Object.keys(inputs).filter((n) => n !== 'params'));
  const staging: Record<string, GPUBuffer> = {};
  for (const n of names) {
    staging[n] = device.createBuffer({ size: buffers[n].size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    enc.copyBufferToBuffer(buffers[n], 0, staging[n], 0, buffers[n].size);
  }
  device.queue.submit([enc.finish()]);
  const err = await device.popErrorScope();
  if (err) throw new Error(`validation error: ${err.message}`);
  const result: Record<string, Float32Array> = {};
  for (const n of names) {
    await gentleWait(() => staging[n].mapAsync(GPUMapMode.READ));
    const count = n in outputs ? outputs[n] : (inputs[n] as ArrayLike<number>).length;
    result[n] = new Float32Array(staging[n].getMappedRange().slice(0, count * 4));
    staging[n].unmap();
    staging[n].destroy();
  }
  for (const b of Object.values(buffers)) b.destroy();
  return result;
}
