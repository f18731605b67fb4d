// Storage precision of a model's hidden activations. 'f16' keeps the output of every dense layer
// that has an activation (the MLP's hidden layers) as f16: half the bytes written and read per
// activation, while matmul sums, the epilogues, the q head, the decoder's output, every gradient,
// the weights and the optimizer state stay f32 (the usual mixed-precision split). The matmuls
// widen f16 loads to f32 and round once at the store (shaders/matmul.ts `f16`).
// It needs the adapter's `shader-f16` feature and is refused, with what to do instead, where the
// feature is missing (Dawn's SwiftShader lacks it; Mesa's lavapipe under wgpu has it), and for
// conv models, whose convolution, im2col and GroupNorm kernels read f32 only.
import { ConfigError } from '../errors';
import { describeAdapter, type AdapterSummary } from '../gpu/device';
import type { VaeConfig } from './config';

export type Precision = 'f32' | 'f16';

export const PRECISIONS: readonly Precision[] = ['f32', 'f16'];

export function checkPrecision(precision: Precision | undefined, device: GPUDevice, adapter: AdapterSummary, config: Pick<VaeConfig, 'arch'>): void {
  if (precision === undefined || precision === 'f32') return;
  if (precision !== 'f16') throw new ConfigError(`precision must be 'f32' or 'f16', got '${String(precision)}'`);
  if (!device.features.has('shader-f16')) {
    throw new ConfigError(`precision 'f16' needs the WebGPU feature 'shader-f16', which this device (${describeAdapter(adapter)}) does not have; use precision 'f32' (the default)`);
  }
  if (config.arch !== 'mlp') {
    throw new ConfigError(`precision 'f16' covers the MLP's dense layers; a ${config.arch} model keeps f32 activations: use precision 'f32' with arch '${config.arch}', or arch 'mlp'`);
  }
}
