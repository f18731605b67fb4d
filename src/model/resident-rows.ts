// A data set of f32 rows kept on the GPU as they are: real-valued data (tabular features, signals)
// for a Gaussian model, or probabilities in [0, 1] for a Bernoulli one. ResidentData holds 8-bit
// pictures, read as level / 255, so real values cannot go there; these rows train (`trainStep({
// data, index })`, resident like pictures: a step uploads nothing but its uniform) and evaluate
// (`elbo`, `logLikelihood`) where Float32Array batches alone could only train. Gathered by
// shaders/batch.ts's gatherRows, with the identity or the epoch's shuffle, as pictures are.
import { gatherRows } from '../../shaders/batch';
import { MORE_LIMITS_ADVICE, type BufferArena } from '../gpu/buffers';
import { ConfigError, DeviceLimitError, kindOfValue, shown } from '../errors';
import type { KernelGraph } from '../graph';
import { checkExampleLabels, checkExampleLength, GpuExamples } from './batch-source';
import type { VaeConfig } from './config';
import type { ModelBuffers, Plan } from './graphs';
import { checkRowValues, type RowValues } from './vae-inputs';

/** What `vae.uploadRows` takes: `count` rows of the model's inputDim values, row-major, and labels for a conditional model. */
export interface RowData {
  rows: Float32Array;
  count: number;
  labels?: ArrayLike<number>;
  name?: string;
}

export class ResidentRows extends GpuExamples {
  override readonly madeBy = 'uploadRows';
  readonly values: GPUBuffer;
  /** Every value is 0 or 1: a Bernoulli likelihood of them is a discrete one (bits/dim). */
  readonly binaryPixels: boolean;

  constructor(arena: BufferArena, data: RowData, config: VaeConfig, label: string, values: RowValues) {
    if (!data || typeof data !== 'object') throw new ConfigError(`uploadRows takes { rows: Float32Array, count, labels? }, got ${String(data)}`);
    const { count, rows } = data;
    const dim = config.inputDim;
    if (!(rows instanceof Float32Array)) {
      const pictures = (rows as unknown) instanceof Uint8Array ? '; 8-bit pictures go to vae.upload({ images, count })' : '';
      throw new ConfigError(`dataset ${label}: rows must be a Float32Array, got ${kindOfValue(rows)}${pictures}`);
    }
    if (!Number.isInteger(count) || count < 1) throw new ConfigError(`dataset ${label}: count must be a positive integer, got ${shown(count)}`);
    checkExampleLength(label, rows.length, count, dim, 'rows');
    // The noise of binarization and dequantization is drawn from 8-bit levels as a batch is gathered.
    if (config.binarize !== 'none' || config.dequantize) {
      const noise = config.binarize !== 'none' ? `binarize '${config.binarize}'` : 'dequantize';
      throw new ConfigError(`dataset ${label}: this model's ${noise} draws from 8-bit levels, which rows of values do not have; upload the pictures (vae.upload({ images, count })), or create the model without ${noise}`);
    }
    checkRowValues(rows, dim, `uploadRows (dataset ${label})`, values);
    const limit = arena.device.limits.maxStorageBufferBindingSize;
    if (rows.byteLength > limit) {
      throw new DeviceLimitError(`dataset ${label} needs ${rows.byteLength} bytes on the GPU but maxStorageBufferBindingSize is ${limit}; upload fewer rows at a time${MORE_LIMITS_ADVICE}`);
    }
    checkExampleLabels(label, data.labels, count, config.classes);
    const labelBytes = config.classes > 0 ? count * 4 : 0;
    arena.reserve(`dataset ${label} (${count} rows)`, rows.byteLength + count * 4 + labelBytes, 'upload fewer rows at a time');
    super(arena, count, dim, config, label, config.classes > 0 ? Uint32Array.from(data.labels!) : null);
    // Copied at the call by the upload: the caller may change its array afterwards.
    this.values = arena.upload(`${label}.rows`, rows);
    this.binaryPixels = rows.every((v) => v === 0 || v === 1);
  }

  protected recordRows(g: KernelGraph, plan: Plan, buffers: ModelBuffers, order: GPUBuffer): void {
    g.add(gatherRows({ rows: plan.rows, dim: this.dim }), { params: buffers.stepParams, data: this.values, perm: order, x: plan.input! });
  }

  protected ownBuffers(): GPUBuffer[] {
    return [this.values];
  }
}
