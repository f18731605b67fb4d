// A dataset kept on the GPU for training and evaluation: pixels packed 4 per u32, labels (for
// conditional models) and a permutation buffer, written once per epoch. Batches are gathered on
// the GPU (shaders/batch.ts), binarized there when the model asks for it, so a training step
// uploads nothing but the StepParams block.
import { gatherBatch } from '../../shaders/batch';
import { MORE_LIMITS_ADVICE, type BufferArena } from '../gpu/buffers';
import { ConfigError, DeviceLimitError, kindOfValue, shown } from '../errors';
import type { KernelGraph } from '../graph';
import { GpuExamples } from './batch-source';
import type { VaeConfig } from './config';
import type { ModelBuffers, Plan } from './graphs';

export type { BatchSource } from './batch-source';

/** Just what training needs of a dataset: u8 pixels, row-major, `dim` per example, and labels for conditional models. */
export interface PixelData {
  images: Uint8Array;
  count: number;
  labels?: Uint8Array;
  name?: string;
}

export class ResidentData extends GpuExamples {
  readonly pixels: GPUBuffer;
  readonly binaryPixels: boolean;

  constructor(arena: BufferArena, data: PixelData, config: VaeConfig, label: string) {
    if (!data || typeof data !== 'object') throw new ConfigError(`upload takes { images: Uint8Array, count, labels? }, got ${String(data)}`);
    const { count, images } = data;
    const dim = config.inputDim;
    if (!(images instanceof Uint8Array)) {
      // Other typed arrays would be read byte by byte as levels: wrong pictures, and no error.
      throw new ConfigError(`dataset ${label}: images must be a Uint8Array of 0-255 levels, got ${kindOfValue(images)}; ` +
        'scale float pixels in [0, 1] by 255 and round (Uint8Array.from(x, (v) => Math.round(v * 255))), or pass Float32Array rows to trainStep');
    }
    if (!Number.isInteger(count) || count < 1) throw new ConfigError(`dataset ${label}: count must be a positive integer, got ${shown(count)}`);
    if (images.length !== count * dim) {
      // Either count is wrong (the length is a whole number of the model's examples) or the pictures
      // are of another size (a whole number of values each, e.g. MNIST's 784 for an 8x8 model).
      const perExample = images.length / count, ofModel = images.length / dim;
      const otherSize = `${count} examples of ${perExample} values each, while the model takes ${dim} (inputDim): build the model for ${perExample}-value pictures, or resize the pictures`;
      const wrongCount = `${ofModel} examples of ${dim} values: give count: ${ofModel}`;
      const fix = Number.isInteger(perExample) && Number.isInteger(ofModel) ? `the images hold either ${wrongCount}, or ${otherSize}`
        : Number.isInteger(perExample) ? `the images hold ${otherSize}`
        : Number.isInteger(ofModel) ? `count and the images' length disagree: the images hold ${wrongCount}`
        : `the model's inputDim (${dim}) must match the data's values per example`;
      throw new ConfigError(`dataset ${label} has ${images.length} pixels, expected ${count} examples x ${dim} values; ${fix}`);
    }
    // Binary data written as 0 and 1 (yes/no columns, bits) would be read as the levels 0 and 1/255,
    // and a model trained on it would learn nearly all-zero rows without any error. Real pictures
    // have a level above 1 within their first pixels, so `some` stops at once for them.
    if (!images.some((v) => v > 1) && images.includes(1)) {
      throw new ConfigError(`dataset ${label}: every value is 0 or 1, but images are 8-bit levels (0-255) that the model reads as level / 255, so a 1 would be 1/255; ` +
        'write binary data as 0 and 255 (Uint8Array.from(bits, (b) => b * 255)), or pass Float32Array rows of 0 and 1 to trainStep');
    }
    const limit = arena.device.limits.maxStorageBufferBindingSize;
    if (images.length > limit) {
      throw new DeviceLimitError(`dataset ${label} needs ${images.length} bytes on the GPU but maxStorageBufferBindingSize is ${limit}; train on fewer examples (fewer rows; --limit in the CLI)${MORE_LIMITS_ADVICE}`);
    }
    if (config.classes > 0) {
      if (!data.labels || data.labels.length !== count) throw new ConfigError(`dataset ${label} has ${data.labels ? `${data.labels.length} labels` : 'no labels'} for its ${count} examples, but the model is conditional on ${config.classes} classes: pass one label per example (labels: integers, e.g. a Uint8Array, or a Uint16Array past 256 classes), or create the model without classes`);
      // Stored as u32: a negative or fractional label would wrap or round into some other class.
      const odd = Array.prototype.findIndex.call(data.labels, (l: number) => !(Number.isInteger(l) && l >= 0));
      if (odd >= 0) throw new ConfigError(`dataset ${label}: label ${shown(data.labels[odd])} of example ${odd} is not a class number; labels are integers 0..${config.classes - 1}`);
      const top = data.labels.reduce((a, b) => Math.max(a, b), 0);
      if (top >= config.classes) throw new ConfigError(`dataset ${label} has label ${top}, but the model knows classes 0..${config.classes - 1}; set classes to at least ${top + 1}`);
    }
    const labelBytes = config.classes > 0 ? count * 4 : 0;
    arena.reserve(`dataset ${label} (${count} examples)`, images.length + count * 4 + labelBytes + 12, 'use fewer examples (fewer rows; --limit, --test-limit in the CLI)');
    super(arena, count, dim, config, label, config.classes > 0 ? Uint32Array.from(data.labels!) : null);
    this.pixels = arena.upload(`${label}.pixels`, images);
    this.binaryPixels = images.every((v) => v === 0 || v === 255);
  }

  protected recordRows(g: KernelGraph, plan: Plan, buffers: ModelBuffers, order: GPUBuffer): void {
    g.add(gatherBatch({ rows: plan.rows, dim: this.dim, binarize: this.config.binarize, dequantize: this.config.dequantize }), {
      params: buffers.stepParams, pixels: this.pixels, perm: order, x: plan.input!,
    });
  }

  protected ownBuffers(): GPUBuffer[] {
    return [this.pixels];
  }
}
