// Compute pipelines cached by their WGSL source: the same kernel text compiles once per device,
// however many graphs use it. Compilation is async and inside an error scope; a failure throws a
// ShaderCompileError quoting the compiler's messages beside the offending source lines.
// A compiled kernel binds buffers into a dispatch: the one bind/record path that both the model's
// graphs and `webgpu-vae/kernels` use.
import { ourLabel } from './labels';
import type { BindingKind, Kernel, KernelBinding } from '../../shaders/common';
import { DeviceLimitError, ShaderCompileError } from '../errors';
import type { BufferSlice } from './buffers';
import { gentleWait } from './gentle-wait';

/** One kernel bound to its buffers: a bind group and the commands that dispatch it. */
export interface BoundDispatch {
  readonly bindGroup: GPUBindGroup;
  /** Records setPipeline / setBindGroup / dispatchWorkgroups into the caller's pass. */
  record(pass: GPUComputePassEncoder): void;
  /** Records a pass of its own into the caller's encoder. */
  encode(encoder: GPUCommandEncoder): void;
  /** Encodes and submits on the device's queue. */
  run(): void;
}

/** A kernel with its pipeline, ready to bind buffers. */
export interface CompiledKernel extends Kernel {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
  /** Makes the bind group; every binding by name, as a buffer or a slice. */
  bind(resources: Record<string, GPUBuffer | BufferSlice>, label?: string): BoundDispatch;
}

/**
 * Checks what a kernel asks of the device whatever buffers it is given: its grid, and how many
 * storage buffers it binds (WebGPU's default allows 8; a device that asks for less than its
 * adapter offers would otherwise fail later, in a pipeline layout error that names no limit).
 */
export function checkKernelLimits(kernel: Kernel, limits: GPUSupportedLimits, where = kernel.name): void {
  const most = Math.max(...kernel.workgroups);
  if (most > limits.maxComputeWorkgroupsPerDimension) {
    throw new DeviceLimitError(`kernel ${kernel.name} in ${where} needs ${most} workgroups in one dimension but this device's maxComputeWorkgroupsPerDimension is ${limits.maxComputeWorkgroupsPerDimension}; ${kernel.gridLimitFix ?? 'use a smaller batch'}`);
  }
  const storage = kernel.bindings.filter((b) => b.kind !== 'uniform').length;
  if (storage > limits.maxStorageBuffersPerShaderStage) {
    throw new DeviceLimitError(
      `kernel ${kernel.name} in ${where} binds ${storage} storage buffers but this device allows ${limits.maxStorageBuffersPerShaderStage} per shader stage (maxStorageBuffersPerShaderStage); ` +
        'request the device with requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage } (acquireNodeDevice and acquireBrowserDevice do)',
    );
  }
}

/** Checks a dispatch's grid and bindings against the device's limits, naming what to change. */
export function checkBindingLimits(kernel: Kernel, resources: Record<string, BufferSlice>, limits: GPUSupportedLimits, where = kernel.name): void {
  checkKernelLimits(kernel, limits, where);
  checkBindingSizes(kernel, resources, limits, where);
}

/** Checks each buffer bound against the device's per-binding limits. */
export function checkBindingSizes(kernel: Kernel, resources: Record<string, BufferSlice>, limits: GPUSupportedLimits, where = kernel.name): void {
  for (const b of kernel.bindings) {
    const s = resources[b.name];
    const bytes = s.size ?? s.buffer.size - (s.offset ?? 0);
    const max = b.kind === 'uniform' ? limits.maxUniformBufferBindingSize : limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new DeviceLimitError(`kernel ${kernel.name} in ${where} binds ${b.name} of ${bytes} bytes but this device allows ${max} per binding (${b.kind === 'uniform' ? 'maxUniformBufferBindingSize' : 'maxStorageBufferBindingSize'}); use a smaller batch or model`);
    }
  }
}

const BUFFER_TYPE: Record<BindingKind, GPUBufferBindingType> = {
  read: 'read-only-storage',
  write: 'storage',
  uniform: 'uniform',
};

export function bindGroupLayoutFor(device: GPUDevice, name: string, bindings: KernelBinding[]): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    label: ourLabel(name),
    entries: bindings.map((b, i) => ({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type: BUFFER_TYPE[b.kind] } })),
  });
}

/** Lists compiler messages with two lines of source around each one. */
export function formatCompilationMessages(code: string, messages: readonly GPUCompilationMessage[]): string {
  const lines = code.split('\n');
  return messages
    .map((m) => {
      const at = m.lineNum > 0 ? ` at line ${m.lineNum}:${m.linePos}` : '';
      const from = Math.max(0, m.lineNum - 3), to = Math.min(lines.length, m.lineNum + 2);
      const excerpt = m.lineNum > 0
        ? lines.slice(from, to).map((l, i) => `${String(from + i + 1).padStart(5)}${from + i + 1 === m.lineNum ? ' >' : '  '} ${l}`).join('\n')
        : '';
      return `${m.type}${at}: ${m.message}${excerpt ? '\n' + excerpt : ''}`;
    })
    .join('\n');
}

/** Progress of compiling a graph's pipelines: `done` of `total` distinct pipelines are ready. */
export type CompileProgress = (done: number, total: number) => void;

export class PipelineCache {
  private readonly cache = new Map<string, Promise<{ pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }>>();

  constructor(readonly device: GPUDevice) {}

  get size(): number {
    return this.cache.size;
  }

