// Reparameterized sampling z = mu + exp(0.5 logvar) * eps, eps ~ N(0, I), forward and backward,
// plus sampling from the prior. Sampling only samples: the KL and every other term of the
// objective live with the objectives (elbo.ts, iwae.ts).
//
// The Gaussian posterior's parameters sit in one tensor q with a row per example; where mu and
// logvar are inside a row is a `PosteriorLayout` given by the model (src/model/sampler.ts), so
// no kernel assumes it. With L samples per example, z and eps are [L*B, Z] with row l*B + b, so
// the decoder sees L stacked batches. Noise is counter-based Philox: element e of the flattened
// eps draws philox(counter = (e mod 2^32 / 4, step counter, stream, e / 2^32), key = seed) and
// takes normal e % 4 of the two Box-Muller pairs, so any element can be regenerated anywhere and a
// seed reproduces a run on the same device bit for bit. The TypeScript twin `noiseAt` (src/noise.ts)
// computes the same function: equal bit for bit on SwiftShader, where the tests require it, and
// within 2e-6 on a GPU whose division, sqrt or fused multiply-adds round differently (src/rng.ts
// says why those and nothing else can differ). A training step numbers its own batch: element
// (l * noise_rows + noise_row0 + b) * Z + j (see StepParams) of the step's counter. An evaluation
// (`counterPerSample`) numbers the example: element (noise_row0 + b) * Z + j, sample l from
// counter + l, so an example's noise depends on neither the batch it is split into, nor the data
// set's size, nor how its samples are chunked. A call can number 2^32 draws or more (50k examples
// at Z = 2048 and 64 samples), so e is a 64-bit number whose high word is Philox's 4th counter
// word: far-apart rows never repeat each other's noise, and below 2^32 the draws are what they were.
// Backward: dq = dq_direct + chain rule of z through (mu, logvar) applied to dz (+ dz_direct):
// dmu = sum_l dz, dlogvar = sum_l dz * eps * sigma / 2. dq_direct carries the objective's own
// gradient on mu and logvar (the closed-form KL, or IWAE's log q term), dz_direct its gradient
// on z that does not pass through the decoder (IWAE's log p(z)); both are written by the
// objective, which keeps this kernel free of any knowledge of the loss.
// Bindings: forward (params: uniform, q: read, z, eps: write);
//           backward (q, eps, dz, dq_direct, [dz_direct]: read, dq: write);
//           prior (params, z: write).
// Grid: forward one invocation per (example, latent); backward the same; prior per element.
import { ConfigError, shown } from './errors';
import { checkShape, declareBindings, exactWhenSized, FLAT_INDEX_WGSL, grid1D, minBindingBytes, read, sizedBindings, STEP_PARAMS, uniform, write, type Kernel } from './common';
import { PHILOX_WGSL } from './philox';
import { wgsl } from './wgsl';

const REPARAM_WORKGROUP = 64;

/** Where mu and logvar of latent j sit in the posterior tensor: q[b * stride + mu + j], q[b * stride + logvar + j]. */
export interface PosteriorLayout {
  latent: number;
  stride: number;
  mu: number;
  logvar: number;
}

export interface ReparamParams {
  batch: number;
  /** Monte Carlo samples per example (L). */
  samples: number;
  layout: PosteriorLayout;
}

/**
 * Throws a ConfigError unless the layout is one a kernel can index: latent and stride positive
 * integers, mu and logvar non-negative ones, and the two ranges [mu, mu + latent) and
 * [logvar, logvar + latent) apart and inside a row of `stride` values. Overlapping ranges would
 * read one value as both a mean and a log-variance, and the backward kernels would write both
 * gradients to it; a range past the stride runs into the next row.
 */
export function checkLayout(kernel: string, l: PosteriorLayout): void {
  if (typeof l !== 'object' || l === null) throw new ConfigError(`${kernel}: layout must be { latent, stride, mu, logvar }, got ${shown(l)}`);
  const sizes = (['latent', 'stride'] as const).filter((k) => !(Number.isInteger(l[k]) && l[k] > 0)).map((k) => `${k}=${shown(l[k])}`);
  if (sizes.length) throw new ConfigError(`${kernel}: layout ${sizes.join(', ')} must be ${sizes.length > 1 ? 'positive integers' : 'a positive integer'}`);
  const offsets = (['mu', 'logvar'] as const).filter((k) => !(Number.isInteger(l[k]) && l[k] >= 0)).map((k) => `${k}=${shown(l[k])}`);
  if (offsets.length) throw new ConfigError(`${kernel}: layout ${offsets.join(', ')} must be ${offsets.length > 1 ? 'non-negative integers' : 'a non-negative integer'}`);
  const range = (k: 'mu' | 'logvar') => `${k} [${l[k]}, ${l[k] + l.latent})`;
  const past = (['mu', 'logvar'] as const).filter((k) => l[k] + l.latent > l.stride);
  if (past.length) {
    throw new ConfigError(`${kernel}: layout ${past.map(range).join(' and ')} ${past.length > 1 ? 'run' : 'runs'} past the row stride ${l.stride} into the next row; each row holds latent values of mu and of logvar, so the stride must be at least ${2 * l.latent} (e.g. { latent: ${l.latent}, stride: ${2 * l.latent}, mu: 0, logvar: ${l.latent} })`);
  }
  if (l.mu < l.logvar + l.latent && l.logvar < l.mu + l.latent) {
    throw new ConfigError(`${kernel}: layout ${range('mu')} and ${range('logvar')} overlap; mu and logvar need ${l.latent} values each, apart (e.g. mu: 0, logvar: ${l.latent})`);
  }
}

