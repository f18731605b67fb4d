// Reading the demo's image grids back from screenshots, image pixel by image pixel (the gaps
// between tiles are left out), and the yardsticks the tests judge them by: the pixel variance of
// the images alone, how much closer reconstructions are to their originals than the mean image
// is, and the loss of the best model that ignores its input (a decoder bias alone).
import { canvasSize, gridSpec, pixelCentre } from '../../demo/shared/layout';
import type { ViewName } from '../../demo/shared/protocol';
import { grey, type Picture } from './browser';

const D = 784;

/**
 * The grey level of every image pixel of every tile of a grid view, sampled at the pixel's
 * centre: immune to the sub-pixel offsets a screenshot of a scrolled page can have. Tile k
 * (row-major) occupies [k * 784, (k + 1) * 784).
 */
export function imagePixels(p: Picture, view: ViewName, classes = 0): Uint8Array {
  const spec = gridSpec(view, 28, 28, classes);
  const scale = p.width / canvasSize(spec).width;
  const out = new Uint8Array(spec.cols * spec.rows * D);
  for (let row = 0, k = 0; row < spec.rows; row++) {
    for (let col = 0; col < spec.cols; col++) {
      for (let q = 0; q < D; q++, k++) {
        const c = pixelCentre(spec, col, row, q % 28, Math.floor(q / 28));
        out[k] = grey(p, c.x * scale, c.y * scale);
      }
    }
  }
  return out;
}

/** Largest grey-level difference between two pictures of a grid view, image pixel by image pixel. */
export function gridDifference(a: Picture, b: Picture, view: ViewName, classes = 0): number {
  const x = imagePixels(a, view, classes), y = imagePixels(b, view, classes);
  let max = 0;
  for (let i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
  return max;
}

/** Variance of the grey levels of the images' own pixels (no gaps): ~0 for blank or flat tiles. */
export function imageVariance(p: Picture, view: ViewName, classes = 0): number {
  const v = imagePixels(p, view, classes);
  let sum = 0, sq = 0;
  for (const x of v) { sum += x; sq += x * x; }
  return sq / v.length - (sum / v.length) ** 2;
}

/** The reconstructions view's test images and their reconstructions: tile (col, 2r) above (col, 2r + 1). */
export function reconstructionPairs(p: Picture): { originals: Uint8Array[]; reconstructions: Uint8Array[] } {
  const px = imagePixels(p, 'reconstructions'), cols = gridSpec('reconstructions', 28, 28).cols;
  const tile = (col: number, row: number) => px.subarray((row * cols + col) * D, (row * cols + col + 1) * D);
  const originals: Uint8Array[] = [], reconstructions: Uint8Array[] = [];
  for (let r = 0; r < 4; r++) {
    for (let c = 0; c < cols; c++) {
      originals.push(tile(c, 2 * r));
      reconstructions.push(tile(c, 2 * r + 1));
    }
  }
  return { originals, reconstructions };
}

const meanSquare = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  let s = 0;
  for (let q = 0; q < a.length; q++) s += (a[q] - b[q]) ** 2;
  return s / a.length;
};

/**
 * Per image, the squared error of its reconstruction and of the mean image (the best a model that
 * ignores its input can draw), in grey levels squared.
 */
export function reconstructionErrors(originals: Uint8Array[], reconstructions: Uint8Array[], meanImage: ArrayLike<number>): { own: number[]; mean: number[] } {
  return { own: originals.map((o, i) => meanSquare(reconstructions[i], o)), mean: originals.map((o) => meanSquare(meanImage, o)) };
}

/** The mean of `count` u8 images, as grey levels 0-255. */
export function meanImage(images: Uint8Array, count: number): Float64Array {
  const m = new Float64Array(D);
  for (let i = 0; i < count; i++) for (let q = 0; q < D; q++) m[q] += images[i * D + q] / count;
  return m;
}

/**
 * The -ELBO, in nats, of the best model whose decoder ignores z (output logits = a bias b alone,
 * the posterior equal to the prior, KL 0) on grey-level images x = v / 255 under a Bernoulli
 * likelihood: sum_d H(x_d, sigmoid(b_d)) per image, lowest at sigmoid(b) = the mean image. Fitted
 * on the images it is measured on, so no bias-only model scores below it on them.
 */
export function biasOnlyLoss(images: Uint8Array, count: number): number {
  const p = meanImage(images, count).map((v) => Math.min(1 - 1e-7, Math.max(1e-7, v / 255)));
  let total = 0;
  for (let i = 0; i < count; i++) {
    for (let q = 0; q < D; q++) {
      const x = images[i * D + q] / 255;
      total -= x * Math.log(p[q]) + (1 - x) * Math.log(1 - p[q]);
    }
  }
  return total / count;
}
