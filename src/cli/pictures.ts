// The pictures the commands draw, in one place: the grid style (each pixel 2x2 for pictures up
// to 64 pixels a side, 1x1 above: a 256x256 picture needs no enlarging; the model's channels), a data set's first pictures as the model reads them, and the reconstructions figure
// (pictures above their reconstructions, 8 a row) that `train` writes at the end of a run and
// `reconstruct` writes for any checkpoint.
import type { Dataset } from '../data/mnist';
import { pairsGridPng } from '../io/png';
import type { VaeConfig } from '../model/config';
import type { VAE } from '../model/vae';

/** Pictures up to this many pixels a side are drawn 2x2 per pixel, to be seen; larger ones as they are. */
export const ENLARGED_UP_TO = 64;

export const gridFor = (config: Pick<VaeConfig, 'imageChannels' | 'imageShape'>) =>
  ({ scale: Math.max(...config.imageShape) <= ENLARGED_UP_TO ? 2 : 1, channels: config.imageChannels as 1 | 3 });

/**
 * How many samples the end of a run draws, at 8 a row: 64 up to 128 pixels a side, 16 up to 512,
 * else 8, so that the grid stays a picture of a few thousand pixels a side at most.
 */
export function endSampleCount(config: Pick<VaeConfig, 'imageShape'>): number {
  const side = Math.max(...config.imageShape);
  return side <= 128 ? 64 : side <= 512 ? 16 : 8;
}

/**
 * Samples of a conditional model for `labels` in class order (as spreadLabels and the end of a run
 * give them): each class's samples decode the same first draws of z from `seed` (a draw depends on
 * the seed and its row alone), so a column of the class-row grid shows one z as every class, as the
 * demo's grid does, and the rows differ by their label only.
 */
export async function samplesByClass(vae: VAE, labels: readonly number[], seed: number): Promise<Float32Array> {
  const out = new Float32Array(labels.length * vae.config.inputDim);
  for (let start = 0; start < labels.length;) {
    let end = start;
    while (end < labels.length && labels[end] === labels[start]) end++;
    out.set(await vae.sample(end - start, seed, labels.slice(start, end)), start * vae.config.inputDim);
    start = end;
  }
  return out;
}

/** The first `n` pictures of `data` in [0, 1], with their labels when the model is conditional. */
export function firstPictures(data: Dataset, config: Pick<VaeConfig, 'inputDim' | 'classes'>, n = data.count): { x: Float32Array; labels: number[] | undefined; shown: number } {
  const shown = Math.min(n, data.count);
  return {
    x: Float32Array.from(data.images.subarray(0, shown * config.inputDim), (v) => v / 255),
    labels: config.classes ? Array.from(data.labels!.subarray(0, shown)) : undefined,
    shown,
  };
}

/**
 * The first `n` pictures of `data`, each above its reconstruction by `vae`, as a PNG, and the
 * reconstructions in [0, 1]. `mu`, the pictures' codes when the caller has encoded them already,
 * is decoded instead of encoding the pictures again (a reconstruction is the decoder's mean at z = mu).
 */
export async function reconstructionsPng(vae: VAE, data: Dataset, n: number, mu?: Float32Array): Promise<{ png: Uint8Array; shown: number; reconstructed: Float32Array }> {
  const { x, labels, shown } = firstPictures(data, vae.config, n);
  const [rows, cols] = vae.config.imageShape;
  const reconstructed = mu ? await vae.decode(mu, labels) : await vae.reconstruct(x, labels);
  return { png: pairsGridPng(x, reconstructed, shown, rows, cols, 8, gridFor(vae.config)), shown, reconstructed };
}
