// What every kernel factory shares: the kernel description, the one helper that writes binding
// declarations, the per-step uniform block (declared once, see uniform.ts), and 1-D grid maths.
//
// A factory takes every parameter of its kernel, the shape included, and returns a `Kernel`:
// WGSL source, the bindings in order, and the workgroup grid for that shape. Nothing is left to
// bind but buffers, which the scheduler (src/graph.ts) or `webgpu-vae/kernels` supplies.
import { ConfigError, shown } from './errors';
import { uniformStruct } from './uniform';
import { wgsl } from './wgsl';

/** How a kernel sees one binding (all in @group(0), in the order listed). */
export type BindingKind = 'read' | 'write' | 'uniform';

export interface KernelBinding {
  /** The WGSL variable name, which is also the key callers bind a buffer to. */
  name: string;
  kind: BindingKind;
  /** WGSL type: `array<f32>` for storage and `StepParams` for uniforms unless given. */
  type?: string;
}

/** A kernel ready to bind: WGSL, its bindings, and the workgroup grid of its shape. */
export interface Kernel {
  /** Stable, readable name used in errors and profiles, e.g. `matmul_nt_relu`. */
  name: string;
  code: string;
  bindings: KernelBinding[];
  workgroups: [number, number, number];
  /**
   * The least bytes each binding must hold for this shape (what the kernel indexes; a uniform's
   * struct size), by binding name. `bind()` of a kernel from `webgpu-vae/kernels` refuses a
   * smaller buffer: WebGPU would clamp the out-of-range loads and drop the stores, silently.
   * Every factory in shaders/ fills it; a hand-written kernel may leave it out.
   */
  minBytes?: Record<string, number>;
  /**
   * The bindings a `sizedByBinding` kernel counts its work from (their arrayLength): bound longer
   * than `minBytes`, they give wrong results with no error, so `bind()` of a kernel from
   * `webgpu-vae/kernels` refuses any size but that one. The model binds its tensors at their
   * exact sizes (tensor.ts).
   */
  exactBindings?: readonly string[];
  /**
   * Uniform bindings whose contents the kernel fixes (e.g. a shape-generic kernel's sizes): the
   * runtime makes and fills these buffers, so callers bind only the others.
   */
  constants?: Record<string, Uint32Array>;
  /**
   * What to change when the grid is past the device's maxComputeWorkgroupsPerDimension, for a
   * kernel whose grid follows something other than the batch (e.g. a layer's width); a smaller
   * batch otherwise.
   */
  gridLimitFix?: string;
}

/** `@group(0) @binding(i) var<...> name: type;` for each binding, in order. */
export function declareBindings(bindings: readonly KernelBinding[]): string {
  return bindings
    .map((b, i) => {
      if (b.kind === 'uniform') return `@group(0) @binding(${i}) var<uniform> ${b.name}: ${b.type ?? STEP_PARAMS.name};`;
      return `@group(0) @binding(${i}) var<storage, ${b.kind === 'write' ? 'read_write' : 'read'}> ${b.name}: ${b.type ?? 'array<f32>'};`;
    })
    .join('\n');
}

/**
 * A storage array type of `count` elements, for a kernel whose size is in its source anyway.
 * WebGPU's bounds checks clamp an index into a runtime-sized array with the binding's length;
 * into a sized one with a constant, and on SwiftShader its loads ran 15-25% faster (one load per
 * lane, 1024x1024 of them, alternating: 14.3-14.8 against 16.4-19.9 ns a 4-lane load); the
 * binding must then hold the whole array, which minBindingBytes already asks.
 */
export const sizedArray = (element: string, count: number) => `array<${element}, ${count}>`;

/**
 * `bindings` with each storage array sized to hold `values[name]` scalars (whole elements, as
 * minBindingBytes counts them), for a kernel whose shape is in its source.
 */
