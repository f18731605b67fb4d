// Concatenation along features, for conditional models: y[r] = [x[r], c[r mod B]] where c holds
// one row per example (a one-hot label) and x may hold several rows per example (S samples of B
// examples, row s*B + b). Backward: dx[r] = dy[r, 0..F), the columns that came from x (the
// condition is data, so it gets no gradient).
// Bindings: forward (x, c: read, y: write); backward (dy: read, dx: write).
// Grid: one invocation per output element, split over x/y for large arrays.
import { checkShape, declareBindings, FLAT_INDEX_WGSL, grid1D, minBindingBytes, read, write, type Kernel } from './common';

const CONCAT_WORKGROUP = 256;

export interface ConcatParams {
  /** Rows of x and y. */
  rows: number;
  /** Features of x (F) and of the condition (C). */
  features: number;
  extra: number;
  /** Rows of the condition (B); x's row r takes condition row r mod B. */
  conditionRows: number;
}

export function concatForward(p: ConcatParams): Kernel {
  const { rows, features: F, extra: C, conditionRows: B } = p;
  checkShape('concat_forward', { rows, F, C, B });
  const W = F + C;
  const bindings = [read('x'), read('c'), write('y')];
  const code = `
${declareBindings(bindings)}

@compute @workgroup_size(${CONCAT_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = ${FLAT_INDEX_WGSL(CONCAT_WORKGROUP)};
  if (i >= ${rows * W}u) { return; }
  let r = i / ${W}u;
  let col = i % ${W}u;
  if (col < ${F}u) {
    y[i] = x[r * ${F}u + col];
  } else {
    y[i] = c[(r % ${B}u) * ${C}u + col - ${F}u];
  }
}`;
  const minBytes = minBindingBytes(bindings, { x: rows * F, c: Math.min(rows, B) * C, y: rows * W });
  return { name: 'concat_forward', code, bindings, minBytes, workgroups: grid1D(rows * W, CONCAT_WORKGROUP) };
}

export function concatBackward(p: ConcatParams): Kernel {
  const { rows, features: F, extra: C } = p;
  checkShape('concat_backward', { rows, F, C });
  const bindings = [read('dy'), write('dx')];
  const code = `
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
