// The scheduler: a static list of kernel dispatches with their buffers, built once. `build()`
// plans the memory of the graph's tensors (src/tensor.ts), compiles every pipeline (through the
// shared cache, all at once) and creates every bind group; `encode()` then records all dispatches
// into one compute pass, so a training step is one encoder and one submit with nothing created
// per step. WebGPU orders dispatches within a pass and makes each one's storage writes visible to
// the next, so the list order is the execution order.
//
// A graph has an owner (pipelines.ts): the model's graphs are the library's, and a graph an app
// makes through `webgpu-vae/kernels` is the app's. An app's graph is compiled, bound and labelled
// as `compile().bind()` is for an app (`webgpu-vae-kernels:` labels, its buffers checked before
// WebGPU sees them, misuse a ConfigError), so its mistakes never fail a model sharing the device.
import { unsizedArray, type Kernel } from '../shaders/common';
import { nearestName } from './edit-distance';
import { ConfigError } from './errors';
import type { BufferArena, BufferSlice } from './gpu/buffers';
import { checkBindingSizes, checkKernelLimits, notAKernel } from './gpu/kernel-checks';
import { type BoundDispatch, type CompileProgress, type KernelOwner, labelFor, type PipelineCache } from './gpu/pipelines';
import { planTensors, Tensor, type MemoryPlan } from './tensor';
import { BufferUsage } from './gpu/webgpu-flags';

/** What a binding can be given: a whole buffer, a slice, or a tensor the graph places. */
export type Resource = GPUBuffer | BufferSlice | Tensor;

export interface GraphNode {
  kernel: Kernel;
  resources: Record<string, Resource>;
}

export function resolveResource(r: Resource): BufferSlice {
  if (r instanceof Tensor) return r.resolve();
  return 'buffer' in r ? r : { buffer: r };
}

export class KernelGraph {
  readonly nodes: GraphNode[] = [];
  private built: BoundDispatch[] | null = null;
  /** Each dispatch's buffers as build() bound them, kept for swapKernels(). */
  private resolved: Record<string, BufferSlice>[] = [];
  memory: MemoryPlan = { buffers: [], plannedBytes: 0, savedBytes: 0, tensors: 0 };
  private readonly constants = new Map<string, GPUBuffer>();

  /** `owner` is 'library' for the model's graphs; `webgpu-vae/kernels` exports a graph that is always the app's. */
  constructor(readonly label: string, readonly owner: KernelOwner = 'library') {}

  /** A misuse of the graph: the app's ConfigError, or a bug in the library's own recording. */
  private misuse(message: string): Error {
    return this.owner === 'app' ? new ConfigError(message) : new Error(message);
  }