export function sizedBindings(bindings: readonly KernelBinding[], values: Record<string, number>): KernelBinding[] {
  return bindings.map((b) => {
    if (b.kind === 'uniform') return b;
    const type = b.type ?? 'array<f32>';
    const element = /^array<(.+)>$/.exec(type)?.[1];
    const n = values[b.name];
    if (!element || /, \d+$/.test(element) || n === undefined) throw new Error(`sizedBindings: ${b.name} (${type}) is not a runtime-sized array with a value count`);
    const bytes = elementBytes(type);
    return { ...b, type: sizedArray(element, Math.ceil(Math.max(1, n) / (bytes.element / bytes.scalar))) };
  });
}

/** A binding type without its length: `array<f32, 12>` is `array<f32>`, what it holds. */
export const unsizedArray = (type: string) => type.replace(/^array<(.+), \d+>$/, 'array<$1>');

/** Shorthands for binding lists: `read('x')`, `write('y', 'array<vec4<f32>>')`, `uniform('params')`. */
export const read = (name: string, type?: string): KernelBinding => ({ name, kind: 'read', type });
export const write = (name: string, type?: string): KernelBinding => ({ name, kind: 'write', type });
export const uniform = (name = 'params', type?: string): KernelBinding => ({ name, kind: 'uniform', type });

/**
 * Per-step scalars shared by the kernels that need them: one uniform buffer per model, written
 * with `queue.writeBuffer` before each step (no readback, no rebuild). src/step-params.ts turns
 * the friendly StepParams object into these fields.
 */
export const STEP_PARAMS = uniformStruct('StepParams', [
  ['seed_lo', 'u32', 'RNG key'],
  ['seed_hi', 'u32', 'RNG key, high word'],
  ['counter', 'u32', 'RNG counter: advances once per step, so every step draws fresh noise (and fresh data draws: batch.ts)'],
  ['batch_start', 'u32', 'first index into the permutation for gathered batches'],
  ['valid_rows', 'u32', 'rows of this batch that hold real examples (the rest is padding)'],
  ['history_slot', 'u32', "where this step's loss goes in the loss history ring"],
  ['stream', 'u32', 'RNG stream: separates training noise from eval and sampling noise (and a training step\'s data draws from an evaluation\'s)'],
  ['dataset_count', 'u32', 'examples in the resident dataset (gather bound)'],
  ['lr', 'f32', 'learning rate'],
  ['beta1', 'f32', 'Adam beta1'],
  ['beta2', 'f32', 'Adam beta2'],
  ['one_minus_beta1', 'f32', '1 - beta1, taken in float64 and rounded once (as PyTorch passes it)'],
  ['one_minus_beta2', 'f32', '1 - beta2, taken in float64 and rounded once (as PyTorch passes it)'],
  ['beta1_frac_hi', 'u32', 'beta1 (float64) as a fraction of 2^64, high word (bias-correction.ts)'],
  ['beta1_frac_lo', 'u32', 'beta1 (float64) as a fraction of 2^64, low word'],
  ['beta2_frac_hi', 'u32', 'beta2 (float64) as a fraction of 2^64, high word'],
  ['beta2_frac_lo', 'u32', 'beta2 (float64) as a fraction of 2^64, low word'],
  ['adam_eps', 'f32', 'Adam epsilon'],
  ['bias_c1', 'f32', '1 / (1 - beta1^t)'],
  ['bias_c2', 'f32', '1 / sqrt(1 - beta2^t)'],
  ['adam_step', 'u32', 'the t of bias_c1 and bias_c2 (the step health check takes them when its own count agrees)'],
  ['weight_decay', 'f32', 'L2 weight decay added to the gradient'],
  ['kl_weight', 'f32', 'weight of the KL term this step: beta times the warm-up ramp (the ramp alone for beta-TCVAE, whose beta weighs the TC: tc.ts)'],
  ['free_bits', 'f32', 'free bits per latent dimension (0: off)'],
  ['total_samples', 'u32', 'importance samples per example over all chunks (IWAE evaluation)'],
  ['chunk', 'u32', 'index of this chunk of importance samples'],
  ['noise_rows', 'u32', 'rows per sample in the noise numbering (0: the graph\'s own rows)'],
  ['noise_row0', 'u32', 'first row of this batch in the noise numbering'],
  ['clip_norm', 'f32', 'global gradient-norm clipping threshold (0: off); see grad-norm.ts'],
  ['kl_capacity', 'f32', 'KL capacity C of this step, in nats (capacity-controlled objective); see elbo.ts'],
] as const);

