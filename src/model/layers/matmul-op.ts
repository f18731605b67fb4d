// One product of a layer, recorded as the matmul kernel, or, where matmulSplits says the product
// has too few blocks for its long K (a dense layer's weight gradient at a large batch on a GPU), as
// the kernel over K slices into a planned `cSlices` tensor followed by their sum into c. Column
// sums (bias gradients, the product of dY^T with ones) split their rows the same way on GPUs.
import { columnSum, columnSumSlices } from '../../../shaders/column-sum';
import { isTiled, matmul, nonzeroStepsFor, resolvedVariant, type MatmulParams } from '../../../shaders/matmul';
import { zeroListBlock } from '../../../shaders/matmul-hot';
import { nonzeroSteps, nonzeroStepsWords, type ZeroSkipOperand } from '../../../shaders/matmul-zeros';
import { matmulSplits } from '../../../shaders/matmul-tiled';
import { sliceSum, type Kernel } from '../../../shaders/common';
import type { BufferSlice } from '../../gpu/buffers';
import type { Tensor } from '../../tensor';
import type { Recorder } from '../module';

/**
 * Records c = op(a) op(b) (with p's epilogue); `operands` names a, b, c and any bias or y. With
 * `skipZeros`, first the list of that operand's non-zero k steps (matmul-zeros.ts), into a
 * planned tensor `${name}.steps`.
 */
export function recordMatmul(g: Recorder, p: MatmulParams, operands: Record<string, Tensor | BufferSlice>, name: string): void {
  if (p.skipZeros) {
    const list = nonzeroStepsFor(p);
    const steps = g.tensor(`${name}.steps`, [nonzeroStepsWords(list)]);
    g.graph.add(nonzeroSteps(list), { x: operands[p.skipZeros], steps });
    g.graph.add(matmul(p), { ...operands, steps });
    return;
  }
  const splits = matmulSplits(p);
  if (splits === 1) {
    g.graph.add(matmul(p), operands);
    return;
  }
  const { c, ...inputs } = operands;
  recordSlicedSum(g, matmul({ ...p, splits }), inputs, { binding: 'cSlices', tensor: `${name}.slices`, slices: splits, length: p.M * p.N, sum: 'matmul_slice_sum', to: 'c' }, c);
}

/**
 * The most values one block's list may read (K times its block): one workgroup of 4 invocations
 * (a single SIMD group on a software adapter) walks them. MNIST's first layer reads 25,088
 * (forward) and 4,096 (weight gradient at batch 128) with its 32-wide lists; a convolution's weight
 * gradient as im2col + matmul would read 401,408 (batch 128, 14x14 outputs, one block of 16 taps),
 * and its list alone, one invocation walking it then, took longer than the dense product on
 * SwiftShader (17.4 against 4.2 ms), which is why convolutions do not skip.
 */
export const NONZERO_SERIAL_LIMIT = 1 << 16;

/**
 * `p` with `skipZeros: operand` where the adapter skips zeros (KernelChoice.skipInputZeros), the
 * tensor is expected to be mostly zeros and stored as f32, p runs a register variant unsplit, and
 * the list is short enough to make (NONZERO_SERIAL_LIMIT); with `skipBlock` (zeroListBlock) where
 * the product will switch to larger blocks (a training step's, with KernelChoice.hotMatmuls).
 */
export function skippingZeros(g: Recorder, p: MatmulParams, operand: ZeroSkipOperand, t: Tensor): MatmulParams {
  const skips = !!g.kernels.skipInputZeros && t.zerosLikely && t.dtype === 'f32' && !isTiled(resolvedVariant(p).variant) && matmulSplits(p) === 1;
  if (!skips) return p;
  // Lists as wide as the larger blocks the product will switch to (hot-kernels.ts), which read them too.
  const skipping: MatmulParams = { ...p, skipZeros: operand };
  const width = g.hotSwapped ? zeroListBlock(skipping) : undefined;
  const candidates = width === undefined ? [skipping] : [{ ...skipping, skipBlock: width }, skipping];
  return candidates.find((q) => { const list = nonzeroStepsFor(q); return list.K * list.block <= NONZERO_SERIAL_LIMIT; }) ?? p;
}

/**
 * Records a kernel that writes a long sum's partial results, `slices` layers of `length`, into
 * its binding `binding` (a tensor planned here), then `sliceSum` (named `sum`) adding the layers
 * into `out`, bound as `to`. Every split sum (matmul, column, conv weight and bias gradients)
 * goes through this.
 */
export function recordSlicedSum(g: Recorder, partial: Kernel, inputs: Record<string, Tensor | BufferSlice>,
  s: { binding: string; tensor: string; slices: number; length: number; sum: string; to: string }, out: Tensor | BufferSlice): void {
  const layers = g.tensor(s.tensor, [s.slices, s.length]);
  g.graph.add(partial, { ...inputs, [s.binding]: layers });
  g.graph.add(sliceSum({ name: s.sum, from: s.binding, to: s.to, slices: s.slices, length: s.length }), { [s.binding]: layers, [s.to]: out });
}

/** Records out[n] = sum over rows of x[m, n]; on GPUs (`splitBatchSums`) over row slices, then their sum. */
export function recordColumnSum(g: Recorder, rows: number, cols: number, x: Tensor | BufferSlice, out: Tensor | BufferSlice, name: string): void {
  const slices = g.kernels.splitBatchSums ? columnSumSlices(rows, cols) : 1;
  if (slices === 1) {
    g.graph.add(columnSum({ rows, cols }), { x, out });
    return;
  }
  recordSlicedSum(g, columnSum({ rows, cols, slices }), { x }, { binding: 'outSlices', tensor: `${name}.slices`, slices, length: cols, sum: 'column_slice_sum', to: 'out' }, out);
}
