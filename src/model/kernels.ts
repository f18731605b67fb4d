// Kernel variants chosen per adapter, and overridable per model.
import type { ConvVariant } from '../../shaders/conv';
import type { MatmulVariant } from '../../shaders/matmul';

export interface KernelChoice {
  matmul: MatmulVariant;
  /** Convolution kernels: `direct` (register blocks, no workgroup memory) or `implicit-gemm` (shared-memory tiles). */
  conv: ConvVariant;
  likelihoodThreadsPerRow: number;
  /** Whether the device has the `subgroups` feature (subgroup variants fall back without it). */
  subgroups: boolean;
}

/**
 * Software adapters (SwiftShader) pay dearly for workgroup barriers and memory, so they get the
 * register-blocked matmul (sharing B through subgroup quad swaps when available) and one thread
 * per likelihood row and the direct convolution; GPUs get the shared-memory tiled matmul, a 64-thread
 * row reduction and the implicit-GEMM convolution.
 */
export function kernelsFor(adapter: { isSoftware: boolean; subgroups: boolean }): KernelChoice {
  const { isSoftware, subgroups } = adapter;
  if (isSoftware) return { matmul: subgroups ? 'register-subgroup' : 'register', conv: 'direct', likelihoodThreadsPerRow: 1, subgroups };
  return { matmul: 'tiled', conv: 'implicit-gemm', likelihoodThreadsPerRow: 64, subgroups };
}
