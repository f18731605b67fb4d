// Compute pipelines cached by their WGSL source: the same kernel text compiles once per device,
// however many graphs use it. Compilation is async and inside an error scope; a failure throws a
// ShaderCompileError quoting the compiler's messages beside the offending source lines.
import type { BindingKind, BoundKernel, KernelBinding } from '../../shaders/common';
import { ShaderCompileError } from '../errors';

export interface CompiledKernel {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
}

const BUFFER_TYPE: Record<BindingKind, GPUBufferBindingType> = {
  read: 'read-only-storage',
  write: 'storage',
  uniform: 'uniform',
};

export function bindGroupLayoutFor(device: GPUDevice, name: string, bindings: KernelBinding[]): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    label: name,
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

export class PipelineCache {
  private readonly cache = new Map<string, Promise<CompiledKernel>>();

  constructor(readonly device: GPUDevice) {}

  get size(): number {
    return this.cache.size;
  }

  /** The compiled pipeline for a kernel; concurrent requests for the same source share one compile. */
  get(kernel: Pick<BoundKernel, 'name' | 'code' | 'bindings'>): Promise<CompiledKernel> {
    const key = kernel.bindings.map((b) => b.kind[0]).join('') + '\n' + kernel.code;
    let entry = this.cache.get(key);
    if (!entry) {
      entry = this.compile(kernel);
      this.cache.set(key, entry);
      entry.catch(() => this.cache.delete(key)); // a failed compile may be retried after a fix
    }
    return entry;
  }

  private async compile(kernel: Pick<BoundKernel, 'name' | 'code' | 'bindings'>): Promise<CompiledKernel> {
    const { device } = this;
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label: kernel.name, code: kernel.code });
    const layout = bindGroupLayoutFor(device, kernel.name, kernel.bindings);
    let pipeline: GPUComputePipeline | undefined;
    let failure: string | undefined;
    try {
      pipeline = await device.createComputePipelineAsync({
        label: kernel.name,
        layout: device.createPipelineLayout({ label: kernel.name, bindGroupLayouts: [layout] }),
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

const caches = new WeakMap<GPUDevice, PipelineCache>();

/** The pipeline cache this library keeps for a device, shared by every model and kernel on it. */
export function pipelineCacheFor(device: GPUDevice): PipelineCache {
  let c = caches.get(device);
  if (!c) caches.set(device, (c = new PipelineCache(device)));
  return c;
}
