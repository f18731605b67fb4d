// dSprites drawn on the GPU at each step instead of stored: the data set is a list of picture
// indices into the generated set (any subset, or all 737,280 grey / 26,542,080 colour pictures),
// and each step rasterizes its rows perm[batch_start + r] straight into the batch
// (shaders/dsprites.ts, gathered mode). A set of n pictures holds 8 n bytes on the GPU (indices
// and order) where stored grey pictures take 4096 n, so the whole set trains without being kept.
// It is a BatchSource like ResidentData: training, evaluation and the IWAE estimate take either.
import { gatherLabels } from '../../shaders/batch';
import { DSPRITES_GREY_COUNT, DSPRITES_SIDE, dspritesRaster } from '../../shaders/dsprites';
import { type BufferArena, writeData } from '../gpu/buffers';
import { ConfigError } from '../errors';
import { KernelGraph } from '../graph';
import type { PipelineCache } from '../gpu/pipelines';
import type { VaeConfig } from './config';
import type { ModelBuffers, Plan } from './graphs';
import type { BatchSource } from './resident-data';

/** Pictures per shape in the grey set; the shape (the class of a conditional model) is index / this. */
const PER_SHAPE = DSPRITES_GREY_COUNT / 3;

export class GeneratedSprites implements BatchSource {
  readonly count: number;
  readonly dim: number;
  private readonly indices: GPUBuffer;
  private readonly perm: GPUBuffer;
  private readonly labels: GPUBuffer | null;
  private readonly gathers = new Map<Plan, KernelGraph>();

  constructor(private readonly arena: BufferArena, indices: Uint32Array, private readonly config: VaeConfig, readonly colour: boolean, label: string) {
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
    this.count = indices.length;
    this.dim = D;
    arena.reserve(`dataset ${label} (${this.count} generated pictures)`, 4 * this.count * (config.classes ? 3 : 2), 'use fewer pictures');
    this.indices = arena.upload(`${label}.indices`, indices);
    this.perm = arena.upload(`${label}.perm`, Uint32Array.from({ length: this.count }, (_, i) => i));
    this.labels = config.classes ? arena.upload(`${label}.labels`, indices.map((i) => Math.floor((i % DSPRITES_GREY_COUNT) / PER_SHAPE))) : null;
  }

  setOrder(order: Uint32Array): void {
    if (order.length !== this.count) throw new Error(`order has ${order.length} entries, dataset has ${this.count}`);
    writeData(this.arena.device, this.perm, 0, order);
  }

  /** The rasterizing dispatch filling `plan.input` (and the shapes as its condition), built once per plan. */
  async gatherFor(plan: Plan, buffers: ModelBuffers, cache: PipelineCache): Promise<KernelGraph> {
    let g = this.gathers.get(plan);
    if (!g) {
      g = new KernelGraph(`dsprites[${plan.rows}]`);
      g.add(dspritesRaster({ rows: plan.rows, colour: this.colour, gathered: true }), { params: buffers.stepParams, indices: this.indices, perm: this.perm, x: plan.input! });
      if (plan.condition) {
        g.add(gatherLabels({ rows: plan.rows, classes: this.config.classes }), { params: buffers.stepParams, labels: this.labels!, perm: this.perm, condition: plan.condition });
      }
      await g.build(cache);
      this.gathers.set(plan, g);
    }
    return g;
  }

  destroy(): void {
    for (const b of [this.indices, this.perm, this.labels]) if (b) this.arena.release(b);
    this.gathers.clear();
  }
}
