// One product of a layer, recorded as the matmul kernel, or, where matmulSplits says the product
// has too few blocks for its long K (a dense layer's weight gradient at a large batch on a GPU), as
// the kernel over K slices into a planned `cSlices` tensor followed by their sum into c. Column
// sums (bias gradients, the product of dY^T with ones) split their rows the same way on GPUs.
import { columnSum, columnSumSlices, matmul, type MatmulParams } from '../../../shaders/matmul';
import { matmulSplits } from '../../../shaders/matmul-tiled';
import { sliceSum } from '../../../shaders/common';
import type { BufferSlice } from '../../gpu/buffers';
import type { Tensor } from '../../tensor';
import type { Recorder } from '../module';

/** Records c = op(a) op(b) (with p's epilogue); `operands` names a, b, c and any bias or y. */
export function recordMatmul(g: Recorder, p: MatmulParams, operands: Record<string, Tensor | BufferSlice>, name: string): void {
  const splits = matmulSplits(p);
  if (splits === 1) {
    g.graph.add(matmul(p), operands);
    return;
  }
  const { c, ...inputs } = operands;
  const cSlices = g.tensor(`${name}.slices`, [splits, p.M * p.N]);
  g.graph.add(matmul({ ...p, splits }), { ...inputs, cSlices });
  g.graph.add(sliceSum({ name: 'matmul_slice_sum', from: 'cSlices', to: 'c', slices: splits, length: p.M * p.N }), { cSlices, c });
}

/** Records out[n] = sum over rows of x[m, n]; on GPUs (`splitBatchSums`) over row slices, then their sum. */
export function recordColumnSum(g: Recorder, rows: number, cols: number, x: Tensor | BufferSlice, out: Tensor | BufferSlice, name: string): void {
  const slices = g.kernels.splitBatchSums ? columnSumSlices(rows, cols) : 1;
  if (slices === 1) {
    g.graph.add(columnSum({ rows, cols }), { x, out });
    return;
  }
  const outSlices = g.tensor(`${name}.slices`, [slices, cols]);
  g.graph.add(columnSum({ rows, cols, slices }), { x, outSlices });
  g.graph.add(sliceSum({ name: 'column_slice_sum', from: 'outSlices', to: 'out', slices, length: cols }), { outSlices, out });
}
