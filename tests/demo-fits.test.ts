// What the demo's worker checks once the data is loaded and before it builds a model
// (demo/worker/fits.ts): a model file or saved run must match the data's picture shape and
// labels, else it is refused (and, in the worker, the current run is kept: the check comes before
// it is dropped; tests/e2e/demo.test.ts loads such a file mid-run); and each split must fit in
// one GPU buffer binding, else the message names the page's fields (Training examples, Image
// size), not the CLI's --limit, before a model is compiled for nothing.
import { describe, expect, it } from 'vitest';
import { checkDataFitsDevice, checkModelFitsData } from '../demo/worker/fits';
import type { LoadedData, Split } from '../demo/worker/data';
import { resolveConfig } from '../src/model/config';

const split = (count: number, channels: number, side: number, labels: number[] = [], drawn = false): Split => ({
  name: 'split', count, channels, rows: side, cols: side,
  images: new Uint8Array(drawn ? 0 : count * channels * side * side),
  labels: Uint8Array.from({ length: count }, (_, i) => labels[i] ?? 0),
});
const mnistLike: LoadedData = { name: 'MNIST', train: split(20, 1, 28, [0, 9]), test: split(5, 1, 28, [3]) };

describe('a model from a file or a saved run against the loaded data', () => {
  it('refuses another picture shape, naming both', () => {
    const colour = resolveConfig({ inputDim: 3 * 16 * 16, imageShape: [16, 16], imageChannels: 3, hidden: [8], latent: 2 });
    expect(() => checkModelFitsData(colour, mnistLike, 'colour.safetensors', 'mnist')).toThrow(/^colour\.safetensors was trained on 3x16x16 images but MNIST has 28x28 images; choose the dataset it was trained on \(or Your own images at Image size 16, RGB\)$/);
    // On the user's own pictures the fix is the size and channel fields, not another data set.
    const own: LoadedData = { name: 'your images (88)', train: split(20, 3, 32, [0]), test: split(5, 3, 32, [0]) };
    expect(() => checkModelFitsData(colour, own, 'model.safetensors', 'images')).toThrow(/^model\.safetensors was trained on 3x16x16 images but your images \(88\) has 3x32x32 images; set Image size to 16 and Channels to RGB$/);
    const grey = resolveConfig({ hidden: [8], latent: 2 });
    expect(() => checkModelFitsData(grey, mnistLike, 'grey.safetensors')).not.toThrow();
  });

  it('refuses a conditional model that knows fewer classes than the data has labels', () => {
    const three = resolveConfig({ hidden: [8], latent: 2, classes: 3 });
    let error: Error | undefined;
    try { checkModelFitsData(three, mnistLike, 'the saved run'); } catch (e) { error = e as Error; }
    expect(error?.name).toBe('DataError');
    expect(error?.message).toBe('the saved run is conditional on labels 0 to 2 but MNIST has labels up to 9; choose the dataset it was trained on');
    expect(() => checkModelFitsData(resolveConfig({ hidden: [8], latent: 2, classes: 10 }), mnistLike, 'ten')).not.toThrow();
  });
});

describe('the loaded data against one GPU buffer binding', () => {
  const limit = 8192; // bytes; 3x32x32 pictures are 3,072 bytes each

  it('names Training examples (and, for pictures, Image size) when the training split is too large', () => {
    const data: LoadedData = { name: 'pictures', train: split(4, 3, 32), test: split(1, 3, 32) };
    let error: Error | undefined;
    try { checkDataFitsDevice(data, limit, 'images'); } catch (e) { error = e as Error; }
    expect(error?.name).toBe('DeviceLimitError');
    expect(error?.message).toMatch(/^the 4 training pictures of 3x32x32 take 12\.0 KiB, more than the 8\.0 KiB this GPU can hold in one buffer; set Training examples to at most 2, or choose a smaller Image size/);
    expect(error?.message).not.toContain('--limit');
    expect(() => checkDataFitsDevice(data, limit, 'files')).toThrow(/set Training examples to at most 2\.$/);
  });

  it('says that only smaller pictures help when the test split is too large', () => {
    const data: LoadedData = { name: 'pictures', train: split(2, 3, 32), test: split(3, 3, 32) };
    expect(() => checkDataFitsDevice(data, limit, 'images')).toThrow(/^the 3 test pictures of 3x32x32 take 9\.0 KiB, .*fewer Training examples do not change the test pictures: choose a smaller Image size \(or Grey channels\)\.$/);
  });

  it('passes pictures drawn on the GPU, which hold no bytes, and splits that fit', () => {
    const drawn: LoadedData = { name: 'dsprites', train: split(1000, 3, 64, [], true), test: split(1, 1, 64) };
    expect(() => checkDataFitsDevice(drawn, limit, 'dsprites')).not.toThrow();
    expect(() => checkDataFitsDevice({ name: 'ok', train: split(2, 3, 32), test: split(2, 3, 32) }, limit, 'images')).not.toThrow();
  });
});
