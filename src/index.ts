// Public API of webgpu-vae (browser-safe: nothing here imports Node modules at load time).
/// <reference types="@webgpu/types" preserve="true" />
export { VAE, DEFAULT_TRAINING, LR_DECAYS, lrAt, type VaeOptions, type TrainingOptions, type ElboResult, type LrDecay, type GraphCompileProgress } from './model/vae';
export { resolveConfig, DEFAULT_CONFIG, NORMALIZATIONS, type VaeConfig, type GaussianSigma, type Normalization } from './model/config';
export { PRECISIONS, type Precision } from './model/precision';
export { WEIGHT_INITS, type WeightInit } from './model/module';
export { paramLayout, buildModel, type ModelParts } from './model/build';
export { type ParamLayout, type TensorSpec } from './model/params';
export { type KernelChoice } from './model/kernel-choice';
export { autotuneMatmuls, matmulCandidates, AUTOTUNE_MODES, type AutotuneMode, type AutotuneOptions, type AutotuneCache, type AutotuneRecord, type TunedProduct, type TunedConv, type MatmulTuning } from './model/autotune';
export { autotuneConvs, convMethodCandidates } from './model/autotune-conv';
export { memoryAutotuneCache, indexedDbAutotuneCache } from './model/autotune-cache';
export { type GraphKind, type Plan } from './model/graphs';
export { bitsPerDim, noBitsPerDim, type LogLikelihoodOptions, type LogLikelihoodResult } from './model/iwae-eval';
export { Tensor } from './tensor';
export { type StepLoss } from './model/loss-ring';
export { type TrainingSnapshot } from './model/vae-state';
export { ResidentData, type BatchSource, type PixelData } from './model/resident-data';
export { ResidentRows, type RowData } from './model/resident-rows';
export { GeneratedSprites } from './model/generated-data';
export { saveCheckpoint, loadCheckpoint, readCheckpoint } from './checkpoint';
export { saveTrainingState, readTrainingState, type TrainingState, type TrainingProgress } from './training-state';
export { acquireBrowserDevice, wrapDevice, describeAdapter, type AcquiredDevice, type AdapterSummary } from './gpu/device';
export { mnistFromIdx, type Dataset } from './data/mnist';
export { parseIdx, parseIdxMaybeGzip, DataError } from './data/idx';
export { encodeSafetensors, decodeSafetensors, CheckpointError } from './io/safetensors';
export { Philox } from './rng';
export { noiseAt } from './noise';
export * from './errors';
