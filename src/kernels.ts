// `webgpu-vae/kernels`: every kernel on its own, on the caller's GPUDevice and GPUBuffers.
// A factory (matmul, likelihoodRows, ...) takes the kernel's parameters, shape included, checks
// them (their names too), and gives WGSL + bindings + grid + the least bytes of each binding (`minBytes`);
// `compile` checks that the device has the features and limits it needs, and turns it into a
// pipeline (cached per device by source) whose `bind()` checks the buffers it is handed (usage,
// offset alignment, size, and the device's binding limits) and makes one bind group, which the caller
// records into their own compute pass or encoder, or runs directly. Nothing is copied or allocated
// beyond the pipeline and the bind group, except for a shape-generic kernel left to bind its sizes
// itself: one 16-byte uniform buffer per distinct shape, made on first use and kept with the
// device's pipelines. The model's graphs bind through exactly the same path; what this API makes
// is labelled `webgpu-vae-kernels:`, which a model's failure watch leaves to the app (see
// src/gpu/pipelines.ts), so a mistake in an app's dispatches never fails a model on its device.
import { kernelFeatures, type Kernel } from '../shaders/common';
import { ConfigError, DeviceLimitError, shown } from './errors';
import type { BufferSlice } from './gpu/buffers';
import { watchDeviceLoss } from './gpu/device';
import { checkKernelLimits, refuseGoneDevice } from './gpu/kernel-checks';
import { type CompiledKernel, pipelineCacheFor } from './gpu/pipelines';

export { declareBindings, grid1D, kernelFeatures, STEP_PARAMS, type Kernel, type KernelBinding } from '../shaders/common';
export { uniformStruct, type UniformStruct, type UniformField } from '../shaders/uniform';
export { MATMUL_TILES, type MatmulParams, type MatmulVariant, type MatmulOperand } from '../shaders/matmul';
export { columnSumSlices } from '../shaders/column-sum';
export { matmulSplits } from '../shaders/matmul-tiled';
export { activationWGSL, ACTIVATIONS, type Activation } from '../shaders/activation';
export { type PosteriorLayout } from '../shaders/reparam';
export { decoderOutputWidth, LOG_SCALE_RANGE, PREDICTED_LOG_SCALE, LIKELIHOODS, type Likelihood, type GaussianScale } from '../shaders/likelihood';
export { weightGradSplits, convOutputSize, CONV_VARIANTS, CONV_TILES, type ConvGeometry, type ConvParams, type ConvVariant } from '../shaders/conv';
export { convBiasGradSlices } from '../shaders/conv-sums';
export { GROUP_NORM, type GroupNormShape, type GroupNormForwardParams } from '../shaders/group-norm';
export { IM2COL_TILE, type ChannelLayout } from '../shaders/conv-im2col';
export { KL_WGSL } from '../shaders/elbo';
export { type Optimizer } from '../shaders/adam';
export { stepHealth, initialWatch, GRAD_NORM, DIVERGENCE, HEALTH_FLAGS, WATCH_VEC4S } from '../shaders/grad-norm';
export { type Binarize } from '../shaders/batch';
export { type HalfBindings } from '../shaders/half';
// The factories, each refusing a parameter name it does not know (kernel-factories.ts).
export {
  sliceSum, matmul, columnSum, activationForward, activationBackward, reparamForward, reparamBackward, priorSample, likelihoodRows, decoderMean,
  conv2dForward, conv2dInputGrad, conv2dWeightGrad, convWeightGradSum, convBiasGrad, groupNormForward, groupNormInputGrad, groupNormParamGrad,
  im2col, col2im, channelsToRows, rowsToChannels, klDivergence, klFreeBits, elboReduce, iwaeWeights, iwaeReduce, iwaeChunk, optimizerStep,
  gradNormPartial, gatherBatch, gatherLabels, dspritesRaster,
} from './kernel-factories';
export { PHILOX_WGSL } from '../shaders/philox';
export { encodeStepParams, STREAM, type StepParams } from './step-params';
// The CPU twin of the reparameterization noise, and the Philox stream under it (src/rng.ts).
export { noiseAt } from './noise';
export { Philox } from './rng';
// What compile(), bind() and the factories throw, so an app of kernels alone can tell them apart.
export { ConfigError, DeviceLimitError, GpuError, ShaderCompileError } from './errors';
export { KernelGraph } from './graph';
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
  watchDeviceLoss(device);
  refuseGoneDevice(device, `compile ${kernel.name}`);
  checkDeviceFits(device, kernel);
  const compiled = await pipelineCacheFor(device).get(kernel, 'app');
  // A device destroyed before this call is known only once its lost promise has settled, which
  // happens while the compile is awaited; so is one destroyed during the compile.
  refuseGoneDevice(device, `compile ${kernel.name}`);
  return withSliceChecks(compiled, device);
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
  checkKernelLimits(kernel, device.limits, 'compile()');
}

