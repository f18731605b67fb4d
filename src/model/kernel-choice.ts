// Kernel variants chosen per adapter, and overridable per model.
import type { ConvMethod } from './layers/conv-ops';
import { resolvedVariant, type MatmulVariant } from '../../shaders/matmul';
import { LIKELIHOOD_THREADS_PER_ROW } from '../../shaders/likelihood';
import { ConfigError } from '../errors';
import type { TunedProduct } from './autotune';

export interface KernelChoice {
  matmul: MatmulVariant;
  /**
   * Convolutions (layers/conv-ops.ts): `direct` (register blocks, no workgroup memory),
   * `direct-subgroup` (`direct` sharing weights across a quad), `implicit-gemm` (shared-memory
   * tiles) or `im2col` (layout passes around the tuned matmuls).
   */
  conv: ConvMethod;
  /**
   * The method for narrow convolutions (16 to 64 channels, from a picture's few channels to
   * 16-64, or stride 1 from 4-64 channels into fewer than 16: `isNarrowConv`), where it differs
   * from `conv`: software adapters run those as
   * `direct-subgroup`. Giving `conv` in a
   * model's `kernels` without this field applies `conv` to every layer.
   */
  convNarrow?: ConvMethod;
  /**
   * The method for input gradients (and so for transposed convolutions' forwards), where it
   * differs from `conv`: GPUs run them `direct`. Giving `conv` in a model's `kernels` without this
   * field applies `conv` to them too.
   */
  convInputGrad?: ConvMethod;
  likelihoodThreadsPerRow: number;
  /** Conv bias gradients with one invocation per channel where there are 4 or more (`biasGradThreads`), not a workgroup tree. */
  convBiasSerial?: boolean;
  /**
   * GroupNorm's forward and input gradient with one invocation per (example, group) segment, not a
   * workgroup's tree sum (`serial` in shaders/group-norm.ts): software adapters, where barriers cost most.
   */
  groupNormSerial?: boolean;
  /**
   * Sums over the batch in slices plus a sum of the slices, where a sum has few workgroups for its
   * length: dense bias gradients and a learned scale's (`columnSumSlices`), conv bias gradients
   * (`convBiasGradSlices`). GPUs, whose one workgroup (or invocation) per channel or column
   * otherwise walks the whole batch.
   */
  splitBatchSums?: boolean;
  /** Whether the device has the `subgroups` feature (subgroup variants fall back without it). */
  subgroups: boolean;
  /** Shape-generic matmuls (sizes in a uniform): one pipeline per kind of product, not per shape. */
  matmulGeneric?: boolean;
  /**
   * Products that read a mostly-zero tensor (the data, through a dense first layer: its forward
   * and its weight gradient) list the k at which each block of it has a non-zero and walk only
   * those (matmul `skipZeros`; register variants). The results are bit for bit the dense ones.
   */
  skipInputZeros?: boolean;
  /**
   * Swap the training step's `register-subgroup` matmuls for their larger-block forms after its
   * first steps (src/model/hot-kernels.ts; vae.upgradeKernels()): the same results, faster once
   * compiled. Software adapters.
   */
  hotMatmuls?: boolean;
  /** Per-product choices measured by the autotuner (autotune.ts), by product key; they override `matmul`. */
  matmulTuned?: Record<string, TunedProduct>;
  /** Per-operation convolution methods measured by the autotuner (autotune-conv.ts), by convOpKey; they override `conv`. */
  convTuned?: Record<string, ConvMethod>;
}

/**
 * Software adapters (SwiftShader) pay dearly for workgroup barriers and memory, so they get the
 * register-blocked matmul (sharing B through subgroup quad swaps when available), one thread
 * per likelihood row and per conv bias channel, and convolutions as im2col + matmul; GPUs get the shared-memory tiled matmul (`tiled-vec4`), a 64-thread
 * row reduction and the implicit-GEMM convolution.
 */
