// Generated dSprites, grey and colour: the exhaustive index <-> factor mapping, pictures against a
// reference rasterizer written from the documented rule, determinism, and the geometric facts the
// factors promise (shifts, symmetries, growth with scale, nothing clipped at the border).
import { describe, expect, it } from 'vitest';
import {
  DSPRITES_COUNT, DSPRITES_FACTOR_SIZES, dspritesDataset, dspritesFactors, dspritesIndex, renderDsprites,
} from '../src/data/dsprites';
import {
  DSPRITES_COLOR_COUNT, dspritesColor, dspritesColorDataset, dspritesColorFactors, dspritesColorIndex, renderColorDsprites,
} from '../src/data/dsprites-color';
import { DataError } from '../src/data/idx';
import { Philox } from '../src/rng';
import { referenceDsprite } from './reference/dsprites';

const render1 = (f: { shape: number; scale: number; orientation: number; posX: number; posY: number }) => renderDsprites([dspritesIndex(f)]);
const same = (a: Uint8Array, b: Uint8Array) => Buffer.compare(a, b) === 0;
const ones = (img: Uint8Array) => img.reduce((n, v) => n + (v ? 1 : 0), 0);
const sample = (n: number, count: number, seed: number) => Array.from({ length: n }, ((rng) => () => rng.nextInt(count))(new Philox(seed, 3)));

describe('dSprites factors', () => {
  it('maps all 737,280 indices to distinct in-range factors and back', () => {
    expect(DSPRITES_COUNT).toBe(737_280);
    let bad = 0;
    let previous = -1;
    for (let i = 0; i < DSPRITES_COUNT; i++) {
      const f = dspritesFactors(i);
      const inRange = [f.shape, f.scale, f.orientation, f.posX, f.posY].every((v, k) => v >= 0 && v < DSPRITES_FACTOR_SIZES[k]);
      const packed = (((f.shape * 6 + f.scale) * 40 + f.orientation) * 32 + f.posX) * 32 + f.posY;
      if (!inRange || dspritesIndex(f) !== i || packed <= previous) bad++;
      previous = packed;
    }
    expect(bad).toBe(0);
    expect(dspritesFactors(DSPRITES_COUNT - 1)).toEqual({ shape: 2, scale: 5, orientation: 39, posX: 31, posY: 31 });
  });

  it('maps colour indices to factors and back, hues outermost', () => {
    expect(DSPRITES_COLOR_COUNT).toBe(36 * 737_280);
    for (let i = 0; i < DSPRITES_COLOR_COUNT; i += 997) {
      const f = dspritesColorFactors(i);
      expect(dspritesColorIndex(f)).toBe(i);
    }
    expect(dspritesColorFactors(DSPRITES_COLOR_COUNT - 1)).toMatchObject({ shapeHue: 5, backgroundHue: 5, shape: 2, posY: 31 });
  });

  it('refuses indices and factors out of range, naming the range', () => {
    expect(() => dspritesFactors(DSPRITES_COUNT)).toThrow(/dSprites index must be an integer from 0 to 737279, got 737280/);
    expect(() => dspritesFactors(1.5)).toThrow(DataError);
    expect(() => dspritesIndex({ shape: 3, scale: 0, orientation: 0, posX: 0, posY: 0 })).toThrow(/factor shape must be an integer from 0 to 2, got 3/);
    expect(() => dspritesColorFactors(-1)).toThrow(/colour dSprites index must be an integer from 0 to 26542079/);
    expect(() => renderDsprites([0, 1], new Uint8Array(4096))).toThrow(/fewer than the 8192 that 2 dSprites need/);
  });
});

