// The binarization and dequantization draws a model makes of uploaded pictures, through the VAE
// API alone (no vae.epoch, no StepParams): a training step draws afresh ('dynamic' binarization,
// dequantization), or the set's one binarization ('fixed'); an evaluation draws one set of its
// own, the same at every call and no training step's. Each x is checked against the CPU twins
// (src/data/binarize.ts) bit for bit.
import { describe, expect, it } from 'vitest';
import { binarizedPixel, dequantizedPixel } from '../src/data/binarize';
import { readFloats } from '../src/gpu/buffers';
import type { VaeConfig } from '../src/model/config';
import { VAE } from '../src/model/vae';
import { STREAM } from '../src/step-params';
import { testData } from './helpers/compare';
import { gpu } from './helpers/gpu';

const D = 8, B = 4, seed = 31;
/** Mid-grey levels, so that a Bernoulli draw of each is far from certain. */
const images = Uint8Array.from(testData(B * D, 5, 60, 200), Math.floor);

/** The x a graph kind last read (its input rows), as bits of f32. */
async function inputOf(vae: VAE, kind: 'train' | 'eval'): Promise<number[]> {
  const plan = await vae.plan(kind, B);
  return Array.from(await readFloats(vae.device, plan.input!.buffer, 0, B * D));
}

/** The twin's x for the set's examples in their own order. */
const twinX = (pixel: (i: number, d: number, g: number) => number) =>
  Array.from({ length: B * D }, (_, k) => pixel(Math.floor(k / D), k % D, images[k]));

const CASES: [string, Partial<VaeConfig>][] = [
  ['dynamic binarization', { binarize: 'dynamic' }],
  ['fixed binarization', { binarize: 'fixed' }],
  ['dequantization', { likelihood: 'gaussian', dequantize: true }],
];

describe('data draws of training steps and evaluations', () => {
  for (const [what, partial] of CASES) {
    it(`${what}: per step, per evaluation, and as the twins draw them`, async () => {
      const { device } = await gpu();
      const vae = await VAE.create({ inputDim: D, hidden: [4], latent: 2, ...partial }, { device, batch: B, seed, lr: 1e-3 });
      try {
        const data = vae.upload({ images, count: B });
        const steps: number[][] = [];
        for (let s = 0; s < 3; s++) {
          await vae.trainStep({ data, index: 0 }); // the same pictures at every step
          steps.push(await inputOf(vae, 'train'));
        }
        await vae.elbo(data);
        const evaluated = await inputOf(vae, 'eval');
        await vae.elbo(data);
        expect(await inputOf(vae, 'eval'), 'an evaluation draws the same x every time').toEqual(evaluated);
        if (partial.binarize === 'fixed') {
          // One binarization of the set, which an evaluation of it sees too.
          for (const x of [steps[1], steps[2], evaluated]) expect(x).toEqual(steps[0]);
          expect(steps[0]).toEqual(twinX((i, d, g) => binarizedPixel(seed, 0, i, d, g)));
          return;
        }
        // Fresh draws at every step, none of them the evaluation's.
        for (let s = 1; s < steps.length; s++) expect(steps[s], `step ${s + 1} against step ${s}`).not.toEqual(steps[s - 1]);
        for (const [s, x] of steps.entries()) expect(evaluated, `the evaluation against step ${s + 1}`).not.toEqual(x);
        const pixel = partial.dequantize ? dequantizedPixel : binarizedPixel;
        const trainStream = partial.dequantize ? STREAM.dequantize : STREAM.binarize;
        const evalStream = partial.dequantize ? STREAM.dequantizeEval : STREAM.binarizeEval;
        for (const [s, x] of steps.entries()) expect(x, `step ${s + 1}`).toEqual(twinX((i, d, g) => pixel(seed, s, i, d, g, trainStream)));
        expect(evaluated).toEqual(twinX((i, d, g) => pixel(seed, 0, i, d, g, evalStream)));
      } finally {
        vae.destroy();
      }
    });
  }
});
