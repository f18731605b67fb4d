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
import { CheckpointError } from '../io/safetensors';

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

/**
 * Refuses a checkpoint whose parameters, finite as stored (the reader refuses NaN among them),
 * give numbers that are not: a model saved from a run whose numbers went bad (kept by --on-nan
 * stop with --save-every, or a diverged run's last epoch). Without this a reading command would
 * print NaN with exit status 0, or draw NaN pixels as black.
 */
export function refuseNonFinite(path: string, what: string, values: ArrayLike<number>): void {
  let bad = 0;
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) bad++;
  if (!bad) return;
  throw new CheckpointError(`${path}: its parameters give ${what} that ${values.length === 1 ? 'is' : 'are'} not finite (${bad === values.length ? (values.length === 1 ? 'NaN or infinite' : 'all NaN or infinite') : `${bad} of ${values.length} NaN or infinite`}): ` +
    'the model was saved from a run whose numbers went bad; use a checkpoint written before that (train --save-every N keeps one every N steps), or train again');
}
