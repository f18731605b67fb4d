// Batch assembly on the GPU: the dataset stays resident as packed u8 pixels (4 per u32) or as f32
// rows (gatherRows: real-valued data, gathered as it is), a
// permutation of example indices is uploaded once per epoch, and each step gathers its rows
// perm[batch_start + r] into x[rows, D] as grey levels / 255. Rows past the end of the dataset
// (the last, partial batch) are zero and excluded from the loss through params.valid_rows.
// Binarization (the standard binarized-MNIST protocol) replaces each grey level g by a Bernoulli
// draw with P(1) = g / 255: pixel d of example i takes word (d / 4, i, key, stream) of Philox.
// 'dynamic' binarizes afresh each time a picture is used (Salakhutdinov & Murray 2008): a training
// step (params.stream TRAINING_STREAM) keys its draws by its step counter, params.counter, so no
// two steps share them and a resumed run, which numbers its steps on, draws what the unbroken one
// would; every other graph (an evaluation: elbo, the IWAE bound) draws key 0 of a stream of its
// own, the same at every evaluation and never a training step's. 'fixed' draws key 0 of the
// training stream everywhere: one binarization of the set, which its evaluation sees too.
// The comparison u < g / 255 is done exactly in integers, with u = (k + 0.5) 2^-23 as in
// u32_to_unit_f32: (2k + 1) * 255 < g * 2^24, so the TypeScript twin (binarizedPixel in
// src/data/binarize.ts) agrees bit for bit.
// Dequantization (for continuous likelihoods on 8-bit data, the usual uniform dequantization)
// gives grey level g the value (g + u) / 256, u = (k + 0.5) 2^-23 uniform in (0, 1), keyed as
// dynamic binarization is, in streams of its own: fresh noise at every training step, so the model
// cannot fit one draw per example. f32 addition is correctly rounded in WGSL, so the twin
// (dequantizedPixel) rounds g + u to f32 and matches bit for bit. A density p on these values
// gives -log P(8-bit x) <= E_u[-log p((x + u) / 256)] + D log 256, the bound that bits/dim
// figures in the literature report.
// Bindings: params (uniform), pixels (read, u32), perm (read, u32), x (write).
// Grid: one invocation per element of x, or, when D is a multiple of 4 (MNIST's 784), per 4
// elements: every row then starts on a word boundary, so one u32 load brings 4 pixels, which saves
// 3 of every 4 loads and index divisions (each a per-lane gather on a CPU adapter).
import { ConfigError } from './errors';
import { checkChoice, checkShape, declareBindings, FLAT_INDEX_WGSL, grid1D, minBindingBytes, read, sizedArray, STEP_PARAMS, uniform, write, type Kernel } from './common';
import { PHILOX_WGSL } from './philox';
import { wgsl } from './wgsl';

const GATHER_WORKGROUP = 256;
/** params.stream of a training step (STREAM.train in src/step-params.ts): its draws are keyed by params.counter. */
export const TRAINING_STREAM = 0;
/** Philox streams (the counter's last word) of the data draws, the training steps' and the evaluations'; STREAM in src/step-params.ts lists them with the rest. */
export const BINARIZE_STREAM = 4;
export const DEQUANTIZE_STREAM = 6;
export const BINARIZE_EVAL_STREAM = 7;
export const DEQUANTIZE_EVAL_STREAM = 8;

export const BINARIZE = ['none', 'dynamic', 'fixed'] as const;
export type Binarize = (typeof BINARIZE)[number];

/**
 * The opening of a gather's main: the flat invocation index i (leaving past `total`), its row r of
 * `width` invocations, the row's slot in the order, and whether that is a real example (not batch
 * padding, not past the data set's end).
 */
function gatheredRow(total: number, width: number): string {
  return `let i = ${FLAT_INDEX_WGSL(GATHER_WORKGROUP)};
  if (i >= ${total}u) { return; }
  let r = i / ${width}u;
  let slot = params.batch_start + r;
  let real = r < params.valid_rows && slot < params.dataset_count;`;
}

export interface GatherParams {
  rows: number;
  dim: number;
  binarize?: Binarize;
  /** (g + u) / 256 with uniform u instead of g / 255; excludes binarization. */
  dequantize?: boolean;
}

