// How the JPEG reader (src/data/image-jpeg.ts) tells RGB-coded files from YCbCr ones: files written
// with the markers and component ids of each convention, flat blocks of known colours stored as RGB,
// YCbCr, CMYK or YCCK samples, must decode to those colours, as libjpeg-turbo (PIL, browsers)
// decodes them; and jpeg-js must be told not to convert exactly when the samples are RGB.
import * as jpegJs from 'jpeg-js';
import { describe, expect, it, vi } from 'vitest';
import { decodeImage } from '../src/data/image-decode';
import { expectClose } from './helpers/compare';
import { writeFlatJpeg } from './helpers/flat-jpeg';

// jpeg-js's decode, watched, so the options the reader passes can be checked.
vi.mock('jpeg-js', async (importOriginal) => {
  const real = await importOriginal<typeof import('jpeg-js')>();
  return { ...real, decode: vi.fn(real.decode) };
});

const COLOURS = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255], [0, 0, 0], [30, 140, 220]];
const R_G_B = [0x52, 0x47, 0x42];

/** JFIF's full-range YCbCr of an RGB colour, rounded and clamped as a writer stores it. */
const ycbcr = ([r, g, b]: number[]) =>
  [0.299 * r + 0.587 * g + 0.114 * b, 128 - 0.168736 * r - 0.331264 * g + 0.5 * b, 128 + 0.5 * r - 0.418688 * g - 0.081312 * b].map((v) =>
    Math.max(0, Math.min(255, Math.round(v))),
  );
const rgb = (c: number[]) => c;
/** Adobe CMYK is stored inverted: 255 - C, 255 - M, 255 - Y, 255 - K. With K = 0 that is R, G, B, 255. */
const cmyk = (c: number[]) => [...c, 255];
/** Adobe YCCK: the YCbCr of (C, M, Y) taken as a colour, then K stored inverted as in CMYK. */
const ycck = (c: number[]) => [...ycbcr(c.map((v) => 255 - v)), 255];

interface Case {
  what: string;
  ids: number[];
  jfif?: boolean;
  adobeTransform?: number;
  samples: (colour: number[]) => number[];
  /** Whether jpeg-js must be told the samples are RGB (colorTransform: false). */
  rgbCoded: boolean;
}

const CASES: Case[] = [
  { what: "Adobe transform 0, ids 'R','G','B' (PIL's keep_rgb)", ids: R_G_B, adobeTransform: 0, samples: rgb, rgbCoded: true },
  { what: 'Adobe transform 0, ids 1,2,3', ids: [1, 2, 3], adobeTransform: 0, samples: rgb, rgbCoded: true },
  { what: "no markers, ids 'R','G','B'", ids: R_G_B, samples: rgb, rgbCoded: true },
  { what: "Adobe transform 1 over ids 'R','G','B'", ids: R_G_B, adobeTransform: 1, samples: ycbcr, rgbCoded: false },
  { what: 'JFIF over Adobe transform 0', ids: [1, 2, 3], jfif: true, adobeTransform: 0, samples: ycbcr, rgbCoded: false },
  { what: "JFIF over ids 'R','G','B'", ids: R_G_B, jfif: true, samples: ycbcr, rgbCoded: false },
  { what: 'JFIF, ids 1,2,3 (most JPEGs)', ids: [1, 2, 3], jfif: true, samples: ycbcr, rgbCoded: false },
  { what: 'no markers, ids 0,1,2', ids: [0, 1, 2], samples: ycbcr, rgbCoded: false },
  { what: 'CMYK (Adobe transform 0, four components)', ids: [1, 2, 3, 4], adobeTransform: 0, samples: cmyk, rgbCoded: false },
  { what: 'YCCK (Adobe transform 2, four components)', ids: [1, 2, 3, 4], adobeTransform: 2, samples: ycck, rgbCoded: false },
];

const fileOf = (c: Case) =>
  writeFlatJpeg({ blocksWide: COLOURS.length, blocksHigh: 1, ids: c.ids, jfif: c.jfif, adobeTransform: c.adobeTransform, block: (bx) => c.samples(COLOURS[bx]) });

describe('JPEG colour coding', () => {
  for (const c of CASES) {
    it(`decodes ${c.what} to the colours written`, () => {
      const r = decodeImage(fileOf(c), 'colours.jpg');
      expect([r.width, r.height, r.components]).toEqual([8 * COLOURS.length, 8, 3]);
      // Each block's top-left and bottom-right pixels; YCbCr rounding leaves up to 2 levels.
      const got = COLOURS.flatMap((_, bx) => [...r.data.subarray(3 * 8 * bx, 3 * 8 * bx + 3), ...r.data.subarray(3 * (7 * 8 * COLOURS.length + 8 * bx + 7), 3 * (7 * 8 * COLOURS.length + 8 * bx + 7) + 3)]);
      expectClose(got, COLOURS.flatMap((colour) => [...colour, ...colour]), { atol: 2, rtol: 0 }, c.what);
    });
  }

  it('tells jpeg-js not to convert from YCbCr exactly when the samples are RGB', () => {
    const decode = vi.mocked(jpegJs.decode);
    for (const c of CASES) {
      decode.mockClear();
      decodeImage(fileOf(c), 'colours.jpg');
      expect(decode, c.what).toHaveBeenCalledTimes(1);
      expect(decode.mock.calls[0][1]?.colorTransform, c.what).toBe(c.rgbCoded ? false : undefined);
    }
  });

  it('decodes an RGB-coded photo-like file as its colours, not as YCbCr', () => {
    // The reviewer's case: red and white saved RGB-coded came out (75, 255, 28) and (255, 120, 255).
    const file = writeFlatJpeg({ blocksWide: 2, blocksHigh: 2, ids: R_G_B, adobeTransform: 0, block: (bx, by) => ((bx + by) % 2 ? [255, 255, 255] : [255, 0, 0]) });
    const r = decodeImage(file, 'keep-rgb.jpg');
    const pixel = (x: number, y: number) => Array.from(r.data.subarray(3 * (y * 16 + x), 3 * (y * 16 + x) + 3));
    expect([pixel(0, 0), pixel(8, 0), pixel(0, 8), pixel(15, 15)]).toEqual([[255, 0, 0], [255, 255, 255], [255, 255, 255], [255, 0, 0]]);
  });
});
