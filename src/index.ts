// Public API of webgpu-vae (browser-safe: nothing here imports Node modules at load time).
export { VAE, DEFAULT_TRAINING, type VaeOptions, type TrainingOptions, type ElboResult } from './model/vae';
export { resolveConfig, DEFAULT_CONFIG, type VaeConfig, type GaussianSigma } from './model/config';
export { paramLayout, buildModel, type ModelParts } from './model/build';
export { type ParamLayout, type TensorSpec } from './model/params';
export { type KernelChoice } from './model/kernels';
export { type GraphKind, type Plan } from './model/graphs';
export { type LogLikelihoodOptions, type LogLikelihoodResult } from './model/iwae-eval';
export { Tensor } from './tensor';
export { type StepLoss } from './model/loss-ring';
export { ResidentData, type PixelData } from './model/resident-data';
export { saveCheckpoint, loadCheckpoint, readCheckpoint } from './checkpoint';
export { acquireBrowserDevice, wrapDevice, describeAdapter, type AcquiredDevice, type AdapterSummary } from './gpu/device';
export { mnistFromIdx, type Dataset } from './data/mnist';
export { parseIdx, parseIdxMaybeGzip, DataError } from './data/idx';
export { encodeSafetensors, decodeSafetensors, CheckpointError } from './io/safetensors';
export { Philox } from './rng';
export { noiseAt } from './noise';
export * from './errors';
