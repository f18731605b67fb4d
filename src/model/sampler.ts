// The Gaussian posterior q(z|x) = N(mu, diag(e^logvar)) and its reparameterized sampler. The
// encoder's head writes q, one row of 2Z values per example; this file alone decides that mu is
// columns [0, Z) and logvar [Z, 2Z) (the layout of the `encoder.head` checkpoint tensor), and it
// passes that layout to every kernel that reads q (sampling, KL, IWAE weights).
// Kernels: shaders/reparam.ts. Reference: tests/reference/reparam.ts.
import { priorSample, reparamBackward, reparamForward, type PosteriorLayout } from '../../shaders/reparam';
import type { Tensor } from '../tensor';
import type { Recorder } from './module';

export class GaussianSampler {
  readonly layout: PosteriorLayout;

  constructor(readonly latent: number) {
    this.layout = { latent, stride: 2 * latent, mu: 0, logvar: latent };
  }

  /** Width of the encoder head's output: mu and logvar. */
  get posteriorWidth(): number {
    return 2 * this.latent;
  }

  /** z [L*B, Z] (row l*B + b) and the noise eps it used. */
  sample(g: Recorder, q: Tensor, samples: number, opts: { pinNoise?: boolean; counterPerSample?: boolean } = {}): { z: Tensor; eps: Tensor } {
    const B = q.shape[0], Z = this.latent;
    const z = g.tensor('z', [samples * B, Z]);
    const eps = g.tensor('eps', [samples * B, Z], opts.pinNoise);
    g.graph.add(reparamForward({ batch: B, samples, layout: this.layout, counterPerSample: opts.counterPerSample }), { params: g.stepParams, q, z, eps });
    return { z, eps };
  }

  /** z = mu [B, Z], no noise (reconstructions). */
  mean(g: Recorder, q: Tensor): Tensor {
    const z = g.tensor('z', [q.shape[0], this.latent]);
    g.graph.add(reparamForward({ batch: q.shape[0], samples: 1, layout: this.layout, meanOnly: true, sizedByBinding: true }), { q, z });
    return z;
  }

  /** dq = dq_direct + the chain rule of z = mu + sigma eps applied to dz (+ dz_direct). */
  backward(g: Recorder, q: Tensor, eps: Tensor, dz: Tensor, dqDirect: Tensor, dzDirect: Tensor | null, samples: number): Tensor {
    const B = q.shape[0];
    const dq = g.tensor('d_q', [B, this.posteriorWidth]);
    g.graph.add(reparamBackward({ batch: B, samples, layout: this.layout, directZ: !!dzDirect }), {
      q, eps, dz, dq_direct: dqDirect, ...(dzDirect ? { dz_direct: dzDirect } : {}), dq,
    });
    return dq;
  }

  /** Splits posterior rows [rows, 2Z] read back from the GPU into mu and logvar. */
  split(q: Float32Array, rows: number): { mu: Float32Array<ArrayBuffer>; logvar: Float32Array<ArrayBuffer> } {
    const { latent: Z, stride, mu: m, logvar: v } = this.layout;
    const mu = new Float32Array(rows * Z), logvar = new Float32Array(rows * Z);
    for (let r = 0; r < rows; r++) {
      mu.set(q.subarray(r * stride + m, r * stride + m + Z), r * Z);
      logvar.set(q.subarray(r * stride + v, r * stride + v + Z), r * Z);
    }
    return { mu, logvar };
  }

  /** z [rows, Z] ~ N(0, I). */
  prior(g: Recorder, rows: number): Tensor {
    const z = g.tensor('z', [rows, this.latent]);
    g.graph.add(priorSample({ count: rows * this.latent, latent: this.latent, sizedByBinding: true }), { params: g.stepParams, z });
    return z;
  }
}
