// Fashion-MNIST from Debian's dataset-fashion-mnist package. Without the package the tests skip
// with a message saying how to install it; in CI (CI set) a missing package fails instead, since
// scripts/setup-debian.sh installs it there.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FASHION_MNIST_DEBIAN_DIR, fashionMnistInstalled, loadFashionMnistNode } from '../src/data/fashion-mnist';
import { loadMnistNode } from '../src/data/mnist-node';
import { tempDir } from './helpers/temp-dir';

const installed = await fashionMnistInstalled();
const inCi = Boolean(process.env.CI);
if (!installed && !inCi) {
  console.warn(`fashion-mnist tests SKIPPED: ${FASHION_MNIST_DEBIAN_DIR} is missing; install it with apt-get install dataset-fashion-mnist`);
}

const empty = tempDir('webgpu-vae-fashion-');

describe('Fashion-MNIST', () => {
  it.runIf(inCi)('is installed in CI', () => {
    expect(installed, `${FASHION_MNIST_DEBIAN_DIR} missing in CI: scripts/setup-debian.sh should install dataset-fashion-mnist`).toBe(true);
  });

  it.skipIf(!installed && !inCi)('loads both splits from the Debian package: 60000 and 10000 grey 28x28 pictures, labels 0..9', async () => {
    const train = await loadFashionMnistNode('train');
    const test = await loadFashionMnistNode('test');
    const few = await loadFashionMnistNode('test', { limit: 500 });
    expect([train.count, train.rows, train.cols, train.channels, train.name]).toEqual([60000, 28, 28, 1, 'fashion-mnist-train']);
    expect(train.images.length).toBe(60000 * 784);
    expect([test.count, test.name, few.count]).toEqual([10000, 'fashion-mnist-test', 500]);
    expect(Array.from(few.labels)).toEqual(Array.from(test.labels.subarray(0, 500)));
    const counts = new Array(10).fill(0);
    for (const l of train.labels) counts[l]++;
    expect(counts).toEqual(new Array(10).fill(6000)); // the data set is balanced
    // Not MNIST under another name: the first training picture differs from MNIST's.
    const mnist = await loadMnistNode('train', { limit: 1 });
    expect(Array.from(train.images.subarray(0, 784))).not.toEqual(Array.from(mnist.images));
  });

  it('says how to install it when the folder holds no files', async () => {
    const { DataError } = await import('../src/data/idx');
    await expect(loadFashionMnistNode('train', { dir: empty })).rejects.toThrow(DataError);
    await expect(loadFashionMnistNode('train', { dir: empty })).rejects.toThrow(/train-images-idx3-ubyte: file not found/);
  });
});
