// Storage precision of a model's hidden activations. 'f16' keeps the output of every layer that
// has an activation (dense, conv, transposed conv, GroupNorm) as f16: half the bytes written and
// read per activation, while every sum, the epilogues, the q head, the decoder's output, every
// gradient, the weights and the optimizer state stay f32 (the usual mixed-precision split). The
// kernels widen f16 loads to f32 and round once at the store (the matmul's `f16` operands,
// shaders/half.ts for the others). The im2col matrix and row-major copy of an f16 activation are
// f16 too: they only move its values.
// It needs the adapter's `shader-f16` feature and is refused, with what to do instead, where the
// feature is missing (Dawn's SwiftShader lacks it; Mesa's lavapipe under wgpu has it).
import { ConfigError } from '../errors';
import { describeAdapter, type AdapterSummary } from '../gpu/device';
import { gradFromInput, type Activation } from '../../shaders/activation';

export type Precision = 'f32' | 'f16';

export const PRECISIONS: readonly Precision[] = ['f32', 'f16'];

export function checkPrecision(precision: Precision | undefined, device: GPUDevice, adapter: AdapterSummary, activation?: Activation): void {
  if (precision === undefined || precision === 'f32') return;
  if (precision !== 'f16') throw new ConfigError(`precision must be 'f32' or 'f16', got '${String(precision)}'`);
  // gelu keeps its pre-activation and runs activation_forward, which has no f16 variant.
  if (activation !== undefined && gradFromInput(activation)) {
    throw new ConfigError(`precision 'f16' is not available with activation '${activation}' (its activations are stored in f32); use precision 'f32' or another activation`);
  }
  if (!device.features.has('shader-f16')) {
    throw new ConfigError(`precision 'f16' needs the WebGPU feature 'shader-f16', which this device (${describeAdapter(adapter)}) does not have; use precision 'f32' (the default)`);
  }
}
