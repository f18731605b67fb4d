// An objective turns the decoder's output into the loss, its record and the gradient seeds. It
// owns the number of samples per example, the per-sample log-weights (if any), the reduction and
// the loss record (loss, rec, kl, n) that the loss ring and evaluation read. The model's graphs
// call `record` after the decoder and pass the seeds it returns to the decoder's backward (dout)
// and the sampler's backward (dqDirect, dzDirect).
import type { Tensor } from '../../tensor';
import type { DecoderLikelihood } from '../likelihood';
import type { Recorder } from '../module';
import type { GaussianSampler } from '../sampler';

export const OBJECTIVES = ['elbo', 'iwae', 'tcvae'] as const;
export type ObjectiveName = (typeof OBJECTIVES)[number];

export interface ObjectiveInputs {
  /** Targets [B, D]. */
  x: Tensor;
  /** Posterior parameters [B, 2Z]. */
  q: Tensor;
  /** Samples and their noise [S*B, Z]. */
  z: Tensor;
  eps: Tensor;
  /** Decoder output [S*B, D]. */
  out: Tensor;
}

export interface GradientSeeds {
  /** d loss / d decoder output [S*B, D]. */
  dout: Tensor;
  /** d loss / d q through the objective's own terms [B, 2Z]. */
  dqDirect: Tensor;
  /** d loss / d z not through the decoder [S*B, Z], or null. */
  dzDirect: Tensor | null;
}

/** Where the record goes: a history ring slot per step, running totals, and (evaluation) each row's figures. */
export interface LossTargets {
  history: GPUBuffer;
  accum: GPUBuffer;
  /** Evaluation: a pinned tensor `example_figures` [B, 2] of each row's (rec, kl), for a sum in example order (elboReduce `examples`). */
  perExample?: boolean;
}

export interface Objective {
  readonly name: ObjectiveName;
  /** Samples of z per example (L for the ELBO, K for IWAE). */
  readonly samples: number;
  /** Records the loss (and with `gradients` the seeds) into the graph. */
  record(g: Recorder, inputs: ObjectiveInputs, parts: { sampler: GaussianSampler; likelihood: DecoderLikelihood; targets: LossTargets; gradients: boolean }): GradientSeeds | null;
}
