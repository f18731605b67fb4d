// From decoded pixels to one training example: convert to grey or RGB, center-crop to a square,
// resize to imageSize x imageSize, and lay the result out channel-major (planar, NCHW). Node and
// the browser both call this after their own decoders, so a picture becomes the same bytes on
// either side whenever the decoders agree.
//
// The rules, so that anyone can reproduce a cached example exactly:
// - Grey is ITU-R BT.601 luma in 16-bit fixed point, as PIL's convert('L') computes it:
//   L = (19595 R + 38470 G + 7471 B + 32768) >> 16. The weights sum to 65536, so grey stays grey.
// - 16-bit samples become 8-bit by round(v / 257).
// - Alpha is composited onto black: each sample becomes round(v * alpha / 255) (premultiplied),
//   before any conversion to grey. Only the visible colour is trained on: the colour hidden under
//   a fully transparent pixel (often left over from editing, magenta or anything) becomes black
//   instead of showing up in the model, and half-transparent black stays dark. It is also what a
//   browser canvas gives (it stores colours premultiplied, and a fully transparent pixel reads
//   back black), so the browser path (image-files.ts) and Node's agree.
// - The crop is the largest centered square; an odd leftover puts the extra pixel on the right or
//   bottom (offset = floor((w - side) / 2)).
// - Resizing is an exact area average: output pixel (k, i) is the mean of the source square it
//   covers, edge pixels weighted by the fraction covered, rounded to nearest with halves up. All
//   of it is integer arithmetic (exact in float64 for sides up to 2^16), so every platform gets
//   the same bytes. Enlarging (side < imageSize) blends the one or two source pixels under each
//   output pixel by the same rule.
import { DataError } from './idx';

/** Interleaved pixels as a decoder returns them: `components` samples per pixel, row by row.
 *  components: 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. 8-bit unless `data` is a Uint16Array. */
export interface Raster {
  width: number;
  height: number;
  components: 1 | 2 | 3 | 4;
  data: Uint8Array | Uint8ClampedArray | Uint16Array;
}

export type ImageChannels = 1 | 3;

/** Largest side the integer resize handles exactly (its sums stay below 2^53). */
export const MAX_IMAGE_SIDE = 1 << 16;

function to8bit(data: Raster['data']): ArrayLike<number> {
  if (!(data instanceof Uint16Array)) return data;
  const out = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Math.floor((data[i] * 2 + 257) / 514);
  return out;
}

/** round(v * alpha / 255), with integers only (v * alpha / 255 is never a tie: 255 is odd). */
const premultiply = (v: number, alpha: number) => Math.floor((2 * v * alpha + 255) / 510);

/** Planar 8-bit planes of the whole raster in the wanted channels (1 plane or 3), alpha
 *  composited onto black pixel by pixel (no copy of the raster: it may be 256 MB). */
function toPlanes(r: Raster, channels: ImageChannels): Uint8Array[] {
  const n = r.width * r.height;
  const src = to8bit(r.data);
  const c = r.components;
  const colour = c >= 3;
  const hasAlpha = c === 2 || c === 4;
  const planes = Array.from({ length: channels }, () => new Uint8Array(n));
  const [first, second, third] = planes;
  for (let p = 0; p < n; p++) {
    const o = p * c;
    const alpha = hasAlpha ? src[o + c - 1] : 255;
    let v0 = src[o];
    let v1 = colour ? src[o + 1] : v0;
    let v2 = colour ? src[o + 2] : v0;
    if (alpha !== 255) {
      v0 = premultiply(v0, alpha);
      v1 = colour ? premultiply(v1, alpha) : v0;
      v2 = colour ? premultiply(v2, alpha) : v0;
    }
    if (channels === 1) {
      first[p] = colour ? (19595 * v0 + 38470 * v1 + 7471 * v2 + 32768) >>> 16 : v0;
    } else {
      first[p] = v0;
      second[p] = v1;
      third[p] = v2;
    }
  }
  return planes;
}

/** For each output index i, the source indices j and their integer overlap weights, in units where
 *  source pixel j spans [j*out, (j+1)*out) and output pixel i spans [i*side, (i+1)*side). */
function areaWeights(side: number, out: number): { first: number; weights: number[] }[] {
  const table = [];
  for (let i = 0; i < out; i++) {
    const lo = i * side;
    const hi = (i + 1) * side;
    const first = Math.floor(lo / out);
    const weights: number[] = [];
    for (let j = first; j * out < hi; j++) {
      weights.push(Math.min((j + 1) * out, hi) - Math.max(j * out, lo));
    }
    table.push({ first, weights });
  }
  return table;
}

function checkRaster(r: Raster, imageSize: number): void {
  if (!Number.isInteger(imageSize) || imageSize < 1 || imageSize > 4096) {
    throw new DataError(`imageSize must be an integer from 1 to 4096, got ${imageSize}.`);
  }
  if (!Number.isInteger(r.width) || !Number.isInteger(r.height) || r.width < 1 || r.height < 1) {
    throw new DataError(`image has no pixels (${r.width}x${r.height}).`);
  }
  if (Math.min(r.width, r.height) > MAX_IMAGE_SIDE) {
    throw new DataError(`image of ${r.width}x${r.height} is too large to resize; its shorter side must be at most ${MAX_IMAGE_SIDE}.`);
  }
  if (r.data.length < r.width * r.height * r.components) {
    throw new DataError(`image data holds ${r.data.length} samples, fewer than ${r.width}x${r.height}x${r.components}.`);
  }
}

/** Center-crops, resizes and converts one decoded image: channels * imageSize^2 bytes, planar. */
export function prepareImage(r: Raster, imageSize: number, channels: ImageChannels): Uint8Array {
  checkRaster(r, imageSize);
  const side = Math.min(r.width, r.height);
  const x0 = Math.floor((r.width - side) / 2);
  const y0 = Math.floor((r.height - side) / 2);
  const table = areaWeights(side, imageSize);
  const n = imageSize;
  const area = side * side;
  const out = new Uint8Array(channels * n * n);
  const rowSums = new Float64Array(side * n); // [crop row][output column]
  toPlanes(r, channels).forEach((plane, ch) => {
    for (let y = 0; y < side; y++) {
      const row = (y0 + y) * r.width + x0;
      for (let i = 0; i < n; i++) {
        const { first, weights } = table[i];
        let acc = 0;
        for (let t = 0; t < weights.length; t++) acc += weights[t] * plane[row + first + t];
        rowSums[y * n + i] = acc;
      }
    }
    for (let k = 0; k < n; k++) {
      const { first, weights } = table[k];
      for (let i = 0; i < n; i++) {
        let acc = 0;
        for (let t = 0; t < weights.length; t++) acc += weights[t] * rowSums[(first + t) * n + i];
        out[ch * n * n + k * n + i] = Math.floor((2 * acc + area) / (2 * area));
      }
    }
  });
  return out;
}
