// Tensors are handles: a name, a shape and, once a graph is built, a slice of GPU memory. Graph
// code hands them around and binds them to kernels without knowing where they live; the planner
// below decides that once per graph, from when each tensor is first written and last read.
//
// Planning: a tensor's lifetime is the span of dispatch indices from its first to its last use.
// Pinned tensors (a graph's inputs and outputs, state kept across submits, anything read after
// the graph ran) live for the whole graph and get a buffer of their own, so callers can bind and
// read them directly. The rest share pooled buffers: largest first, each goes to the lowest
// offset where it overlaps no placed tensor whose lifetime overlaps its own (the classic greedy
// placement for activation memory). A dispatch's inputs and outputs are live at the same index,
// so they never alias. WebGPU also forbids one buffer from being bound read-only and writable
// in the same dispatch, whatever the ranges, so a tensor never shares a pool with a tensor that
// a dispatch reads while writing it (or writes while reading it): such pairs are `conflicts`,
// and a tensor goes to the first pool free of them (two pools suffice for a chain of layers).
import { bufferSize, type BufferArena, type BufferSlice } from './gpu/buffers';

/** Offsets in pooled memory: WebGPU's default minStorageBufferOffsetAlignment. */
const ALIGN_BYTES = 256;

export class Tensor {
  /** Where the planner put it (set by `planTensors`). */
  slice: BufferSlice | null = null;
  /**
   * The activation that produced these values ('none' for most tensors). A backward pass that
   * ends in a matmul can then fold act'(this) into its epilogue and hand back a gradient that is
   * already with respect to the pre-activation.
   */
  activation = 'none';
  /**
   * Where `activation`'s derivative is no function of these values (GRAD_FROM_INPUT in
   * shaders/activation.ts: gelu), the pre-activation the producer kept; the backward kernels bind
   * it in place of this tensor (actGradInput, src/model/module.ts). Null otherwise.
   */
  gradSource: Tensor | null = null;
  /**
   * How the elements are stored: 'f32', or 'f16' (half the bytes) for the activations a model
   * with precision 'f16' keeps; the kernels that bind the tensor read and write that type.
   */
  dtype: 'f32' | 'f16' = 'f32';
  /**
   * Expected to hold mostly exact zeros (the data: a picture's background). The products of a
   * dense layer that read it may walk only the k at which their block of it has a non-zero
   * (matmul `skipZeros`, on software adapters: KernelChoice.skipInputZeros).
   */
  zerosLikely = false;

  constructor(
    readonly name: string,
    readonly shape: readonly number[],
    /** Lives for the whole graph in a buffer of its own (inputs, outputs, persistent state). */
    public pinned = false,
  ) {
    if (!shape.every((d) => Number.isInteger(d) && d > 0)) throw new Error(`tensor ${name}: shape [${shape}] must be positive integers`);
  }

  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  /** Bytes of storage; an f16 tensor rounds up to whole 4-byte words, as bindings need. */
  get bytes(): number {
    return this.dtype === 'f16' ? Math.ceil(this.size / 2) * 4 : this.size * 4;
  }

  /** The same memory seen with another shape of the same size (no copy). */
  view(shape: readonly number[], name = this.name): Tensor {
    const v = new Tensor(name, shape, this.pinned);
    if (v.size !== this.size) throw new Error(`tensor ${this.name}: cannot view [${this.shape}] as [${shape}]`);
    return Object.assign(v, { root: this.root, activation: this.activation, gradSource: this.gradSource?.view(shape, `${name}.pre`) ?? null, dtype: this.dtype, zerosLikely: this.zerosLikely });
  }

  /** The tensor that owns the memory (views share their root's). */
  root: Tensor = this;

  get buffer(): GPUBuffer {
    const s = this.root.slice;
    if (!s) throw new Error(`tensor ${this.name} has no memory yet: build its graph first`);
    return s.buffer;
  }

  resolve(): BufferSlice {
    const s = this.root.slice;
    if (!s) throw new Error(`tensor ${this.name} has no memory yet: build its graph first`);
    return { buffer: s.buffer, offset: s.offset ?? 0, size: this.bytes };
  }
}

export interface MemoryPlan {
  /** The buffers created for this graph (freed with it). */
  buffers: GPUBuffer[];
  /** Bytes allocated for this graph's tensors (pinned buffers and pools). */
  plannedBytes: number;
  /** Bytes a buffer per tensor would have taken beyond that. */
  savedBytes: number;
  tensors: number;
}

