// The model of a command that only reads a checkpoint (eval, sample, traverse, reconstruct,
// interpolate): no training step is planned (for a large picture model that graph is most of its
// memory), and its graphs take as many rows at once as the work needs, at most the training
// default, and few enough that one forward graph stays within READ_GRAPH_BYTES. Their results do
// not depend on the batch beyond the rounding of sums: evaluation noise is keyed per example, and
// decoding is row by row.
import { DEFAULT_TRAINING, VAE } from '../model/vae';
import { widestTensorBytes } from '../model/graphs';
import type { AcquiredDevice } from '../gpu/device';
import type { VaeConfig } from '../model/config';

/** GPU memory one reading graph may take, about: its widest tensor per row, times TENSORS_PER_WIDEST. */
export const READ_GRAPH_BYTES = 512 * 2 ** 20;
/** Tensors as wide as the widest that one forward graph holds at once (a generous estimate). */
const TENSORS_PER_WIDEST = 4;

/** Rows at once for `rows` of work on a model whose widest eval tensor is `widestPerRow` bytes a row. */
export function readingBatch(rows: number, widestPerRow: number): number {
  const fits = Math.floor(READ_GRAPH_BYTES / (TENSORS_PER_WIDEST * widestPerRow));
  return Math.max(1, Math.min(rows, DEFAULT_TRAINING.batch, fits));
}

export async function modelForReading(checkpoint: { config: VaeConfig; flat: Float32Array }, device: AcquiredDevice, rows: number, seed = 0): Promise<VAE> {
  const create = (batch: number) => VAE.create(checkpoint.config, { device, seed, initialParams: checkpoint.flat, batch, prepareTraining: false });
  // One row tells how wide the graphs are (recording places no memory).
  const probe = await create(1);
  const batch = readingBatch(rows, widestTensorBytes(probe.record('eval', 1)));
  if (batch === 1) return probe;
  try {
    return await create(batch);
  } finally {
    probe.destroy(); // after the second model holds the device, so the device stays
  }
}