/** Largest workgroup count per dimension guaranteed by WebGPU's default limits. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Splits `groups` workgroups over x and y so that large 1-D problems stay within the per-dimension
 * limit; kernels rebuild the flat index as `gid.x + gid.y * stride` with stride = x * workgroupSize.
 */
export function grid1D(items: number, workgroupSize: number): [number, number, number] {
  if (items > U32_MAX) throw new ConfigError(`a dispatch over ${items} items is past what a u32 index reaches (${U32_MAX}); use a smaller batch, or split the work`);
  const groups = Math.max(1, Math.ceil(items / workgroupSize));
  if (groups <= MAX_WORKGROUPS_PER_DIM) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(groups / y), y, 1];
}

/**
 * WGSL for the work items of the examples bound in `output`: its arrayLength in whole examples of
 * `perExample` elements, times the items of one example. A kernel sized this way
 * (`sizedByBinding`) serves every batch with one pipeline, provided `output` is bound at exactly
 * its examples: a longer binding gives wrong results. An f16 output (`half`) is bound rounded up
 * to 4 bytes, one value more for an odd count, which whole examples of two or more values absorb;
 * examples of one f16 value cannot be counted so, and are refused.
 */
export function itemsOfBoundExamples(output: string, perExample: number, itemsPerExample: number, half = false, kernel = 'kernel'): string {
  if (half && perExample === 1) throw new ConfigError(`${kernel}: sizedByBinding cannot count examples of one f16 value (an odd count's binding holds one more); leave sizedByBinding out, or store ${output} as f32`);
  return `(arrayLength(&${output}) / ${perExample}u * ${itemsPerExample}u)`;
}

/** `Kernel.exactBindings` of a kernel that counts its work from `names` when `sizedByBinding`, else nothing. */
export const exactWhenSized = (sizedByBinding: boolean | undefined, ...names: string[]): Pick<Kernel, 'exactBindings'> => (sizedByBinding ? { exactBindings: names } : {});

/** How a kernel sized by its binding counts its items: itemsOfBoundExamples's arguments. */
export interface BoundCount { output: string; perExample: number; itemsPerExample: number; half?: boolean; kernel?: string }

/** WGSL for a kernel's item count: `items` as a literal, or with `bound`, counted from its output binding. */
export function itemCountWGSL(items: number, bound: BoundCount | null | undefined): string {
  return bound ? itemsOfBoundExamples(bound.output, bound.perExample, bound.itemsPerExample, bound.half, bound.kernel) : `${items}u`;
}

/** WGSL expression for the flat index under `grid1D` (needs `gid` and `nwg` builtins in scope). */
export const FLAT_INDEX_WGSL = (workgroupSize: number) => `(gid.x + gid.y * nwg.x * ${workgroupSize}u)`;

/**
 * WGSL statements that sum `partial[0..threads)` of workgroup memory into partial[0] with a tree of
 * halvings (threads a power of two; `tid` is the local invocation index). Every invocation must
 * reach them: they hold barriers.
 */
export function workgroupTreeSum(threads: number): string {
  return `workgroupBarrier();
  for (var stride = ${threads / 2}u; stride > 0u; stride >>= 1u) {
    if (tid < stride) { partial[tid] += partial[tid + stride]; }
    workgroupBarrier();
  }`;
}

/** Formats a number as a WGSL f32 literal (always with a decimal point or exponent). */
export function f32Literal(x: number): string {
  if (!Number.isFinite(x)) throw new ConfigError(`non-finite constant ${x} in WGSL: a kernel parameter that becomes a constant (e.g. elboReduce's tcExcess) must be a finite number`);
  const s = String(Math.fround(x));
  return /[.eE]/.test(s) ? s : `${s}.0`;
}

/**
 * Throws a ConfigError unless every named dimension is a positive integer, showing a non-number
 * with its type (M='37' is a string, not 37). A 0 is a problem with nothing in it, which needs
 * no kernel at all: the message says to skip the dispatch rather than asking for a positive size.
 */
