// dSprites drawn on the GPU at each step (src/model/generated-data.ts, the rasterizer's gathered
// mode): rows follow perm[batch_start + r] exactly as the plain rasterizer draws those indices,
// padding rows are zero; a model evaluates generated sets as it does the same pictures rendered
// on the CPU and uploaded (up to the rasterizer's f32 edge pixels); shapes become the condition
// of a conditional model; the whole 737,280-picture set trains without being stored; bad
// requests are refused with the fix.
import { describe, expect, it } from 'vitest';
import { dspritesRaster } from '../shaders/dsprites';
import { DSPRITES_COUNT, dspritesDataset } from '../src/data/dsprites';
import { DSPRITES_COLOR_COUNT, dspritesColorDataset } from '../src/data/dsprites-color';
import { VAE } from '../src/model/vae';
import { encodeStepParams } from '../src/step-params';
import { gpu, runKernels } from './helpers/gpu';

const PIXELS = 4096;

/** `n` distinct-looking picture indices of a set of `count`, from a seeded LCG. */
function pick(n: number, count: number, seed: number): Uint32Array {
  let s = seed >>> 0;
  return Uint32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return Math.floor((s / 2 ** 32) * count);
  });
}

describe('the rasterizer in gathered mode', () => {
  for (const colour of [false, true]) {
    it(`draws rows perm[batch_start + r] as the plain rasterizer draws them, zero past valid_rows (${colour ? 'colour' : 'grey'})`, async () => {
      const D = (colour ? 3 : 1) * PIXELS;
      const indices = pick(9, colour ? DSPRITES_COLOR_COUNT : DSPRITES_COUNT, 7);
      const perm = Uint32Array.from([4, 0, 8, 2, 6, 1, 3, 7, 5]);
      const rows = 6, start = 3, valid = 4;
      const params = new Uint32Array(encodeStepParams({ batchStart: start, validRows: valid, datasetCount: indices.length }));
      const got = (await runKernels([dspritesRaster({ rows, colour, gathered: true })], { params, indices, perm }, { x: rows * D })).x;
      const wanted = Uint32Array.from({ length: valid }, (_, r) => indices[perm[start + r]]);
      const want = (await runKernels([dspritesRaster({ rows: valid, colour })], { indices: wanted }, { x: valid * D })).x;
      expect(Array.from(got.subarray(0, valid * D))).toEqual(Array.from(want));
      expect(got.subarray(valid * D).every((v) => v === 0), 'padding rows are zero').toBe(true);
      expect(want.some((v) => v > 0), 'the pictures are not blank').toBe(true);
    });
  }

  it('slots past the end of the set are zero rows, not out-of-range reads', async () => {
    const indices = pick(5, DSPRITES_COUNT, 3);
    const params = new Uint32Array(encodeStepParams({ batchStart: 4, validRows: 4, datasetCount: 5 }));
    const got = (await runKernels([dspritesRaster({ rows: 4, gathered: true })], { params, indices, perm: Uint32Array.from([0, 1, 2, 3, 4]) }, { x: 4 * PIXELS })).x;
    expect(got.subarray(PIXELS).every((v) => v === 0)).toBe(true);
    expect(got.subarray(0, PIXELS).some((v) => v === 1)).toBe(true);
  });
});

