// A dataset kept on the GPU for training and evaluation: pixels packed 4 per u32, labels (for
// conditional models) and a permutation buffer, written once per epoch. Batches are gathered on
// the GPU (shaders/batch.ts), binarized there when the model asks for it, so a training step
// uploads nothing but the StepParams block.
import { gatherBatch, gatherLabels } from '../../shaders/batch';
import { type BufferArena, writeData } from '../gpu/buffers';
import { ConfigError, DeviceLimitError } from '../errors';
import { KernelGraph } from '../graph';
import type { VaeConfig } from './config';
import type { ModelBuffers, Plan } from './graphs';
import type { PipelineCache } from '../gpu/pipelines';

/** Just what training needs of a dataset: u8 pixels, row-major, `dim` per example, and labels for conditional models. */
export interface PixelData {
  images: Uint8Array;
  count: number;
  labels?: Uint8Array;
  name?: string;
}

/**
 * Where a model's batches come from on the GPU: stored pictures (ResidentData) or pictures drawn
 * at each step (GeneratedSprites). Training, evaluation and the IWAE estimate take either.
 */
export interface BatchSource {
  /** Examples in the set. */
  readonly count: number;
  /** Values per example (the model's inputDim). */
  readonly dim: number;
  /** Uploads the order examples are visited in (e.g. an epoch's shuffle): a permutation of 0..count-1. */
  setOrder(order: Uint32Array): void;
  /** The dispatches filling a plan's input (and condition) with rows perm[batch_start + r], built once per plan. */
  gatherFor(plan: Plan, buffers: ModelBuffers, cache: PipelineCache): Promise<KernelGraph>;
  destroy(): void;
}

export class ResidentData implements BatchSource {
  readonly pixels: GPUBuffer;
  readonly perm: GPUBuffer;
  readonly labels: GPUBuffer | null;
  readonly count: number;
  readonly dim: number;
  private readonly gathers = new Map<Plan, KernelGraph>();
  private readonly config: VaeConfig;

  constructor(private readonly arena: BufferArena, data: PixelData, config: VaeConfig, label: string) {
    const { count, images } = data;
    this.count = count;
    this.dim = config.inputDim;
    this.config = config;
    if (images.length !== count * this.dim) {
      throw new ConfigError(`dataset ${label} has ${images.length} pixels, expected ${count} examples x ${this.dim} values; the model's inputDim must match the data`);
    }
    const limit = arena.device.limits.maxStorageBufferBindingSize;
    if (images.length > limit) {
      throw new DeviceLimitError(`dataset ${label} needs ${images.length} bytes on the GPU but maxStorageBufferBindingSize is ${limit}; train on fewer examples (--limit)`);
    }
    if (config.classes > 0) {
      if (!data.labels || data.labels.length !== count) throw new ConfigError(`dataset ${label} has no labels for its ${count} examples, but the model is conditional on ${config.classes} classes`);
      const top = data.labels.reduce((a, b) => Math.max(a, b), 0);
      if (top >= config.classes) throw new ConfigError(`dataset ${label} has label ${top}, but the model knows classes 0..${config.classes - 1}; set classes to at least ${top + 1}`);
    }
    const labelBytes = config.classes > 0 ? count * 4 : 0;
    arena.reserve(`dataset ${label} (${count} examples)`, images.length + count * 4 + labelBytes + 12, 'use fewer examples (--limit, --test-limit)');
    this.pixels = arena.upload(`${label}.pixels`, images);
    const identity = new Uint32Array(count);
    for (let i = 0; i < count; i++) identity[i] = i;
    this.perm = arena.upload(`${label}.perm`, identity);
    this.labels = config.classes > 0 ? arena.upload(`${label}.labels`, Uint32Array.from(data.labels!)) : null;
  }

  /** Uploads a new order (e.g. a shuffle for this epoch). */
  setOrder(order: Uint32Array): void {
    if (order.length !== this.count) throw new Error(`order has ${order.length} entries, dataset has ${this.count}`);
    writeData(this.arena.device, this.perm, 0, order);
  }

  /** The gather dispatches filling `plan.input` (and its condition), built once per plan. */
  async gatherFor(plan: Plan, buffers: ModelBuffers, cache: PipelineCache): Promise<KernelGraph> {
    let g = this.gathers.get(plan);
    if (!g) {
      g = new KernelGraph(`gather[${plan.rows}]`);
      g.add(gatherBatch({ rows: plan.rows, dim: this.dim, binarize: this.config.binarize, dequantize: this.config.dequantize }), {
        params: buffers.stepParams, pixels: this.pixels, perm: this.perm, x: plan.input!,
      });
      if (plan.condition) {
        g.add(gatherLabels({ rows: plan.rows, classes: this.config.classes }), { params: buffers.stepParams, labels: this.labels!, perm: this.perm, condition: plan.condition });
      }
      await g.build(cache);
      this.gathers.set(plan, g);
    }
    return g;
  }

  destroy(): void {
    this.arena.release(this.pixels);
    this.arena.release(this.perm);
    if (this.labels) this.arena.release(this.labels);
    this.gathers.clear();
  }
}
