// A dataset kept on the GPU for training and evaluation: pixels packed 4 per u32 and a
// permutation buffer, written once per epoch. Batches are gathered on the GPU (shaders/batch.ts),
// so a training step uploads nothing but the 64-byte StepParams block.
import { bindKernel } from '../../shaders/common';
import { gatherBatch } from '../../shaders/batch';
import { type BufferArena, writeData } from '../gpu/buffers';
import { ConfigError, DeviceLimitError } from '../errors';
import { KernelGraph } from '../graph';
import type { Plan, ModelBuffers } from './plan';
import type { PipelineCache } from '../gpu/pipelines';

/** Just what training needs of a dataset: u8 pixels, row-major, `dim` per example. */
export interface PixelData {
  images: Uint8Array;
  count: number;
  name?: string;
}

export class ResidentData {
  readonly pixels: GPUBuffer;
  readonly perm: GPUBuffer;
  private readonly gathers = new Map<Plan, KernelGraph>();

  constructor(private readonly arena: BufferArena, readonly count: number, readonly dim: number, images: Uint8Array, label: string) {
    if (images.length !== count * dim) {
      throw new ConfigError(`dataset ${label} has ${images.length} pixels, expected ${count} examples x ${dim} values; the model's inputDim must match the data`);
    }
    const limit = arena.device.limits.maxStorageBufferBindingSize;
    if (images.length > limit) {
      throw new DeviceLimitError(`dataset ${label} needs ${images.length} bytes on the GPU but maxStorageBufferBindingSize is ${limit}; train on fewer examples (--limit)`);
    }
    this.pixels = arena.upload(`${label}.pixels`, images);
    const identity = new Uint32Array(count);
    for (let i = 0; i < count; i++) identity[i] = i;
    this.perm = arena.upload(`${label}.perm`, identity);
  }

  /** Uploads a new order (e.g. a shuffle for this epoch). */
  setOrder(order: Uint32Array): void {
    if (order.length !== this.count) throw new Error(`order has ${order.length} entries, dataset has ${this.count}`);
    writeData(this.arena.device, this.perm, 0, order);
  }

  /** The gather dispatch filling `plan.input`, built once per plan. */
  async gatherFor(plan: Plan, buffers: ModelBuffers, cache: PipelineCache): Promise<KernelGraph> {
    let g = this.gathers.get(plan);
    if (!g) {
      g = new KernelGraph(`gather[${plan.rows}]`);
      g.add(bindKernel(gatherBatch({ rows: plan.rows, dim: this.dim }), undefined), {
        params: buffers.stepParams, pixels: this.pixels, perm: this.perm, x: plan.input!,
      });
      await g.build(cache);
      this.gathers.set(plan, g);
    }
    return g;
  }

  destroy(): void {
    this.arena.release(this.pixels);
    this.arena.release(this.perm);
    this.gathers.clear();
  }
}
