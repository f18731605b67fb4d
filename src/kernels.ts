// `webgpu-vae/kernels`: every kernel on its own, on the caller's GPUDevice and GPUBuffers.
// A factory (matmul, likelihoodRows, ...) takes the kernel's parameters, shape included, and
// gives WGSL + bindings + grid; `compile` turns it into a pipeline (cached per device by
// source) whose `bind()` makes one bind group, which the caller records into their own compute
// pass or encoder, or runs directly. Nothing is copied or allocated beyond the pipeline and the
// bind group. The model's graphs bind through exactly the same path.
import type { Kernel } from '../shaders/common';
import { type CompiledKernel, pipelineCacheFor } from './gpu/pipelines';

export { declareBindings, grid1D, STEP_PARAMS, type Kernel, type KernelBinding } from '../shaders/common';
export { uniformStruct, type UniformStruct, type UniformField } from '../shaders/uniform';
export { matmul, columnSum, MATMUL_TILES, type MatmulParams, type MatmulVariant, type MatmulOperand } from '../shaders/matmul';
export { activationForward, activationBackward, activationWGSL, ACTIVATIONS, type Activation } from '../shaders/activation';
export { reparamForward, reparamBackward, priorSample, type PosteriorLayout } from '../shaders/reparam';
export { likelihoodRows, decoderMean, decoderOutputWidth, LOG_SCALE_RANGE, PREDICTED_LOG_SCALE, LIKELIHOODS, type Likelihood, type GaussianScale } from '../shaders/likelihood';
export { conv2dForward, conv2dInputGrad, conv2dWeightGrad, convBiasGrad, convOutputSize, CONV_VARIANTS, CONV_TILES, type ConvGeometry, type ConvParams, type ConvVariant } from '../shaders/conv';
export { groupNormForward, groupNormInputGrad, groupNormParamGrad, GROUP_NORM, type GroupNormShape, type GroupNormForwardParams } from '../shaders/group-norm';
export { im2col, col2im, channelsToRows, rowsToChannels, IM2COL_TILE, type ChannelLayout } from '../shaders/conv-im2col';
export { klDivergence, klFreeBits, elboReduce, KL_WGSL } from '../shaders/elbo';
export { iwaeWeights, iwaeReduce, iwaeChunk } from '../shaders/iwae';
export { optimizerStep, type Optimizer } from '../shaders/adam';
export { gradNormPartial, stepHealth, initialWatch, GRAD_NORM, DIVERGENCE, HEALTH_FLAGS, WATCH_VEC4S } from '../shaders/grad-norm';
export { gatherBatch, gatherLabels, type Binarize } from '../shaders/batch';
export { dspritesRaster } from '../shaders/dsprites';
export { type HalfBindings } from '../shaders/half';
export { PHILOX_WGSL } from '../shaders/philox';
export { encodeStepParams, STREAM, type StepParams } from './step-params';
export { KernelGraph } from './graph';
export { Tensor } from './tensor';
export { PipelineCache, pipelineCacheFor, formatCompilationMessages, type CompiledKernel, type BoundDispatch } from './gpu/pipelines';

/** Compiles a kernel (a factory's result) for `device`. */
export function compile(device: GPUDevice, kernel: Kernel): Promise<CompiledKernel> {
  return pipelineCacheFor(device).get(kernel);
}
