// In the browser: a device its owner destroys while a model trains. Chromium rejects the pending
// loss read with a bare AbortError ("The Device was lost before mapping was resolved"); the model
// turns it into the GpuError of kind 'device-lost' that every later call gives, so an app's
// recovery check (`e instanceof GpuError && e.kind === 'device-lost'`) sees it.
import { describe, expect, it } from 'vitest';
import { acquireBrowserDevice } from '../src/gpu/device';
import { VAE } from '../src/model/vae';

describe('a device destroyed by its owner while the model trains', () => {
  it('fails the next read, and the next step, with a GpuError of kind device-lost', async () => {
    const { device } = await acquireBrowserDevice();
    const vae = await VAE.create({ hidden: [16], latent: 2, inputDim: 64 }, { device, batch: 8 });
    const x = new Float32Array(8 * 64).fill(0.5);
    for (let i = 0; i < 6; i++) await vae.trainStep(x);
    device.destroy();
    const lost = { name: 'GpuError', kind: 'device-lost', message: expect.stringMatching(/^the GPU device was lost \(destroyed\): .*[^.]\. Create the model again on a new device/) };
    await expect(vae.readLosses()).rejects.toMatchObject(lost);
    await expect(vae.trainStep(x)).rejects.toMatchObject(lost);
    vae.destroy();
  });
});