export function checkShape(kernel: string, dims: Record<string, number>): void {
  const bad = Object.entries(dims).filter(([, v]) => !(Number.isInteger(v) && v > 0));
  if (!bad.length) return checkIndexable(kernel, dims);
  const empty = bad.some(([, v]) => v === 0) ? '; a size of 0 leaves nothing to compute: skip the dispatch (e.g. for an empty batch) instead of building a kernel for it' : '';
  throw new ConfigError(`${kernel}: ${bad.map(([k, v]) => `${k}=${shown(v)}`).join(', ')} must be ${bad.length > 1 ? 'positive integers' : 'a positive integer'}${empty}`);
}

/** The largest u32: WGSL's indices and the sizes written into kernels as u32 literals stop here. */
export const U32_MAX = 0xffffffff;
/** Whether a number is finite as float32 holds it (rounded, not past 3.4e38), as a uniform or buffer stores it. */
export const fitsF32 = (v: number): boolean => Number.isFinite(Math.fround(v));
/** float32's smallest normal number (2^-126, about 1.18e-38): GPUs may flush anything smaller to 0. */
export const F32_MIN_NORMAL = 2 ** -126;

/**
 * Throws a ConfigError when a size or element count is past U32_MAX: written into the WGSL as a
 * u32 literal it would not compile, and as a flat index it would wrap.
 */
export function checkIndexable(kernel: string, counts: Record<string, number>): void {
  const over = Object.entries(counts).filter(([, v]) => v > U32_MAX);
  if (over.length) throw new ConfigError(`${kernel}: ${over.map(([k, v]) => `${k}=${v}`).join(', ')} ${over.length > 1 ? 'are' : 'is'} past what a u32 index reaches (${U32_MAX}); use a smaller batch or smaller sizes`);
}

