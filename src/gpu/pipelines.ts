// Compute pipelines cached by their WGSL source: the same kernel text compiles once per device,
// however many graphs use it. Compilation is async; a failure throws a ShaderCompileError quoting
// the compiler's messages beside the offending source lines.
// A compiled kernel binds buffers into a dispatch: the one bind/record path that both the model's
// graphs and `webgpu-vae/kernels` use.
//
// Who a kernel is compiled for (its `KernelOwner`) decides two things. Labels: the library's own
// objects are labelled `webgpu-vae:` (labels.ts), and a model's failure watch claims any
// uncaptured error that names one; what `webgpu-vae/kernels` makes for an app (its pipelines,
// bind groups, passes, encoders) is labelled `webgpu-vae-kernels:` instead, so that a mistake in
// the app's dispatches stays the app's and never fails a model sharing the device. The app's
// pipelines are therefore its own, cached beside the library's. Checks: `bind()` for an app
// checks each buffer's usage, offset alignment and size (the factory's `minBytes`) and throws at
// once, where WebGPU would report the first two later, on the device, and the third not at all
// (out-of-range loads read clamped values, stores are dropped). The library's graphs place and
// size their own buffers (tensor.ts): their bind() skips the usage and alignment checks and keeps
// the size check (checkLibraryBindingBytes), which names the graph's tensor.
// The cache's methods take the owner and default to the app, so that an app calling them through
// `webgpu-vae/kernels` gets what compile() gives it; the library's own callers name 'library'.
import { ourLabel } from './labels';
import type { BindingKind, Kernel, KernelBinding } from '../../shaders/common';
import { ShaderCompileError } from '../errors';
import type { BufferSlice } from './buffers';
import { gentleWait } from './gentle-wait';
import { appBindingSlices, checkAppBindings, checkBindingLimits, checkLibraryBindingBytes, refuseGoneDevice } from './kernel-checks';
import { BufferUsage, ShaderStage } from './webgpu-flags';
import { checkDeviceArgument } from './device-argument';


/** Who dispatches a compiled kernel: the library's own graphs, or an app through `webgpu-vae/kernels`. */
export type KernelOwner = 'library' | 'app';

/** Label prefix of what `webgpu-vae/kernels` creates for an app; a model's failure watch does not claim it (labels.ts). */
export const KERNELS_LABEL_PREFIX = 'webgpu-vae-kernels:';

/** The label of an object made for `owner`. */
export function labelFor(owner: KernelOwner, name: string): string {
  if (owner === 'library') return ourLabel(name);
  return name.startsWith(KERNELS_LABEL_PREFIX) ? name : KERNELS_LABEL_PREFIX + name;
}

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

const BUFFER_TYPE: Record<BindingKind, GPUBufferBindingType> = {
  read: 'read-only-storage',
  write: 'storage',
  uniform: 'uniform',
};

