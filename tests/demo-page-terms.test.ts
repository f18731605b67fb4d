// The demo page's error banner in the page's words (demo/ui/page-terms.ts, applied by
// demo/ui/errors.ts): the library's messages name its API fields and the CLI's flags, the page
// names its controls as index.html labels them, gives byte counts in MiB / GiB, and calls a file
// that is no safetensors file just that. Messages the page writes itself pass through unchanged.
// The run summary and the scatter legend name data sets and classes as the data picker does.
// Saved files are named after the run's step and the loaded model's lineage (demo/ui/run-names.ts).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { describeError } from '../demo/ui/errors';
import { FIELD_LABELS, inPageTerms } from '../demo/ui/page-terms';
import { epochTime, RunSummary } from '../demo/ui/run-summary';
import { classCount, labelName } from '../demo/ui/data-classes';
import { fileStem, runStem } from '../demo/ui/run-names';
import { resolveConfig } from '../src/model/config';
import { ConfigError } from '../src/index';

/** The library's own refusal of a configuration, so a reworded library message is met here too. */
function refusal(config: Parameters<typeof resolveConfig>[0]): string {
  try {
    resolveConfig(config);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('the configuration was accepted');
}

describe('library errors in the page\'s words', () => {
  it('names the conv channels and the architecture by their controls, without the CLI\'s flags', () => {
    const tooMany = inPageTerms(refusal({ arch: 'conv', imageShape: [28, 28], inputDim: 784, channels: [8, 8, 8] }));
    expect(tooMany).toBe('3 stride-2 convolutions need image sides divisible by 8; 28x28 is not: give at most 2 channels (set Conv channels to 8, 8)');
    const odd = inPageTerms(refusal({ arch: 'conv', imageShape: [9, 9], inputDim: 81 }));
    expect(odd).toMatch(/cannot be halved; set Architecture to MLP, or use pictures with even sides \(for your own pictures, an even Image size\)$/);
  });

  it('names the Activations control for f16, and the split the page makes for pictures', () => {
    expect(inPageTerms("precision 'f16' needs the WebGPU feature 'shader-f16', which this device (google swiftshader) does not have; use precision 'f32' (the default)"))
      .toBe("Activations f16 needs the WebGPU feature 'shader-f16', which this device (google swiftshader) does not have; set Activations to f32");
    expect(inPageTerms('files: 1 usable picture, but a train/test split with testFraction 0.1 needs at least 2: one to train on and one to test. Add pictures (or, in the API, set testFraction 0 to train on all of them).'))
      .toBe('The chosen pictures: 1 usable picture, but holding a tenth of them out for testing needs at least 2: one to train on and one to test. Add pictures.');
    expect(inPageTerms('your images (1): 1 usable picture, but a train/test split with testFraction 0.1 needs at least 2: one to train on and one to test. Add pictures (or, in the API, set testFraction 0 to train on all of them).'))
      .toBe('your images (1): 1 usable picture, but holding a tenth of them out for testing needs at least 2: one to train on and one to test. Add pictures.');
  });

  it('gives device limits and byte counts in MiB and GiB', () => {
    expect(inPageTerms("buffer train[64].pool0 needs 1778860544 bytes but this device's maxStorageBufferBindingSize is 1073741824; use a smaller batch or model, or, where the adapter allows more, request the device with requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize } (acquire*Device() asks for the adapter's most)"))
      .toBe('the GPU buffer “train[64].pool0” needs 1.66 GiB, but this GPU binds at most 1.00 GiB as one buffer; use a smaller Batch size or model (Hidden sizes, Conv channels)');
    expect(inPageTerms("buffer params needs 1778860544 bytes but this device's maxStorageBufferBindingSize is 1073741824; use a smaller model, or, where the adapter allows more, request the device with requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize } (acquire*Device() asks for the adapter's most)"))
      .toBe('the GPU buffer “params” needs 1.66 GiB, but this GPU binds at most 1.00 GiB as one buffer; use a smaller model (Hidden sizes, Conv channels)');
    expect(inPageTerms("dataset mnist-train needs 2000000000 bytes on the GPU but maxStorageBufferBindingSize is 134217728; train on fewer examples (fewer rows; --limit in the CLI), or, where the adapter allows more, request the device with requiredLimits: { maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize, maxBufferSize: adapter.limits.maxBufferSize } (acquire*Device() asks for the adapter's most)"))
      .toBe('dataset mnist-train needs 1.86 GiB on the GPU, but this GPU binds at most 128.0 MiB as one buffer; set fewer Training examples');
  });

  it('offers no raising of the page\'s fixed memory budget, and names Batch size instead of --batch', () => {
    const text = inPageTerms('the training step at batch 100 needs 3.0 GiB of GPU memory beside 1.0 GiB of parameters and optimizer state, but the memory budget is 2.0 GiB; use a batch of 50 or less (batch; --batch in the CLI), or raise the budget (memoryBudget; --max-gpu-memory in the CLI)');
    expect(text).toMatch(/; set Batch size to 50 or less$/);
    expect(inPageTerms('params need 3.0 GiB of GPU memory, more than the 2.0 GiB budget; use a smaller model (hidden, channels, imageShape; --hidden, --channels, --image-size in the CLI) or raise the budget (memoryBudget; --max-gpu-memory in the CLI)'))
      .toMatch(/; use a smaller model \(Hidden sizes, Conv channels, Image size\)$/);
  });

  it('calls a file that is not safetensors just that, and a cut-off one cut off', () => {
    const plain = 'notes.txt is not a safetensors model file. Load a model.safetensors saved by this page (Save model) or by webgpu-vae train.';
    expect(inPageTerms('notes.txt: header length 749118580988207500 goes beyond the end of the file (812 bytes); the file is truncated or not safetensors')).toBe(plain);
    expect(inPageTerms('notes.txt: file too short (3 bytes): no room for the 8-byte header length')).toBe(plain);
    expect(inPageTerms('notes.txt: header is not valid JSON (Unexpected token)')).toBe(plain);
    expect(inPageTerms('model.safetensors: header length 3000 goes beyond the end of the file (1234 bytes); the file is truncated or not safetensors'))
      .toMatch(/^model\.safetensors ends before its safetensors header does \(1\.2 KiB of 2\.9 KiB\): it was cut short/);
  });

  it('speaks of the page\'s data sets by the picker\'s names, in plain grammar', () => {
    expect(inPageTerms('m.safetensors was trained on 3x16x16 images but your images (42) has 28x28 images; choose the dataset it was trained on'))
      .toBe('m.safetensors was trained on 3x16x16 images but your images (42) have 28x28 images; choose the dataset it was trained on');
    expect(inPageTerms('m.safetensors was trained on 28x28 images but dsprites-color has 3x64x64 images')).toBe('m.safetensors was trained on 28x28 images but Colour dSprites has 3x64x64 images');
  });

  it('names every field by a label that index.html has', () => {
    const html = readFileSync(new URL('../demo/index.html', import.meta.url), 'utf8');
    for (const label of new Set(Object.values(FIELD_LABELS))) expect(html, label).toContain(label === 'β' ? '>β (' : `>${label}`);
  });

  it('leaves the page\'s own messages and the no-WebGPU advice as they are', () => {
    for (const own of [
      'Capacity steps 100 ramp the KL capacity: set the KL capacity in nats (e.g. 25), or the steps to 0',
      'Dequantization adds uniform noise to the 8-bit levels for a density on continuous values: choose the Gaussian likelihood, or turn dequantization off',
      'training diverged by step 12 (loss NaN), and the weights with it, so the run is dropped. Start again with a smaller Learning rate',
      'colour-16.safetensors was trained on 3x16x16 images but MNIST has 28x28 images; choose the dataset it was trained on',
    ]) expect(inPageTerms(own)).toBe(own);
    expect(describeError('no-webgpu', 'start Chrome with --enable-unsafe-webgpu (in the CLI)').text).toMatch(/^start Chrome with --enable-unsafe-webgpu \(in the CLI\)\n/);
    expect(describeError('config', "use precision 'f32'").text).toBe('set Activations to f32');
  });
});

describe('the run summary', () => {
  const summary = () => {
    const el = { textContent: '' };
    return { el, s: new RunSummary(el as unknown as HTMLElement) };
  };

  it('names the data as the picker does, with the plural only where there are several test images', () => {
    const { el, s } = summary();
    s.data({ type: 'dataset', name: 'dsprites-color', train: 1000, test: 500, rows: 64, cols: 64 });
    expect(el.textContent).toBe('Colour dSprites: 1,000 training and 500 test images, 64×64');
    s.data({ type: 'dataset', name: 'your images (2)-x', train: 1, test: 1, rows: 16, cols: 16 });
    expect(el.textContent).toBe('your images (2)-x: 1 training and 1 test image, 16×16');
  });

  it('says when the batch was cut to the training set, as the Batch size field keeps what was typed', () => {
    const { el, s } = summary();
    const config = resolveConfig({ inputDim: 256, hidden: [32], latent: 2 });
    s.data({ type: 'dataset', name: 'files', train: 18, test: 2, rows: 16, cols: 16 });
    s.model({ type: 'model', config, params: 1234, batch: 18, precision: 'f32' }, 100);
    expect(el.textContent.split('\n')[1]).toMatch(/, 1,234 parameters, batch 18 \(all the training images; Batch size asks 100\)$/);
    s.model({ type: 'model', config, params: 1234, batch: 18, precision: 'f32' }, 18);
    expect(el.textContent.split('\n')[1]).toMatch(/, batch 18$/);
  });

  it('gives an epoch shorter than a second in milliseconds rather than "0.0 s"', () => {
    expect([epochTime(0.012), epochTime(0.0002), epochTime(0.96), epochTime(12.34)]).toEqual(['12 ms', '1 ms', '960 ms', '12.3 s']);
  });
});

describe('the latent scatter plot\'s legend', () => {
  it('names Fashion-MNIST\'s clothes and dSprites\' shapes, and keeps digits and other labels as numbers', () => {
    expect([0, 9].map((l) => labelName(l, 'fashion-mnist'))).toEqual(['T-shirt/top', 'Ankle boot']);
    expect([0, 1, 2].map((l) => labelName(l, 'dsprites-color'))).toEqual(['square', 'ellipse', 'heart']);
    expect([labelName(7, 'mnist'), labelName(3, 'files'), labelName(12, 'fashion-mnist')]).toEqual(['7', '3', '12']);
  });

  it('counts the classes of the picked data as the worker will: IDX files by their largest label', () => {
    expect(['mnist', 'fashion-mnist', 'dsprites', 'dsprites-color', 'images'].map((c) => classCount(c, null))).toEqual([10, 10, 3, 3, 1]);
    expect([classCount('files', null), classCount('files', 20), classCount('files', 4)]).toEqual([10, 20, 4]);
  });
});

describe('saved files\' names', () => {
  it('name the step, and after a Load the file the model came from', () => {
    expect(runStem(null, 250)).toBe('step-250');
    expect(runStem(fileStem('demo-model.safetensors'), 0)).toBe('step-0-after-demo-model');
    expect(runStem(fileStem('vae-mnist-step-100.safetensors'), 40)).toBe('step-40-after-vae-mnist-step-100');
  });

  it('do not grow with each load-and-save round: a save of a loaded model adds its steps to the origin', () => {
    let loaded = fileStem('my-model.safetensors');
    const saves: string[] = [];
    for (const steps of [100, 30, 7]) {
      const saved = `vae-fashion-mnist-${runStem(loaded, steps)}.safetensors`;
      saves.push(saved);
      loaded = fileStem(saved);
    }
    expect(saves).toEqual([
      'vae-fashion-mnist-step-100-after-my-model.safetensors',
      'vae-fashion-mnist-step-130-after-my-model.safetensors',
      'vae-fashion-mnist-step-137-after-my-model.safetensors',
    ]);
    // A name that only looks like the page's keeps its own words.
    expect(runStem('vae-step-after-x', 5)).toBe('step-5-after-vae-step-after-x');
  });
});
