// Optimizer updates over ALL parameters in one dispatch: weights, biases and any learned scale live
// in one flat buffer (each tensor at a 256-byte aligned offset) with the gradients, and Adam's
// moments, laid out identically, so one element-wise pass updates the whole model.
//   adam  (PyTorch semantics, L2 weight decay added to the gradient):
//         g += wd p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
//         p -= lr (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   sgd   p -= lr (g + wd p)
// The bias corrections are c1 = 1/(1 - b1^t), c2 = 1/sqrt(1 - b2^t). As in PyTorch, b and 1 - b
// are each rounded to f32 once from float64 and the corrections come from the float64 betas
// (src/step-params.ts): 1 - f32(0.999) would put v 1.3e-5 (relative) off PyTorch's. Padding
// between tensors has zero gradient and stays zero.
// It stays one dispatch after the step's health check rather than fused into the weight
// gradients' epilogues: fused (even in place) it ran slower on SwiftShader, the register kernels'
// scattered rows against this kernel's streaming (bench/RESULTS.md, "Adam fused into the weight
// gradients, measured").
// Gated (the training step's variant): the step's health check (grad-norm.ts) leaves in watch[1]
// whether to apply this step and the gradient-clipping scale; a step found bad (NaN/Inf or
// diverging) returns before touching p, m or v, and otherwise g is scaled before weight decay is
// added, as torch.nn.utils.clip_grad_norm_ before optimizer.step() does. Its corrections come from
// watch[2], which the health check derives from the steps it let through: a skipped step does not
// count in t, as with PyTorch's GradScaler, and nothing is read back to know it. The ungated
// variant takes them from StepParams (bias_c1, bias_c2, encoded from its `step`).
// Bindings: params (uniform), p (write), g (read), [m, v (write)], [watch (read), typed as its
// WATCH_VEC4S vec4s: a fixed-size array read at constant indices needs no bounds clamp, which on
// SwiftShader made its two loads a vector load each instead of a per-lane gather; the update ran
// 5-23% faster, 653k parameters, alternating]. Grid: 4 elements per invocation (vec4), split over
// x/y for large models.
import { checkChoice, checkShape, declareBindings, FLAT_INDEX_WGSL, grid1D, minBindingBytes, read, sizedArray, STEP_PARAMS, uniform, write, type Kernel } from './common';
import { WATCH_VEC4S } from './grad-norm';
import { wgsl } from './wgsl';

export const OPTIMIZERS = ['adam', 'sgd'] as const;
export type Optimizer = (typeof OPTIMIZERS)[number];
const OPTIMIZER_WORKGROUP = 256;

export interface OptimizerParams {
  kind: Optimizer;
  /** Parameter count; the flat buffers hold a multiple of 4 floats. */
  count: number;
  /** Read the step's verdict and clip scale from `watch` (see grad-norm.ts). */
  gated?: boolean;
}

export function optimizerStep(p: OptimizerParams): Kernel {
  // An unknown kind ('Adam') would otherwise run as SGD.
  checkChoice('optimizer_step', 'kind', p.kind, OPTIMIZERS);
  checkShape('optimizer_step', { count: p.count });
  const adam = p.kind === 'adam';
  const vecs = Math.ceil(p.count / 4);
  // Sized arrays: the count is in the source already, and their bounds checks are cheaper (common.ts).
  const vec4s = sizedArray('vec4<f32>', vecs);
  const gated = !!p.gated;
  const bindings = [uniform(), write('p', vec4s), read('g', vec4s), ...(adam ? [write('m', vec4s), write('v', vec4s)] : []), ...(gated ? [read('watch', sizedArray('vec4<f32>', WATCH_VEC4S))] : [])];
  const code = wgsl`
${STEP_PARAMS.wgsl}
${declareBindings(bindings)}

@compute @workgroup_size(${OPTIMIZER_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(OPTIMIZER_WORKGROUP)};
  if (i >= ${vecs}u) { return; }
  let w = p[i];
#if ${gated}
  let verdict = watch[1];
  if (verdict.x == 0.0) { return; }
  let grad = g[i] * verdict.y + params.weight_decay * w;
#else
  let grad = g[i] + params.weight_decay * w;
#endif
#if ${adam}
#if ${gated}
  let c = watch[2].xy;
#else
  let c = vec2<f32>(params.bias_c1, params.bias_c2);
#endif
  let m1 = params.beta1 * m[i] + params.one_minus_beta1 * grad;
  let v1 = params.beta2 * v[i] + params.one_minus_beta2 * grad * grad;
  m[i] = m1;
  v[i] = v1;
  p[i] = w - params.lr * (m1 * c.x) / (sqrt(v1) * c.y + params.adam_eps);
#else
  p[i] = w - params.lr * grad;
#endif
}`;
  return {
    name: `optimizer_${p.kind}${gated ? '_gated' : ''}`,
    code,
    bindings,
    // The kernel works on whole vec4s: count 6 reaches 8 values of each buffer.
    minBytes: minBindingBytes(bindings, { p: p.count, g: p.count, m: p.count, v: p.count, watch: 4 * WATCH_VEC4S }),
    workgroups: grid1D(vecs, OPTIMIZER_WORKGROUP),
  };
}
