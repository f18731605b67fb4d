// What an app embedding the library can get wrong, and what it can rely on: calls made without
// waiting for each other, models sharing a device, an app's own WebGPU errors on that device,
// and bad options or data, each refused with a ConfigError that names the problem before any GPU
// work.
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, readCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { loadMnistNode } from '../src/data/mnist-node';
import { ConfigError } from '../src/errors';
import { acquireNodeDevice } from '../src/gpu/node-device';
import { concernsUs, errorOperation, modelLabelPrefix } from '../src/gpu/labels';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors';
import { paramLayout } from '../src/model/build';
import { resolveConfig } from '../src/model/config';
import { VAE, type VaeOptions } from '../src/model/vae';
import { readTrainingState, saveTrainingState } from '../src/training-state';
import { gpu } from './helpers/gpu';

const tiny = { hidden: [16], latent: 3 };

describe('calls made without waiting for each other', async () => {
  const train = await loadMnistNode('train', { limit: 64 });

  it('concurrent samples and reconstructions each get their own result', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8, seed: 1 });
    const a = await vae.sample(4, 1), b = await vae.sample(4, 2);
    const [pa, pb] = await Promise.all([vae.sample(4, 1), vae.sample(4, 2)]);
    expect(pa).toEqual(a);
    expect(pb).toEqual(b);
    const x1 = Float32Array.from(train.images.subarray(0, 784), (v) => v / 255);
    const x2 = Float32Array.from(train.images.subarray(784, 2 * 784), (v) => v / 255);
    const r1 = await vae.reconstruct(x1), r2 = await vae.reconstruct(x2);
    const [q1, q2, e] = await Promise.all([vae.reconstruct(x1), vae.reconstruct(x2), vae.encode(x1)]);
    expect(q1).toEqual(r1);
    expect(q2).toEqual(r2);
    expect(e.mu).toEqual((await vae.encode(x1)).mu);
    vae.destroy();
  });

  it('a training step and an evaluation started together do not disturb each other', async () => {
    const { device } = await gpu();
    const run = async (together: boolean) => {
      const vae = await VAE.create(tiny, { device, batch: 16, seed: 4 });
      const data = vae.upload(train);
      let elbo;
      if (together) [, elbo] = await Promise.all([vae.trainStep({ data, index: 0 }), vae.elbo(data)]);
      else { await vae.trainStep({ data, index: 0 }); elbo = await vae.elbo(data); }
      const params = await vae.flatParameters();
      vae.destroy();
      return { elbo, params };
    };
    const apart = await run(false), together = await run(true);
    expect(together.elbo).toEqual(apart.elbo);
    expect(together.params).toEqual(apart.params);
  });
});

