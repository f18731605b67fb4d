// The decoder's likelihood p(x|z): Bernoulli on logits, or Gaussian with a fixed, learned-global,
// learned-per-pixel or predicted (decoder-output) scale. It owns the learned log-sigma parameter, records the row losses
// (and their gradients, weighted as the objective says) and turns decoder outputs into pictures.
// Kernels: shaders/likelihood.ts. Reference: tests/reference/likelihood.ts.
import { activationForward } from '../../shaders/activation';
import { decoderMean, decoderOutputWidth, likelihoodRows, type GaussianScale, type Likelihood } from '../../shaders/likelihood';
import { recordColumnSum } from './layers/matmul-op';
import type { Tensor } from '../tensor';
import type { GaussianSigma } from './config';
import type { ParamSpec, Recorder } from './module';

export const LOG_SIGMA = 'likelihood.log_sigma';

export class DecoderLikelihood {
  readonly scale: GaussianScale | undefined;

  constructor(readonly kind: Likelihood, sigma: GaussianSigma, readonly dim: number) {
    if (kind !== 'gaussian') this.scale = undefined;
    else if (sigma === 'learned') this.scale = 'learned-global';
    else if (sigma === 'learned-pixel') this.scale = 'learned-pixel';
    else if (sigma === 'predicted') this.scale = 'predicted';
    else this.scale = { fixedLogSigma: Math.log(sigma) };
  }

  /** A log-sigma parameter of the model (not one the decoder predicts). */
  get learned(): boolean {
    return this.scale === 'learned-global' || this.scale === 'learned-pixel';
  }

  /** Values the decoder outputs per example: D, or 2D (means, then log-scales) when the scale is predicted. */
  get outputWidth(): number {
    return decoderOutputWidth(this.dim, this.scale);
  }

  params(): ParamSpec[] {
    if (!this.learned) return [];
    return [{ name: LOG_SIGMA, shape: this.scale === 'learned-pixel' ? [this.dim] : [1], init: { kind: 'zeros' } }];
  }

  /**
   * rec [L*B] = -log p(x_b | out_r) per row r = l*B + b. With `gradients`, dout = dNLL/dout times
   * the row weight (1 / (L n), or rowWeight[r]), and the learned scale's gradient is written per
   * row and added into the gradient buffer by a column sum.
   */
  rows(g: Recorder, x: Tensor, out: Tensor, samples: number, opts: { gradients: boolean; rowWeight?: Tensor; rec?: Tensor }): { rec: Tensor; dout: Tensor | null } {
    const B = x.shape[0], D = this.dim;
    const rec = opts.rec ?? g.tensor('rec', [samples * B]);
    const grads = opts.gradients;
    const dout = grads ? g.tensor('d_out', [samples * B, this.outputWidth]) : null;
    const dls = grads && this.learned ? g.tensor('d_log_sigma', [samples * B * (this.scale === 'learned-pixel' ? D : 1)]) : null;
    g.graph.add(
      likelihoodRows({ batch: B, samples, dim: D, likelihood: this.kind, scale: this.scale, gradients: grads, rowWeights: grads && !!opts.rowWeight, threadsPerRow: g.kernels.likelihoodThreadsPerRow }),
      {
        params: g.stepParams, x, out, rec,
        ...(opts.rowWeight && grads ? { row_weight: opts.rowWeight } : {}),
        ...(dout ? { dout } : {}),
        ...(this.learned ? { logsigma: g.param(LOG_SIGMA) } : {}),
        ...(dls ? { dls } : {}),
      },
    );
    if (dls) {
      const cols = this.scale === 'learned-pixel' ? D : 1;
      recordColumnSum(g, samples * B, cols, dls, g.grad(LOG_SIGMA), `d_${LOG_SIGMA}`);
    }
    return { rec, dout };
  }

  /** Decoder output -> pictures: the sigmoid of Bernoulli logits, or the Gaussian mean. */
  images(g: Recorder, out: Tensor, pinned: boolean): Tensor {
    if (this.kind === 'gaussian' && this.scale !== 'predicted') return out;
    const rows = out.shape[0];
    const images = g.tensor('images', [rows, this.dim], pinned);
    if (this.kind === 'bernoulli') g.graph.add(activationForward({ activation: 'sigmoid', count: out.size, sizedByBinding: true }), { x: out, y: images });
    else g.graph.add(decoderMean({ rows, dim: this.dim, likelihood: this.kind, scale: this.scale, sizedByBinding: true }), { out, images });
    return images;
  }
}
