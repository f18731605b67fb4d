// Float64 reference for group normalization (PyTorch nn.GroupNorm, eps 1e-5, biased variance)
// with an activation after the affine map, written from the definition and not from
// shaders/group-norm.ts. The backward is derived by hand here and checked against central finite
// differences of the forward in tests/group-norm.test.ts.
import type { Activation } from '../../shaders/activation';
import { actRef } from './dense';

export interface GroupNormRefShape {
  batch: number;
  channels: number;
  pixels: number;
  groups: number;
}

export const GROUP_NORM_EPS_REF = 1e-5;

/** mean and 1/sqrt(var + eps) of every (example, group): [N * G] each. */
export function groupNormStatsRef(x: ArrayLike<number>, s: GroupNormRefShape): { mean: Float64Array; rstd: Float64Array } {
  const { batch: N, channels: C, pixels: P, groups: G } = s;
  const per = (C / G) * P;
  const mean = new Float64Array(N * G), rstd = new Float64Array(N * G);
  for (let n = 0; n < N; n++) for (let g = 0; g < G; g++) {
    let sum = 0;
    for (let c = g * (C / G); c < (g + 1) * (C / G); c++) for (let p = 0; p < P; p++) sum += x[(n * C + c) * P + p];
    const m = sum / per;
    let sq = 0;
    for (let c = g * (C / G); c < (g + 1) * (C / G); c++) for (let p = 0; p < P; p++) sq += (x[(n * C + c) * P + p] - m) ** 2;
    mean[n * G + g] = m;
    rstd[n * G + g] = 1 / Math.sqrt(sq / per + GROUP_NORM_EPS_REF);
  }
  return { mean, rstd };
}

/** y = act((x - mean) rstd gamma[c] + beta[c]) and the pre-activation. */
export function groupNormRef(x: ArrayLike<number>, gamma: ArrayLike<number>, beta: ArrayLike<number>, s: GroupNormRefShape, act: Activation) {
  const { batch: N, channels: C, pixels: P, groups: G } = s;
  const { mean, rstd } = groupNormStatsRef(x, s);
  const pre = new Float64Array(N * C * P), y = new Float64Array(N * C * P);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) {
    const seg = n * G + Math.floor(c / (C / G));
    for (let p = 0; p < P; p++) {
      const i = (n * C + c) * P + p;
      pre[i] = (x[i] - mean[seg]) * rstd[seg] * gamma[c] + beta[c];
      y[i] = actRef(act, pre[i]);
    }
  }
  return { y, pre, mean, rstd };
}

/** Gradients of sum(dPre * pre) with respect to x, gamma and beta (dPre: the gradient on the pre-activation). */
export function groupNormBackwardRef(x: ArrayLike<number>, gamma: ArrayLike<number>, dPre: ArrayLike<number>, s: GroupNormRefShape) {
  const { batch: N, channels: C, pixels: P, groups: G } = s;
  const cpg = C / G, per = cpg * P;
  const { mean, rstd } = groupNormStatsRef(x, s);
  const dx = new Float64Array(N * C * P), dgamma = new Float64Array(C), dbeta = new Float64Array(C);
  for (let n = 0; n < N; n++) for (let g = 0; g < G; g++) {
    const seg = n * G + g;
    const xhat = (i: number) => (x[i] - mean[seg]) * rstd[seg];
    let sumG = 0, sumGX = 0;
    for (let c = g * cpg; c < (g + 1) * cpg; c++) for (let p = 0; p < P; p++) {
      const i = (n * C + c) * P + p, gi = dPre[i] * gamma[c];
      sumG += gi;
      sumGX += gi * xhat(i);
      dgamma[c] += dPre[i] * xhat(i);
      dbeta[c] += dPre[i];
    }
    for (let c = g * cpg; c < (g + 1) * cpg; c++) for (let p = 0; p < P; p++) {
      const i = (n * C + c) * P + p;
      dx[i] = rstd[seg] * (dPre[i] * gamma[c] - sumG / per - xhat(i) * sumGX / per);
    }
  }
  return { dx, dgamma, dbeta };
}