  /** Appends a dispatch; every binding the kernel declares must be given, and nothing else. */
  add(kernel: Kernel, resources: Record<string, Resource>): this {
    const notKernel = notAKernel(kernel, `graph ${this.label}: add()'s kernel`);
    if (notKernel) throw this.misuse(notKernel);
    if (this.built) throw this.misuse(`graph ${this.label}: cannot add ${kernel.name} after build(); make a new graph`);
    const names = kernel.bindings.map((b) => b.name);
    const listed = `kernel ${kernel.name} binds ${names.map((n) => `'${n}'`).join(', ')}`;
    if (typeof resources !== 'object' || resources === null) throw this.misuse(`graph ${this.label}: add() takes an object of buffers by binding name; ${listed}`);
    const missing = kernel.bindings.filter((b) => !resources[b.name] && !kernel.constants?.[b.name]).map((b) => b.name);
    // A misspelt name is both: an unknown one, named first with the nearest it may mean, and a missing one.
    const extra = Object.keys(resources).filter((k) => !names.includes(k));
    if (extra.length) {
      const near = nearestName(extra[0], names);
      const lacking = missing.length ? `, and no buffer for ${missing.map((m) => `'${m}'`).join(', ')}` : '';
      throw this.misuse(`graph ${this.label}: kernel ${kernel.name} has no binding named ${extra.map((e) => `'${e}'`).join(', ')}${near ? ` (did you mean '${near}'?)` : ''}${lacking}; ${listed}`);
    }
    if (missing.length) throw this.misuse(`graph ${this.label}: kernel ${kernel.name} needs a buffer for ${missing.map((m) => `'${m}'`).join(', ')}; ${listed}`);
    for (const [name, r] of Object.entries(resources)) {
      if (r instanceof Tensor || (typeof r === 'object' && r !== null && !ArrayBuffer.isView(r) && !(r instanceof ArrayBuffer))) continue;
      if (r === undefined || r === null) continue; // a constant's binding, left to the runtime
      throw this.misuse(`graph ${this.label}: kernel ${kernel.name}: binding '${name}' must be a GPUBuffer, { buffer: GPUBuffer, offset?, size? } or a Tensor; create a GPUBuffer and fill it with device.queue.writeBuffer`);
    }
    // A half-precision tensor bound where the kernel reads f32 (or the reverse) would be read as
    // garbage, silently: refuse it here, where the layer that recorded it is on the stack.
    for (const b of kernel.bindings) {
      const r = resources[b.name];
      if (!(r instanceof Tensor) || b.kind === 'uniform') continue;
      const type = unsizedArray(b.type ?? 'array<f32>');
      // Scalars or vectors of them: array<f32>, array<vec4<f32>>, array<f16>, ...
      const wants = /^array<(vec[234]<)?f16>?>$/.test(type) ? 'f16' : /^array<(vec[234]<)?f32>?>$/.test(type) ? 'f32' : null;
      if (wants && wants !== r.dtype) {
        throw this.misuse(`graph ${this.label}: kernel ${kernel.name} reads '${b.name}' as ${wants}, but tensor ${r.name} is stored as ${r.dtype}; the kernel needs an f16 variant for it (its factory's f16 list)`);
      }
    }
    const given = Object.fromEntries(Object.entries(resources).filter(([k, r]) => r && !kernel.constants?.[k]));
    this.nodes.push({ kernel, resources: given });
    return this;
  }

  get dispatchCount(): number {
    return this.nodes.length;
  }

  /** Every kernel of the graph, for compiling ahead of time. */
  get kernels(): Kernel[] {
    return this.nodes.map((n) => n.kernel);
  }

  /**
   * Places tensors, checks limits, compiles all pipelines concurrently and creates the bind
   * groups, once. `onProgress(done, total)` follows the compiles: total counts the graph's
   * distinct pipelines, those already compiled included (they count as done at once). What the
   * kernels ask of the device is checked before any memory is placed, and a build that fails
   * after placing frees what it placed: a refused plan leaves nothing in the arena.
   */
  async build(cache: PipelineCache, arena?: BufferArena, onProgress?: CompileProgress): Promise<this> {
    const limits = cache.device.limits;
    for (const n of this.nodes) checkKernelLimits(n.kernel, limits, this.label, this.owner === 'app');
    const uses = new Map<Tensor, number[]>();
    const conflicts = new Map<Tensor, Set<Tensor>>();
    const link = (a: Tensor, b: Tensor) => {
      if (!conflicts.has(a)) conflicts.set(a, new Set());
      conflicts.get(a)!.add(b);
    };
    this.nodes.forEach((n, i) => {
      const reads: Tensor[] = [], writes: Tensor[] = [];
      for (const b of n.kernel.bindings) {
        const r = n.resources[b.name];
        if (!(r instanceof Tensor)) continue;
        const list = uses.get(r.root) ?? [];
        list.push(i);
        uses.set(r.root, list);
        (b.kind === 'write' ? writes : reads).push(r.root);
      }
      for (const w of writes) for (const r of [...reads, ...writes]) if (r !== w) { link(w, r); link(r, w); }
    });
    const toPlace = [...uses.keys()].some((t) => !t.slice);
    if (toPlace && !arena) {
      const unplaced = [...uses.keys()].filter((t) => !t.slice).map((t) => `'${t.name}'`).join(', ');
      // The memory planner's arena is the library's; an app binds memory it made itself.
      throw this.misuse(this.owner === 'app'
        ? `graph ${this.label}: tensor ${unplaced} has no memory: an app's graph binds GPUBuffers or { buffer, offset?, size? } slices; create a GPUBuffer (STORAGE usage) for each and bind it instead`
        : `graph ${this.label}: has tensors to place (${unplaced}); build(cache, arena), or bind buffers or slices`);
    }
    try {
      if (toPlace) this.memory = planTensors(uses, conflicts, arena!, this.label, limits.maxStorageBufferBindingSize);
      const resolved = this.nodes.map((n) => ({
        ...Object.fromEntries(Object.entries(n.resources).map(([k, r]) => [k, resolveResource(r)])),
        ...this.constantBuffers(n.kernel, cache.device, arena),
      }));
      // An app's bindings are checked by bind() below, as compile().bind() checks them (a
      // shape-generic kernel's sizes are the cache's there: constantBuffers makes none for an app).
      if (this.owner === 'library') this.nodes.forEach((n, i) => checkBindingSizes(n.kernel, resolved[i], limits, this.label));
      const compiled = await cache.getAll(this.kernels, onProgress, this.owner);
      this.built = compiled.map((c, i) => c.bind(resolved[i], this.label));
      this.resolved = resolved;
    } catch (e) {
      this.releasePlaced(uses.keys(), arena);
      throw e;
    }
    return this;
  }

