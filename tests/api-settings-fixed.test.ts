// Settings that a model could take one way and train another, refused where they are given: a
// configuration changed after creation (the compiled graph follows the old one, and a checkpoint
// would record the new), rows given as floats to a model that draws noise into its uploaded
// pictures, labels that are no class number, a scale for a likelihood that has none; and how a
// refusal shows the numbers JSON cannot hold.
import { describe, expect, it } from 'vitest';
import { readCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { ConfigError } from '../src/errors';
import { resolveConfig } from '../src/model/config';
import { VAE } from '../src/model/vae';
import { gpu } from './helpers/gpu';

const tiny = { hidden: [16], latent: 3 };
const D = 784;

describe('settings fixed at creation', () => {
  it('vae.config cannot change, nor the lists in it; the caller\'s own lists stay theirs', async () => {
    const { device } = await gpu();
    const hidden = [16];
    const vae = await VAE.create({ hidden, latent: 3, freeBits: 0 }, { device, batch: 8 });
    try {
      expect(() => { (vae.config as { freeBits: number }).freeBits = 1; }).toThrow(TypeError);
      expect(() => { (vae.config.hidden as number[]).push(8); }).toThrow(TypeError);
      hidden.push(32); // the caller's array was copied, not frozen
      expect(vae.config.hidden).toEqual([16]);
      expect(readCheckpoint(await saveCheckpoint(vae)).config).toMatchObject({ freeBits: 0, hidden: [16] });
    } finally {
      vae.destroy();
    }
  });

  it('rows given as floats to a model that binarizes or dequantizes its pictures are refused, naming upload', async () => {
    const { device } = await gpu();
    const rows = new Float32Array(8 * D).fill(0.5);
    for (const config of [{ binarize: 'dynamic' as const }, { binarize: 'fixed' as const }, { likelihood: 'gaussian' as const, dequantize: true }]) {
      const vae = await VAE.create({ ...tiny, ...config }, { device, batch: 8 });
      try {
        const error = await vae.trainStep(rows).then(() => null, (e: Error) => e);
        expect(error, JSON.stringify(config)).toBeInstanceOf(ConfigError);
        expect(error!.message).toMatch(/^trainStep: this model's (binarize '(dynamic|fixed)'|dequantize) draws its noise while the GPU gathers a batch of uploaded pictures.*vae\.upload\(/);
        // The same pictures uploaded train, and inference on rows is unaffected.
        await vae.trainStep({ data: vae.upload({ images: new Uint8Array(8 * D).fill(128), count: 8 }), index: 0 });
        expect((await vae.reconstruct(rows.subarray(0, D))).length).toBe(D);
      } finally {
        vae.destroy();
      }
    }
  });

  it('uploaded labels that are no class number are refused, not wrapped or rounded', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ ...tiny, classes: 10 }, { device, batch: 8 });
    try {
      const images = new Uint8Array(2 * D);
      for (const [labels, shown] of [[Int32Array.of(3, -1), '-1'], [Float32Array.of(2.5, 1), '2.5']] as const) {
        expect(() => vae.upload({ images, count: 2, labels: labels as unknown as Uint8Array })).toThrow(
          new RegExp(`label ${shown.replace('.', '\\.')} of example ${shown === '-1' ? 1 : 0} is not a class number; labels are integers 0\\.\\.9`));
      }
      expect(vae.upload({ images, count: 2, labels: Uint8Array.of(9, 0) }).count).toBe(2);
    } finally {
      vae.destroy();
    }
  });

  it('a label given as a string, and an adapter summary given as the device, are named for what they are', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ ...tiny, classes: 10 }, { device, batch: 8 });
    try {
      await expect(vae.sample(1, 0, ['3'] as unknown as number[])).rejects.toThrow(/^sample: label '3' \(a string\) of row 0 is not a class of this model \(0\.\.9\)$/);
    } finally {
      vae.destroy();
    }
    const summary = { vendor: 'google', architecture: '', device: 'swiftshader', description: '', isSoftware: true, subgroups: false, timestampQuery: false };
    await expect(VAE.create(tiny, { device: summary as unknown as GPUDevice, batch: 8 })).rejects.toThrow(/^options\.device is the adapter summary of an acquire\*Device\(\) result \(its \.adapter\), not a device/);
  });

  it('a sigma for a Bernoulli model is refused, naming the gaussian likelihood', () => {
    expect(() => resolveConfig({ sigma: 0.5 })).toThrow(/^sigma sets the scale of the gaussian likelihood, and a Bernoulli model has none, so sigma 0\.5 would be ignored; use likelihood 'gaussian', or leave sigma out$/);
    expect(() => resolveConfig({ sigma: 'learned' })).toThrow(/sigma "learned" would be ignored/);
    expect(resolveConfig({ likelihood: 'gaussian', sigma: 'learned' }).sigma).toBe('learned');
  });

  it('a NaN or an infinity is shown as itself, not as the null JSON turns it into', () => {
    expect(() => resolveConfig({ likelihood: 'gaussian', sigma: NaN })).toThrow(/sigma must be a positive number, .*; got NaN$/);
    expect(() => resolveConfig({ likelihood: 'gaussian', sigma: -Infinity })).toThrow(/; got -Infinity$/);
    expect(() => resolveConfig({ hidden: [16, NaN] })).toThrow(/hidden must be a list of one or more positive integers .*, got \[16,NaN\]$/);
    expect(() => resolveConfig({ imageShape: [28, Infinity] as never })).toThrow(/got \[28,Infinity\]$/);
  });
});
