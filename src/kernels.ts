// `webgpu-vae/kernels`: every kernel on its own, on the caller's GPUDevice and GPUBuffers.
// A factory (matmul, likelihoodRows, ...) takes the kernel's parameters, shape included, checks
// them (their names too), and gives WGSL + bindings + grid + the least bytes of each binding (`minBytes`);
// `compile` checks that the device has the features and limits it needs, and turns it into a
// pipeline (cached per device by source) whose `bind()` checks the buffers it is handed (usage,
// offset alignment, size, exact for a binding the kernel counts its work from, and the device's
// binding limits: gpu/kernel-checks.ts) and makes one
// bind group, which the caller records into their own compute pass or encoder, or runs directly. Nothing is copied or allocated
// beyond the pipeline and the bind group, except for a shape-generic kernel left to bind its sizes
// itself: one 16-byte uniform buffer per distinct shape, made on first use and kept with the
// device's pipelines (an app drops its own with `pipelineCacheFor(device).clear()`). The model's graphs bind through exactly the same path; what this API makes
// is labelled `webgpu-vae-kernels:`, which a model's failure watch leaves to the app (see
// src/gpu/pipelines.ts), so a mistake in an app's dispatches never fails a model on its device.
/// <reference types="@webgpu/types" preserve="true" />
import { kernelFeatures, type Kernel } from '../shaders/common';
import { ConfigError } from './errors';
import type { BufferArena } from './gpu/buffers';
import { watchDeviceLoss } from './gpu/device';
import { checkDeviceArgument } from './gpu/device-argument';
import { checkKernelArgument, checkKernelLimits, refuseGoneDevice } from './gpu/kernel-checks';
import { type CompileProgress, type CompiledKernel, type PipelineCache, pipelineCacheFor } from './gpu/pipelines';
import { KernelGraph as Graph } from './graph';

export { declareBindings, grid1D, kernelFeatures, STEP_PARAMS, type Kernel, type KernelBinding } from '../shaders/common';
export { uniformStruct, type UniformStruct, type UniformField } from '../shaders/uniform';
export { MATMUL_TILES, nonzeroStepsFor, type MatmulParams, type MatmulVariant, type MatmulOperand } from '../shaders/matmul';
export { zeroListBlock } from '../shaders/matmul-hot';
export { nonzeroStepsWords, type NonzeroStepsParams, type ZeroSkipOperand } from '../shaders/matmul-zeros';
export { columnSumSlices } from '../shaders/column-sum';
export { matmulSplits } from '../shaders/matmul-tiled';
export { activationWGSL, ACTIVATIONS, GRAD_FROM_INPUT, gradFromInput, type Activation } from '../shaders/activation';
export { type PosteriorLayout } from '../shaders/reparam';
export { decoderOutputWidth, LOG_SCALE_RANGE, PREDICTED_LOG_SCALE, LIKELIHOODS, type Likelihood, type GaussianScale } from '../shaders/likelihood';
export { weightGradSplits, convOutputSize, CONV_VARIANTS, CONV_TILES, type ConvGeometry, type ConvParams, type ConvVariant } from '../shaders/conv';
export { convBiasGradSlices } from '../shaders/conv-sums';
export { GROUP_NORM, type GroupNormShape, type GroupNormForwardParams } from '../shaders/group-norm';
export { type UpsampleParams } from '../shaders/upsample';
export { type ConcatBackwardParams, type ConcatParams } from '../shaders/concat';
export { LV_LIMIT, type TcParams } from '../shaders/tc';
export { IM2COL_TILE, type ChannelLayout } from '../shaders/conv-im2col';
export { KL_WGSL } from '../shaders/elbo';
export { type Optimizer } from '../shaders/adam';
export { stepHealth, initialWatch, GRAD_NORM, DIVERGENCE, HEALTH_FLAGS, WATCH_VEC4S } from '../shaders/grad-norm';
export { type Binarize } from '../shaders/batch';
export { type HalfBindings } from '../shaders/half';
// The factories, each refusing a parameter name it does not know (kernel-factories.ts).
export {
  sliceSum, matmul, nonzeroSteps, columnSum, activationForward, activationBackward, reparamForward, reparamBackward, priorSample, likelihoodRows, decoderMean,
  conv2dForward, conv2dInputGrad, conv2dWeightGrad, convWeightGradSum, convBiasGrad, groupNormForward, groupNormInputGrad, groupNormParamGrad,
  im2col, col2im, channelsToRows, rowsToChannels, klDivergence, klFreeBits, klCapacity, tcRows, tcPosteriorGrad, elboReduce, iwaeWeights,
  iwaeReduce, iwaeChunk, optimizerStep, gradNormPartial, gatherBatch, gatherLabels, gatherRows, dspritesRaster, upsampleForward, upsampleBackward,
  concatForward, concatBackward, FACTORY_PARAMETERS,
} from './kernel-factories';
export { PHILOX_WGSL } from '../shaders/philox';
export { encodeStepParams, stepParamsFor, stepParamsRead, STREAM, type StepParams } from './step-params';
// The CPU twin of the reparameterization noise, and the Philox stream under it (src/rng.ts).
export { noiseAt } from './noise';
export { Philox } from './rng';
// What compile(), bind() and the factories throw, so an app of kernels alone can tell them apart.
export { ConfigError, DeviceLimitError, GpuError, ShaderCompileError } from './errors';
export { Tensor } from './tensor';
export { PipelineCache, pipelineCacheFor, formatCompilationMessages, KERNELS_LABEL_PREFIX, type CompiledKernel, type BoundDispatch, type KernelOwner } from './gpu/pipelines';

