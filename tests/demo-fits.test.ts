// What the demo's worker checks once the data is loaded and before it builds a model
// (demo/worker/fits.ts): a model file or saved run must match the data's picture shape and
// labels, else it is refused (and, in the worker, the current run is kept: the check comes before
// it is dropped; tests/e2e/demo.test.ts and images.test.ts load such a file mid-run), a model file
// as a file that was not loaded, with steps that work from the page's state; and each split must fit in
// one GPU buffer binding, else the message names the page's fields (Training examples, Image
// size), not the CLI's --limit, before a model is compiled for nothing.
import { describe, expect, it } from 'vitest';
import { checkDataFitsDevice, checkModelFitsData } from '../demo/worker/fits';
import type { LoadedData, Split } from '../demo/worker/data';
import { resolveConfig } from '../src/model/config';
import { describeError } from '../demo/ui/errors';

const split = (count: number, channels: number, side: number, labels: number[] = [], drawn = false): Split => ({
  name: 'split', count, channels, rows: side, cols: side,
  images: new Uint8Array(drawn ? 0 : count * channels * side * side),
  labels: Uint8Array.from({ length: count }, (_, i) => labels[i] ?? 0),
});
const mnistLike: LoadedData = { name: 'MNIST', train: split(20, 1, 28, [0, 9]), test: split(5, 1, 28, [3]) };

describe('a model from a file or a saved run against the loaded data', () => {
  const colour = resolveConfig({ inputDim: 3 * 16 * 16, imageShape: [16, 16], imageChannels: 3, hidden: [8], latent: 2 });
  const grey = resolveConfig({ hidden: [8], latent: 2 });
  const ownRgb16: LoadedData = { name: 'your images (60)', train: split(54, 3, 16, [0]), test: split(6, 3, 16, [0]) };
  const refusal = (f: () => void): Error | undefined => { try { f(); } catch (e) { return e as Error; } return undefined; };

  it('refuses a saved run of another picture shape as data, naming both', () => {
    expect(() => checkModelFitsData(colour, mnistLike, { what: 'the saved run', file: false, kind: 'mnist' })).toThrow(/^the saved run was trained on 3x16x16 images but MNIST has 28x28 images; choose the dataset it was trained on \(or Your own images at Image size 16, RGB\)$/);
    // On the user's own pictures the fix is the size and channel fields, not another data set.
    const own: LoadedData = { name: 'your images (88)', train: split(20, 3, 32, [0]), test: split(5, 3, 32, [0]) };
    const error = refusal(() => checkModelFitsData(colour, own, { what: 'the saved run', file: false, kind: 'images' }));
    expect(error?.name).toBe('DataError');
    expect(error?.message).toBe('the saved run was trained on 3x16x16 images but your images (88) have 3x32x32 images; set Image size to 16 and Channels to RGB');
    expect(() => checkModelFitsData(grey, mnistLike, { what: 'grey.safetensors', file: true, kind: 'mnist', replacing: true })).not.toThrow();
  });

  it('refuses a model file loaded during a run as a file, keeping the run, with steps that work from there', () => {
    // The fields that would fit the data to the file are locked while a model exists: Reset comes first.
    const error = refusal(() => checkModelFitsData(grey, ownRgb16, { what: 'vae-mnist-step-900.safetensors', file: true, kind: 'images', replacing: true }));
    expect(error?.name, 'the file is refused, not the data').toBe('CheckpointError');
    expect(error?.message).toBe('vae-mnist-step-900.safetensors was trained on 28x28 images but your images (60) have 3x16x16 images, so it was not loaded; ' +
      'the current model goes on as it was. To use it: press Reset (Save model first to keep the current model), set Image size to 28 and Channels to Grey, then Load model again.');
    const onMnist = refusal(() => checkModelFitsData(colour, mnistLike, { what: 'colour.safetensors', file: true, kind: 'mnist', replacing: true }));
    expect(onMnist?.message).toBe('colour.safetensors was trained on 3x16x16 images but MNIST has 28x28 images, so it was not loaded; the current model goes on as it was. ' +
      'To use it: press Reset (Save model first to keep the current model), choose the dataset it was trained on (or Your own images at Image size 16, RGB), then Load model again.');
  });

  it('with no model in training, the steps start at the fields, which are not locked then', () => {
    const error = refusal(() => checkModelFitsData(grey, ownRgb16, { what: 'm.safetensors', file: true, kind: 'images' }));
    expect(error?.name).toBe('CheckpointError');
    expect(error?.message).toBe('m.safetensors was trained on 28x28 images but your images (60) have 3x16x16 images, so it was not loaded. To use it: set Image size to 28 and Channels to Grey, then Load model again.');
    // The page's banner shows it as a file that was not loaded, in words the page-terms rewrites leave alone.
    expect(describeError('checkpoint', error!.message)).toEqual({ title: 'The model file was not loaded', text: error!.message });
  });

  it('refuses a conditional model that knows fewer classes than the data has labels', () => {
    const three = resolveConfig({ hidden: [8], latent: 2, classes: 3 });
    const error = refusal(() => checkModelFitsData(three, mnistLike, { what: 'the saved run', file: false, kind: 'mnist' }));
    expect(error?.name).toBe('DataError');
    expect(error?.message).toBe('the saved run is conditional on labels 0 to 2 but MNIST has labels up to 9; choose the dataset it was trained on');
    expect(refusal(() => checkModelFitsData(three, mnistLike, { what: 'three.safetensors', file: true, kind: 'mnist' }))?.message)
      .toBe('three.safetensors is conditional on labels 0 to 2 but MNIST has labels up to 9, so it was not loaded. To use it: choose the dataset it was trained on, then Load model again.');
    expect(() => checkModelFitsData(resolveConfig({ hidden: [8], latent: 2, classes: 10 }), mnistLike, { what: 'ten', file: true })).not.toThrow();
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