  /**
   * Runs `replacement(kernel)` in place of each dispatch's kernel where it gives one that binds
   * the same buffers, less any constant (names, kinds, types and constants: bindsWithin), and fits
   * the device. The replacements compile first, one after another, each only while
   * `stillWanted()` holds (false once the graph's model is destroyed or its device gone: nothing
   * may be made for it then), and steps go on with the kernels they have meanwhile; then all are
   * bound to the buffers build() bound and swapped in together, between two encode() calls. The
   * kernels' results must not depend on which one runs (hotMatmul's blocks give the same bits).
   * The library's own graphs only. Returns the names of the kernels swapped in.
   */
  async swapKernels(cache: PipelineCache, replacement: (kernel: Kernel) => Kernel | null, stillWanted: () => boolean = () => true): Promise<string[]> {
    if (this.owner === 'app') throw this.misuse(`graph ${this.label}: swapKernels() is for the library's own graphs; build a new graph with the kernels you want`);
    if (!this.built) throw this.misuse(`graph ${this.label}: call build() before swapKernels()`);
    const limits = cache.device.limits;
    const swaps: { at: number; kernel: Kernel }[] = [];
    this.nodes.forEach((n, at) => {
      const kernel = replacement(n.kernel);
      if (!kernel || !bindsWithin(n.kernel, kernel)) return;
      try {
        checkKernelLimits(kernel, limits, this.label, false);
        checkBindingSizes(kernel, this.resolved[at], limits, this.label);
      } catch {
        return; // a replacement past the device's limits: the kernel that runs stays
      }
      swaps.push({ at, kernel });
    });
    const compiled = [];
    for (const { kernel } of swaps) {
      if (!stillWanted()) return [];
      compiled.push(await cache.get(kernel, this.owner));
    }
    if (!stillWanted()) return [];
    const bound = compiled.map((c, i) => c.bind(boundBy(swaps[i].kernel, this.resolved[swaps[i].at]), this.label));
    swaps.forEach(({ at, kernel }, i) => {
      this.built![at] = bound[i];
      this.nodes[at] = { ...this.nodes[at], kernel };
    });
    return swaps.map((s) => s.kernel.name);
  }

  /** Frees the memory and constants a failed build made, and unplaces the tensors it placed. */
  private releasePlaced(tensors: Iterable<Tensor>, arena?: BufferArena): void {
    const placed = new Set(this.memory.buffers);
    for (const t of tensors) if (t.slice && placed.has(t.slice.buffer)) t.slice = null;
    this.releaseConstants();
    for (const b of placed) arena?.release(b);
    this.memory = { buffers: [], plannedBytes: 0, savedBytes: 0, tensors: 0 };
  }