/**
 * Compiles a kernel (a factory's result) for `device`. Throws the library's device-lost GpuError
 * on a device that is destroyed or lost, where Dawn would hand back a pipeline that cannot run;
 * and, before any WGSL reaches the compiler, a ConfigError for a device feature the kernel needs
 * and the device lacks, or a DeviceLimitError for a limit it is past (see checkDeviceFits), where
 * the compiler or the pipeline layout would fail with a message naming neither.
 */
export async function compile(device: GPUDevice, kernel: Kernel): Promise<CompiledKernel> {
  checkDeviceArgument(device, "compile's device");
  checkKernelArgument(kernel, "compile's kernel");
  watchDeviceLoss(device);
  refuseGoneDevice(device, `compile ${kernel.name}`);
  checkDeviceFits(device, kernel);
  const compiled = await pipelineCacheFor(device).get(kernel, 'app');
  // A device destroyed before this call is known only once its lost promise has settled, which
  // happens while the compile is awaited; so is one destroyed during the compile.
  refuseGoneDevice(device, `compile ${kernel.name}`);
  return compiled;
}

/**
 * Refuses a kernel the device cannot run, naming what to request: a feature its source enables
 * (kernelFeatures: `shader-f16` for f16 bindings, `subgroups` for a subgroup variant), and its
 * storage buffers and grid against the device's limits. A device has only the features and
 * limits requestDevice asked for, whatever its adapter offers.
 */
function checkDeviceFits(device: GPUDevice, kernel: Kernel): void {
  for (const { feature, otherwise } of kernelFeatures(kernel)) {
    if (device.features.has(feature)) continue;
    throw new ConfigError(
      `kernel ${kernel.name} needs the device feature '${feature}', which this device was not created with; ` +
        `where the adapter has it (adapter.features.has('${feature}')), request it: adapter.requestDevice({ requiredFeatures: ['${feature}'] }); ${otherwise}`,
    );
  }
  checkKernelLimits(kernel, device.limits, 'compile()', true);
}

/**
 * A list of dispatches, built once and recorded into one compute pass, on the app's own buffers:
 * the graph of src/graph.ts, always owned by the app. Its pipelines, bind groups and passes are
 * labelled `webgpu-vae-kernels:`, each binding is checked as `compile().bind()` checks it, and a
 * misuse is a ConfigError, so that a mistake in it never fails a model sharing the device (the
 * library's own graphs, which a model's failure watch claims, are made only inside the library).
 */
export class KernelGraph extends Graph {
  constructor(label: string) {
    super(label, 'app');
  }

  /** As compile(): a gone device, and a feature or limit the device lacks, are refused before anything compiles. */
  override async build(cache: PipelineCache, arena?: BufferArena, onProgress?: CompileProgress): Promise<this> {
    const { device } = cache;
    watchDeviceLoss(device);
    refuseGoneDevice(device, `build graph ${this.label}`);
    for (const kernel of this.kernels) checkDeviceFits(device, kernel);
    await super.build(cache, arena, onProgress);
    refuseGoneDevice(device, `build graph ${this.label}`);
    return this;
  }
}