export function gatherBatch(p: GatherParams): Kernel {
  const { rows, dim: D } = p;
  checkShape('gather_batch', { rows, dim: D });
  const binarize = p.binarize ?? 'none';
  checkChoice('gather_batch', 'binarize', binarize, BINARIZE);
  const dequantize = !!p.dequantize;
  if (dequantize && binarize !== 'none') throw new ConfigError('gatherBatch: dequantization is for grey levels; it cannot be combined with binarization');
  const draws = binarize !== 'none' || dequantize;
  const perWord = D % 4 === 0;
  /** Invocations per row: one per pixel, or one per word of 4 pixels. */
  const W = perWord ? D / 4 : D;
  const bindings = [uniform(), read('pixels', 'array<u32>'), read('perm', 'array<u32>'), write('x', perWord ? sizedArray('vec4<f32>', rows * W) : sizedArray('f32', rows * D))];
  const code = wgsl`
${STEP_PARAMS.wgsl}
${declareBindings(bindings)}
#if ${draws}
${PHILOX_WGSL}
// 4 uniform draws (as 23-bit integers k) for pixels 4w..4w+3 of example i: a training step's,
// keyed by its counter, or an evaluation's (see the header).
fn pixel_draws(i: u32, w: u32) -> vec4<u32> {
#if ${binarize === 'fixed'}
  let key = 0u;
  let stream = ${BINARIZE_STREAM}u;
#else
  let training = params.stream == ${TRAINING_STREAM}u;
  let key = select(0u, params.counter, training);
  let stream = select(${dequantize ? DEQUANTIZE_EVAL_STREAM : BINARIZE_EVAL_STREAM}u, ${dequantize ? DEQUANTIZE_STREAM : BINARIZE_STREAM}u, training);
#endif
  return philox4x32(vec4<u32>(w, i, key, stream), vec2<u32>(params.seed_lo, params.seed_hi)) >> vec4<u32>(9u);
}
// 1 if (k + 0.5) 2^-23 < g / 255, exactly.
fn bernoulli_level(k: u32, g: u32) -> f32 {
  return select(0.0, 1.0, (2u * k + 1u) * 255u < (g << 24u));
}
// (g + (k + 0.5) 2^-23) / 256: one rounding, in the addition.
fn dequantized_level(k: u32, g: u32) -> f32 {
  return (f32(g) + (f32(k) + 0.5) * ${2 ** -23}) / 256.0;
}
#endif

@compute @workgroup_size(${GATHER_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${gatheredRow(rows * W, W)}
#if ${perWord}
  var levels = vec4<f32>(0.0);
  if (real) {
    let example = perm[slot];
    let w = i % ${W}u;
    let word = pixels[example * ${W}u + w];
    let g = vec4<u32>(word & 0xffu, (word >> 8u) & 0xffu, (word >> 16u) & 0xffu, word >> 24u);
#if ${binarize !== 'none'}
    let k = pixel_draws(example, w);
    levels = vec4<f32>(bernoulli_level(k.x, g.x), bernoulli_level(k.y, g.y), bernoulli_level(k.z, g.z), bernoulli_level(k.w, g.w));
#elif ${dequantize}
    let k = pixel_draws(example, w);
    levels = vec4<f32>(dequantized_level(k.x, g.x), dequantized_level(k.y, g.y), dequantized_level(k.z, g.z), dequantized_level(k.w, g.w));
#else
    levels = vec4<f32>(g) / 255.0;
#endif
  }
  // One vec4 store: on SwiftShader one address and one bounds check for the four.
  x[i] = levels;
#else
  var value = 0.0;
  if (real) {
    let example = perm[slot];
    let d = i % ${D}u;
    let pixel = example * ${D}u + d;
    let g = (pixels[pixel >> 2u] >> ((pixel & 3u) * 8u)) & 0xffu;
#if ${binarize !== 'none'}
    value = bernoulli_level(pixel_draws(example, d >> 2u)[d & 3u], g);
#elif ${dequantize}
    value = dequantized_level(pixel_draws(example, d >> 2u)[d & 3u], g);
#else
    value = f32(g) / 255.0;
#endif
  }
  x[i] = value;
#endif
}`;
  return {
    name: `gather_batch${binarize === 'none' ? '' : '_binarize_' + binarize}${dequantize ? '_dequantize' : ''}`,
    code,
    bindings,
    // pixels and perm hold the resident data set, whose size only params.dataset_count knows.
    minBytes: minBindingBytes(bindings, { pixels: 1, perm: 1, x: rows * D }),
    workgroups: grid1D(rows * W, GATHER_WORKGROUP),
  };
}

export interface RowGatherParams { rows: number; dim: number }

/**
 * x[r, d] = data[perm[batch_start + r], d] from rows of f32 values kept as they are (real-valued
 * data for a Gaussian model, or probabilities): no levels, no noise. Padding rows are zero. Per
 * vec4 when D is a multiple of 4, as gatherBatch. Bindings: params, data (read), perm (read), x.
 */
export function gatherRows(p: RowGatherParams): Kernel {
  const { rows, dim: D } = p;
  checkShape('gather_rows', { rows, dim: D });
  const perVec = D % 4 === 0;
  const type = perVec ? 'vec4<f32>' : 'f32';
  /** Invocations per row: one per value, or one per vec4. */
  const W = perVec ? D / 4 : D;
  const bindings = [uniform(), read('data', `array<${type}>`), read('perm', 'array<u32>'), write('x', sizedArray(type, rows * W))];
  const code = wgsl`
${STEP_PARAMS.wgsl}
${declareBindings(bindings)}

@compute @workgroup_size(${GATHER_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${gatheredRow(rows * W, W)}
  var value = ${type}(0.0);
  if (real) { value = data[perm[slot] * ${W}u + i % ${W}u]; }
  x[i] = value;
}`;
  return {
    name: 'gather_rows', code, bindings,
    // data and perm hold the resident data set, whose size only params.dataset_count knows.
    minBytes: minBindingBytes(bindings, { data: 1, perm: 1, x: rows * D }),
    workgroups: grid1D(rows * W, GATHER_WORKGROUP),
  };
}

export interface LabelGatherParams { rows: number; classes: number }

/** condition[r, c] = 1 where c is the label of example perm[batch_start + r] (zero rows for padding). */
export function gatherLabels(p: LabelGatherParams): Kernel {
  const { rows, classes: C } = p;
  checkShape('gather_labels', { rows, classes: C });
  const bindings = [uniform(), read('labels', 'array<u32>'), read('perm', 'array<u32>'), write('condition')];
  const code = wgsl`
${STEP_PARAMS.wgsl}
${declareBindings(bindings)}

@compute @workgroup_size(${GATHER_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  ${gatheredRow(rows * C, C)}
  var hot = 0.0;
  if (real) { hot = select(0.0, 1.0, labels[perm[slot]] == i % ${C}u); }
  condition[i] = hot;
}`;
  return { name: 'gather_labels', code, bindings, minBytes: minBindingBytes(bindings, { labels: 1, perm: 1, condition: rows * C }), workgroups: grid1D(rows * C, GATHER_WORKGROUP) };
}
