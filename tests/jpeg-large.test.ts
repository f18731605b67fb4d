// A colour JPEG within the documented 64 megapixels decodes: its memory allowance is what its
// picture needs, not a 1 GiB cap that refused 4:4:4 exports of 50 to 64 megapixels and CMYK ones
// of 40 with "Shrink the picture (to 32 megapixels or fewer)".
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/data/image-decode';

/** A progressive CMYK JPEG (Adobe marker, 4 components at full resolution) holding only its DC
 *  scans, every block's difference 0 (one bit a block): a flat picture in as few bytes as can be. */
function flatProgressiveCmyk(width: number, height: number): Uint8Array {
  const u16 = (v: number) => [v >> 8, v & 255];
  const segment = (marker: number, body: number[]) => [0xff, marker, ...u16(body.length + 2), ...body];
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  const scan = (id: number) => [...segment(0xda, [1, id, 0x00, 0, 0, 0]), ...new Array(Math.ceil(blocks / 8)).fill(0)];
  return Uint8Array.from([
    0xff, 0xd8,
    ...segment(0xee, [...Array.from('Adobe', (c) => c.charCodeAt(0)), 0, 100, 0, 0, 0, 0, 0]), // Adobe, transform 0: CMYK
    ...segment(0xdb, [0, ...new Array(64).fill(1)]),
    ...segment(0xc2, [8, ...u16(height), ...u16(width), 4, 1, 0x11, 0, 2, 0x11, 0, 3, 0x11, 0, 4, 0x11, 0]),
    ...segment(0xc4, [0x00, 1, ...new Array(15).fill(0), 0]),
    ...scan(1), ...scan(2), ...scan(3), ...scan(4),
    0xff, 0xd9,
  ]);
}

describe('decodeImage: large colour JPEGs', () => {
  it('decodes a 41-megapixel CMYK JPEG (27 bytes a pixel in jpeg-js, over 1 GiB)', () => {
    const r = decodeImage(flatProgressiveCmyk(6400, 6400), 'cmyk41mp.jpg');
    expect([r.width, r.height, r.components]).toEqual([6400, 6400, 3]);
  }, 120_000);
});
