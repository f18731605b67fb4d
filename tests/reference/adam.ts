// Float64 references for the optimizer kernel (shaders/adam.ts), following PyTorch's single-tensor
// torch.optim.Adam (amsgrad = maximize = False, L2 weight decay added to the gradient) and
// torch.optim.SGD (no momentum), step by step as written there.

export interface AdamHyper {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** One Adam step t (1-based) from state (p, m, v) with gradient g; returns the new state. */
export function adamStepRef(p: ArrayLike<number>, g: ArrayLike<number>, m: ArrayLike<number>, v: ArrayLike<number>, h: AdamHyper, step: number) {
  const n = p.length;
  const pOut = new Float64Array(n), mOut = new Float64Array(n), vOut = new Float64Array(n);
  const biasCorrection1 = 1 - h.beta1 ** step;
  const biasCorrection2 = 1 - h.beta2 ** step;
  const stepSize = h.lr / biasCorrection1;
  const biasCorrection2Sqrt = Math.sqrt(biasCorrection2);
  for (let i = 0; i < n; i++) {
    let grad = g[i];
    if (h.weightDecay !== 0) grad += h.weightDecay * p[i];
    mOut[i] = h.beta1 * m[i] + (1 - h.beta1) * grad; // exp_avg.lerp_(grad, 1 - beta1)
    vOut[i] = h.beta2 * v[i] + (1 - h.beta2) * grad * grad; // exp_avg_sq.mul_(beta2).addcmul_(grad, grad, 1 - beta2)
    const denom = Math.sqrt(vOut[i]) / biasCorrection2Sqrt + h.eps;
    pOut[i] = p[i] - stepSize * (mOut[i] / denom); // param.addcdiv_(exp_avg, denom, value=-step_size)
  }
  return { p: pOut, m: mOut, v: vOut };
}

/**
 * Adam's bias corrections at step t as the optimizer multiplies by them, c1 = 1 / (1 - beta1^t)
 * and c2 = 1 / sqrt(1 - beta2^t), in float64 from the float64 betas, as PyTorch (1 for t = 0).
 */
export function adamBiasCorrectionsRef(t: number, beta1: number, beta2: number): [number, number] {
  if (t === 0) return [1, 1];
  return [1 / (1 - beta1 ** t), 1 / Math.sqrt(1 - beta2 ** t)];
}

/** One plain SGD step: p -= lr (g + wd p). */
export function sgdStepRef(p: ArrayLike<number>, g: ArrayLike<number>, lr: number, weightDecay: number): Float64Array {
  return Float64Array.from(p, (w, i) => w - lr * (g[i] + weightDecay * w));
}