/** Values of the posterior tensor (q or its gradient) that B examples reach under layout `l`. */
export function posteriorValues(B: number, l: PosteriorLayout): number {
  return (B - 1) * l.stride + Math.max(l.mu, l.logvar) + l.latent;
}

/** WGSL accessors mu_at(b, j) and logvar_at(b, j) over the binding `q`. */
export function posteriorWGSL(l: PosteriorLayout): string {
  return `
fn mu_at(b: u32, j: u32) -> f32 { return q[b * ${l.stride}u + ${l.mu}u + j]; }
fn logvar_at(b: u32, j: u32) -> f32 { return q[b * ${l.stride}u + ${l.logvar}u + j]; }`;
}

export const NOISE_WGSL = /* wgsl */ `
${PHILOX_WGSL}
// The e-th standard normal of the stream selected by params, e = row * width + col in 64 bits
// (see the file header): the low word wraps, and the product's high word plus the carry of the
// addition make the high word.
fn noise_at(row: u32, width: u32, col: u32) -> f32 { return noise_at_counter(row, width, col, params.counter); }
fn noise_at_counter(row: u32, width: u32, col: u32, counter: u32) -> f32 {
  let e = row * width + col;
  let e_hi = philox_mulhi(row, width) + select(0u, 1u, e < col);
  let r = philox4x32(vec4<u32>(e >> 2u, counter, params.stream, e_hi), vec2<u32>(params.seed_lo, params.seed_hi));
  let lane = e & 3u;
  let pair = select(box_muller(r.z, r.w), box_muller(r.x, r.y), lane < 2u);
  return select(pair.y, pair.x, (lane & 1u) == 0u);
}`;

export interface ReparamForwardParams extends ReparamParams {
  /** z = mu with no noise (reconstructions and embeddings); the kernel then binds no eps. */
  meanOnly?: boolean;
  /**
   * Evaluations: sample l of example noise_row0 + b draws from counter params.counter + l at
   * element (noise_row0 + b) * Z + j, so an example's noise depends on neither the batch nor the
   * data set's size nor how the samples are split into chunks. Training steps, whose counter is
   * the step, number rows l * rows + b within their own batch instead.
   */
  counterPerSample?: boolean;
  /**
   * The batch is z's binding length over L * Z (arrayLength), not a number in the source, so that
   * one pipeline serves every batch. Only for callers that bind exactly L * batch * Z values of z
   * (the model's own graphs).
   */
  sizedByBinding?: boolean;
}

export function reparamForward(p: ReparamForwardParams): Kernel {
  const { batch: B, samples: L, layout } = p;
  checkShape('reparam_forward', { batch: B, samples: L });
  checkLayout('reparam_forward', layout);
  const Z = layout.latent;
  const meanOnly = !!p.meanOnly;
  const perSample = !!p.counterPerSample;
  // z = mu draws no noise: no eps binding and no step uniform (a binding the code never uses
  // would be left out of an app's 'auto' pipeline layout).
  const values = { q: posteriorValues(B, layout), z: L * B * Z, eps: L * B * Z };
  const unsized = [...(meanOnly ? [] : [uniform()]), read('q'), write('z'), ...(meanOnly ? [] : [write('eps')])];
  const bindings = p.sizedByBinding ? unsized : sizedBindings(unsized, values);
  const rows = p.sizedByBinding ? `(arrayLength(&z) / ${L * Z}u)` : `${B}u`;
  const code = wgsl`
#if ${!meanOnly}
${STEP_PARAMS.wgsl}
#endif
${declareBindings(bindings)}
#if ${!meanOnly}
${NOISE_WGSL}
#endif
${posteriorWGSL(layout)}

@compute @workgroup_size(${REPARAM_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(REPARAM_WORKGROUP)};
  let rows = ${rows};
  if (i >= rows * ${Z}u) { return; }
  let b = i / ${Z}u;
  let j = i % ${Z}u;
  let mu = mu_at(b, j);
  let sigma = exp(0.5 * logvar_at(b, j));
#if ${!meanOnly && !perSample}
  let noise_rows = select(params.noise_rows, rows, params.noise_rows == 0u);
#endif
  for (var l = 0u; l < ${L}u; l++) {
    let e = (l * rows + b) * ${Z}u + j;
#if ${meanOnly}
    z[e] = mu;
#elif ${perSample}
    let n = noise_at_counter(params.noise_row0 + b, ${Z}u, j, params.counter + l);
    eps[e] = n;
    z[e] = fma(sigma, n, mu);
#else
    let n = noise_at(l * noise_rows + params.noise_row0 + b, ${Z}u, j);
    eps[e] = n;
    z[e] = fma(sigma, n, mu);
#endif
  }
}`;
  return {
    name: meanOnly ? 'reparam_forward_mean' : perSample ? 'reparam_forward_per_sample' : 'reparam_forward',
    code,
    bindings,
    minBytes: minBindingBytes(bindings, values),
    ...exactWhenSized(p.sizedByBinding, 'z'),
    workgroups: grid1D(B * Z, REPARAM_WORKGROUP),
  };
}