/**
 * `compiled` with bind() refusing, before WebGPU sees them, slices it would refuse only later as
 * an uncaptured error on the device: a storage binding that is not whole 4-byte words, a slice
 * running past its buffer's end, and a binding larger than the device allows, told as a kernel
 * user's fix (bind less, split the work, or request the limit). The other checks of an app's
 * buffers (usage, offset alignment, the shape's least bytes) are bind()'s own (gpu/kernel-checks.ts).
 */
function withSliceChecks(compiled: CompiledKernel, device: GPUDevice): CompiledKernel {
  return {
    ...compiled,
    bind(resources, label) {
      // A gone device is the first thing to say, as bind() itself says it.
      refuseGoneDevice(device, `bind ${compiled.name}`);
      if (typeof resources === 'object' && resources !== null) checkSlices(compiled, resources, device.limits);
      return compiled.bind(resources, label);
    },
  };
}

function checkSlices(kernel: Kernel, resources: Record<string, unknown>, limits: GPUSupportedLimits): void {
  for (const b of kernel.bindings) {
    const r = resources[b.name] as Partial<BufferSlice> | GPUBuffer | undefined;
    // Anything but a buffer or a slice of one is for bind() to name.
    const slice = r && typeof r === 'object' && 'buffer' in r ? r : { buffer: r as GPUBuffer | undefined };
    const { buffer, offset = 0, size } = slice;
    // So is an offset that is not a whole number of bytes inside the buffer.
    if (!buffer || typeof buffer.size !== 'number' || !(Number.isInteger(offset) && offset >= 0 && offset <= buffer.size)) continue;
    const at = `kernel ${kernel.name}: binding '${b.name}'`;
    if (size !== undefined && !(Number.isInteger(size) && size >= 0)) {
      throw new ConfigError(`${at} has size ${shown(size)}; a slice's size is a whole number of bytes, or left out for the rest of the buffer`);
    }
    if (size !== undefined && offset + size > buffer.size) {
      throw new ConfigError(`${at} is the slice [${offset}, ${offset + size}) of a buffer of ${buffer.size} bytes, which runs past its end; give a size of at most ${buffer.size - offset}`);
    }
    const bytes = size ?? buffer.size - offset;
    const uniform = b.kind === 'uniform';
    if (!uniform && bytes % 4 !== 0) {
      const given = size !== undefined ? `a slice of size ${size}` : offset ? `a buffer of ${buffer.size} bytes from offset ${offset}` : `a buffer of ${buffer.size} bytes`;
      throw new ConfigError(`${at} binds ${bytes} bytes (${given}), which is not a multiple of 4: a storage binding holds whole 4-byte values; give a size that is, e.g. ${Math.floor(bytes / 4) * 4}`);
    }
    const limit = uniform ? 'maxUniformBufferBindingSize' : 'maxStorageBufferBindingSize';
    const max = limits[limit];
    if (bytes > max) {
      const need = kernel.minBytes?.[b.name];
      const fix = need !== undefined && need > max
        ? `this shape alone needs ${need} bytes there: build the kernel for fewer rows and split the work over several dispatches`
        : `bind a slice of it ({ buffer, offset, size }${need !== undefined ? `; the kernel reads ${need} bytes` : ''}), or split the work over several dispatches`;
      throw new DeviceLimitError(
        `${at} binds ${bytes} bytes but this device allows ${max} per ${uniform ? 'uniform' : 'storage'} binding (${limit}); ${fix}; ` +
          `or, where the adapter allows more, request the device with requiredLimits: { ${limit}: adapter.limits.${limit} } (acquire*Device() asks for the adapter's most)`,
      );
    }
  }
}
