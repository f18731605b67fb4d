// Shared pieces of every kernel factory: the kernel description type, the per-step uniform block
// that kernels read (RNG counter, batch window, optimizer scalars), and 1-D dispatch arithmetic.

/** How a kernel sees one binding (all in @group(0), in the order listed). */
export type BindingKind = 'read' | 'write' | 'uniform';

export interface KernelBinding {
  /** The WGSL variable name, which is also the key callers bind a buffer to. */
  name: string;
  kind: BindingKind;
}

/** What every kernel factory returns: WGSL, its bindings, and the workgroup grid for a shape. */
export interface Kernel<Shape = void> {
  /** Stable, readable name used in errors and profiles, e.g. `matmul_nt_relu`. */
  name: string;
  code: string;
  bindings: KernelBinding[];
  dispatch(shape: Shape): [number, number, number];
}

/** A kernel whose shape is already fixed, ready for the scheduler. */
export interface BoundKernel {
  name: string;
  code: string;
  bindings: KernelBinding[];
  workgroups: [number, number, number];
}

export function bindKernel<S>(k: Kernel<S>, shape: S): BoundKernel {
  return { name: k.name, code: k.code, bindings: k.bindings, workgroups: k.dispatch(shape) };
}

/**
 * Per-step scalars shared by the kernels that need them, one uniform buffer per graph, written
 * with `queue.writeBuffer` before each step (no readback, no rebuild). Field order is the byte
 * layout; `STEP_PARAMS_FLOATS` in src/step-params.ts mirrors it.
 */
export const STEP_PARAMS_WGSL = /* wgsl */ `
struct StepParams {
  seed_lo: u32,        // RNG key
  seed_hi: u32,
  counter: u32,        // RNG counter: advances once per step, so every step draws fresh noise
  batch_start: u32,    // first index into the permutation for gathered batches
  valid_rows: u32,     // rows of this batch that hold real examples (the rest is padding)
  history_slot: u32,   // where this step's loss goes in the loss history ring
  stream: u32,         // RNG stream: separates training noise from eval and sampling noise
  dataset_count: u32,  // examples in the resident dataset (gather bound)
  lr: f32,
  beta1: f32,
  beta2: f32,
  adam_eps: f32,
  bias_c1: f32,        // 1 / (1 - beta1^t)
  bias_c2: f32,        // 1 / sqrt(1 - beta2^t)
  weight_decay: f32,
  kl_beta: f32,
}`;

/** Bytes of StepParams: 16 fields of 4 bytes. */
export const STEP_PARAMS_BYTES = 64;

/** Largest workgroup count per dimension guaranteed by WebGPU's default limits. */
export const MAX_WORKGROUPS_PER_DIM = 65535;

/**
 * Splits `groups` workgroups over x and y so that large 1-D problems stay within the per-dimension
 * limit; kernels rebuild the flat index as `gid.x + gid.y * stride` with stride = x * workgroupSize.
 */
export function grid1D(items: number, workgroupSize: number): [number, number, number] {
  const groups = Math.max(1, Math.ceil(items / workgroupSize));
  if (groups <= MAX_WORKGROUPS_PER_DIM) return [groups, 1, 1];
  const y = Math.ceil(groups / MAX_WORKGROUPS_PER_DIM);
  return [Math.ceil(groups / y), y, 1];
}

/** WGSL expression for the flat index under `grid1D` (needs `gid` and `nwg` builtins in scope). */
export const FLAT_INDEX_WGSL = (workgroupSize: number) => `(gid.x + gid.y * nwg.x * ${workgroupSize}u)`;

/** Formats a number as a WGSL f32 literal (always with a decimal point or exponent). */
export function f32Literal(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`non-finite constant ${x} in WGSL`);
  const s = String(Math.fround(x));
  return /[.eE]/.test(s) ? s : `${s}.0`;
}
