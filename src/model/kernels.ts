// Kernel variants chosen per adapter, and overridable per model.
import type { MatmulVariant } from '../../shaders/matmul';

export interface KernelChoice {
  matmul: MatmulVariant;
  likelihoodThreadsPerRow: number;
  /** Whether the device has the `subgroups` feature (subgroup variants fall back without it). */
  subgroups: boolean;
}

/**
 * Software adapters (SwiftShader) pay dearly for workgroup barriers and memory, so they get the
 * register-blocked matmul (sharing B through subgroup quad swaps when available) and one thread
 * per likelihood row; GPUs get the shared-memory tiled matmul and a 64-thread row reduction.
 */
export function kernelsFor(adapter: { isSoftware: boolean; subgroups: boolean }): KernelChoice {
  const { isSoftware, subgroups } = adapter;
  if (isSoftware) return { matmul: subgroups ? 'register-subgroup' : 'register', likelihoodThreadsPerRow: 1, subgroups };
  return { matmul: 'tiled', likelihoodThreadsPerRow: 64, subgroups };
}
