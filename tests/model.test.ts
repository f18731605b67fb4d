// Model-level behaviour: training reduces the loss, a seed reproduces a run bit for bit,
// checkpoints round-trip exactly and bad ones are refused, the API's shapes, and destroy(); and
// device limits and WebGPU errors. Plans, conditional models and the objectives' settings are in
// model-plans-objectives.test.ts.
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, readCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { loadMnistNode } from '../src/data/mnist-node';
import { encodeSafetensors } from '../src/io/safetensors';
import { resolveConfig } from '../src/model/config';
import { VAE } from '../src/model/vae';
import { defaultLimitsDevice } from './helpers/default-limits';
import { gpu } from './helpers/gpu';

const small = { hidden: [64], latent: 8 };

describe('VAE model', async () => {
  const train = await loadMnistNode('train', { limit: 512 });

  it('training on 512 MNIST examples lowers the loss clearly within 48 steps', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(small, { device, batch: 64, seed: 1 });
    const data = vae.upload(train);
    for (let i = 0; i < 48; i++) await vae.trainStep({ data, index: i % 8 });
    const losses = await vae.readLosses();
    vae.destroy();
    expect(losses.map((l) => l.step)).toEqual(Array.from({ length: 48 }, (_, i) => i));
    const first = losses.slice(0, 4).reduce((s, l) => s + l.loss, 0) / 4;
    const last = losses.slice(-8).reduce((s, l) => s + l.loss, 0) / 8;
    expect(first).toBeGreaterThan(500); // ~784 ln 2 at initialisation
    expect(last).toBeLessThan(0.6 * first);
    expect(losses.every((l) => Number.isFinite(l.loss) && l.kl >= 0)).toBe(true);
  });

  it('the same seed reproduces parameters and losses bit for bit', async () => {
    const { device } = await gpu();
    const run = async () => {
      const vae = await VAE.create(small, { device, batch: 32, seed: 7 });
      const data = vae.upload(train);
      for (let i = 0; i < 5; i++) await vae.trainStep({ data, index: i });
      const losses = (await vae.readLosses()).map((l) => l.loss);
      const params = await vae.flatParameters();
      vae.destroy();
      return { losses, params };
    };
    const a = await run(), b = await run();
    expect(b.losses).toEqual(a.losses);
    expect(Buffer.compare(Buffer.from(a.params.buffer), Buffer.from(b.params.buffer))).toBe(0);
  });

  it('save -> load gives identical parameters and identical outputs', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(small, { device, batch: 32, seed: 3 });
    const data = vae.upload(train);
    for (let i = 0; i < 3; i++) await vae.trainStep({ data, index: i });
    const bytes = await saveCheckpoint(vae);
    const x = Float32Array.from(train.images.subarray(0, 5 * 784), (v) => v / 255);
    const before = { rec: await vae.reconstruct(x), samples: await vae.sample(4, 11), enc: await vae.encode(x), params: await vae.flatParameters() };
    vae.destroy();
    const loaded = await loadCheckpoint(bytes, { device });
    expect(loaded.config).toEqual(vae.config);
    expect(await loaded.flatParameters()).toEqual(before.params);
    expect(await loaded.reconstruct(x)).toEqual(before.rec);
    expect(await loaded.sample(4, 11)).toEqual(before.samples);
    expect(await loaded.encode(x)).toEqual(before.enc);
    loaded.destroy();
  });

  it('refuses corrupt and mismatched checkpoints with a clear error', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(small, { device, batch: 8 });
    const good = await saveCheckpoint(vae);
    vae.destroy();
    expect(() => readCheckpoint(good.slice(0, 100), 'cut.safetensors')).toThrow(/cut.safetensors|header|short|length/i);
    const parsed = readCheckpoint(good);
    const tensors = Object.fromEntries(Object.entries((await import('../src/io/safetensors')).decodeSafetensors(good).tensors));
    const noMeta = encodeSafetensors(tensors);
    expect(() => readCheckpoint(noMeta, 'plain.safetensors')).toThrow(/plain\.safetensors is a safetensors file but not a webgpu-vae checkpoint: its metadata lacks format: "webgpu-vae", version: "1", config \(the model configuration as JSON\); save it with webgpu-vae, or add those keys/);
    // Written by hand with the configuration but not the format: the one missing key is named.
    const configOnly = encodeSafetensors(tensors, { version: '1', config: JSON.stringify(parsed.config) });
    expect(() => readCheckpoint(configOnly, 'torch.safetensors')).toThrow(/its metadata lacks format: "webgpu-vae"; save it with webgpu-vae, or add that key to the metadata \(README, "Checkpoint format"\)/);
    // The format and the configuration but no version: named as missing (it read "version undefined").
    const noVersion = encodeSafetensors(tensors, { format: 'webgpu-vae', config: JSON.stringify(parsed.config) });
    expect(() => readCheckpoint(noVersion, 'nover.safetensors')).toThrow(/nover\.safetensors is a safetensors file but not a webgpu-vae checkpoint: its metadata lacks version: "1"; save it with webgpu-vae, or add that key/);
    const otherFormat = encodeSafetensors(tensors, { format: 'pt', version: '1', config: JSON.stringify(parsed.config) });
    expect(() => readCheckpoint(otherFormat, 'pt.safetensors')).toThrow(/lacks format: "webgpu-vae" \(it has format: "pt"\)/);
    const wrongShape = encodeSafetensors({ ...tensors, 'decoder.out.bias': { shape: [10], data: new Float32Array(10) } }, { format: 'webgpu-vae', version: '1', config: JSON.stringify(parsed.config) });
    expect(() => readCheckpoint(wrongShape, 'shape.safetensors')).toThrow(/decoder\.out\.bias has shape \[10\]/);
    const missing = { ...tensors };
    delete missing['encoder.head.weight'];
    const lacking = encodeSafetensors(missing, { format: 'webgpu-vae', version: '1', config: JSON.stringify(parsed.config) });
    expect(() => readCheckpoint(lacking, 'missing.safetensors')).toThrow(/missing\.safetensors does not hold the tensors its configuration needs: it lacks tensor encoder\.head\.weight \(the names and shapes are those of PyTorch's state_dict/);
    // Names of another module layout (nn.Sequential's encoder.0.weight): the missing and the unused together, as PyTorch's strict load lists them.
    const renamed = Object.fromEntries(Object.entries(tensors).map(([k, v]) => [k.replace('encoder.layers.', 'encoder.'), v]));
    const sequential = encodeSafetensors(renamed, { format: 'webgpu-vae', version: '1', config: JSON.stringify(parsed.config) });
    expect(() => readCheckpoint(sequential, 'seq.safetensors')).toThrow(/it lacks 2 tensors encoder\.layers\.0\.weight, encoder\.layers\.0\.bias; it has 2 tensors this model does not use: encoder\.0\.bias, encoder\.0\.weight/);
    // A weight that is not a number is refused at load, by name, rather than trained from or evaluated as NaN.
    const nanBias = Float32Array.from(tensors['decoder.out.bias'].data);
    nanBias[3] = NaN;
    nanBias[5] = Infinity;
    const poisoned = encodeSafetensors({ ...tensors, 'decoder.out.bias': { shape: tensors['decoder.out.bias'].shape, data: nanBias } }, { format: 'webgpu-vae', version: '1', config: JSON.stringify(parsed.config) });
    expect(() => readCheckpoint(poisoned, 'nan.safetensors')).toThrow(/nan\.safetensors: tensor decoder\.out\.bias \(2 of 784, the first NaN at index 3\) holds values that are not finite numbers/);
    // Every fault of one file in one message: a missing tensor, a misshapen one and one that is NaN.
    const allFaults: typeof tensors = { ...tensors, 'decoder.out.bias': { shape: [10], data: new Float32Array(10) }, 'decoder.out.weight': { shape: tensors['decoder.out.weight'].shape, data: Float32Array.from(tensors['decoder.out.weight'].data).fill(NaN, 7, 8) } };
    delete allFaults['encoder.head.weight'];
    const faults = encodeSafetensors(allFaults, { format: 'webgpu-vae', version: '1', config: JSON.stringify(parsed.config) });
    expect(() => readCheckpoint(faults, 'faults.safetensors')).toThrow(/^faults\.safetensors does not hold the tensors its configuration needs: it lacks tensor encoder\.head\.weight \(the names .*\); also tensor decoder\.out\.bias has shape \[10\] where \[784\] is needed \(the shapes follow from the configuration .*\); also tensor decoder\.out\.weight \(1 of \d+, the first NaN at index 7\) holds values that are not finite numbers \(NaN or infinite\)$/);
    // Only a shape and a value wrong: the shape first, the value beside it.
    const shapeAndValue = encodeSafetensors({ ...allFaults, 'encoder.head.weight': tensors['encoder.head.weight'] }, { format: 'webgpu-vae', version: '1', config: JSON.stringify(parsed.config) });
    expect(() => readCheckpoint(shapeAndValue, 'two.safetensors')).toThrow(/^two\.safetensors: tensor decoder\.out\.bias has shape \[10\] where \[784\] is needed \(.*\); also tensor decoder\.out\.weight \(1 of \d+, the first NaN at index 7\) holds values/);
    const badConfig = encodeSafetensors(tensors, { format: 'webgpu-vae', version: '1', config: JSON.stringify({ ...parsed.config, latent: -1 }) });
    expect(() => readCheckpoint(badConfig, 'config.safetensors')).toThrow(/invalid model configuration.*latent/);
  });

  it('encode, decode, sample and reconstruct return the documented shapes and ranges', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(small, { device, batch: 16 });
    const x = Float32Array.from(train.images.subarray(0, 3 * 784), (v) => v / 255);
    const { mu, logvar } = await vae.encode(x);
    expect(mu.length).toBe(3 * 8);
    expect(logvar.length).toBe(3 * 8);
    const images = await vae.decode(mu);
    expect(images.length).toBe(3 * 784);
    expect(images.every((v) => v > 0 && v < 1)).toBe(true);
    expect(await vae.reconstruct(x)).toEqual(images); // reconstruct decodes z = mu
    const s = await vae.sample(5, 2);
    expect(s.length).toBe(5 * 784);
    expect(await vae.sample(5, 2)).toEqual(s);
    expect(await vae.sample(5, 3)).not.toEqual(s);
    await expect(vae.decode(new Float32Array(7))).rejects.toThrow(/rows of 8 values, got 7 values: 0 whole rows and 7 values over$/);
    await expect(vae.decode(new Float32Array(17))).rejects.toThrow(/got 17 values: 2 whole rows and 1 value over$/);
    vae.destroy();
  });

  it('uses the caller\'s device, and destroy() frees its buffers but not the device', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(small, { device, batch: 8 });
    expect(vae.device).toBe(device);
    expect(vae.bufferCount).toBeGreaterThan(5);
    expect(vae.allocatedBytes).toBeGreaterThan(vae.layout.totalFloats * 4 * 4);
    vae.destroy();
    expect(vae.bufferCount).toBe(0);
    // The device still works after the model is gone.
    const b = device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    b.destroy();
    await expect(vae.sample(1)).rejects.toThrow(/destroyed/);
  });

  it('rejects bad configurations with messages naming the field', async () => {
    const { device } = await gpu();
    await expect(VAE.create({ latent: 0 }, { device })).rejects.toThrow(/latent must be a positive integer/);
    await expect(VAE.create({ hidden: [] }, { device })).rejects.toThrow(/hidden must be a list of one or more/);
    await expect(VAE.create({ activation: 'mish' as never }, { device })).rejects.toThrow(/activation must be one of/);
    // gelu keeps its pre-activation in f32 (activation_forward has no f16 variant), before the shader-f16 check.
    await expect(VAE.create({ activation: 'gelu' }, { device, precision: 'f16' })).rejects.toThrow(/precision 'f16' is not available with activation 'gelu'/);
    await expect(VAE.create({}, { device, batch: 0 })).rejects.toThrow(/batch must be an integer/);
  });

  it('a conv model has no hidden sizes: none are kept, an old file\'s [400] is read, and a bad list is refused', () => {
    const conv = { arch: 'conv' as const, inputDim: 256, channels: [4] };
    expect(resolveConfig(conv).hidden).toEqual([]);
    expect(resolveConfig({ ...conv, hidden: [] }).hidden).toEqual([]);
    expect(resolveConfig({ ...conv, hidden: [400] }).hidden).toEqual([]);
    expect(() => resolveConfig({ ...conv, hidden: [0] })).toThrow(/hidden sets the mlp architecture's layers and a conv model does not use it: leave it out/);
  });

  it('normGroups without GroupNorm is refused; a file that stored one still loads, without it', async () => {
    const conv = { arch: 'conv' as const, inputDim: 256, channels: [8, 8] };
    expect(() => resolveConfig({ ...conv, norm: 'none', normGroups: 3 })).toThrow(/^normGroups sets GroupNorm's groups, and this model has norm 'none', so it would do nothing: add norm 'group'/);
    expect(() => resolveConfig({ normGroups: 3 })).toThrow(/^normGroups sets GroupNorm's groups/);
    expect(resolveConfig({ ...conv, norm: 'group', normGroups: 4 }).normGroups).toBe(4);
    expect(resolveConfig({ ...conv, normGroups: 8 }).normGroups).toBe(8);
    const { device } = await gpu();
    const vae = await VAE.create({ inputDim: 16, hidden: [8], latent: 2 }, { device, batch: 4 });
    const bytes = await saveCheckpoint(vae);
    vae.destroy();
    const { decodeSafetensors } = await import('../src/io/safetensors');
    const decoded = decodeSafetensors(bytes);
    const written = JSON.parse(decoded.metadata.config);
    const older = encodeSafetensors(decoded.tensors, { ...decoded.metadata, config: JSON.stringify({ ...written, normGroups: 3 }) });
    expect(readCheckpoint(older).config).toEqual(readCheckpoint(bytes).config);
  });

  it('prepareTraining: false plans no training step at creation; the first trainStep plans it', async () => {
    const { device } = await gpu();
    const full = await VAE.create(small, { device, batch: 32 });
    const reader = await VAE.create(small, { device, batch: 32, prepareTraining: false });
    expect(reader.allocatedBytes).toBeLessThan(full.allocatedBytes);
    const x = Float32Array.from(train.images.subarray(0, 32 * 784), (v) => v / 255);
    await reader.trainStep(x);
    await full.trainStep(x);
    const [a, b] = [await reader.readLosses(), await full.readLosses()];
    expect(a.map((l) => l.loss)).toEqual(b.map((l) => l.loss));
    expect(Number.isFinite(a[0].loss)).toBe(true);
    await expect(VAE.create(small, { device, prepareTraining: 'no' as never })).rejects.toThrow(/prepareTraining must be true or false/);
    full.destroy();
    reader.destroy();
  });

  it('a picture shape and channels without inputDim give the values per example; a contradicting inputDim is refused', () => {
    expect(resolveConfig({ imageShape: [16, 16], imageChannels: 3 }).inputDim).toBe(768);
    expect(resolveConfig({ imageShape: [16, 24] }).inputDim).toBe(384);
    expect(resolveConfig({ imageChannels: 3, inputDim: 3 * 64 * 64 }).imageShape).toEqual([64, 64]);
    expect(() => resolveConfig({ imageShape: [16, 16], imageChannels: 3, inputDim: 784 })).toThrow(/imageShape 16x16 with 3 channel\(s\) does not hold inputDim=784 values/);
  });

  it('a learned per-pixel sigma is clamped to [-7, 2]: past the end it acts as -7 and gets no gradient', async () => {
    // Without the clamp a pixel that never varies (MNIST's corner is 0 in every picture) would
    // drive its log-sigma, and the NLL, down without end.
    const { device } = await gpu();
    const step = async (cornerLogSigma: number) => {
      const vae = await VAE.create({ hidden: [32], latent: 4, likelihood: 'gaussian', sigma: 'learned-pixel' }, { device, batch: 64, seed: 2 });
      const entry = vae.layout.tensors.find((t) => t.name === 'likelihood.log_sigma')!;
      const flat = await vae.flatParameters();
      flat[entry.offset] = cornerLogSigma;
      vae.setFlatParameters(flat);
      await vae.trainStep({ data: vae.upload(train), index: 0 });
      const [loss] = await vae.readLosses();
      const grad = (await vae.flatGradients())[entry.offset];
      vae.destroy();
      return { loss, grad };
    };
    const inside = await step(-7), past = await step(-30);
    expect(Number.isFinite(past.loss.loss)).toBe(true);
    expect(past.loss.rec).toBe(inside.loss.rec);
    expect(past.grad).toBe(0);
    expect(inside.grad).not.toBe(0);
  });
});

describe('device limits and WebGPU errors', () => {
  it('a batch too large for the device is refused up front, naming the limit and the fix', async () => {
    const { device } = await gpu();
    const max = device.limits.maxStorageBufferBindingSize;
    const inputDim = Math.ceil(max / (4 * 60000)); // keeps the batch within 65535 rows
    const batch = Math.floor(max / (inputDim * 4)) + 1; // x alone exceeds one binding
    await expect(VAE.create({ inputDim, hidden: [8], latent: 2 }, { device, batch })).rejects.toThrow(/maxStorageBufferBindingSize.*smaller batch/);
  });

  it('on a device with WebGPU\'s default limits (8 storage buffers a stage), IWAE trains, as on the library\'s own device', async () => {
    const device = await defaultLimitsDevice();
    expect(device.limits.maxStorageBuffersPerShaderStage).toBe(8);
    const config = { hidden: [8], latent: 2, objective: 'iwae' as const, samples: 3 };
    const rows = Float32Array.from({ length: 4 * 784 }, (_, i) => (i % 7) / 6);
    const losses = async (on: GPUDevice) => {
      const vae = await VAE.create(config, { device: on, batch: 4, seed: 3 });
      await vae.trainStep(rows);
      await vae.trainStep(rows);
      const got = (await vae.readLosses()).map((l) => l.loss);
      vae.destroy();
      return got;
    };
    try {
      const own = await losses((await gpu()).device);
      expect(own.every(Number.isFinite)).toBe(true);
      expect(await losses(device)).toEqual(own);
    } finally {
      device.destroy();
    }
  });

  it('a WebGPU validation error surfaces as a GpuError naming the failed operation', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ hidden: [16], latent: 2 }, { device, batch: 4 });
    let reported = false;
    device.addEventListener('uncapturederror', () => (reported = true), { once: true });
    // Sabotage around the guard on a lent buffer (handed-out.ts): every later submit using it is invalid.
    Object.getPrototypeOf(vae.parameterBuffer).destroy.call(vae.parameterBuffer);
    await vae.trainStep(new Float32Array(4 * 784));
    // Wait for the error event itself (each queue round trip lets the implementation deliver it);
    // the test's own timeout bounds the wait.
    while (!reported) await device.queue.onSubmittedWorkDone();
    const err = await vae.sample(1).catch((e) => e);
    expect(err.name).toBe('GpuError');
    expect(err.kind).toBe('validation');
    expect(err.message).toMatch(/params|destroyed/i);
    vae.destroy();
  });

  it('an error in an app\'s own WebGPU work on a shared device leaves the model working', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ hidden: [16], latent: 2 }, { device, batch: 4 });
    const before = await vae.sample(2, 5);
    let errors = 0;
    const count = () => errors++;
    device.addEventListener('uncapturederror', count);
    // The app's mistakes: writes past the end of its own buffers, one labelled and one not.
    for (const label of ['my-app-uniforms', undefined]) {
      const appBuffer = device.createBuffer({ label, size: 16, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
      device.queue.writeBuffer(appBuffer, 0, new Float32Array(8));
      appBuffer.destroy();
    }
    while (errors < 2) await device.queue.onSubmittedWorkDone();
    device.removeEventListener('uncapturederror', count);
    expect(await vae.sample(2, 5)).toEqual(before);
    vae.destroy();
  });
});
