// Colour dSprites: the grey set's 737,280 shapes (dsprites.ts) painted with a shape hue on a
// background hue, two more factors of 6 values each, so 26,542,080 RGB pictures, rendered on
// demand like the grey ones. It makes colour training testable without downloading anything.
//
// Index: [shapeHue, backgroundHue] come before the grey factors, the grey index fastest:
//   index = (shapeHue * 6 + backgroundHue) * DSPRITES_COUNT + greyIndex
// Hue k (0..5) is 60k degrees: red, yellow, green, cyan, blue, magenta. Its RGB channels are
// either "on" or "off" (HUE_CHANNELS). The shape paints on = 255, off = 0 (full saturation and
// value); the background paints on = 96, off = 32 (darker, less saturated), so a shape stays
// visible on a background of its own hue. A pixel is the shape's colour where the grey picture
// is 255 and the background's elsewhere; output is planar RGB (NCHW), 3 x 64 x 64 bytes.
import { DSPRITES_BACKGROUND_LEVELS, DSPRITES_HUE_CHANNELS, DSPRITES_SHAPE_LEVELS } from '../../shaders/dsprites';
import { DSPRITES_COUNT, DSPRITES_SIDE, dspritesFactors, dspritesIndex, renderDspriteInto, type DspritesFactors } from './dsprites';
import { DataError } from './idx';
import type { Dataset } from './mnist';

export const DSPRITES_HUES = 6;
export const DSPRITES_COLOR_COUNT = DSPRITES_HUES * DSPRITES_HUES * DSPRITES_COUNT;
export const DSPRITES_COLOR_FACTOR_NAMES = ['shapeHue', 'backgroundHue', 'shape', 'scale', 'orientation', 'posX', 'posY'] as const;

/** Which of R, G, B is on for each hue. */
export const HUE_CHANNELS = DSPRITES_HUE_CHANNELS;
const SHAPE_LEVELS = DSPRITES_SHAPE_LEVELS;
const BACKGROUND_LEVELS = DSPRITES_BACKGROUND_LEVELS;
const PIXELS = DSPRITES_SIDE * DSPRITES_SIDE;

export interface DspritesColorFactors extends DspritesFactors {
  shapeHue: number;
  backgroundHue: number;
}

/** The RGB colour of the shape (`shape` true) or of the background for hue `k`. */
export function dspritesColor(k: number, shape: boolean): [number, number, number] {
  const levels: readonly number[] = shape ? SHAPE_LEVELS : BACKGROUND_LEVELS;
  const on = HUE_CHANNELS[k];
  return [levels[on[0]], levels[on[1]], levels[on[2]]];
}

export function dspritesColorFactors(index: number): DspritesColorFactors {
  if (!Number.isInteger(index) || index < 0 || index >= DSPRITES_COLOR_COUNT) {
    throw new DataError(`colour dSprites index must be an integer from 0 to ${DSPRITES_COLOR_COUNT - 1}, got ${index}.`);
  }
  const hues = Math.floor(index / DSPRITES_COUNT);
  return { shapeHue: Math.floor(hues / DSPRITES_HUES), backgroundHue: hues % DSPRITES_HUES, ...dspritesFactors(index % DSPRITES_COUNT) };
}

export function dspritesColorIndex(f: DspritesColorFactors): number {
  for (const [name, v] of [['shapeHue', f.shapeHue], ['backgroundHue', f.backgroundHue]] as const) {
    if (!Number.isInteger(v) || v < 0 || v >= DSPRITES_HUES) {
      throw new DataError(`colour dSprites factor ${name} must be an integer from 0 to ${DSPRITES_HUES - 1}, got ${v}.`);
    }
  }
  return (f.shapeHue * DSPRITES_HUES + f.backgroundHue) * DSPRITES_COUNT + dspritesIndex(f);
}

/** Renders the colour examples `indices`: 3 * 4096 bytes each, planar RGB. */
export function renderColorDsprites(indices: ArrayLike<number>, out = new Uint8Array(indices.length * 3 * PIXELS)): Uint8Array {
  if (out.length < indices.length * 3 * PIXELS) {
    throw new DataError(`output holds ${out.length} bytes, fewer than the ${indices.length * 3 * PIXELS} that ${indices.length} colour dSprites need.`);
  }
  const mask = new Uint8Array(PIXELS);
  for (let n = 0; n < indices.length; n++) {
    const f = dspritesColorFactors(indices[n]);
    renderDspriteInto(indices[n] % DSPRITES_COUNT, mask);
    const fg = dspritesColor(f.shapeHue, true);
    const bg = dspritesColor(f.backgroundHue, false);
    for (let c = 0; c < 3; c++) {
      const plane = out.subarray((3 * n + c) * PIXELS, (3 * n + c + 1) * PIXELS);
      for (let p = 0; p < PIXELS; p++) plane[p] = mask[p] ? fg[c] : bg[c];
    }
  }
  return out;
}

/** Factor indices of the colour examples, 7 bytes each in DSPRITES_COLOR_FACTOR_NAMES order. */
export function dspritesColorFactorLabels(indices: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(indices.length * 7);
  for (let n = 0; n < indices.length; n++) {
    const f = dspritesColorFactors(indices[n]);
    out.set([f.shapeHue, f.backgroundHue, f.shape, f.scale, f.orientation, f.posX, f.posY], 7 * n);
  }
  return out;
}

/** A rendered colour Dataset of the given examples (labels = shape, 3 classes), with their factors. */
export function dspritesColorDataset(indices: ArrayLike<number>, name = 'dsprites-color'): Dataset & { labels: Uint8Array; factors: Uint8Array } {
  const factors = dspritesColorFactorLabels(indices);
  const labels = Uint8Array.from({ length: indices.length }, (_, n) => factors[7 * n + 2]);
  return { images: renderColorDsprites(indices), labels, factors, count: indices.length, channels: 3, rows: DSPRITES_SIDE, cols: DSPRITES_SIDE, name };
}
