// Activations, forward and backward.
//
// Forward: y = act(x), element-wise. Backward: dx = dy * act'(x), where act' is written in terms of
// the OUTPUT y, so the backward pass never needs the pre-activation values kept in memory:
//   relu        y' = [y > 0]
//   leaky_relu  y' = y > 0 ? 1 : 0.01     (slope > 0, so the sign of y is the sign of x)
//   tanh        y' = 1 - y^2
//   sigmoid     y' = y (1 - y)
//   softplus    y' = sigmoid(x) = 1 - exp(-y)   (as e^y = 1 + e^x)
//   elu         y' = y > 0 ? 1 : y + 1          (alpha 1: y = e^x - 1 for x <= 0, so e^x = y + 1)
//   gelu        y' from the PRE-ACTIVATION x: GELU is not monotonic (its minimum is near x = -0.75),
//               so y does not tell x. `act_grad`'s argument is then x, and a kernel that folds it
//               binds the pre-activation where the others bind y (GRAD_FROM_INPUT; the model keeps
//               that tensor: Tensor.gradSource).
// The WGSL functions `act` and `act_grad` are also pasted into the matmul, conv and GroupNorm
// epilogues, where most of the model's activations run; the model records the stand-alone
// kernels where no product is there to fuse into: the backward of a layer's activation into its
// own output's gradient when the layer below cannot take it (dense, conv and GroupNorm layers),
// and the Bernoulli decoder's pictures (sigmoid of the logits, sized by their binding).
// Bindings: forward (x: read, y: write); backward (y: read, dy: read, dx: write).
// Grid: one invocation per element, ACTIVATION_WORKGROUP wide, split over x/y for large arrays.
// The element count is in the source, or (forward, `sizedByBinding`) read from y's binding, which
// lets the model's forward graphs of any row count share one pipeline.
// Reference: tests/reference/dense.ts (actRef, actDerivRef); benchmark: bench/activation.ts.
import { ConfigError } from './errors';
import { wgsl } from './wgsl';
import { checkChoice, checkShape, declareBindings, exactWhenSized, f32Literal, FLAT_INDEX_WGSL, grid1D, minBindingBytes, read, write, type Kernel } from './common';
import { EXPM1_SERIES_BELOW, expm1Series, LOG1P_SERIES_BELOW, log1pSeries } from './series';
import { load32, withHalf, type HalfBindings } from './half';

export const ACTIVATIONS = ['relu', 'leaky_relu', 'tanh', 'sigmoid', 'softplus', 'elu', 'gelu', 'none'] as const;
export type Activation = (typeof ACTIVATIONS)[number];

/**
 * Activations whose `act_grad` takes the pre-activation x instead of the output y (their
 * derivative is no function of y). Their backward kernels bind x under the binding name 'y'.
 */
export const GRAD_FROM_INPUT: readonly Activation[] = ['gelu'];

/** Whether act_grad of `kind` reads the pre-activation (true) or the output (false). */
export const gradFromInput = (kind: Activation): boolean => GRAD_FROM_INPUT.includes(kind);

/** sqrt(2 / pi) and the cubic coefficient of GELU's tanh approximation (PyTorch's approximate='tanh'). */
export const GELU_SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
export const GELU_CUBIC = 0.044715;
/** Beyond |x| = GELU_CLAMP, sigmoid(2u) is 0 or 1 in f32; x is clamped there inside u so x^3 cannot overflow. */
const GELU_CLAMP = 12;

export const LEAKY_RELU_SLOPE = 0.01;
const ACTIVATION_WORKGROUP = 256;

/** Throws unless `kind` is an activation: an unknown name would otherwise compile as the identity. */
export function checkActivation(kernel: string, what: string, kind: unknown): asserts kind is Activation {
  checkChoice(kernel, what, kind, ACTIVATIONS);
}

