// One product of a layer, recorded as the matmul kernel, or, where matmulSplits says the product
// has too few blocks for its long K (a dense layer's weight gradient at a large batch on a GPU), as
// the kernel over K slices into a planned `cSlices` tensor followed by their sum into c.
import { matmul, type MatmulParams } from '../../../shaders/matmul';
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