export function kernelsFor(adapter: { isSoftware: boolean; subgroups: boolean }): KernelChoice {
  const { isSoftware, subgroups } = adapter;
  // Shape-generic matmuls there: 5 matmul pipelines instead of 11 for the default model's train
  // graph (16 pipelines in all instead of 22), whose first step's compile fell from 8.1 to 3.9 s
  // of CPU, while the step ran within noise of the specialized kernels (2953 vs 3143 ms median of
  // 6 alternating runs on a heavily loaded machine).
  // Zero skipping there for the data's products: MNIST's default step, whose first layer's
  // forward and weight gradient skip about 48% and 42% of their k steps (bench/RESULTS.md,
  // "Skipping the input's zeros").
  // Convolutions there as im2col + the same matmuls: the MNIST conv VAE's step (32-64 channels,
  // batch 128) profiled at 2.4 s against 4.0 s with the direct kernels, every layer faster but
  // one input gradient (400 against 371 ms). Narrow layers as `direct-subgroup`, which shares
  // weights across a quad and needs no layout passes: at 16 channels it took 0.5-0.8x
  // im2col's time per operation, at 32-64 about the same, and at 128-256 or with 1-3 input
  // channels up to 4x longer (bench/RESULTS.md, "Convolutions in quads").
  if (isSoftware) {
    return {
      matmul: subgroups ? 'register-subgroup' : 'register', matmulGeneric: true, conv: 'im2col', ...(subgroups ? { convNarrow: 'direct-subgroup' as const } : {}),
      likelihoodThreadsPerRow: LIKELIHOOD_THREADS_PER_ROW.software, convBiasSerial: true, groupNormSerial: true, skipInputZeros: true, hotMatmuls: true, subgroups,
    };
  }
  // GPUs: the implicit GEMM for forwards and weight gradients, `direct` for input gradients. On an
  // H200 (batch 64, the 3x64x64 model's four layers) `direct` ran the input gradients at 2.3-5.6
  // TFLOP/s against 0.23-2.0 for the implicit GEMM, whose gathered dilated gradient is mostly
  // zeros at stride 2; the GEMM won every forward but the last, small one and three of the four
  // weight gradients (bench/RESULTS.md, "On a GPU: NVIDIA H200").
  // The matmul as `tiled-vec4` (64x64 blocks, vec4 accumulators and loads): on the H200 it ran the
  // default model's products 1.1-2.0x faster than scalar `tiled` at batch 128 and 1024 (all but one
  // small input gradient, 128x400x40) and the 4096^3 square at 28.7 against 17.6 TFLOP/s.
  // Bias-gradient sums split over the batch (splitBatchSums): unmeasured yet, but on the H200 the
  // MLP's four serial column sums were 6% of the batch-4096 step.
  return { matmul: 'tiled-vec4', conv: 'implicit-gemm', convInputGrad: 'direct', likelihoodThreadsPerRow: LIKELIHOOD_THREADS_PER_ROW.gpu, splitBatchSums: true, subgroups };
}

/**
 * The adapter's choice with a model's overrides; a `conv` given alone applies to narrow layers and
 * input gradients too. `subgroups: true` on a device without the feature is refused (its kernels
 * would not compile). On such a device a subgroup variant asked for runs as its fallback
 * (`register-subgroup` as `register`, `tiled-subgroup` as `tiled-128`, `direct-subgroup` as
 * `direct`), and the choice says so, so that `vae.kernels` names what runs.
 */
export function withKernelOverrides(base: KernelChoice, overrides: Partial<KernelChoice> | undefined): KernelChoice {
  if (overrides?.subgroups === true && !base.subgroups) {
    throw new ConfigError(
      "kernels.subgroups: this device was not created with the 'subgroups' feature; where the adapter has it (adapter.features.has('subgroups')), " +
        "request it: adapter.requestDevice({ requiredFeatures: ['subgroups'] }) (acquireNodeDevice and acquireBrowserDevice do), or leave kernels.subgroups out",
    );
  }
  const merged = { ...base, ...overrides };
  if (overrides?.conv !== undefined && overrides.convNarrow === undefined) delete merged.convNarrow;
  if (overrides?.conv !== undefined && overrides.convInputGrad === undefined) delete merged.convInputGrad;
  if (merged.subgroups) return merged;
  merged.matmul = resolvedVariant({ variant: merged.matmul, subgroups: false }).variant;
  for (const key of ['conv', 'convNarrow', 'convInputGrad'] as const) {
    if (merged[key] === 'direct-subgroup') merged[key] = 'direct';
  }
  // Tables an app hands in too (the autotuner's own never hold a variant the device lacks): a
  // product's fallback runs at its own default tile, as the factory gives it.
  if (merged.matmulTuned) {
    merged.matmulTuned = Object.fromEntries(Object.entries(merged.matmulTuned).map(([key, rec]) => {
      const variant = resolvedVariant({ variant: rec.variant, subgroups: false }).variant;
      return [key, variant === rec.variant ? rec : { ...rec, variant, tile: undefined }];
    }));
  }
  if (merged.convTuned) {
    merged.convTuned = Object.fromEntries(Object.entries(merged.convTuned).map(([key, method]) => [key, method === 'direct-subgroup' ? 'direct' : method]));
  }
  return merged;
}