  /** Uniform buffers holding a kernel's constants, one per distinct content within the graph. */
  private constantBuffers(kernel: Kernel, device: GPUDevice, arena?: BufferArena): Record<string, BufferSlice> {
    const out: Record<string, BufferSlice> = {};
    // An app's bind() takes them from the pipeline cache, one per shape, dropped by its clear().
    if (this.owner === 'app') return out;
    for (const [name, values] of Object.entries(kernel.constants ?? {})) {
      const key = `${name}:${values.join(',')}`;
      let buffer = this.constants.get(key);
      if (!buffer) {
        const usage = BufferUsage.UNIFORM | BufferUsage.COPY_DST;
        const bytes = Math.max(16, values.byteLength);
        buffer = arena ? arena.create(`${this.label}:${key}`, bytes, usage) : device.createBuffer({ label: labelFor(this.owner, `${this.label}:${key}`), size: bytes, usage });
        device.queue.writeBuffer(buffer, 0, values.buffer, values.byteOffset, values.byteLength);
        this.constants.set(key, buffer);
        if (arena) {
          // Freed and counted with the plan's other buffers.
          this.memory.buffers.push(buffer);
          this.memory.plannedBytes += buffer.size;
        }
      }
      out[name] = { buffer };
    }
    return out;
  }

  /** Destroys the constant buffers made without an arena (a graph's arena frees its own). */
  releaseConstants(): void {
    for (const b of this.constants.values()) if (!this.memory.buffers.includes(b)) b.destroy();
    this.constants.clear();
  }

  /** Records every dispatch into one compute pass of `encoder`. */
  encode(encoder: GPUCommandEncoder, timestampWrites?: GPUComputePassTimestampWrites): void {
    if (!this.built) throw this.misuse(`graph ${this.label}: call build() before encode()`);
    const pass = encoder.beginComputePass({ label: labelFor(this.owner, this.label), timestampWrites });
    for (const d of this.built) d.record(pass);
    pass.end();
  }

  /** Records each dispatch in its own pass, for per-kernel timestamp profiling. */
  encodeProfiled(encoder: GPUCommandEncoder, querySet: GPUQuerySet, firstQuery: number): string[] {
    if (!this.built) throw this.misuse(`graph ${this.label}: call build() before encodeProfiled()`);
    this.built.forEach((d, i) => {
      const pass = encoder.beginComputePass({
        label: labelFor(this.owner, `${this.label}:${i}`),
        timestampWrites: { querySet, beginningOfPassWriteIndex: firstQuery + 2 * i, endOfPassWriteIndex: firstQuery + 2 * i + 1 },
      });
      d.record(pass);
      pass.end();
    });
    return this.nodes.map((n) => n.kernel.name);
  }
}

/**
 * Whether `b` can run in `a`'s place on `a`'s buffers: it binds every buffer `a` was given, each
 * binding one of `a`'s (name, kind and type), and each of its constants is one of `a`'s with the
 * same values. Only a constant may go unbound: a specialized matmul, its sizes in its source,
 * replaces its shape-generic form without the `dims` uniform that form reads them from.
 */
function bindsWithin(a: Kernel, b: Kernel): boolean {
  // An array's length is not its interface: the sizes are checked against the buffers (checkBindingSizes).
  const binding = ({ name, kind, type }: Kernel['bindings'][number]) => JSON.stringify([name, kind, unsizedArray(type ?? 'array<f32>')]);
  const ofA = new Set(a.bindings.map(binding)), ofB = new Set(b.bindings.map(binding));
  const given = a.bindings.filter((x) => !a.constants?.[x.name]);
  const constantsOfA = new Map(Object.entries(a.constants ?? {}).map(([name, v]) => [name, JSON.stringify([...v])]));
  return b.bindings.every((x) => ofA.has(binding(x))) && given.every((x) => ofB.has(binding(x)))
    && Object.entries(b.constants ?? {}).every(([name, v]) => constantsOfA.get(name) === JSON.stringify([...v]));
}

/** The buffers of `resources` that `kernel` binds. */
function boundBy(kernel: Kernel, resources: Record<string, BufferSlice>): Record<string, BufferSlice> {
  return Object.fromEntries(kernel.bindings.filter((b) => resources[b.name]).map((b) => [b.name, resources[b.name]]));
}