/** Throws a ConfigError unless `value` is one of `allowed`: an unknown kind would otherwise compile as some default. */
export function checkChoice<T extends string>(kernel: string, what: string, value: unknown, allowed: readonly T[]): asserts value is T {
  if (!allowed.includes(value as T)) throw new ConfigError(`${kernel}: unknown ${what} ${typeof value === 'string' ? `'${value}'` : shown(value)}; use one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
}

/** The device feature that allows each WGSL extension a factory may enable, and what to do without it. */
const EXTENSIONS: Record<string, { feature: GPUFeatureName; otherwise: string }> = {
  f16: { feature: 'shader-f16', otherwise: "or leave out the factory's f16 list, so every binding stays f32" },
  subgroups: {
    feature: 'subgroups',
    otherwise: "or build the kernel with subgroups: false, which runs its variant without subgroups (matmul's register-subgroup as register, tiled-subgroup as tiled-128; conv's direct-subgroup as direct)",
  },
};

/**
 * The device features a kernel needs, with what to do on a device without each: those of the
 * extensions its source enables. The factories write their `enable` directives from their
 * parameters (an f16 list, a subgroup variant), so this reads what the compiler will be asked
 * for, and cannot disagree with it; a hand-written kernel is read the same way.
 */
export function kernelFeatures(kernel: Pick<Kernel, 'code'>): { feature: GPUFeatureName; otherwise: string }[] {
  const names = [...kernel.code.matchAll(/^\s*enable\s+([^;]+);/gm)].flatMap((m) => m[1].split(',').map((n) => n.trim()).filter(Boolean));
  // WGSL names an extension with underscores where the feature has hyphens (clip_distances).
  return [...new Set(names)].map((n) => EXTENSIONS[n] ?? { feature: n.replace(/_/g, '-') as GPUFeatureName, otherwise: 'or build the kernel without it' });
}

/** Bytes of one element of a storage binding's WGSL array type. */
function elementBytes(type = 'array<f32>'): { scalar: number; element: number } {
  const scalar = /f16/.test(type) ? 2 : 4;
  const lanes = Number(/vec([234])/.exec(type)?.[1] ?? 1);
  // vec3 arrays have a stride of 16 bytes, like vec4.
  return { scalar, element: scalar * (lanes === 3 ? 4 : lanes) };
}

const roundUp = (x: number, to: number) => Math.ceil(x / to) * to;

/**
 * The `minBytes` of a kernel: for each storage binding, `values[name]` counts the scalars (f32,
 * u32 or f16 values) the kernel reaches for its shape, rounded up to whole array elements (a vec4
 * array of 6 values needs 2 vec4s) and to 4 bytes (WebGPU's storage binding granule). A uniform
 * binding needs its struct: StepParams unless `structs` gives the bytes of its type.
 */
export function minBindingBytes(bindings: readonly KernelBinding[], values: Record<string, number>, structs: Record<string, number> = {}): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of bindings) {
    if (b.kind === 'uniform') {
      const bytes = b.type === undefined ? STEP_PARAMS.bytes : structs[b.type];
      if (bytes === undefined) throw new Error(`minBindingBytes: no size for uniform ${b.name} of type ${b.type}`);
      out[b.name] = bytes;
      continue;
    }
    const n = values[b.name];
    if (n === undefined) throw new Error(`minBindingBytes: no value count for binding ${b.name}`);
    const { scalar, element } = elementBytes(b.type);
    out[b.name] = roundUp(roundUp(Math.max(1, n) * scalar, element), 4);
  }
  return out;
}

/**
 * How many K slices a product of `blocks` workgroup blocks over a sum of K runs in (1: whole): enough
 * to bring its workgroups up to SPLIT_BELOW, each slice whole tiles (`tileK`) and at least
 * SPLIT_MIN_K long; the count is what `ceil(K / kSliceLength)` leaves, so only the last slice can
 * end inside a tile. Shared by the split matmul and the split conv weight gradient.
 */
export function kSplits(blocks: number, K: number, tileK: number, policy: { SPLIT_BELOW: number; SPLIT_MIN_K: number }): number {
  const wanted = Math.min(Math.ceil(policy.SPLIT_BELOW / blocks), Math.floor(K / policy.SPLIT_MIN_K));
  if (blocks >= policy.SPLIT_BELOW || wanted < 2) return 1;
  return Math.ceil(K / kSliceLength(K, wanted, tileK));
}

/** The length of each K slice (the last may be shorter): whole tiles. */
export const kSliceLength = (K: number, splits: number, tileK: number) => Math.ceil(K / splits / tileK) * tileK;

/** Invocations per workgroup of sliceSum, one output element each: read by its WGSL and its grid. */
const SLICE_SUM_WORKGROUP = 64;

/**
 * `to[i]` = the sum over s of `from[s * length + i]`: the second kernel of a product whose long sum
 * ran in `slices` parts (a split conv weight gradient, a split matmul). One invocation per
 * element, four running sums so the adds do not wait on each other.
 */
export function sliceSum(p: { name: string; from: string; to: string; slices: number; length: number }): Kernel {
  const { slices: S, length: L } = p;
  if (!(Number.isInteger(S) && S >= 2 && Number.isInteger(L) && L > 0)) throw new ConfigError(`${p.name}: slices ${shown(S)} and length ${shown(L)} must be integers, slices at least 2 and length at least 1`);
  const bindings = [read(p.from), write(p.to)];
  const W = SLICE_SUM_WORKGROUP;
  const at = (s: string) => `${p.from}[(${s}) * ${L}u + i]`;
  const code = wgsl`${declareBindings(bindings)}

@compute @workgroup_size(${W})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(W)};
  if (i >= ${L}u) { return; }
  var s0 = 0.0; var s1 = 0.0; var s2 = 0.0; var s3 = 0.0;
  var s = 0u;
  for (; s + 4u <= ${S}u; s += 4u) {
    s0 += ${at('s')}; s1 += ${at('s + 1u')}; s2 += ${at('s + 2u')}; s3 += ${at('s + 3u')};
  }
  for (; s < ${S}u; s++) { s0 += ${at('s')}; }
  ${p.to}[i] = (s0 + s1) + (s2 + s3);
}`;
  return { name: p.name, code, bindings, minBytes: minBindingBytes(bindings, { [p.from]: S * L, [p.to]: L }), workgroups: grid1D(L, W) };
}