export interface ReparamBackwardParams extends ReparamParams {
  /** Whether the objective adds a gradient on z of its own (dz_direct, [L*B, Z]). */
  directZ?: boolean;
}

/** dq = dq_direct + (sum_l dz, sum_l dz * eps * sigma / 2) at the mu and logvar positions. */
export function reparamBackward(p: ReparamBackwardParams): Kernel {
  const { batch: B, samples: L, layout } = p;
  checkShape('reparam_backward', { batch: B, samples: L });
  checkLayout('reparam_backward', layout);
  const Z = layout.latent;
  const directZ = !!p.directZ;
  // No step uniform: the backward reads none of it, and a binding the code never uses would be
  // left out of an app's 'auto' pipeline layout.
  const values = { q: posteriorValues(B, layout), eps: L * B * Z, dz: L * B * Z, dq_direct: posteriorValues(B, layout), dz_direct: L * B * Z, dq: posteriorValues(B, layout) };
  const bindings = sizedBindings([read('q'), read('eps'), read('dz'), read('dq_direct'), ...(directZ ? [read('dz_direct')] : []), write('dq')], values);
  const code = wgsl`
${declareBindings(bindings)}
${posteriorWGSL(layout)}

@compute @workgroup_size(${REPARAM_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(REPARAM_WORKGROUP)};
  if (i >= ${B * Z}u) { return; }
  let b = i / ${Z}u;
  let j = i % ${Z}u;
  let half_sigma = 0.5 * exp(0.5 * logvar_at(b, j));
  var dmu = 0.0;
  var dlv = 0.0;
  for (var l = 0u; l < ${L}u; l++) {
    let e = (l * ${B}u + b) * ${Z}u + j;
#if ${directZ}
    let g = dz[e] + dz_direct[e];
#else
    let g = dz[e];
#endif
    dmu += g;
    dlv += g * eps[e] * half_sigma;
  }
  let at_mu = b * ${layout.stride}u + ${layout.mu}u + j;
  let at_lv = b * ${layout.stride}u + ${layout.logvar}u + j;
  dq[at_mu] = dmu + dq_direct[at_mu];
  dq[at_lv] = dlv + dq_direct[at_lv];
}`;
  return {
    name: `reparam_backward${directZ ? '_direct_z' : ''}`,
    code,
    bindings,
    minBytes: minBindingBytes(bindings, values),
    workgroups: grid1D(B * Z, REPARAM_WORKGROUP),
  };
}

/** z[count] ~ N(0, 1) from the prior, with the same noise function as training; rows numbered from noise_row0. */
export function priorSample(p: { count: number; latent: number; sizedByBinding?: boolean }): Kernel {
  checkShape('prior_sample', { count: p.count, latent: p.latent });
  const bindings = [uniform(), write('z')];
  const code = /* wgsl */ `
${STEP_PARAMS.wgsl}
${declareBindings(bindings)}
${NOISE_WGSL}

@compute @workgroup_size(${REPARAM_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let e = ${FLAT_INDEX_WGSL(REPARAM_WORKGROUP)};
  // sizedByBinding: the count is z's binding length, so one pipeline serves every count.
  if (e >= ${p.sizedByBinding ? 'arrayLength(&z)' : `${p.count}u`}) { return; }
  z[e] = noise_at(params.noise_row0, ${p.latent}u, e);
}`;
  return { name: 'prior_sample', code, bindings, minBytes: minBindingBytes(bindings, { z: p.count }), ...exactWhenSized(p.sizedByBinding, 'z'), workgroups: grid1D(p.count, REPARAM_WORKGROUP) };
}