describe('models sharing a device', () => {
  it('a device from acquireNodeDevice() outlives all but the last model on it', async () => {
    const acquired = await acquireNodeDevice();
    const first = await VAE.create(tiny, { device: acquired, batch: 8, seed: 1 });
    const copy = await loadCheckpoint(await saveCheckpoint(first), { device: acquired, batch: 8 });
    const before = await first.sample(2, 3);
    copy.destroy();
    expect(await first.sample(2, 3)).toEqual(before);
    let lost = false;
    acquired.device.lost.then(() => (lost = true));
    first.destroy();
    await acquired.device.lost;
    expect(lost).toBe(true);
  });

  it('a model is refused, not crashed, on an acquired device that is gone: destroyed with the last model, or lost', async () => {
    const gone = /VAE\.create: this GPU device is gone .* create the model on a new device/;
    const acquired = await acquireNodeDevice();
    (await VAE.create(tiny, { device: acquired, batch: 8 })).destroy();
    // At once, before the device's lost promise has settled, and after.
    await expect(VAE.create(tiny, { device: acquired, batch: 8 })).rejects.toMatchObject({ name: 'GpuError', kind: 'device-lost' });
    await acquired.device.lost;
    await expect(VAE.create({ ...tiny, objective: 'iwae', samples: 3 }, { device: acquired.device, batch: 8 })).rejects.toThrow(gone);
    const other = await acquireNodeDevice();
    other.device.destroy();
    await other.device.lost;
    await expect(VAE.create(tiny, { device: other, batch: 8 })).rejects.toThrow(gone);
  });

  it('errors naming only an app\'s objects are the app\'s; ours, or no object at all, are the model\'s', () => {
    expect(concernsUs('Write range (bufferOffset: 0, size: 32) does not fit in [Buffer "my-app-uniforms"] size (16).')).toBe(false);
    expect(concernsUs('Write range does not fit in [Buffer (unlabeled)] size (16).')).toBe(false);
    expect(concernsUs('[Buffer "webgpu-vae:params"] used in submit while destroyed.')).toBe(true);
    expect(concernsUs('In a set_bind_group command, Buffer with \'webgpu-vae:train:x\' label is invalid')).toBe(true);
    expect(concernsUs('Buffer with \'app-vertices\' label is invalid')).toBe(false);
    expect(concernsUs('[Invalid CommandBuffer] is invalid due to a previous error.')).toBe(false);
    expect(concernsUs('Out of memory')).toBe(true);
    // A call on an unlabelled device, as Chromium and dawn.node write it: the app's own mistake.
    const usage = 'Buffer usages (BufferUsage::(MapRead|Storage)) is invalid.';
    expect(concernsUs(`${usage}\n - While calling [Device].CreateBuffer([BufferDescriptor]).`)).toBe(false);
    expect(concernsUs(`${usage}\n - While calling [Device].CreateBuffer([BufferDescriptor """"]).`)).toBe(false);
    expect(concernsUs('Error while parsing WGSL: expected \')\'\n - While calling [Device].CreateShaderModule([ShaderModuleDescriptor]).')).toBe(false);
    // The same mistake in a call of ours: our descriptor's label is quoted (doubled by dawn.node).
    expect(concernsUs(`${usage}\n - While calling [Device].CreateBuffer([BufferDescriptor "webgpu-vae:params"]).`)).toBe(true);
    expect(concernsUs(`${usage}\n - While calling [Device].CreateBuffer([BufferDescriptor ""webgpu-vae:params""]).`)).toBe(true);
    expect(errorOperation(`${usage}\n - While calling [Device].CreateBuffer([BufferDescriptor ""webgpu-vae:params""]).`)).toBe('params');
    // Buffers of one model among several on a device: another model's are not this one's.
    const own = modelLabelPrefix(2);
    expect(own).toBe('webgpu-vae:#2:');
    expect(concernsUs('[Buffer "webgpu-vae:#2:sample[8].images"] used in submit while destroyed.', own)).toBe(true);
    expect(concernsUs('[Buffer "webgpu-vae:#1:sample[8].images"] used in submit while destroyed.', own)).toBe(false);
    expect(concernsUs('[Buffer "webgpu-vae:#1:sample[8].images"] in [BindGroup "webgpu-vae:sample[8]:matmul"] is invalid.', own)).toBe(true);
    expect(concernsUs('[ComputePipeline "webgpu-vae:matmul_nt"] is invalid.', own)).toBe(true);
    expect(errorOperation('[Buffer "webgpu-vae:#12:sample[8].images"] used in submit while destroyed.')).toBe('sample[8].images');
  });

  it('a GpuError names the operation from Dawn\'s and from wgpu\'s quoting of our labels', () => {
    expect(errorOperation('[ComputePipeline "webgpu-vae:matmul_nt_bias_relu_register"] is invalid.')).toBe('matmul_nt_bias_relu_register');
    expect(errorOperation("Usage flags BufferUsages(STORAGE) of Buffer with 'webgpu-vae:sample[4].images' label do not contain UNIFORM")).toBe('sample[4].images');
    // Ours first, wherever it stands among the labels the message quotes.
    expect(errorOperation('Binding [Buffer "app-uniforms"] in [BindGroup "webgpu-vae:eval[64]"] is invalid.')).toBe('eval[64]');
    expect(errorOperation('Out of memory')).toBe('unknown operation');
  });
});

