// Float64 reference for the step's health check (shaders/grad-norm.ts), written from its rule: the
// global gradient norm, the clip scale of torch.nn.utils.clip_grad_norm_, the NaN/Inf tests, the
// divergence test against the running minimum of the smoothed loss, and Adam's step count, which
// only an applied step advances.

export interface WatchState {
  /** Smoothed loss of the accepted steps. */
  smoothed: number;
  /** Its running minimum. */
  lowest: number;
  /** Accepted steps so far. */
  seen: number;
  /** Adam's step count: the steps applied (the same as `seen` unless a watch was restored without it). */
  t: number;
}

export interface HealthVerdict {
  norm: number;
  /** Bit 0: loss not finite; bit 1: gradient norm not finite; bit 2: diverged. */
  flags: number;
  /** What the optimizer multiplies the gradient by. */
  scale: number;
  /** The watch after this step (unchanged when the step is bad). */
  next: WatchState;
}

/** sqrt(sum g^2), in float64 over the float32 values. */
export function gradNormRef(g: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < g.length; i++) s += g[i] * g[i];
  return Math.sqrt(s);
}

/**
 * The verdict on one step. The kernel sums squares in f32, so a sum past f32's largest value is
 * infinite there; the reference says so too.
 */
export function stepHealthRef(loss: number, g: ArrayLike<number>, clipNorm: number, watch: WatchState): HealthVerdict {
  const norm = gradNormRef(g);
  const F32_MAX = 3.4028234663852886e38;
  const normOk = Number.isFinite(norm) && norm * norm <= F32_MAX;
  const lossOk = Number.isFinite(loss);
  const smoothed = watch.seen > 0 ? watch.smoothed + (loss - watch.smoothed) / 16 : loss;
  const diverged = lossOk && watch.seen > 0 && smoothed - watch.lowest > 9 * Math.max(Math.abs(watch.lowest), 1);
  const flags = (lossOk ? 0 : 1) | (normOk ? 0 : 2) | (diverged ? 4 : 0);
  const scale = clipNorm > 0 && normOk ? Math.min(1, clipNorm / (norm + 1e-6)) : 1;
  const next = flags === 0 ? { smoothed, lowest: watch.seen > 0 ? Math.min(watch.lowest, smoothed) : smoothed, seen: watch.seen + 1, t: watch.t + 1 } : watch;
  return { norm: Number.isNaN(norm) || normOk ? norm : Infinity, flags, scale, next };
}
