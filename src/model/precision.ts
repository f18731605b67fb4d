// Storage precision of a model's activations. 'f16' (half-precision storage, f32 accumulation)
// needs the adapter's `shader-f16` feature; it is refused with what to do instead where the feature
// is missing (SwiftShader lacks it), and refused as not yet available where it is present: the
// f16 kernels and their accuracy check (loss after one epoch within 0.5 nats of f32) are not written.
import { ConfigError } from '../errors';
import { describeAdapter, type AdapterSummary } from '../gpu/device';

export type Precision = 'f32' | 'f16';

export function checkPrecision(precision: Precision | undefined, device: GPUDevice, adapter: AdapterSummary): void {
  if (precision === undefined || precision === 'f32') return;
  if (precision !== 'f16') throw new ConfigError(`precision must be 'f32' or 'f16', got '${String(precision)}'`);
  if (!device.features.has('shader-f16')) {
    throw new ConfigError(`precision 'f16' needs the WebGPU feature 'shader-f16', which this device (${describeAdapter(adapter)}) does not have; use precision 'f32' (the default)`);
  }
  throw new ConfigError("precision 'f16' is not available yet: the half-precision kernels are not written; use precision 'f32' (the default)");
}
