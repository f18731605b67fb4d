// In the browser: an app that owns an unlabelled GPUDevice and shares it with a model. Chromium
// writes such a device's calls as `[Device].CreateBuffer([BufferDescriptor])`, naming no label at
// all; the app's own mistakes there must stay the app's, and the model must go on working.
import { describe, expect, it } from 'vitest';
import { VAE } from '../src/model/vae';

describe('a model on an app\'s unlabelled device', () => {
  it('leaves the app\'s own validation errors to the app, and keeps sampling and training', async () => {
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter!.requestDevice();
    const seen: string[] = [];
    device.addEventListener('uncapturederror', (e) => seen.push((e as GPUUncapturedErrorEvent).error.message));
    const vae = await VAE.create({ hidden: [16], latent: 2, inputDim: 64 }, { device, batch: 8 });
    // The app's mistakes: a buffer of usages that exclude each other, a shader that does not parse.
    device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.STORAGE });
    device.createShaderModule({ code: 'fn main( {' });
    await device.queue.onSubmittedWorkDone();
    await expect.poll(() => seen.length, { message: 'the app saw its two errors' }).toBeGreaterThanOrEqual(2);
    expect(seen.join('\n'), 'Chromium names the unlabelled device without a label').toMatch(/\[Device\]/);
    const pictures = await vae.sample(2);
    expect(pictures.length).toBe(2 * 64);
    await vae.trainStep(new Float32Array(8 * 64).fill(0.5));
    expect(Number.isFinite((await vae.readLosses()).at(-1)?.loss)).toBe(true);
    vae.destroy();
    device.destroy();
  });
});

describe('two models on one device', () => {
  it('a destroyed model\'s buffer misused by the app fails neither the app\'s nor the other model\'s work', async () => {
    const adapter = await navigator.gpu.requestAdapter();
    const device = await adapter!.requestDevice({ label: 'my-app' });
    const seen: string[] = [];
    device.addEventListener('uncapturederror', (e) => seen.push((e as GPUUncapturedErrorEvent).error.message));
    const [a, b] = await Promise.all([1, 2].map((seed) => VAE.create({ hidden: [16], latent: 2, inputDim: 64 }, { device, batch: 8, seed })));
    const frame = await a.sampleToBuffer(2);
    a.destroy();
    // The app copies from a frame of the model it destroyed: its own mistake, reported to it.
    const copy = device.createBuffer({ size: frame.size, usage: GPUBufferUsage.COPY_DST });
    const enc = device.createCommandEncoder();
    enc.copyBufferToBuffer(frame, 0, copy, 0, frame.size);
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
    await expect.poll(() => seen.length, { message: 'the app saw its error' }).toBeGreaterThanOrEqual(1);
    expect(seen.join('\n')).toMatch(/webgpu-vae:#\d+:sampleToBuffer\[2\]/);
    expect((await b.sample(2)).length).toBe(2 * 64);
    await b.trainStep(new Float32Array(8 * 64).fill(0.5));
    expect(Number.isFinite((await b.readLosses()).at(-1)?.loss)).toBe(true);
    b.destroy();
    device.destroy();
  });
});
