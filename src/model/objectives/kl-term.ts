// The closed-form KL of q(z|x) to the prior as the ELBO and beta-TCVAE objectives record it: kl[b]
// per example for the loss record, and for training its direct gradient on mu and logvar, plain,
// floored per dimension by free bits (kl_dims, the batch-mean KL of each dimension), or reversed
// above a KL capacity. Kernels: shaders/elbo.ts (klDivergence, klFreeBits, klCapacity).
import { klCapacity, klDivergence, klFreeBits } from '../../../shaders/elbo';
import type { Recorder } from '../module';
import type { PosteriorLayout } from '../../../shaders/reparam';
import type { Tensor } from '../../tensor';

/** How the KL term enters the loss: w KL, free bits' w sum_j max(lambda, KLbar_j), or capacity's w |KLbar - C|. */
export type KlTerm = 'plain' | 'free-bits' | 'capacity';

export interface RecordedKl {
  kl: Tensor;
  /** Free bits while training: each dimension's batch-mean KL, for the reduce's loss. */
  klDims: Tensor | null;
  /** Training: d loss / d (mu, logvar) through the KL (the TC term adds its own to it). */
  dqDirect: Tensor | null;
}

/** Records the KL of posterior `q` ([B, layout.stride]); the term shapes the gradient only when `gradients`. */
export function recordKl(g: Recorder, q: Tensor, B: number, layout: PosteriorLayout, term: KlTerm, gradients: boolean): RecordedKl {
  const kl = g.tensor('kl', [B]);
  const dqDirect = gradients ? g.tensor('d_q_direct', [B, layout.stride]) : null;
  if (dqDirect && term === 'capacity') {
    g.graph.add(klCapacity({ batch: B, layout }), { params: g.stepParams, q, kl, dq_direct: dqDirect });
    return { kl, klDims: null, dqDirect };
  }
  const freeBits = dqDirect && term === 'free-bits';
  g.graph.add(klDivergence({ batch: B, layout, gradients: !!dqDirect && !freeBits }), { params: g.stepParams, q, kl, ...(dqDirect && !freeBits ? { dq_direct: dqDirect } : {}) });
  const klDims = freeBits ? g.tensor('kl_dims', [layout.latent]) : null;
  if (klDims) g.graph.add(klFreeBits({ batch: B, layout }), { params: g.stepParams, q, kl_dims: klDims, dq_direct: dqDirect! });
  return { kl, klDims, dqDirect };
}
