// Reparameterized sampling z = mu + exp(0.5 logvar) * eps, eps ~ N(0, I), forward and backward,
// plus sampling from the prior.
//
// The encoder head writes mulv[B, 2Z]: columns [0, Z) are mu, [Z, 2Z) are logvar. With L samples
// per example, z and eps are [L*B, Z] with row l*B + b, so the decoder sees L stacked batches.
// Noise is counter-based Philox: element e of the flattened eps draws philox(counter =
// (e / 4, step counter, stream, 0), key = seed) and takes normal e % 4 of the two Box-Muller pairs,
// so any element can be regenerated anywhere (the TypeScript twin in src/noise.ts does exactly
// this) and a seed reproduces a run bit for bit.
// The forward also writes the per-example KL term and the backward adds the KL gradient, so the
// closed-form KL (math in elbo.ts) costs no pass of its own.
// Bindings: forward (params: uniform StepParams, mulv: read, z, eps, kl: write);
//           backward (params, mulv, eps, dz: read, dmulv: write);
//           prior (params, z: write).
// Grid: forward one invocation per example; backward one per (example, latent); prior per element.
import { FLAT_INDEX_WGSL, grid1D, STEP_PARAMS_WGSL, type Kernel } from './common';
import { KL_WGSL } from './elbo';
import { PHILOX_WGSL } from './philox';
import { wgsl } from './wgsl';

const REPARAM_WORKGROUP = 64;

export interface ReparamShape {
  batch: number;
  latent: number;
  /** Monte Carlo samples per example (L). */
  samples: number;
}

export interface ReparamForwardParams extends ReparamShape {
  /** z = mu with no noise (reconstructions and embeddings); eps is left untouched. */
  meanOnly?: boolean;
}

const NOISE_WGSL = /* wgsl */ `
${PHILOX_WGSL}
// The e-th standard normal of the stream selected by params (see the file header).
fn noise_at(e: u32) -> f32 {
  let r = philox4x32(vec4<u32>(e >> 2u, params.counter, params.stream, 0u), vec2<u32>(params.seed_lo, params.seed_hi));
  let lane = e & 3u;
  let pair = select(box_muller(r.z, r.w), box_muller(r.x, r.y), lane < 2u);
  return select(pair.y, pair.x, (lane & 1u) == 0u);
}`;

export function reparamForward(s: ReparamForwardParams): Kernel<ReparamShape> {
  const { batch: B, latent: Z, samples: L } = s;
  const meanOnly = !!s.meanOnly;
  const code = wgsl`
${STEP_PARAMS_WGSL}
@group(0) @binding(0) var<uniform> params: StepParams;
@group(0) @binding(1) var<storage, read> mulv: array<f32>;
@group(0) @binding(2) var<storage, read_write> z: array<f32>;
@group(0) @binding(3) var<storage, read_write> eps: array<f32>;
@group(0) @binding(4) var<storage, read_write> kl: array<f32>;
${NOISE_WGSL}
${KL_WGSL}

@compute @workgroup_size(${REPARAM_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let b = gid.x;
  if (b >= ${B}u) { return; }
  var kl_sum = 0.0;
  for (var j = 0u; j < ${Z}u; j++) {
    let mu = mulv[b * ${2 * Z}u + j];
    let lv = mulv[b * ${2 * Z}u + ${Z}u + j];
    kl_sum += kl_term(mu, lv);
    let sigma = exp(0.5 * lv);
    for (var l = 0u; l < ${L}u; l++) {
      let e = (l * ${B}u + b) * ${Z}u + j;
#if ${meanOnly}
      z[e] = mu;
#else
      let n = noise_at(e);
      eps[e] = n;
      z[e] = fma(sigma, n, mu);
#endif
    }
  }
  kl[b] = kl_sum;
}`;
  return {
    name: meanOnly ? 'reparam_forward_mean' : 'reparam_forward',
    code,
    bindings: [
      { name: 'params', kind: 'uniform' }, { name: 'mulv', kind: 'read' },
      { name: 'z', kind: 'write' }, { name: 'eps', kind: 'write' }, { name: 'kl', kind: 'write' },
    ],
    dispatch: (t) => [Math.ceil(t.batch / REPARAM_WORKGROUP), 1, 1],
  };
}

/**
 * dmu = sum_l dz + beta * dKL/dmu / n, dlogvar = sum_l dz * eps * sigma / 2 + beta * dKL/dlogvar / n,
 * where n = params.valid_rows and rows b >= n (batch padding) get zero gradient. dz already
 * carries the 1 / (L n) of the reconstruction mean.
 */
export function reparamBackward(s: ReparamShape): Kernel<ReparamShape> {
  const { batch: B, latent: Z, samples: L } = s;
  const code = /* wgsl */ `
${STEP_PARAMS_WGSL}
@group(0) @binding(0) var<uniform> params: StepParams;
@group(0) @binding(1) var<storage, read> mulv: array<f32>;
@group(0) @binding(2) var<storage, read> eps: array<f32>;
@group(0) @binding(3) var<storage, read> dz: array<f32>;
@group(0) @binding(4) var<storage, read_write> dmulv: array<f32>;
${KL_WGSL}

@compute @workgroup_size(${REPARAM_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x;
  if (i >= ${B * Z}u) { return; }
  let b = i / ${Z}u;
  let j = i % ${Z}u;
  let mu = mulv[b * ${2 * Z}u + j];
  let lv = mulv[b * ${2 * Z}u + ${Z}u + j];
  let half_sigma = 0.5 * exp(0.5 * lv);
  var dmu = 0.0;
  var dlv = 0.0;
  for (var l = 0u; l < ${L}u; l++) {
    let e = (l * ${B}u + b) * ${Z}u + j;
    dmu += dz[e];
    dlv += dz[e] * eps[e] * half_sigma;
  }
  let n = params.valid_rows;
  let kl_scale = select(0.0, params.kl_beta / f32(max(n, 1u)), b < n);
  dmulv[b * ${2 * Z}u + j] = dmu + kl_scale * kl_grad_mu(mu);
  dmulv[b * ${2 * Z}u + ${Z}u + j] = dlv + kl_scale * kl_grad_logvar(lv);
}`;
  return {
    name: 'reparam_backward',
    code,
    bindings: [
      { name: 'params', kind: 'uniform' }, { name: 'mulv', kind: 'read' }, { name: 'eps', kind: 'read' },
      { name: 'dz', kind: 'read' }, { name: 'dmulv', kind: 'write' },
    ],
    dispatch: (t) => [Math.ceil((t.batch * t.latent) / REPARAM_WORKGROUP), 1, 1],
  };
}

/** z[count] ~ N(0, 1) from the prior, with the same noise function as training. */
export function priorSample(p: { count: number }): Kernel<{ count: number }> {
  const code = /* wgsl */ `
${STEP_PARAMS_WGSL}
@group(0) @binding(0) var<uniform> params: StepParams;
@group(0) @binding(1) var<storage, read_write> z: array<f32>;
${NOISE_WGSL}

@compute @workgroup_size(${REPARAM_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = ${FLAT_INDEX_WGSL(REPARAM_WORKGROUP)};
  if (e >= ${p.count}u) { return; }
  z[e] = noise_at(e);
}`;
  return {
    name: 'prior_sample',
    code,
    bindings: [{ name: 'params', kind: 'uniform' }, { name: 'z', kind: 'write' }],
    dispatch: (t) => grid1D(t.count, REPARAM_WORKGROUP),
  };
}