/** WGSL `fn act(x: f32) -> f32` and `fn act_grad(y: f32) -> f32` for one activation. */
export function activationWGSL(kind: Activation): string {
  checkActivation('activationWGSL', 'activation', kind);
  return wgsl`
fn act(x: f32) -> f32 {
#if ${kind === 'relu'}
  return max(x, 0.0);
#elif ${kind === 'leaky_relu'}
  return select(${LEAKY_RELU_SLOPE} * x, x, x > 0.0);
#elif ${kind === 'tanh'}
  // tanh(15) rounds to 1 in f32, and clamping avoids inf/inf inside some tanh implementations.
  // Some (SwiftShader's) lose relative precision near 0 (tanh(1e-6) 2% off): there it is the
  // series x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835 (truncation under 1e-9 for |x| < 0.2).
  let x2 = x * x;
  let series = x * (1.0 - x2 * (1.0 / 3.0 - x2 * (2.0 / 15.0 - x2 * (17.0 / 315.0 - x2 * (62.0 / 2835.0)))));
  return select(tanh(clamp(x, -15.0, 15.0)), series, abs(x) < 0.2);
#elif ${kind === 'sigmoid'}
  let e = exp(-abs(x));
  return select(e / (1.0 + e), 1.0 / (1.0 + e), x >= 0.0);
#elif ${kind === 'softplus'}
  // WGSL has no log1p: log(1 + e) keeps none of e's digits once e is under f32's epsilon (x < -16.6
  // gave y = 0, and a zero gradient from it), so for small e it is log1p's series (series.ts).
  let e = exp(-abs(x));
  let log1p_e = select(log(1.0 + e), ${log1pSeries('e')}, e < ${f32Literal(LOG1P_SERIES_BELOW)});
  return max(x, 0.0) + log1p_e;
#elif ${kind === 'elu'}
  // PyTorch's nn.ELU (alpha 1). WGSL has no expm1: exp(x) - 1 loses relative precision as x
  // nears 0, so there it is expm1's series (series.ts).
  let em1 = select(exp(x) - 1.0, ${expm1Series('x')}, x > ${f32Literal(-EXPM1_SERIES_BELOW)});
  return select(em1, x, x > 0.0);
#elif ${kind === 'gelu'}
  // PyTorch's approximate='tanh': 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3), written as
  // x sigmoid(2u): 1 + tanh(u) cancels for x below about -3 (and SwiftShader's tanh loses digits
  // near 0), while the sigmoid of e = exp(-2|u|) keeps them. x is clamped inside u only (x^3).
  let g = gelu_parts(x);
  return x * g.x;
#else
  return x;
#endif
}

fn act_grad(y: f32) -> f32 {
#if ${kind === 'relu'}
  return select(0.0, 1.0, y > 0.0);
#elif ${kind === 'leaky_relu'}
  return select(${LEAKY_RELU_SLOPE}, 1.0, y > 0.0);
#elif ${kind === 'tanh'}
  return 1.0 - y * y;
#elif ${kind === 'sigmoid'}
  return y * (1.0 - y);
#elif ${kind === 'softplus'}
  // 1 - exp(-y) cancels as y nears 0: there it is -expm1(-y), by its series (series.ts).
  return select(1.0 - exp(-y), -(${expm1Series('(-y)')}), y < ${f32Literal(EXPM1_SERIES_BELOW)});
#elif ${kind === 'elu'}
  // y > 0 exactly when x > 0; below, e^x = y + 1 (absolute error under 6e-8 as y nears -1).
  return select(y + 1.0, 1.0, y > 0.0);
#elif ${kind === 'gelu'}
  // The argument is the pre-activation x (GRAD_FROM_INPUT): s + 2 x s (1 - s) u'(x), s = sigmoid(2u),
  // s (1 - s) = e / (1 + e)^2. The second term uses the clamped x: beyond it e is 0 in f32, and an
  // unclamped x times u'(x) could overflow to inf * 0.
  let g = gelu_parts(y);
  let xc = clamp(y, -${GELU_CLAMP}.0, ${GELU_CLAMP}.0);
  let du = ${f32Literal(GELU_SQRT_2_OVER_PI)} * (1.0 + ${f32Literal(3 * GELU_CUBIC)} * xc * xc);
  return g.x + 2.0 * xc * du * g.y;
#else
  return 1.0;
#endif
}
#if ${kind === 'gelu'}

// (sigmoid(2u), sigmoid(2u) (1 - sigmoid(2u))) at x, from e = exp(-2|u|) (no cancellation).
fn gelu_parts(x: f32) -> vec2<f32> {
  let xc = clamp(x, -${GELU_CLAMP}.0, ${GELU_CLAMP}.0);
  let u = ${f32Literal(GELU_SQRT_2_OVER_PI)} * (xc + ${f32Literal(GELU_CUBIC)} * xc * xc * xc);
  let e = exp(-2.0 * abs(u));
  let r = 1.0 / (1.0 + e);
  return vec2<f32>(select(e * r, r, u >= 0.0), e * r * r);
}
#endif
`;
}

