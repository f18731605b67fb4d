// beta-TCVAE (Chen, Li, Grosse & Duvenaud 2018): the ELBO with the closed-form KL, plus
// (beta - 1) times the batch's estimate of the aggregate posterior's total correlation
// (minibatch-weighted sampling, or minibatch stratified sampling: config.tcEstimator), so that
// loss = rec + w (KL + (beta - 1) TC) = rec + w (MI + beta TC + dimension-wise KL). w is the warm-up ramp (config.ts klWeightAt: for this objective beta weighs the TC alone).
// With free bits (Kingma et al. 2016) each dimension's batch-mean KL counts as at least lambda, as
// in the ELBO objective: a dimension may then carry up to lambda nats for free, and the TC term
// makes what it carries independent of the other dimensions rather than a copy of them.
// Penalizing TC rather than the whole KL pushes the code's dimensions towards independence without
// squeezing the information the code carries, the failure mode of a large beta in beta-VAE.
// Kernels: shaders/likelihood.ts, shaders/elbo.ts (KL through kl-term.ts, reduce), shaders/tc.ts.
// Reference: tests/reference/tc.ts (tcvaeObjectiveRef); tests: tests/tc.test.ts, tests/gradcheck.test.ts.
import { elboReduce } from '../../../shaders/elbo';
import { TC_STATS_PER_ROW, tcPosteriorGrad, tcRows, type TcEstimator } from '../../../shaders/tc';
import type { Recorder } from '../module';
import { recordKl } from './kl-term';
import type { GradientSeeds, Objective, ObjectiveInputs } from './objective';

export class TcvaeObjective implements Objective {
  readonly name = 'tcvae' as const;

  constructor(readonly samples: number, readonly beta: number, readonly freeBits = false, readonly estimator: TcEstimator = 'mws') {}

  record(g: Recorder, { x, q, z, out }: ObjectiveInputs, { sampler, likelihood, targets, gradients }: Parameters<Objective['record']>[2]): GradientSeeds | null {
    const B = x.shape[0], S = this.samples, layout = sampler.layout;
    const tcParams = { batch: B, samples: S, layout, tcExcess: this.beta - 1, estimator: this.estimator };
    const { rec, dout } = likelihood.rows(g, x, out, S, { gradients });
    // Free bits shape the training loss only; evaluation reports the plain -ELBO.
    const { kl, klDims, dqDirect } = recordKl(g, q, B, layout, this.freeBits ? 'free-bits' : 'plain', gradients);
    const tc = g.tensor('tc', [S * B]);
    const stats = g.tensor('tc_stats', [S * B, TC_STATS_PER_ROW(layout.latent)]);
    const dzDirect = gradients ? g.tensor('d_z_direct', [S * B, layout.latent]) : null;
    g.graph.add(tcRows({ ...tcParams, gradients }), { params: g.stepParams, q, z, tc, stats, ...(dzDirect ? { dz_direct: dzDirect } : {}) });
    if (dqDirect) g.graph.add(tcPosteriorGrad(tcParams), { params: g.stepParams, q, z, stats, dq_direct: dqDirect });
    g.graph.add(elboReduce({ batch: B, samples: S, tcExcess: this.beta - 1, freeBitsLatent: klDims ? layout.latent : 0 }), {
      params: g.stepParams, rec, kl, ...(klDims ? { kl_dims: klDims } : {}), tc, history: targets.history, accum: targets.accum,
    });
    return gradients ? { dout: dout!, dqDirect: dqDirect!, dzDirect } : null;
  }
}