describe('bad options and data are refused by name, before any GPU work', async () => {
  const train = await loadMnistNode('train', { limit: 64 });

  it.each<[string, Partial<VaeOptions>, RegExp]>([
    ['a misspelt autotune mode', { autotune: 'quik' as never }, /autotune must be one of off, quick, full/],
    ['an infinite rate', { lr: Infinity }, /lr must be a number > 0 within f32's range/],
    ['a negative epsilon', { eps: -1 }, /eps must be a number from 1\.2e-38 \(float32's smallest normal number/],
    // Past f32's normal range eps is 0 on GPUs, and a zero gradient's update 0 / 0.
    ['an epsilon under f32\'s normal range', { eps: 1e-40 }, /eps must be a number from 1\.2e-38 .* got 1e-40$/],
    ['a beta of 1.5', { betas: [1.5, 0.999] }, /betas must be two numbers in \[0, 1\)/],
    // Below 1 in float64 but 1 in f32, where the bias correction divides by 1 - beta^t.
    ['a beta that is 1 in f32', { betas: [0.9, 0.99999999] }, /^betas must stay below 1 as float32 numbers, which the GPU uses: 0\.99999999 rounds to 1 there/],
    ['one beta', { betas: [0.9] as never }, /betas must be two numbers/],
    ['a negative weight decay', { weightDecay: -1 }, /weightDecay must be a finite number >= 0/],
    ['lossEvery 0', { lossEvery: 0 }, /lossEvery .* must be an integer in 1\.\.4096/],
    ['a fractional lossEvery', { lossEvery: 1.5 }, /lossEvery/],
    ['a negative seed', { seed: -1 }, /seed must be a non-negative integer/],
    ['an unknown matmul variant', { kernels: { matmul: 'bogus' as never } }, /kernels\.matmul must be one of/],
    ['an unknown conv method', { kernels: { conv: 'fft' as never } }, /kernels\.conv must be one of/],
    ['a misspelt option', { bacth: 32 } as never, /unknown option 'bacth' \(did you mean 'batch'\?\)/],
  ])('%s', async (_, bad, message) => {
    const { device } = await gpu();
    await expect(VAE.create(tiny, { device, batch: 8, ...bad })).rejects.toThrow(message);
  });

  it('no device, a misspelt config field, and an image shape that is not [rows, cols]', async () => {
    const { device } = await gpu();
    await expect(VAE.create(tiny, { batch: 8 } as never)).rejects.toThrow(/options\.device is missing: pass your GPUDevice, or the result of acquireNodeDevice/);
    await expect(VAE.create({ latnet: 4 } as never, { device })).rejects.toThrow(/unknown config field 'latnet' \(did you mean 'latent'\?\)/);
    await expect(VAE.create({ latentSize: 4 } as never, { device })).rejects.toThrow(/unknown config field 'latentSize' \(did you mean 'latent'\?\)/);
    await expect(VAE.create({ imageShape: '28x28' as never }, { device })).rejects.toThrow(/imageShape must be \[rows, cols\]/);
    await expect(VAE.create({ inputDim: 798, imageShape: [28.5, 28] }, { device })).rejects.toThrow(/imageShape must be \[rows, cols\], two positive integers/);
    // Channels that do not divide the values per example are named, not blamed on an imageShape never given.
    // paramLayout takes the same partial config as VAE.create, with its checks.
    expect(paramLayout({ inputDim: 16, hidden: [8], latent: 2 }).totalFloats).toBe(640);
    expect(() => paramLayout({ latent: 0 })).toThrow(/^latent must be a positive integer \(e\.g\. 20\), got 0$/);
    await expect(VAE.create({ arch: 'conv', imageChannels: 3, inputDim: 784 }, { device })).rejects.toThrow(/^inputDim 784 is not a multiple of imageChannels 3: give an inputDim of channels x rows x cols, or imageShape \[rows, cols\] in its place$/);
  });

  it('a checkpoint or training state of another format version names the version that reads it', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8, seed: 1 });
    const bytes = await saveCheckpoint(vae);
    vae.destroy();
    const { tensors, metadata } = decodeSafetensors(bytes);
    const withVersion = (version: string) => encodeSafetensors(tensors, { ...metadata, version });
    expect(() => readCheckpoint(withVersion('9'), 'v9.safetensors')).toThrow(/^v9\.safetensors has checkpoint version 9; this webgpu-vae reads version 1: a newer webgpu-vae wrote it; read it with that version$/);
    expect(() => readCheckpoint(withVersion('0'), 'v0.safetensors')).toThrow(/^v0\.safetensors has checkpoint version 0; this webgpu-vae reads version 1$/);
  });

  it('resolveConfig refuses a misspelt config field with the words VAE.create uses', async () => {
    const misspelt = { hiden: [3], latnet: 4 } as never;
    const refusal = /^unknown config field 'hiden' \(did you mean 'hidden'\?\); the config fields are inputDim, /;
    expect(() => resolveConfig(misspelt)).toThrow(ConfigError);
    expect(() => resolveConfig(misspelt)).toThrow(refusal);
    expect(() => resolveConfig(null as never)).toThrow(/^a model's configuration is an object of VaeConfig fields \(e\.g\. \{ latent: 20 \}\), got null$/);
    const { device } = await gpu();
    await expect(VAE.create(misspelt, { device })).rejects.toThrow(refusal);
  });

  it('a saved configuration with a field this version does not know is refused, naming it once', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const progress = { step: 0, epochsDone: 0, epochStep: 0, stepsPerEpoch: 1, epochLossSum: 0, epochExamples: 0, seconds: 0 };
    const [model, state] = [await saveCheckpoint(vae), await saveTrainingState(vae, {}, progress)];
    vae.destroy();
    const withField = (bytes: Uint8Array) => {
      const { tensors, metadata } = decodeSafetensors(bytes);
      return encodeSafetensors(tensors, { ...metadata, config: JSON.stringify({ ...JSON.parse(metadata.config!), hiden: [3] }) });
    };
    const named = (read: () => unknown) => {
      try {
        read();
      } catch (e) {
        return (e as Error).message;
      }
      return 'not refused';
    };
    const checkpointRefusal = named(() => readCheckpoint(withField(model), 'm.safetensors'));
    expect(checkpointRefusal).toMatch(/^m\.safetensors has an invalid model configuration: unknown config field 'hiden' \(did you mean 'hidden'\?\)/);
    expect(checkpointRefusal.split('unknown config field').length).toBe(2);
    expect(named(() => readTrainingState(withField(state), 's.safetensors'))).toMatch(/^s\.safetensors has an invalid model configuration: unknown config field 'hiden' \(did you mean 'hidden'\?\)/);
  });

  it('data that is not u8 pixels of this model\'s shape on this device', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const small = await VAE.create({ inputDim: 100, hidden: [8], latent: 2 }, { device, batch: 8 });
    expect(() => vae.upload({ images: new Float32Array(64 * 784) as never, count: 64 })).toThrow(/images must be a Uint8Array of 0-255 levels, got Float32Array/);
    const data = vae.upload(train);
    await expect(small.elbo(data)).rejects.toThrow(/has 784 values per example but this model takes 100/);
    await expect(small.trainStep({ data, index: 0 })).rejects.toThrow(/784 values per example/);
    expect(() => data.setOrder(new Uint32Array(64).fill(1000))).toThrow(/entry 0 is 1000, past the data set's last example \(63\)/);
    expect(() => data.setOrder(new Uint32Array(10))).toThrow(/the order has 10 entries but the data set has 64 examples/);
    await expect(vae.trainStep(new Float64Array(784) as never)).rejects.toThrow(/rows must be a Float32Array .* got Float64Array/);
    await expect(vae.encode([0.5] as never)).rejects.toThrow(/rows must be a Float32Array .* got an array/);
    await expect(vae.sampleToBuffer(0)).rejects.toThrow(/n must be a positive integer, got 0/);
    await expect(vae.logLikelihood(data, undefined as never)).rejects.toThrow(/needs options with the number of importance samples/);
    small.destroy();
    vae.destroy();
  });

  it('logLikelihood refuses a batch or maxRows that is not a count, naming the option', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const data = vae.upload(train);
    for (const [bad, name] of [[{ batch: 0 }, 'batch'], [{ batch: 2.5 }, 'batch'], [{ batch: -3 }, 'batch'], [{ maxRows: 0 }, 'maxRows'], [{ maxRows: NaN }, 'maxRows']] as const) {
      await expect(vae.logLikelihood(data, { samples: 4, ...bad })).rejects.toThrow(new RegExp(`logLikelihood: ${name} \\(.*\\) must be an integer >= 1`));
    }
    vae.destroy();
  });

  it('elbo and logLikelihood check their options as VAE.create does: names, seeds, callbacks', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const data = vae.upload(train);
    await expect(vae.elbo(data, { sed: 5 } as never)).rejects.toThrow(/^unknown elbo option 'sed' \(did you mean 'seed'\?\); the elbo options are seed, signal$/);
    await expect(vae.logLikelihood(data, { samples: 2, sample: 5 } as never)).rejects.toThrow(/^unknown logLikelihood option 'sample' \(did you mean 'samples'\?\)/);
    for (const seed of [-1, 1.5, '3']) {
      await expect(vae.elbo(data, { seed } as never)).rejects.toThrow(/^elbo: seed must be a non-negative integer, got /);
      await expect(vae.logLikelihood(data, { samples: 2, seed } as never)).rejects.toThrow(/^logLikelihood: seed must be a non-negative integer, got /);
    }
    await expect(vae.elbo(data, { signal: true } as never)).rejects.toThrow(/^elbo: signal must be an AbortSignal/);
    await expect(vae.logLikelihood(data, { samples: 2, onProgress: 'log' } as never)).rejects.toThrow(/^logLikelihood: onProgress must be a function/);
    await expect(vae.logLikelihood(data, { samples: 0 })).rejects.toThrow(/^logLikelihood: samples \(importance samples per example\) must be an integer in 1\.\.1000000, got 0$/);
    expect((await vae.elbo(data, { seed: 2 ** 40 })).examples).toBe(64); // any safe integer is a seed
    vae.destroy();
  });

  it('more rows than one result array or one storage binding holds are refused by count, naming the limit', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    // 784e9 floats: V8 makes no typed array past 2^32 elements.
    await expect(vae.sample(1e9)).rejects.toThrow(/^sample: 1000000000 rows of 784 values are 784000000000 floats, more than one Float32Array holds in this JavaScript engine .*V8's limit is 2\^32 = 4294967296 floats, 5478274 such rows\); ask for fewer rows per call$/);
    const most = Math.floor(Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize) / (784 * 4));
    await expect(vae.sampleToBuffer(most + 1)).rejects.toThrow(new RegExp(`^sampleToBuffer: ${most + 1} rows of 3136 bytes are more than one storage binding on this device holds \\(maxStorageBufferBindingSize, \\d+ bytes\\), so at most ${most} rows; draw fewer rows per call$`));
    await expect(vae.sample(0.5)).rejects.toThrow(/^sample: n must be a positive integer, got 0\.5$/);
    expect((await vae.sample(2)).length).toBe(2 * 784);
    vae.destroy();
  });

  it('elbo refuses a data set whose per-example figures would not fit one buffer', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ ...tiny, samples: 64 }, { device, batch: 8 });
    const most = Math.floor(device.limits.maxBufferSize / 8);
    const huge = { count: most + 1, dim: 784, setOrder() {}, destroy() {}, gatherFor: () => Promise.reject(new Error('not reached')) };
    await expect(vae.elbo(huge)).rejects.toThrow(new RegExp(`^elbo: ${most + 1} examples need ${8 * (most + 1)} bytes of per-example figures, past the device's largest buffer \\(${device.limits.maxBufferSize} bytes\\); evaluate the data in parts of at most ${most} examples$`));
    vae.destroy();
  });

  it('a checkpoint brings its training seed back, refuses metadata it writes itself, and an order must be a permutation', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8, seed: 5 });
    await expect(saveCheckpoint(vae, { config: '{}' })).rejects.toThrow(/^saveCheckpoint: extraMetadata cannot set config, which webgpu-vae writes itself/);
    // An app's own "seed" would change a reloaded model's noise; refused as an object or a function's result.
    await expect(saveCheckpoint(vae, { seed: '123' })).rejects.toThrow(/^saveCheckpoint: extraMetadata cannot set seed, which webgpu-vae writes itself; give your own keys other names \(e\.g\. my_seed\)$/);
    await expect(saveCheckpoint(vae, () => ({ format: 'x' }))).rejects.toThrow(/extraMetadata cannot set format/);
    // No metadata at all, from untyped JavaScript, is none.
    for (const none of [null, () => undefined]) expect((await saveCheckpoint(vae, none as unknown as Record<string, string>)).byteLength).toBeGreaterThan(0);
    const bytes = await saveCheckpoint(vae);
    const loaded = await loadCheckpoint(bytes, { device, batch: 8 });
    const other = await loadCheckpoint(bytes, { device, batch: 8, seed: 9 });
    expect([loaded.training.seed, other.training.seed]).toEqual([5, 9]);
    const data = loaded.upload(train);
    expect((await loaded.elbo(data)).loss).toBe((await vae.elbo(vae.upload(train))).loss);
    expect(() => data.setOrder(new Uint32Array(train.count))).toThrow(/^setOrder: entry 1 repeats example 0; the order must be a permutation of 0\.\.\d+, each example once/);
    for (const v of [vae, loaded, other]) v.destroy();
  });

  it('a destroyed model refuses every call and allocates nothing more', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8 });
    const data = vae.upload(train);
    const flat = await vae.flatParameters();
    vae.destroy();
    expect(() => vae.setFlatParameters(flat)).toThrow(/destroyed/);
    await expect(vae.logLikelihood(data, { samples: 4 })).rejects.toThrow(/this VAE was destroyed/);
    // The model is named, not its data set (destroyed with it).
    await expect(vae.elbo(data)).rejects.toThrow(/^this VAE was destroyed/);
    expect(vae.allocatedBytes).toBe(0);
  });

  it('destroying a model while its losses are being read back rejects nothing unawaited', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8, lossEvery: 1 });
    const data = vae.upload(train);
    const unhandled: unknown[] = [];
    const note = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', note);
    try {
      for (let i = 0; i < 3; i++) await vae.trainStep({ data, index: i }); // each step starts a read
      vae.destroy();
      await device.queue.onSubmittedWorkDone();
      await new Promise((resolve) => setTimeout(resolve, 200)); // rejections surface a turn later
      expect(unhandled.map(String)).toEqual([]);
    } finally {
      process.off('unhandledRejection', note);
    }
  });

  it('a checkpoint read as an ArrayBuffer (fetch, FileReader) loads', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, batch: 8, seed: 5 });
    const bytes = await saveCheckpoint(vae);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const loaded = await loadCheckpoint(buffer as ArrayBuffer, { device, batch: 8 });
    expect(await loaded.flatParameters()).toEqual(await vae.flatParameters());
    loaded.destroy();
    vae.destroy();
  });

  it('a conditional model wants one label per row', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ ...tiny, classes: 10 }, { device, batch: 8 });
    await expect(vae.sample(20, 0, [0, 1, 2])).rejects.toThrow(/got 3 labels for 20 rows/);
    await expect(vae.sample(4, 0, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])).rejects.toThrow(/got 10 labels for 4 rows/);
    vae.destroy();
  });
});
