// Optimizer updates over ALL parameters in one dispatch: weights, biases and any learned scale live
// in one flat buffer (each tensor at a 256-byte aligned offset) with the gradients, and Adam's
// moments, laid out identically, so one element-wise pass updates the whole model.
//   adam  (PyTorch semantics, L2 weight decay added to the gradient):
//         g += wd p; m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
//         p -= lr (m / (1 - b1^t)) / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   sgd   p -= lr (g + wd p)
// The bias corrections c1 = 1/(1 - b1^t), c2 = 1/sqrt(1 - b2^t) arrive in StepParams, so the step
// count never needs reading back. Padding between tensors has zero gradient and stays zero.
// Bindings: params (uniform), p (write), g (read), [m, v (write)].  Grid: 4 elements per
// invocation (vec4), split over x/y for large models.
import { declareBindings, FLAT_INDEX_WGSL, grid1D, read, STEP_PARAMS, uniform, write, type Kernel } from './common';
import { wgsl } from './wgsl';

export type Optimizer = 'adam' | 'sgd';
const OPTIMIZER_WORKGROUP = 256;

export interface OptimizerParams {
  kind: Optimizer;
  /** Parameter count; the flat buffers hold a multiple of 4 floats. */
  count: number;
}

export function optimizerStep(p: OptimizerParams): Kernel {
  const adam = p.kind === 'adam';
  const vecs = Math.ceil(p.count / 4);
  const vec4s = 'array<vec4<f32>>';
  const bindings = [uniform(), write('p', vec4s), read('g', vec4s), ...(adam ? [write('m', vec4s), write('v', vec4s)] : [])];
  const code = wgsl`
${STEP_PARAMS.wgsl}
${declareBindings(bindings)}

@compute @workgroup_size(${OPTIMIZER_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(OPTIMIZER_WORKGROUP)};
  if (i >= ${vecs}u) { return; }
  let w = p[i];
  let grad = g[i] + params.weight_decay * w;
#if ${adam}
  let m1 = params.beta1 * m[i] + (1.0 - params.beta1) * grad;
  let v1 = params.beta2 * v[i] + (1.0 - params.beta2) * grad * grad;
  m[i] = m1;
  v[i] = v1;
  p[i] = w - params.lr * (m1 * params.bias_c1) / (sqrt(v1) * params.bias_c2 + params.adam_eps);
#else
  p[i] = w - params.lr * grad;
#endif
}`;
  return {
    name: `optimizer_${p.kind}`,
    code,
    bindings,
    workgroups: grid1D(vecs, OPTIMIZER_WORKGROUP),
  };
}