describe('a model on generated dSprites', () => {
  it('evaluates a generated set as it does the same pictures rendered on the CPU (grey and colour, conditional)', async () => {
    const { device } = await gpu();
    for (const [colour, classes] of [[false, 0], [true, 3]] as const) {
      const D = (colour ? 3 : 1) * PIXELS;
      const vae = await VAE.create({ inputDim: D, imageShape: [64, 64], imageChannels: colour ? 3 : 1, hidden: [64], latent: 4, classes }, { device, batch: 16, seed: 2 });
      const indices = pick(40, colour ? DSPRITES_COLOR_COUNT : DSPRITES_COUNT, 11);
      const stored = vae.upload((colour ? dspritesColorDataset : dspritesDataset)(indices));
      const generated = vae.generateSprites(indices, { colour });
      const a = await vae.elbo(stored, { seed: 1 });
      const b = await vae.elbo(generated, { seed: 1 });
      expect(b.examples).toBe(40);
      // The same pictures up to pixels within f32 rounding of a shape's edge (well under 1%).
      expect(Math.abs(a.loss - b.loss) / a.loss).toBeLessThan(0.005);
      expect(b.kl).toBeCloseTo(a.kl, 1);
      vae.destroy();
    }
  });

  it('trains on the whole 737,280-picture set, holding 5.6 MiB for it', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ inputDim: PIXELS, imageShape: [64, 64], hidden: [32], latent: 4 }, { device, batch: 32, seed: 3 });
    const before = vae.allocatedBytes;
    const all = vae.generateSprites(Uint32Array.from({ length: DSPRITES_COUNT }, (_, i) => i));
    expect(vae.allocatedBytes - before).toBe(2 * 4 * DSPRITES_COUNT);
    all.setOrder(Uint32Array.from({ length: DSPRITES_COUNT }, (_, i) => (i * 7919) % DSPRITES_COUNT)); // 7919 is prime to 737,280
    for (const index of [0, 1000, 23039]) await vae.trainStep({ data: all, index });
    const losses = await vae.readLosses();
    expect(losses).toHaveLength(3);
    expect(losses.every((l) => Number.isFinite(l.loss) && l.loss > 0)).toBe(true);
    all.destroy();
    expect(vae.allocatedBytes).toBe(before);
    vae.destroy();
  });

  it('refuses a model of the wrong size, dequantization, indices past the set and a class count other than 3', async () => {
    const { device } = await gpu();
    const mlp = await VAE.create({ hidden: [16], latent: 2 }, { device, batch: 4 });
    expect(() => mlp.generateSprites(Uint32Array.from([0]))).toThrow(/1x64x64 \(4096 values\), the model's inputDim is 784; build the model for 1x64x64/);
    mlp.destroy();
    const grey = await VAE.create({ inputDim: PIXELS, imageShape: [64, 64], hidden: [16], latent: 2 }, { device, batch: 4 });
    expect(() => grey.generateSprites(Uint32Array.from([DSPRITES_COUNT]))).toThrow(/picture index 737280 \(entry 0\) is past the 737280 pictures/);
    expect(() => grey.generateSprites(new Uint32Array(0))).toThrow(/no picture indices/);
    // A set to make again is made again by generateSprites, not uploaded.
    const unlabelled = grey.generateSprites(Uint32Array.from([0, 1]));
    const shapes = await VAE.create({ inputDim: PIXELS, imageShape: [64, 64], hidden: [16], latent: 2, classes: 3 }, { device, batch: 4 });
    await expect(shapes.elbo(unlabelled)).rejects.toThrow(/no labels .*; make it with this model: vae\.generateSprites\(indices\)$/);
    shapes.destroy();
    unlabelled.destroy();
    await expect(grey.elbo(unlabelled)).rejects.toThrow(/this data set was destroyed .*; make it again with this model \(vae\.generateSprites\)$/);
    grey.destroy();
    const deq = await VAE.create({ inputDim: PIXELS, imageShape: [64, 64], hidden: [16], latent: 2, likelihood: 'gaussian', dequantize: true }, { device, batch: 4 });
    expect(() => deq.generateSprites(Uint32Array.from([0]))).toThrow(/cannot be dequantized/);
    deq.destroy();
    const cond = await VAE.create({ inputDim: PIXELS, imageShape: [64, 64], hidden: [16], latent: 2, classes: 10 }, { device, batch: 4 });
    expect(() => cond.generateSprites(Uint32Array.from([0]))).toThrow(/3 shapes, but the model is conditional on 10 classes/);
    cond.destroy();
  });
});
