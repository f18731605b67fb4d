// The scheduler: a static list of kernel dispatches with their buffers, built once. `build()`
// compiles every pipeline (through the shared cache) and creates every bind group; `encode()` then
// records all dispatches into one compute pass, so a training step is one encoder and one submit
// with nothing created per step. WebGPU orders dispatches within a pass and makes each one's
// storage writes visible to the next, so the list order is the execution order.
import type { BoundKernel } from '../shaders/common';
import type { BufferSlice } from './gpu/buffers';
import type { PipelineCache } from './gpu/pipelines';
import { DeviceLimitError } from './errors';

export interface GraphNode {
  kernel: BoundKernel;
  resources: Record<string, BufferSlice>;
}

interface BuiltNode {
  name: string;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  workgroups: [number, number, number];
}

export class KernelGraph {
  readonly nodes: GraphNode[] = [];
  private built: BuiltNode[] | null = null;

  constructor(readonly label: string) {}

  /** Appends a dispatch; every binding the kernel declares must be given a buffer. */
  add(kernel: BoundKernel, resources: Record<string, BufferSlice | GPUBuffer>): this {
    if (this.built) throw new Error(`graph ${this.label}: cannot add ${kernel.name} after build()`);
    const slices: Record<string, BufferSlice> = {};
    for (const b of kernel.bindings) {
      const r = resources[b.name];
      if (!r) throw new Error(`graph ${this.label}: kernel ${kernel.name} needs a buffer for '${b.name}'`);
      slices[b.name] = 'buffer' in r ? r : { buffer: r };
    }
    const extra = Object.keys(resources).filter((k) => !kernel.bindings.some((b) => b.name === k));
    if (extra.length) throw new Error(`graph ${this.label}: kernel ${kernel.name} has no binding named ${extra.join(', ')}`);
    this.nodes.push({ kernel, resources: slices });
    return this;
  }

  get dispatchCount(): number {
    return this.nodes.length;
  }

  /** Checks every dispatch and binding against the device's limits, naming what to change. */
  checkLimits(limits: GPUSupportedLimits): void {
    for (const n of this.nodes) {
      const most = Math.max(...n.kernel.workgroups);
      if (most > limits.maxComputeWorkgroupsPerDimension) {
        throw new DeviceLimitError(`kernel ${n.kernel.name} in ${this.label} needs ${most} workgroups in one dimension but this device's maxComputeWorkgroupsPerDimension is ${limits.maxComputeWorkgroupsPerDimension}; use a smaller batch`);
      }
      for (const b of n.kernel.bindings) {
        const s = n.resources[b.name];
        const bytes = s.size ?? s.buffer.size - (s.offset ?? 0);
        const max = b.kind === 'uniform' ? limits.maxUniformBufferBindingSize : limits.maxStorageBufferBindingSize;
        if (bytes > max) {
          throw new DeviceLimitError(`kernel ${n.kernel.name} in ${this.label} binds ${b.name} of ${bytes} bytes but this device allows ${max} per binding (${b.kind === 'uniform' ? 'maxUniformBufferBindingSize' : 'maxStorageBufferBindingSize'}); use a smaller batch or model`);
        }
      }
    }
  }

  /** Checks limits, compiles all pipelines concurrently and creates the bind groups, once. */
  async build(cache: PipelineCache): Promise<this> {
    this.checkLimits(cache.device.limits);
    const compiled = await Promise.all(this.nodes.map((n) => cache.get(n.kernel)));
    this.built = this.nodes.map((n, i) => ({
      name: n.kernel.name,
      pipeline: compiled[i].pipeline,
      workgroups: n.kernel.workgroups,
      bindGroup: cache.device.createBindGroup({
        label: `${this.label}:${n.kernel.name}`,
        layout: compiled[i].layout,
        entries: n.kernel.bindings.map((b, j) => {
          const s = n.resources[b.name];
          return { binding: j, resource: { buffer: s.buffer, offset: s.offset ?? 0, size: s.size } };
        }),
      }),
    }));
    return this;
  }

  /** Records every dispatch into one compute pass of `encoder`. */
  encode(encoder: GPUCommandEncoder, timestampWrites?: GPUComputePassTimestampWrites): void {
    if (!this.built) throw new Error(`graph ${this.label}: call build() before encode()`);
    const pass = encoder.beginComputePass({ label: this.label, timestampWrites });
    for (const n of this.built) {
      pass.setPipeline(n.pipeline);
      pass.setBindGroup(0, n.bindGroup);
      pass.dispatchWorkgroups(...n.workgroups);
    }
    pass.end();
  }

  /** Records each dispatch in its own pass, for per-kernel timestamp profiling. */
  encodeProfiled(encoder: GPUCommandEncoder, querySet: GPUQuerySet, firstQuery: number): string[] {
    if (!this.built) throw new Error(`graph ${this.label}: call build() before encode()`);
    this.built.forEach((n, i) => {
      const pass = encoder.beginComputePass({
        timestampWrites: { querySet, beginningOfPassWriteIndex: firstQuery + 2 * i, endOfPassWriteIndex: firstQuery + 2 * i + 1 },
      });
      pass.setPipeline(n.pipeline);
      pass.setBindGroup(0, n.bindGroup);
      pass.dispatchWorkgroups(...n.workgroups);
      pass.end();
    });
    return this.built.map((n) => n.name);
  }
}
