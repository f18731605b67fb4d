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
