// Concatenation along features, for conditional models: y[r] = [x[r], c[r mod B]] where c holds
// one row per example (a one-hot label) and x may hold several rows per example (S samples of B
// examples, row s*B + b). Backward: dx[r] = dy[r, 0..F), the columns that came from x (the
// condition is data, so it gets no gradient).
// Bindings: forward (x, c: read, y: write); backward (dy: read, dx: write).
// Grid: one invocation per output element, split over x/y for large arrays.
// Reference: tests/reference/concat.ts; timed in the `conditional` preset of bench/model-step.ts.
// With `f16` (half.ts), x and y may be stored as f16 in the forward (a conv model's flattened
// features in half precision); the condition and the gradients stay f32.
import { ConfigError } from './errors';
import { checkShape, declareBindings, exactWhenSized, FLAT_INDEX_WGSL, grid1D, minBindingBytes, read, write, type Kernel } from './common';
import { load32, storeAs, withHalf, type HalfBindings } from './half';
import { wgsl } from './wgsl';

const CONCAT_WORKGROUP = 256;

export interface ConcatParams {
  /** Rows of x and y. */
  rows: number;
  /** Features of x (F) and of the condition (C). */
  features: number;
  extra: number;
  /** Rows of the condition (B); x's row r takes condition row r mod B. */
  conditionRows: number;
  /** Bindings stored as f16: 'x', 'y' (forward only). */
  f16?: HalfBindings;
}

export interface ConcatForwardParams extends ConcatParams {
  /**
   * The row count is y's binding length over its width (arrayLength), not a number in the source,
   * so that one pipeline serves every row count; for callers that bind exactly rows * (F + C)
   * values of y. The condition's rows follow from it and the samples per example (rows /
   * conditionRows, fixed by the model), so c's binding may be longer than its rows. y must be f32.
   */
  sizedByBinding?: boolean;
}

export function concatForward(p: ConcatForwardParams): Kernel {
  const { rows, features: F, extra: C, conditionRows: B } = p;
  checkShape('concat_forward', { rows, features: F, extra: C, conditionRows: B });
  const W = F + C;
  if (p.f16?.includes('c')) throw new ConfigError('concat_forward: the condition (one-hot labels) is f32; leave c out of its f16 list');
  if (p.sizedByBinding && p.f16?.includes('y')) throw new ConfigError("concat_forward: sizedByBinding reads the rows from y's length, and an f16 y packs two values to a word; leave y out of the f16 list, or sizedByBinding out");
  if (p.sizedByBinding && rows % B !== 0) throw new ConfigError(`concat_forward: sizedByBinding counts the condition's rows as y's rows over the samples per example, so rows (${rows}) must be a multiple of conditionRows (${B})`);
  const values = p.sizedByBinding ? 'arrayLength(&y)' : `${rows * W}u`;
  const conditionRows = p.sizedByBinding ? `(arrayLength(&y) / ${W * (rows / B)}u)` : `${B}u`;
  const { bindings, enable, tag } = withHalf('concat_forward', [read('x'), read('c'), write('y')], p.f16);
  const code = wgsl`${enable}
${declareBindings(bindings)}

@compute @workgroup_size(${CONCAT_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(CONCAT_WORKGROUP)};
  if (i >= ${values}) { return; }
  let r = i / ${W}u;
  let col = i % ${W}u;
  if (col < ${F}u) {
    ${storeAs(p.f16, 'y', 'i', load32(p.f16, 'x', `r * ${F}u + col`))}
  } else {
    ${storeAs(p.f16, 'y', 'i', `c[(r % ${conditionRows}) * ${C}u + col - ${F}u]`)}
  }
}`;
  const minBytes = minBindingBytes(bindings, { x: rows * F, c: Math.min(rows, B) * C, y: rows * W });
  return { name: `concat_forward${tag}`, code, bindings, minBytes, ...exactWhenSized(p.sizedByBinding, 'y'), workgroups: grid1D(rows * W, CONCAT_WORKGROUP) };
}

/**
 * The backward's shape: dx is x's part of dy alone, so the condition's rows do not enter it
 * (`conditionRows` may be given, so that one shape serves both kernels, and is not read).
 */
export type ConcatBackwardParams = Omit<ConcatParams, 'conditionRows'> & { conditionRows?: number };

export function concatBackward(p: ConcatBackwardParams): Kernel {
  const { rows, features: F, extra: C } = p;
  checkShape('concat_backward', { rows, features: F, extra: C });
  if (p.f16?.length) throw new ConfigError('concat_backward: gradients are f32, so it has no f16 bindings; leave out its f16 list');
  const bindings = [read('dy'), write('dx')];
  const code = wgsl`
${declareBindings(bindings)}

@compute @workgroup_size(${CONCAT_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(CONCAT_WORKGROUP)};
  if (i >= ${rows * F}u) { return; }
  let r = i / ${F}u;
  dx[i] = dy[r * ${F + C}u + i % ${F}u];
}`;
  return { name: 'concat_backward', code, bindings, minBytes: minBindingBytes(bindings, { dy: rows * (F + C), dx: rows * F }), workgroups: grid1D(rows * F, CONCAT_WORKGROUP) };
}