  /**
   * The compiled kernel; concurrent requests for the same source share one compile. The pipeline
   * is cached by source; the grid comes from `kernel`, so kernels that differ only in their grid
   * share a pipeline.
   */
  async get(kernel: Kernel): Promise<CompiledKernel> {
    const key = pipelineKey(kernel);
    let entry = this.cache.get(key);
    if (!entry) {
      // In Node, dawn.node polls on every turn of the event loop while the compile is pending: a
      // core spent spinning beside Dawn's one compiler thread (see gentle-wait.ts).
      entry = gentleWait(() => this.compile(kernel));
      this.cache.set(key, entry);
      entry.catch(() => this.cache.delete(key)); // a failed compile may be retried after a fix
    }
    const { pipeline, layout } = await entry;
    return this.compiled(kernel, pipeline, layout);
  }

  /** Whether `kernel`'s pipeline is compiled or being compiled. */
  has(kernel: Kernel): boolean {
    return this.cache.has(pipelineKey(kernel));
  }

  /**
   * Every kernel compiled, all compiles in flight at once (createComputePipelineAsync, which Dawn
   * and browsers run on worker threads); identical kernels compile once. `onProgress` is called
   * with (0, total) first and after each distinct pipeline is ready.
   */
  async getAll(kernels: readonly Kernel[], onProgress?: CompileProgress): Promise<CompiledKernel[]> {
    const pending = kernels.map((k) => this.get(k));
    if (onProgress) {
      const distinct = new Map<string, Promise<CompiledKernel>>();
      kernels.forEach((k, i) => { if (!distinct.has(pipelineKey(k))) distinct.set(pipelineKey(k), pending[i]); });
      let done = 0;
      const total = distinct.size;
      onProgress(0, total);
      for (const p of distinct.values()) p.then(() => onProgress(++done, total), () => {});
    }
    return Promise.all(pending);
  }

  private compiled(kernel: Kernel, pipeline: GPUComputePipeline, layout: GPUBindGroupLayout): CompiledKernel {
    const { device } = this;
    return {
      ...kernel, pipeline, layout,
      bind(resources, label = kernel.name) {
        const slices: Record<string, BufferSlice> = {};
        for (const b of kernel.bindings) {
          const r = resources[b.name] ?? constantBuffer(device, kernel, b.name);
          if (!r) throw new Error(`kernel ${kernel.name} needs a buffer for '${b.name}'`);
          slices[b.name] = 'buffer' in r ? r : { buffer: r };
        }
        const extra = Object.keys(resources).filter((k) => !kernel.bindings.some((b) => b.name === k));
        if (extra.length) throw new Error(`kernel ${kernel.name} has no binding named ${extra.join(', ')}`);
        checkBindingLimits(kernel, slices, device.limits, label);
        const bindGroup = device.createBindGroup({
          label: ourLabel(`${label}:${kernel.name}`),
          layout,
          entries: kernel.bindings.map((b, i) => {
            const s = slices[b.name];
            return { binding: i, resource: { buffer: s.buffer, offset: s.offset ?? 0, size: s.size } };
          }),
        });
        const record = (pass: GPUComputePassEncoder) => {
          pass.setPipeline(pipeline);
          pass.setBindGroup(0, bindGroup);
          pass.dispatchWorkgroups(...kernel.workgroups);
        };
        const encode = (encoder: GPUCommandEncoder) => {
          const pass = encoder.beginComputePass({ label: ourLabel(kernel.name) });
          record(pass);
          pass.end();
        };
        return {
          bindGroup, record, encode,
          run() {
            const enc = device.createCommandEncoder({ label: ourLabel(kernel.name) });
            encode(enc);
            device.queue.submit([enc.finish()]);
          },
        };
      },
    };
  }

  private async compile(kernel: Kernel): Promise<{ pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }> {
    const { device } = this;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: ourLabel(kernel.name), code: kernel.code });
    const layout = bindGroupLayoutFor(device, kernel.name, kernel.bindings);
    let pipeline: GPUComputePipeline | undefined;
    let failure: string | undefined;
    try {
      pipeline = await device.createComputePipelineAsync({
        label: ourLabel(kernel.name),
        layout: device.createPipelineLayout({ label: ourLabel(kernel.name), bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
      });
    } catch (e) {
      failure = (e as Error).message;
    }
    const scopeError = await device.popErrorScope();
    if (failure || scopeError || !pipeline) {
      const info = await module.getCompilationInfo();
      const details = formatCompilationMessages(kernel.code, info.messages);
      throw new ShaderCompileError(
        `kernel ${kernel.name} failed to compile: ${failure ?? scopeError?.message ?? 'unknown error'}\n${details}`,
        kernel.name,
      );
    }
    return { pipeline, layout };
  }
}

/** Pipelines are shared by kernels with the same source and binding kinds. */
function pipelineKey(kernel: Kernel): string {
  return kernel.bindings.map((b) => b.kind[0]).join('') + '\n' + kernel.code;
}

/** A uniform buffer holding one of the kernel's constants, for callers that bind the kernel themselves. */
function constantBuffer(device: GPUDevice, kernel: Kernel, name: string): GPUBuffer | undefined {
  const values = kernel.constants?.[name];
  if (!values) return undefined;
  const buffer = device.createBuffer({ label: ourLabel(`${kernel.name}:${name}`), size: Math.max(16, values.byteLength), usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
  device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
  return buffer;
}

const caches = new WeakMap<GPUDevice, PipelineCache>();

/** The pipeline cache this library keeps for a device, shared by every model and kernel on it. */
export function pipelineCacheFor(device: GPUDevice): PipelineCache {
  let c = caches.get(device);
  if (!c) caches.set(device, (c = new PipelineCache(device)));
  return c;
}