/**
 * Assigns memory to every tensor in `uses` (tensor -> dispatch indices that bind it). `poolLimit`
 * caps one pool buffer (the device's maxStorageBufferBindingSize); a tensor above it is refused
 * by the arena with the device-limit error.
 */
export function planTensors(uses: Map<Tensor, number[]>, conflicts: Map<Tensor, Set<Tensor>>, arena: BufferArena, label: string, poolLimit: number): MemoryPlan {
  const pooled: { t: Tensor; first: number; last: number; bytes: number; pool: number; offset: number }[] = [];
  let plannedBytes = 0, naiveBytes = 0;
  const buffers: GPUBuffer[] = [];
  const pinned: Tensor[] = [];
  for (const [t, at] of uses) {
    if (t.slice) continue; // already placed by an earlier graph (shared inputs)
    const bytes = Math.ceil(t.bytes / ALIGN_BYTES) * ALIGN_BYTES;
    naiveBytes += t.bytes;
    if (t.pinned) pinned.push(t);
    else pooled.push({ t, first: Math.min(...at), last: Math.max(...at), bytes, pool: -1, offset: 0 });
  }
  pooled.sort((a, b) => b.bytes - a.bytes || a.first - b.first);
  const poolEnds: number[] = [];
  const placed: typeof pooled = [];
  for (const item of pooled) {
    const limit = Math.max(poolLimit, item.bytes);
    const avoid = conflicts.get(item.t);
    for (let pool = 0; item.pool < 0; pool++) {
      if (avoid && placed.some((o) => o.pool === pool && avoid.has(o.t))) continue;
      // Candidate offsets: 0 and the end of every placed, live-overlapping tensor in this pool.
      const clashes = placed.filter((o) => o.pool === pool && o.first <= item.last && item.first <= o.last);
      const starts = [0, ...clashes.map((o) => o.offset + o.bytes)].sort((a, b) => a - b);
      const fit = starts.find((s) => s + item.bytes <= limit && clashes.every((o) => s + item.bytes <= o.offset || o.offset + o.bytes <= s));
      if (fit === undefined) continue;
      item.pool = pool;
      item.offset = fit;
      poolEnds[pool] = Math.max(poolEnds[pool] ?? 0, fit + item.bytes);
    }
    placed.push(item);
  }
  // The whole plan is checked against the arena's budget before any of it is allocated.
  for (const t of pinned) arena.checkLimit(`${label}.${t.name}`, bufferSize(t.bytes));
  poolEnds.forEach((end, i) => arena.checkLimit(`${label}.pool${i}`, bufferSize(end)));
  arena.reserve(`graph ${label}`, pinned.reduce((s, t) => s + bufferSize(t.bytes), 0) + poolEnds.reduce((s, end) => s + bufferSize(end), 0));
  for (const t of pinned) {
    t.slice = { buffer: arena.create(`${label}.${t.name}`, t.bytes) };
    buffers.push(t.slice.buffer);
    plannedBytes += t.slice.buffer.size;
  }
  const pools = poolEnds.map((end, i) => arena.create(`${label}.pool${i}`, end));
  for (const item of placed) item.t.slice = { buffer: pools[item.pool], offset: item.offset, size: item.t.bytes };
  plannedBytes += pools.reduce((s, b) => s + b.size, 0);
  buffers.push(...pools);
  return { buffers, plannedBytes, savedBytes: Math.max(0, naiveBytes - plannedBytes), tensors: uses.size };
}

/** The names of the entries of `resources` that are tensors stored as f16: a kernel factory's `f16` list. */
export function halfNames(resources: Record<string, unknown>): string[] {
  return Object.entries(resources).filter(([, r]) => r instanceof Tensor && r.dtype === 'f16').map(([name]) => name);
}

/**
 * Whether a kernel writing `out` for `examples` examples may read its batch from that binding
 * (`sizedByBinding`): not where `out` is f16 with one value per example, whose binding (rounded
 * up to whole 4-byte words) cannot count them. Such a kernel keeps its batch in its source, and a
 * forward plan of fewer rows then runs padded in the batch's plan.
 */
export function countsByBinding(out: Tensor, examples: number): boolean {
  return !(out.dtype === 'f16' && out.size === examples);
}
