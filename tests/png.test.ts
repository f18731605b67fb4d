// Image grids: decode the PNG back with fast-png and check geometry and pixels.
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { imageGridPng, pairsGridPng } from '../src/io/png';

/** `count` images of rows x cols where image k is filled with value fill(k, y, x). */
function makeImages(count: number, rows: number, cols: number, fill: (k: number, y: number, x: number) => number) {
  const out = new Float32Array(count * rows * cols);
  for (let k = 0; k < count; k++)
    for (let y = 0; y < rows; y++) for (let x = 0; x < cols; x++) out[(k * rows + y) * cols + x] = fill(k, y, x);
  return out;
}

function pixelAt(png: ReturnType<typeof decode>, x: number, y: number): number {
  return png.data[y * png.width + x];
}

describe('imageGridPng', () => {
  it('lays images out row by row with padding, greyscale 8-bit', () => {
    // 5 images of 2x3 in a grid 2 wide -> 3 grid rows, the last one half empty.
    const images = makeImages(5, 2, 3, (k) => k / 4);
    const png = decode(imageGridPng(images, 5, 2, 3, 2, { pad: 1 }));
    expect(png.channels).toBe(1);
    expect(png.depth).toBe(8);
    expect(png.width).toBe(1 + 2 * (3 + 1));
    expect(png.height).toBe(1 + 3 * (2 + 1));
    expect(pixelAt(png, 0, 0)).toBe(128); // border is background
    expect(pixelAt(png, 1, 1)).toBe(0); // image 0, value 0
    expect(pixelAt(png, 5, 1)).toBe(64); // image 1 starts at x = 1 + 4, value 0.25
    expect(pixelAt(png, 1, 4)).toBe(128); // image 2, value 0.5
    expect(pixelAt(png, 3, 7)).toBe(255); // image 4 bottom-right, value 1
    expect(pixelAt(png, 5, 7)).toBe(128); // empty cell after image 4
  });

  it('keeps pixel order within an image, clamps values and upscales', () => {
    const images = makeImages(1, 2, 2, (_, y, x) => [[-1, 0.2], [2, Number.NaN]][y][x]);
    const png = decode(imageGridPng(images, 1, 2, 2, 4, { pad: 0, scale: 3, background: 1 }));
    expect([png.width, png.height]).toEqual([6, 6]);
    expect(pixelAt(png, 0, 0)).toBe(0); // -1 clamped
    expect(pixelAt(png, 5, 2)).toBe(51); // 0.2 * 255, whole 3x3 block
    expect(pixelAt(png, 2, 5)).toBe(255); // 2 clamped
    expect(pixelAt(png, 4, 4)).toBe(0); // NaN shows as black
  });

  it('sizes a real MNIST-shaped grid as documented', () => {
    const images = makeImages(64, 28, 28, () => 0.5);
    const png = decode(imageGridPng(images, 64, 28, 28, 8, { pad: 2, scale: 2 }));
    expect(png.width).toBe(2 + 8 * (56 + 2));
    expect(png.height).toBe(2 + 8 * (56 + 2));
  });

  it('rejects too little data', () => {
    expect(() => imageGridPng(new Float32Array(10), 2, 2, 3, 2)).toThrow(/need 12 values, got 10/);
  });
});

describe('pairsGridPng', () => {
  it('puts originals in a row with their reconstructions directly below, bands apart', () => {
    const originals = makeImages(3, 2, 2, () => 1);
    const recons = makeImages(3, 2, 2, () => 0);
    const pad = 1;
    const png = decode(pairsGridPng(originals, recons, 3, 2, 2, 2, { pad }));
    const band = 2 * pad + 2;
    expect(png.width).toBe(1 + 2 * 3);
    // Two bands of two tile rows each, plus one gap between the bands.
    expect(png.height).toBe(1 + 4 * 3 + band);
    expect(pixelAt(png, 1, 1)).toBe(255); // original 0
    expect(pixelAt(png, 1, 4)).toBe(0); // reconstruction 0 below it
    expect(pixelAt(png, 4, 1)).toBe(255); // original 1
    expect(pixelAt(png, 4, 4)).toBe(0); // reconstruction 1
    expect(pixelAt(png, 1, 7)).toBe(128); // band gap
    const secondBandTop = 7 + band;
    expect(pixelAt(png, 1, secondBandTop)).toBe(255); // original 2
    expect(pixelAt(png, 1, secondBandTop + 3)).toBe(0); // reconstruction 2
    expect(pixelAt(png, 4, secondBandTop)).toBe(128); // no original 3
  });
});

describe('colour grids', () => {
  it('interleaves channel-major (planar) examples into RGB pixels', () => {
    // 2 images of 3x2x2: image k has R = 0.2 + 0.4 k everywhere, G = x / 2, B = y.
    const rows = 2, cols = 2, plane = rows * cols;
    const images = new Float32Array(2 * 3 * plane);
    for (let k = 0; k < 2; k++) {
      for (let y = 0; y < rows; y++) {
        for (let x = 0; x < cols; x++) {
          const base = k * 3 * plane + y * cols + x;
          images[base] = 0.2 + k * 0.4;
          images[base + plane] = x / 2;
          images[base + 2 * plane] = y;
        }
      }
    }
    const png = decode(imageGridPng(images, 2, rows, cols, 2, { pad: 1, channels: 3 }));
    expect(png.channels).toBe(3);
    expect([png.width, png.height]).toEqual([1 + 2 * 3, 1 + 3]);
    const rgb = (x: number, y: number) => Array.from(png.data.subarray((y * png.width + x) * 3, (y * png.width + x) * 3 + 3));
    expect(rgb(0, 0)).toEqual([128, 128, 128]); // background
    expect(rgb(1, 1)).toEqual([51, 0, 0]); // image 0, x = 0, y = 0
    expect(rgb(2, 2)).toEqual([51, 128, 255]); // image 0, x = 1, y = 1
    expect(rgb(4, 1)).toEqual([153, 0, 0]); // image 1, R = 0.6
    const pairs = decode(pairsGridPng(images, images, 2, rows, cols, 2, { pad: 1, channels: 3 }));
    expect(pairs.channels).toBe(3);
  });

  it('refuses a channel count other than 1 or 3, and too few values for 3 planes', () => {
    expect(() => imageGridPng(new Float32Array(8), 2, 2, 2, 2, { channels: 2 as 3 })).toThrow(/channels must be 1 or 3/);
    expect(() => imageGridPng(new Float32Array(8), 2, 2, 2, 2, { channels: 3 })).toThrow(/need 24 values/);
  });
});
