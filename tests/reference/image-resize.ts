// Float64 reference for the picture pipeline of src/data/image-pixels.ts, written from its stated
// rules rather than from its code: crop the centered square, then give every output pixel the
// mean of the continuous source area it covers (a source pixel y spans [y, y + 1)). Returns the
// unrounded means, channel-major; the library rounds them, so it must land within 0.5.

/** Length of the overlap of [a0, a1) and [b0, b1). */
const overlap = (a0: number, a1: number, b0: number, b1: number) => Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));

/** `planes`: one row-major array per channel of a width x height picture. */
export function referenceCropResize(planes: ArrayLike<number>[], width: number, height: number, size: number): Float64Array {
  const side = Math.min(width, height);
  const x0 = Math.floor((width - side) / 2);
  const y0 = Math.floor((height - side) / 2);
  const step = side / size;
  const out = new Float64Array(planes.length * size * size);
  planes.forEach((plane, c) => {
    for (let k = 0; k < size; k++) {
      for (let i = 0; i < size; i++) {
        let sum = 0;
        for (let y = 0; y < side; y++) {
          const wy = overlap(y, y + 1, k * step, (k + 1) * step);
          if (wy === 0) continue;
          for (let x = 0; x < side; x++) {
            const wx = overlap(x, x + 1, i * step, (i + 1) * step);
            if (wx > 0) sum += wy * wx * plane[(y0 + y) * width + x0 + x];
          }
        }
        out[c * size * size + k * size + i] = sum / (step * step);
      }
    }
  });
  return out;
}

/** BT.601 luma of one RGB pixel, unrounded. */
export const referenceLuma = (r: number, g: number, b: number) => 0.299 * r + 0.587 * g + 0.114 * b;
