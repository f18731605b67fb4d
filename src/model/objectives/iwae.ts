// The importance-weighted objective (Burda et al. 2015) with K samples per example: the loss is
// -(logsumexp_k log w_k - log K), and its gradient weights each sample by its normalized weight.
// The likelihood runs twice: once for the row losses the log-weights need, then for its
// gradient with the normalized weights as row weights. The closed-form KL is computed for the
// record only. Kernels: shaders/iwae.ts, shaders/likelihood.ts, shaders/elbo.ts (KL).
// Reference: tests/reference/objectives.ts.
import { klDivergence } from '../../../shaders/elbo';
import { iwaeReduce, iwaeWeights } from '../../../shaders/iwae';
import type { Recorder } from '../module';
import type { GradientSeeds, Objective, ObjectiveInputs } from './objective';

export class IwaeObjective implements Objective {
  readonly name = 'iwae' as const;

  constructor(readonly samples: number) {}

  record(g: Recorder, { x, q, z, eps, out }: ObjectiveInputs, { sampler, likelihood, targets, gradients }: Parameters<Objective['record']>[2]): GradientSeeds | null {
    const B = x.shape[0], K = this.samples, layout = sampler.layout;
    const { rec } = likelihood.rows(g, x, out, K, { gradients: false });
    const kl = g.tensor('kl', [B]);
    g.graph.add(klDivergence({ batch: B, layout, gradients: false }), { params: g.stepParams, q, kl });
    // With gradients the log-weights are kept in row_weight, which they become (iwae.ts).
    const logWeight = gradients ? null : g.tensor('log_weight', [K * B]);
    const bound = g.tensor('bound', [B]);
    const seeds = gradients
      ? { rowWeight: g.tensor('row_weight', [K * B]), dzDirect: g.tensor('d_z_direct', [K * B, layout.latent]), dqDirect: g.tensor('d_q_direct', [B, layout.stride]) }
      : null;
    g.graph.add(iwaeWeights({ batch: B, samples: K, layout, gradients }), {
      ...(gradients ? { params: g.stepParams } : {}), q, z, eps, rec, bound, ...(logWeight ? { log_weight: logWeight } : {}),
      ...(seeds ? { row_weight: seeds.rowWeight, dz_direct: seeds.dzDirect, dq_direct: seeds.dqDirect } : {}),
    });
    g.graph.add(iwaeReduce({ batch: B, samples: K }), { params: g.stepParams, bound, rec, kl, history: targets.history, accum: targets.accum });
    if (!seeds) return null;
    const { dout } = likelihood.rows(g, x, out, K, { gradients: true, rowWeight: seeds.rowWeight, rec });
    return { dout: dout!, dqDirect: seeds.dqDirect, dzDirect: seeds.dzDirect };
  }
}
