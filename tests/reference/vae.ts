// Float64 reference of the whole model's loss: encoder, reparameterization with given noise,
// decoder, likelihood and KL, exactly as the GPU graph defines them (params.ts layout, padding
// rows excluded). The gradient check differentiates this by central differences.
import type { VaeConfig } from '../../src/model/config';
import { decoderLayers, encoderLayers, type LayerSpec, type ParamLayout } from '../../src/model/params';
import { actRef } from './dense';

export interface LossParts { loss: number; rec: number; kl: number }

function dense(layer: LayerSpec, layout: ParamLayout, p: ArrayLike<number>, x: number[], act: (v: number) => number): number[] {
  const w = layout.byName.get(layer.weight)!, b = layout.byName.get(layer.bias)!;
  const out: number[] = [];
  for (let o = 0; o < layer.outDim; o++) {
    let s = p[b.offset + o];
    for (let i = 0; i < layer.inDim; i++) s += p[w.offset + o * layer.inDim + i] * x[i];
    out.push(act(s));
  }
  return out;
}

export function nllRef(c: VaeConfig, x: number, out: number, logSigma: number): number {
  if (c.likelihood === 'bernoulli') return Math.max(out, 0) - x * out + Math.log1p(Math.exp(-Math.abs(out)));
  return 0.5 * (x - out) ** 2 * Math.exp(-2 * logSigma) + logSigma + 0.5 * Math.log(2 * Math.PI);
}

/** -ELBO pieces for the first `valid` rows of x ([B, D]) with noise eps ([L*B, Z]). */
export function vaeLossRef(c: VaeConfig, layout: ParamLayout, p: ArrayLike<number>, x: ArrayLike<number>, eps: ArrayLike<number>, B: number, valid: number): LossParts {
  const D = c.inputDim, Z = c.latent, L = c.samples;
  const act = (v: number) => actRef(c.activation, v), id = (v: number) => v;
  const enc = encoderLayers(c), dec = decoderLayers(c);
  const ls = layout.byName.get('likelihood.log_sigma');
  const logSigma = (d: number) => (ls ? p[ls.offset + (ls.count > 1 ? d : 0)] : Math.log(c.sigma as number));
  let rec = 0, kl = 0;
  for (let b = 0; b < valid; b++) {
    const xb = Array.from({ length: D }, (_, d) => x[b * D + d]);
    let h = xb;
    enc.forEach((l, i) => (h = dense(l, layout, p, h, i === enc.length - 1 ? id : act)));
    const mu = h.slice(0, Z), lv = h.slice(Z);
    for (let j = 0; j < Z; j++) kl += 0.5 * (Math.exp(lv[j]) + mu[j] ** 2 - 1 - lv[j]);
    for (let l = 0; l < L; l++) {
      let g = mu.map((m, j) => m + Math.exp(0.5 * lv[j]) * eps[(l * B + b) * Z + j]);
      dec.forEach((layer, i) => (g = dense(layer, layout, p, g, i === dec.length - 1 ? id : act)));
      for (let d = 0; d < D; d++) rec += nllRef(c, xb[d], g[d], logSigma(d));
    }
  }
  rec /= L * valid;
  kl /= valid;
  return { loss: rec + c.beta * kl, rec, kl };
}
