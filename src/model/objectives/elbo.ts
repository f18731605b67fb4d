// The ELBO objective (Kingma & Welling 2013) with L samples per example, beta, a linear KL
// warm-up (optionally cyclical) and free bits: loss = rec + w * KL, where rec is the likelihood's
// NLL averaged over the L samples, KL is the closed form, w = beta * min(1, t / warmup) (t counted
// within the cycle; config.ts klWeightAt) comes in the step's uniform, and with free bits each
// latent dimension's batch-mean KL counts as at least lambda. With capacity control (Burgess et
// al. 2018) the KL term is |KLbar - C| instead, C in the step's uniform (config.ts klCapacityAt).
// Kernels: shaders/likelihood.ts, shaders/elbo.ts (the KL recorded by kl-term.ts, which beta-TCVAE
// shares). Reference: tests/reference/objectives.ts.
import { elboReduce } from '../../../shaders/elbo';
import type { Recorder } from '../module';
import { recordKl, type KlTerm } from './kl-term';
import type { GradientSeeds, Objective, ObjectiveInputs } from './objective';

export class ElboObjective implements Objective {
  readonly name = 'elbo' as const;

  constructor(readonly samples: number, readonly klTerm: KlTerm = 'plain') {}

  record(g: Recorder, { x, q, out }: ObjectiveInputs, { sampler, likelihood, targets, gradients }: Parameters<Objective['record']>[2]): GradientSeeds | null {
    const B = x.shape[0], L = this.samples, layout = sampler.layout;
    const { rec, dout } = likelihood.rows(g, x, out, L, { gradients });
    const { kl, klDims, dqDirect } = recordKl(g, q, B, layout, this.klTerm, gradients);
    const capacity = gradients && this.klTerm === 'capacity';
    const examples = targets.perExample ? g.tensor('example_figures', [B, 2], true) : null;
    g.graph.add(elboReduce({ batch: B, samples: L, freeBitsLatent: klDims ? layout.latent : 0, capacity, examples: !!examples }), {
      params: g.stepParams, rec, kl, ...(klDims ? { kl_dims: klDims } : {}), history: targets.history, accum: targets.accum, ...(examples ? { examples } : {}),
    });
    return gradients ? { dout: dout!, dqDirect: dqDirect!, dzDirect: null } : null;
  }
}