export interface ActivationParams {
  /** The activation, named as matmul and the conv kernels name theirs. */
  activation?: Activation;
  /** The same, by its 0.4 name: give one of the two. */
  kind?: Activation;
  /** Number of elements. */
  count: number;
  /** Backward: 'y' stored as f16 (a half-precision activation; half.ts). */
  f16?: HalfBindings;
}

export interface ActivationForwardParams extends ActivationParams {
  /**
   * The element count is y's binding length (arrayLength), not a number in the source, so that one
   * pipeline serves every count; for callers that bind exactly `count` elements of y.
   */
  sizedByBinding?: boolean;
}

/** The activation of `p`, given as `activation` or (its 0.4 name) `kind`, checked. */
function activationOf(kernel: string, p: ActivationParams): Activation {
  if (p.activation !== undefined && p.kind !== undefined && p.activation !== p.kind) {
    throw new ConfigError(`${kernel}: activation '${String(p.activation)}' and kind '${String(p.kind)}' disagree; give activation alone (kind is its older name)`);
  }
  const act = p.activation ?? p.kind;
  if (act === undefined) throw new ConfigError(`${kernel}: no activation; give one, e.g. { activation: 'relu', count }`);
  checkActivation(kernel, p.activation !== undefined ? 'activation' : 'kind', act);
  return act;
}

/** y = act(x) over `count` elements. */
export function activationForward(p: ActivationForwardParams): Kernel {
  const act = activationOf('activation_forward', p);
  checkShape('activation_forward', { count: p.count });
  // Its x and y are f32 only: an f16 list would otherwise be dropped, and the kernel read f16 data as f32.
  if (p.f16?.length) throw new ConfigError('activation_forward: x and y are f32, so it has no f16 bindings; leave out its f16 list');
  const idx = FLAT_INDEX_WGSL(ACTIVATION_WORKGROUP);
  const bindings = [read('x'), write('y')];
  const code = wgsl`
${activationWGSL(act)}
${declareBindings(bindings)}

@compute @workgroup_size(${ACTIVATION_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${idx};
  if (i >= ${p.sizedByBinding ? 'arrayLength(&y)' : `${p.count}u`}) { return; }
  y[i] = act(x[i]);
}`;
  return {
    name: `activation_forward_${act}`,
    code,
    bindings,
    minBytes: minBindingBytes(bindings, { x: p.count, y: p.count }),
    ...exactWhenSized(p.sizedByBinding, 'y'),
    workgroups: grid1D(p.count, ACTIVATION_WORKGROUP),
  };
}

/** dx = dy * act'(y) over `count` elements, from the forward output y (for GRAD_FROM_INPUT activations, 'y' holds the pre-activation x). */
export function activationBackward(p: ActivationParams): Kernel {
  const act = activationOf('activation_backward', p);
  checkShape('activation_backward', { count: p.count });
  const idx = FLAT_INDEX_WGSL(ACTIVATION_WORKGROUP);
  const { bindings, enable, tag } = withHalf('activation_backward', [read('y'), read('dy'), write('dx')], p.f16, ['y']);
  const code = wgsl`${enable}
${activationWGSL(act)}
${declareBindings(bindings)}

@compute @workgroup_size(${ACTIVATION_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${idx};
  if (i >= ${p.count}u) { return; }
  dx[i] = dy[i] * act_grad(${load32(p.f16, 'y', 'i')});
}`;
  return {
    name: `activation_backward_${act}${tag}`,
    code,
    bindings,
    minBytes: minBindingBytes(bindings, { y: p.count, dy: p.count, dx: p.count }),
    workgroups: grid1D(p.count, ACTIVATION_WORKGROUP),
  };
}
