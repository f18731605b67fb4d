// dSprites drawn on the GPU at each step instead of stored: the data set is a list of picture
// indices into the generated set (any subset, or all 737,280 grey / 26,542,080 colour pictures),
// and each step rasterizes its rows perm[batch_start + r] straight into the batch
// (shaders/dsprites.ts, gathered mode). A set of n pictures holds 8 n bytes on the GPU (indices
// and order) where stored grey pictures take 4096 n, so the whole set trains without being kept.
// It is a BatchSource (batch-source.ts) like ResidentData: training, evaluation and the IWAE estimate take either.
import { DSPRITES_GREY_COUNT, DSPRITES_SIDE, dspritesRaster } from '../../shaders/dsprites';
import { dspritesShapes } from '../data/dsprites';
import type { BufferArena } from '../gpu/buffers';
import { ConfigError } from '../errors';
import type { KernelGraph } from '../graph';
import type { VaeConfig } from './config';
import type { ModelBuffers, Plan } from './graphs';
import { GpuExamples } from './batch-source';

export class GeneratedSprites extends GpuExamples {
  override readonly madeBy = 'generateSprites';
  private readonly indices: GPUBuffer;

  constructor(arena: BufferArena, indices: Uint32Array, config: VaeConfig, readonly colour: boolean, label: string) {
    const channels = colour ? 3 : 1;
    const D = channels * DSPRITES_SIDE * DSPRITES_SIDE;
    if (config.inputDim !== D) {
      throw new ConfigError(`generated ${colour ? 'colour ' : ''}dSprites are ${channels}x64x64 (${D} values), the model's inputDim is ${config.inputDim}; build the model for ${channels}x64x64 pictures`);
    }
    if (config.dequantize) throw new ConfigError('generated dSprites are drawn at exact grey levels and cannot be dequantized; train without dequantize, or upload stored pictures');
    if (config.classes > 0 && config.classes !== 3) throw new ConfigError(`dSprites has 3 shapes, but the model is conditional on ${config.classes} classes; use 3`);
    const limit = colour ? 36 * DSPRITES_GREY_COUNT : DSPRITES_GREY_COUNT;
    const bad = indices.findIndex((i) => i >= limit);
    if (bad >= 0) throw new ConfigError(`picture index ${indices[bad]} (entry ${bad}) is past the ${limit} pictures of the ${colour ? 'colour ' : ''}dSprites set`);
    if (indices.length < 1) throw new ConfigError('generated dSprites: no picture indices given');
    arena.reserve(`dataset ${label} (${indices.length} generated pictures)`, 4 * indices.length * (config.classes ? 3 : 2), 'use fewer pictures');
    super(arena, indices.length, D, config, label, config.classes ? Uint32Array.from(dspritesShapes(indices)) : null);
    this.indices = arena.upload(`${label}.indices`, indices);
  }

  /** The grey set is drawn in black and white; the colour set in hues. */
  get binaryPixels(): boolean {
    return !this.colour;
  }

  protected recordRows(g: KernelGraph, plan: Plan, buffers: ModelBuffers, order: GPUBuffer): void {
    g.add(dspritesRaster({ rows: plan.rows, colour: this.colour, gathered: true }), { params: buffers.stepParams, indices: this.indices, perm: order, x: plan.input! });
  }

  protected ownBuffers(): GPUBuffer[] {
    return [this.indices];
  }
}
