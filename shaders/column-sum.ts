// Column sums: out[n] = sum over the rows of x[m, n], the bias gradient of a dense layer (db = the
// column sum of dY) and the gradient of a learned per-pixel scale. One invocation walks one column,
// or, unsliced, 4 neighbouring ones as a vec4 column where cols is a multiple of 4 (x and out are
// then vec4 arrays: on SwiftShader one address and one bounds check for four loads); on GPUs a
// long column is summed in row slices, a column an invocation, that sliceSum (common.ts) then adds.
// Bindings: x (read) [rows, cols], out (write) [cols]; with slices > 1, outSlices (write)
// [slices, cols] in place of out.
// Grid: one invocation per column (or vec4 column), and one workgroup row per slice. The rows are
// added in blocks of COLUMN_SUM_BLOCK, each block's sum then to the total.
import { ConfigError } from './errors';
import { checkShape, declareBindings, kSliceLength, kSplits, MAX_WORKGROUPS_PER_DIM, minBindingBytes, read, sizedBindings, write, type Kernel } from './common';
import { wgsl } from './wgsl';

const COLUMN_SUM_WORKGROUP = 64;
/** Rows summed apart before they join a column's running total. */
const COLUMN_SUM_BLOCK = 64;

/**
 * When a column sum splits its rows (GPUs: `KernelChoice.splitBatchSums`): with fewer than
 * SPLIT_BELOW workgroups, in slices of at least SPLIT_MIN_K rows. One invocation per column walks
 * its rows one after another, so at a batch of 4096 a 784-column bias gradient is 13 workgroups each
 * waiting on 4096 dependent loads: on an H200 the step's four column sums took 0.27 ms of 4.3.
 */
export const COLUMN_SUM_SPLIT = { SPLIT_BELOW: 512, SPLIT_MIN_K: 256 } as const;

export interface ColumnSumShape {
  rows: number;
  cols: number;
  /** Sum the rows in this many slices into `outSlices` [slices, cols] (columnSumSlices), which sliceSum then adds. */
  slices?: number;
}

/** The row slices a column sum of this shape runs in where splitting is on (1: whole). */
export function columnSumSlices(rows: number, cols: number): number {
  return kSplits(Math.ceil(cols / COLUMN_SUM_WORKGROUP), rows, 1, COLUMN_SUM_SPLIT);
}

/** out[n] = sum over rows m of x[m, n] (bias gradients; learned per-pixel scale gradients). */
export function columnSum(p: ColumnSumShape): Kernel {
  checkShape('column_sum', { rows: p.rows, cols: p.cols });
  const slices = p.slices ?? 1;
  if (slices !== 1 && slices !== columnSumSlices(p.rows, p.cols)) {
    throw new ConfigError(`column_sum: slices ${slices}; use columnSumSlices(rows, cols), which gives ${columnSumSlices(p.rows, p.cols)}`);
  }
  const split = slices > 1;
  const len = split ? kSliceLength(p.rows, slices, 1) : p.rows;
  // Values per invocation: 4 neighbouring columns where cols allows (the header).
  const V = p.cols % 4 === 0 && !split ? 4 : 1;
  const C = p.cols / V;
  const element = V === 4 ? 'vec4<f32>' : 'f32';
  const values = { x: p.rows * p.cols, out: p.cols, outSlices: slices * p.cols };
  const bindings = sizedBindings([read('x', `array<${element}>`), write(split ? 'outSlices' : 'out', `array<${element}>`)], values);
  const code = wgsl`
${declareBindings(bindings)}

@compute @workgroup_size(${COLUMN_SUM_WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(workgroup_id) wid: vec3<u32>) {
  let col = gid.x;
  if (col >= ${C}u) { return; }
#if ${split}
  // Rows [first, last): slice wid.y, ${len} long.
  let first = wid.y * ${len}u;
  let last = min(first + ${len}u, ${p.rows}u);
#else
  let first = 0u;
  let last = ${p.rows}u;
#endif
  // In blocks of ${COLUMN_SUM_BLOCK} rows, each summed apart and then added: one running f32 sum
  // of a million rows drifted 6e-4 off, the blocks keep it near the f32 rounding of the result.
  var s = ${element}(0.0);
  for (var block = first; block < last; block += ${COLUMN_SUM_BLOCK}u) {
    let block_end = min(block + ${COLUMN_SUM_BLOCK}u, last);
    var part = ${element}(0.0);
    for (var m = block; m < block_end; m++) { part += x[m * ${C}u + col]; }
    s += part;
  }
#if ${split}
  outSlices[wid.y * ${C}u + col] = s;
#else
  out[col] = s;
#endif
}`;
  return {
    name: split ? 'column_sum_split' : 'column_sum',
    code,
    bindings,
    minBytes: minBindingBytes(bindings, values),
    workgroups: [Math.ceil(C / COLUMN_SUM_WORKGROUP), slices, 1],
    // One invocation per column: the grid follows a layer's width, whatever the batch.
    gridLimitFix: `use layers of at most ${MAX_WORKGROUPS_PER_DIM * COLUMN_SUM_WORKGROUP * V} outputs`,
  };
}