describe('dSprites pictures', () => {
  it('match the reference rasterizer bit for bit, at the extremes and at random', () => {
    const extremes = [];
    for (let shape = 0; shape < 3; shape++) {
      for (const [scale, orientation, posX, posY] of [[0, 0, 0, 0], [5, 39, 31, 31], [5, 7, 0, 31], [0, 13, 31, 0], [3, 20, 15, 16]]) {
        extremes.push(dspritesIndex({ shape, scale, orientation, posX, posY }));
      }
    }
    const indices = [...extremes, ...sample(45, DSPRITES_COUNT, 11)];
    const got = renderDsprites(indices);
    indices.forEach((index, n) => {
      const f = dspritesFactors(index);
      const ref = referenceDsprite(f.shape, f.scale, f.orientation, f.posX, f.posY);
      const diff = ref.reduce((d, v, p) => d + (v !== got[n * 4096 + p] ? 1 : 0), 0);
      expect(diff, `index ${index} ${JSON.stringify(f)}`).toBe(0);
      expect(ones(ref)).toBeGreaterThan(10);
    });
  });

  it('renders the same bytes alone, in a batch, in any order', () => {
    const indices = sample(30, DSPRITES_COUNT, 5);
    const batch = renderDsprites(indices);
    const reversed = renderDsprites([...indices].reverse());
    indices.forEach((index, n) => {
      const alone = renderDsprites([index]);
      expect(same(batch.subarray(n * 4096, (n + 1) * 4096), alone)).toBe(true);
      expect(same(reversed.subarray((indices.length - 1 - n) * 4096, (indices.length - n) * 4096), alone)).toBe(true);
    });
  });

  it('moves the picture by exactly one pixel per position step', () => {
    for (const index of sample(20, DSPRITES_COUNT, 9)) {
      const f = dspritesFactors(index);
      const base = render1({ ...f, posX: Math.min(f.posX, 30), posY: Math.min(f.posY, 30) });
      const right = render1({ ...f, posX: Math.min(f.posX, 30) + 1, posY: Math.min(f.posY, 30) });
      const down = render1({ ...f, posX: Math.min(f.posX, 30), posY: Math.min(f.posY, 30) + 1 });
      const shifted = (img: Uint8Array, sx: number, sy: number) => {
        const out = new Uint8Array(4096);
        for (let y = 0; y + sy < 64; y++) for (let x = 0; x + sx < 64; x++) out[(y + sy) * 64 + x + sx] = img[y * 64 + x];
        return out;
      };
      expect(same(right, shifted(base, 1, 0)), `posX step from ${JSON.stringify(f)}`).toBe(true);
      expect(same(down, shifted(base, 0, 1)), `posY step from ${JSON.stringify(f)}`).toBe(true);
    }
  });

  it('keeps each shape\'s symmetries: square every quarter turn, ellipse every half turn, heart mirrored', () => {
    const at = { scale: 4, posX: 12, posY: 19 };
    expect(render1({ shape: 0, orientation: 10, ...at })).toEqual(render1({ shape: 0, orientation: 0, ...at }));
    expect(render1({ shape: 0, orientation: 13, ...at })).toEqual(render1({ shape: 0, orientation: 3, ...at }));
    expect(render1({ shape: 1, orientation: 27, ...at })).toEqual(render1({ shape: 1, orientation: 7, ...at }));
    expect(render1({ shape: 1, orientation: 10, ...at })).not.toEqual(render1({ shape: 1, orientation: 0, ...at }));
    const heart = render1({ shape: 2, orientation: 0, ...at });
    const cx = 16.5 + at.posX; // mirror column x about the centre: x -> 2 cx - 1 - x
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
      const m = 2 * cx - 1 - x;
      if (m >= 0 && m < 64) expect(heart[y * 64 + m]).toBe(heart[y * 64 + x]);
    }
    // ... but not under a half turn.
    expect(render1({ shape: 2, orientation: 20, ...at })).not.toEqual(heart);
  });

  it('grows with scale, and never reaches the border at the largest scale and extreme positions', () => {
    for (let shape = 0; shape < 3; shape++) {
      const areas = [0, 1, 2, 3, 4, 5].map((scale) => ones(render1({ shape, scale, orientation: 6, posX: 10, posY: 10 })));
      for (let s = 1; s < 6; s++) expect(areas[s]).toBeGreaterThan(areas[s - 1]);
      for (let orientation = 0; orientation < 40; orientation++) {
        for (const [posX, posY] of [[0, 0], [0, 31], [31, 0], [31, 31]]) {
          const img = render1({ shape, scale: 5, orientation, posX, posY });
          for (let k = 0; k < 64; k++) {
            expect(img[k] | img[63 * 64 + k] | img[k * 64] | img[k * 64 + 63]).toBe(0);
          }
        }
      }
    }
    // The square at scale 1, unrotated, spans [10.5, 32.5] on both axes (R = 11 around 21.5): 21 x 21
    // pixels fully inside, 4 x 21 edge pixels half covered (8 of 16 samples: on), 4 corners a
    // quarter covered (off).
    expect(ones(render1({ shape: 0, scale: 5, orientation: 0, posX: 5, posY: 5 }))).toBe(21 * 21 + 4 * 21);
  });

  it('builds a Dataset with shape labels and factor labels', () => {
    const indices = [0, 245_760, 737_279, 1234];
    const ds = dspritesDataset(indices);
    expect([ds.count, ds.channels, ds.rows, ds.cols, ds.images.length]).toEqual([4, 1, 64, 64, 4 * 4096]);
    expect(Array.from(ds.labels)).toEqual([0, 1, 2, 0]);
    expect(Array.from(ds.factors.subarray(10, 15))).toEqual([2, 5, 39, 31, 31]);
    expect(Array.from(ds.factors.subarray(15, 20))).toEqual(Object.values(dspritesFactors(1234)));
  });
});

describe('colour dSprites', () => {
  it('paints the grey mask with the shape hue on the background hue, planar RGB', () => {
    const indices = sample(12, DSPRITES_COLOR_COUNT, 21);
    const rgb = renderColorDsprites(indices);
    indices.forEach((index, n) => {
      const f = dspritesColorFactors(index);
      const mask = renderDsprites([index % DSPRITES_COUNT]);
      const fg = dspritesColor(f.shapeHue, true);
      const bg = dspritesColor(f.backgroundHue, false);
      for (let c = 0; c < 3; c++) {
        const plane = rgb.subarray((3 * n + c) * 4096, (3 * n + c + 1) * 4096);
        expect(Array.from(plane)).toEqual(Array.from(mask, (m) => (m ? fg[c] : bg[c])));
      }
    });
  });

  it('keeps a shape visible on a background of its own hue, and labels the factors', () => {
    for (let k = 0; k < 6; k++) expect(dspritesColor(k, true)).not.toEqual(dspritesColor(k, false));
    expect(dspritesColor(0, true)).toEqual([255, 0, 0]);
    expect(dspritesColor(3, false)).toEqual([32, 96, 96]);
    const index = dspritesColorIndex({ shapeHue: 4, backgroundHue: 1, ...dspritesFactors(500_000) });
    expect(index).toBe((4 * 6 + 1) * DSPRITES_COUNT + 500_000);
    const ds = dspritesColorDataset([index]);
    expect([ds.channels, ds.images.length, ds.labels[0]]).toEqual([3, 3 * 4096, dspritesFactors(500_000).shape]);
    expect(Array.from(ds.factors.subarray(0, 2))).toEqual([4, 1]);
  });
});