export function bindGroupLayoutFor(device: GPUDevice, name: string, bindings: KernelBinding[], owner: KernelOwner = 'library'): GPUBindGroupLayout {
  return device.createBindGroupLayout({
    label: labelFor(owner, name),
    entries: bindings.map((b, i) => ({ binding: i, visibility: ShaderStage.COMPUTE, buffer: { type: BUFFER_TYPE[b.kind] } })),
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
  /** Uniform buffers of kernels' fixed contents (`Kernel.constants`) made by bind(), one per content. */
  private readonly constants = new Map<string, GPUBuffer>();

  /** Pipelines ever added, which clear() does not lower: see `compiles`. */
  private added = 0;

  constructor(readonly device: GPUDevice) {}

  /** The pipelines held (compiled or compiling), every owner's. */
  get size(): number {
    return this.cache.size;
  }

  /** How many compiles were ever started: grows with each new pipeline, so a change says something was compiled since. */
  get compiles(): number {
    return this.added;
  }

  /**
   * Drops what was compiled for apps (owner 'app': compile(), an app's KernelGraph, these methods
   * left to their default): their pipelines and the uniform buffers of their kernels' constants.
   * The library's own, which the models on the device use, stay. Nothing is destroyed: what the app
   * still holds (a compiled kernel, a bound dispatch, a built graph) keeps working, and is freed
   * once the app lets go of it too; a kernel compiled again after clear() is a new compile.
   */
  clear(): void {
    const apps = (key: string) => key.startsWith('app:');
    for (const key of [...this.cache.keys()].filter(apps)) this.cache.delete(key);
    for (const key of [...this.constants.keys()].filter(apps)) this.constants.delete(key);
  }

  /**
   * The compiled kernel; concurrent requests for the same source share one compile. The pipeline
   * is cached by source and owner (an app's pipelines carry its own labels, see the header); the
   * grid comes from `kernel`, so kernels that differ only in their grid share a pipeline.
   */
  async get(kernel: Kernel, owner: KernelOwner = 'app'): Promise<CompiledKernel> {
    const key = pipelineKey(kernel, owner);
    let entry = this.cache.get(key);
    if (!entry) {
      // In Node, dawn.node polls on every turn of the event loop while the compile is pending: a
      // core spent spinning beside Dawn's one compiler thread (see gentle-wait.ts).
      const compiling = gentleWait(() => this.compile(kernel, owner));
      entry = compiling;
      this.cache.set(key, entry);
      this.added++;
      // A failed compile may be retried after a fix; one dropped by clear() meanwhile is not ours to remove.
      entry.catch(() => { if (this.cache.get(key) === compiling) this.cache.delete(key); });
    }
    const { pipeline, layout } = await entry;
    return this.compiled(kernel, pipeline, layout, owner);
  }

  /** Whether `kernel`'s pipeline is compiled or being compiled. */
  has(kernel: Kernel, owner: KernelOwner = 'app'): boolean {
    return this.cache.has(pipelineKey(kernel, owner));
  }

  /**
   * Every kernel compiled, all compiles in flight at once (createComputePipelineAsync, which Dawn
   * and browsers run on worker threads); identical kernels compile once. `onProgress` is called
   * with (0, total) first and after each distinct pipeline is ready (or has failed), those compiled before
   * counting as done at once; not at all when every one was compiled before (a status line would
   * otherwise say "compiling" for a graph that compiles nothing).
   */
  async getAll(kernels: readonly Kernel[], onProgress?: CompileProgress, owner: KernelOwner = 'app'): Promise<CompiledKernel[]> {
    const compilesSome = kernels.some((k) => !this.has(k, owner));
    const pending = kernels.map((k) => this.get(k, owner));
    if (onProgress && compilesSome) {
      const distinct = new Map<string, Promise<CompiledKernel>>();
      kernels.forEach((k, i) => { if (!distinct.has(pipelineKey(k, owner))) distinct.set(pipelineKey(k, owner), pending[i]); });
      let done = 0;
      const total = distinct.size;
      onProgress(0, total);
      // A failed compile counts as done too, so a listener hears the graph end (its error goes to the caller).
      const settled = () => onProgress(++done, total);
      for (const p of distinct.values()) p.then(settled, settled);
    }
    return Promise.all(pending);
  }

  private compiled(kernel: Kernel, pipeline: GPUComputePipeline, layout: GPUBindGroupLayout, owner: KernelOwner): CompiledKernel {
    const { device } = this;
    const app = owner === 'app';
    const constantBuffer = (name: string) => this.constantBuffer(kernel, name, owner);
    return {
      ...kernel, pipeline, layout,
      bind(resources, label = kernel.name) {
        // Dawn for Node crashes or hangs on objects made on a destroyed device (device.ts).
        if (app) refuseGoneDevice(device, `bind ${kernel.name}`);
        const slices = app ? appBindingSlices(kernel, resources, constantBuffer) : libraryBindingSlices(kernel, resources, constantBuffer);
        if (app) checkAppBindings(kernel, slices, device.limits);
        else checkLibraryBindingBytes(kernel, slices, label);
        checkBindingLimits(kernel, slices, device.limits, label, app);
        const bindGroup = device.createBindGroup({
          label: labelFor(owner, `${label}:${kernel.name}`),
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
          const pass = encoder.beginComputePass({ label: labelFor(owner, kernel.name) });
          record(pass);
          pass.end();
        };
        return {
          bindGroup, record, encode,
          run() {
            if (app) refuseGoneDevice(device, `run ${kernel.name}`);
            const enc = device.createCommandEncoder({ label: labelFor(owner, kernel.name) });
            encode(enc);
            device.queue.submit([enc.finish()]);
          },
        };
      },
    };
  }

  /**
   * The uniform buffer holding one of the kernel's constants (e.g. a shape-generic matmul's sizes),
   * for callers that bind the kernel themselves: made once per owner and content and kept for the
   * device's life (an app's until clear()), so binding again allocates nothing. (The library's
   * graphs bring their own.)
   */
  private constantBuffer(kernel: Kernel, name: string, owner: KernelOwner): GPUBuffer | undefined {
    const values = kernel.constants?.[name];
    if (!values) return undefined;
    const type = kernel.bindings.find((b) => b.name === name)?.type ?? '';
    const key = `${owner}:${type}:${name}=${values.join(',')}`;
    let buffer = this.constants.get(key);
    if (!buffer) {
      buffer = this.device.createBuffer({ label: labelFor(owner, `${type || name}=${values.join(',')}`), size: Math.max(16, values.byteLength), usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
      this.device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
      this.constants.set(key, buffer);
    }
    return buffer;
  }

  /**
   * Compiles `kernel`. Failure is told by createComputePipelineAsync's rejection (a
   * GPUPipelineError) and by an error scope pushed and popped around the synchronous creation of
   * the module and the layouts, within one turn: a scope held open across the await would also
   * catch whatever an app sharing the device did meanwhile, and report it as this kernel's compile
   * error. The short scope still catches an invalid module's validation error, which carries the
   * compiler's message and would otherwise reach the device's uncaptured-error listeners, where a
   * model would take it for a failure of its own.
   */
  private async compile(kernel: Kernel, owner: KernelOwner): Promise<{ pipeline: GPUComputePipeline; layout: GPUBindGroupLayout }> {
    const { device } = this;
    const label = labelFor(owner, kernel.name);
    device.pushErrorScope('validation');
    const module = device.createShaderModule({ label, code: kernel.code });
    const layout = bindGroupLayoutFor(device, kernel.name, kernel.bindings, owner);
    const pipelineLayout = device.createPipelineLayout({ label, bindGroupLayouts: [layout] });
    const creation = device.popErrorScope();
    let pipeline: GPUComputePipeline | undefined;
    let failure: string | undefined;
    try {
      pipeline = await device.createComputePipelineAsync({ label, layout: pipelineLayout, compute: { module, entryPoint: 'main' } });
    } catch (e) {
      failure = (e as Error).message;
    }
    const creationError = await creation;
    if (failure !== undefined || creationError || !pipeline) {
      const info = await module.getCompilationInfo();
      const details = formatCompilationMessages(kernel.code, info.messages);
      // The module's own error says what is wrong; the rejection then only says the module is invalid.
      throw new ShaderCompileError(`kernel ${kernel.name} failed to compile: ${creationError?.message ?? failure ?? 'unknown error'}\n${details}`, kernel.name);
    }
    return { pipeline, layout };
  }
}

/** Pipelines are shared by kernels with the same source and binding kinds, compiled for the same owner. */
function pipelineKey(kernel: Kernel, owner: KernelOwner): string {
  return `${owner}:` + kernel.bindings.map((b) => b.kind[0]).join('') + '\n' + kernel.code;
}

const caches = new WeakMap<GPUDevice, PipelineCache>();

/** The pipeline cache this library keeps for a device, shared by every model and kernel on it. */
export function pipelineCacheFor(device: GPUDevice): PipelineCache {
  checkDeviceArgument(device, "pipelineCacheFor's device");
  let c = caches.get(device);
  if (!c) caches.set(device, (c = new PipelineCache(device)));
  return c;
}

/** The library's own graphs name their buffers correctly (graph.ts checks them first); a slip here is a bug. */
function libraryBindingSlices(kernel: Kernel, resources: Record<string, GPUBuffer | BufferSlice>, fallback: (name: string) => GPUBuffer | undefined): Record<string, BufferSlice> {
  const slices: Record<string, BufferSlice> = {};
  for (const b of kernel.bindings) {
    const r = resources[b.name] ?? fallback(b.name);
    if (!r) throw new Error(`kernel ${kernel.name} needs a buffer for '${b.name}'`);
    slices[b.name] = 'buffer' in r ? r : { buffer: r };
  }
  const extra = Object.keys(resources).filter((k) => !kernel.bindings.some((b) => b.name === k));
  if (extra.length) throw new Error(`kernel ${kernel.name} has no binding named ${extra.join(', ')}`);
  return slices;
}
