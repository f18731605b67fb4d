// A dataset kept on the GPU for training and evaluation: pixels packed 4 per u32, labels (for
// conditional models) and a permutation buffer, written once per epoch. Batches are gathered on
// the GPU (shaders/batch.ts), binarized there when the model asks for it, so a training step
// uploads nothing but the StepParams block.
import { gatherBatch } from '../../shaders/batch';
import { MORE_LIMITS_ADVICE, type BufferArena } from '../gpu/buffers';
import { ConfigError, DeviceLimitError, kindOfValue, shown } from '../errors';
import type { KernelGraph } from '../graph';
import { checkExampleLabels, checkExampleLength, GpuExamples } from './batch-source';
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
        'scale float pixels in [0, 1] by 255 and round (Uint8Array.from(x, (v) => Math.round(v * 255))), or upload Float32Array rows with vae.uploadRows({ rows, count })');
    }
    if (!Number.isInteger(count) || count < 1) throw new ConfigError(`dataset ${label}: count must be a positive integer, got ${shown(count)}`);
    checkExampleLength(label, images.length, count, dim, 'images');
    // Binary data written as 0 and 1 (yes/no columns, bits) would be read as the levels 0 and 1/255,
    // and a model trained on it would learn nearly all-zero rows without any error. Real pictures
    // have a level above 1 within their first pixels, so `some` stops at once for them.
    if (!images.some((v) => v > 1) && images.includes(1)) {
      throw new ConfigError(`dataset ${label}: every value is 0 or 1, but images are 8-bit levels (0-255) that the model reads as level / 255, so a 1 would be 1/255; ` +
        'write binary data as 0 and 255 (Uint8Array.from(bits, (b) => b * 255)), or upload it as Float32Array rows of 0 and 1 (vae.uploadRows({ rows, count }))');
    }
    const limit = arena.device.limits.maxStorageBufferBindingSize;
    if (images.length > limit) {
      throw new DeviceLimitError(`dataset ${label} needs ${images.length} bytes on the GPU but maxStorageBufferBindingSize is ${limit}; train on fewer examples (fewer rows; --limit in the CLI)${MORE_LIMITS_ADVICE}`);
    }
    checkExampleLabels(label, data.labels, count, config.classes);
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
