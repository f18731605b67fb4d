// EXIF orientation: the tag read from JPEG files (both byte orders, malformed blocks ignored) and
// PNG files (eXIf chunk), and the eight ways of turning a picture, checked on a 3x2 picture whose
// every pixel is distinct.
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/data/image-decode';
import { jpegOrientation, orientRaster, pngOrientation } from '../src/data/image-orientation';
import type { Raster } from '../src/data/image-pixels';
import { withExifOrientation, withPngExifOrientation } from './helpers/exif';

//  stored:  1 2 3
//           4 5 6
const stored: Raster = { width: 3, height: 2, components: 1, data: Uint8Array.of(1, 2, 3, 4, 5, 6) };

describe('orientRaster', () => {
  const expected: Record<number, [number, number, number[]]> = {
    1: [3, 2, [1, 2, 3, 4, 5, 6]],
    2: [3, 2, [3, 2, 1, 6, 5, 4]], // mirrored left-right
    3: [3, 2, [6, 5, 4, 3, 2, 1]], // half turn
    4: [3, 2, [4, 5, 6, 1, 2, 3]], // mirrored top-bottom
    5: [2, 3, [1, 4, 2, 5, 3, 6]], // transposed
    6: [2, 3, [4, 1, 5, 2, 6, 3]], // quarter turn clockwise: the left column becomes the top row
    7: [2, 3, [6, 3, 5, 2, 4, 1]], // transversed
    8: [2, 3, [3, 6, 2, 5, 1, 4]], // quarter turn counter-clockwise: the right column becomes the top row
  };
  for (const [k, [w, h, data]] of Object.entries(expected)) {
    it(`turns orientation ${k} upright`, () => {
      const r = orientRaster(stored, Number(k));
      expect([r.width, r.height, Array.from(r.data)]).toEqual([w, h, data]);
    });
  }

  it('keeps every component of a pixel together and the sample type', () => {
    const rgb: Raster = { width: 2, height: 1, components: 3, data: Uint16Array.of(1, 2, 3, 4, 5, 6) };
    const r = orientRaster(rgb, 6);
    expect([r.width, r.height, Array.from(r.data), r.data instanceof Uint16Array]).toEqual([1, 2, [1, 2, 3, 4, 5, 6], true]);
    expect(orientRaster(rgb, 0)).toBe(rgb);
    expect(orientRaster(rgb, 9)).toBe(rgb);
  });
});

describe('jpegOrientation', () => {
  const plain = new Uint8Array(encodeJpeg({ width: 6, height: 4, data: new Uint8Array(96).fill(128) }, 90).data);

  it('reads the tag in either byte order, and 1 when there is none', () => {
    expect(jpegOrientation(plain)).toBe(1);
    for (let k = 1; k <= 8; k++) {
      expect(jpegOrientation(withExifOrientation(plain, k))).toBe(k);
      expect(jpegOrientation(withExifOrientation(plain, k, true))).toBe(k);
    }
  });

  it('ignores malformed Exif blocks instead of failing', () => {
    const good = withExifOrientation(plain, 6);
    const exifAt = 2 + 4; // after SOI and the APP1 marker and length
    const cases: ((b: Uint8Array) => void)[] = [
      (b) => { b[exifAt + 6] = 0x41; }, // byte order neither II nor MM
      (b) => { b[exifAt + 9] = 41; }, // TIFF magic not 42
      (b) => { new DataView(b.buffer).setUint32(exifAt + 10, 0xfffffff0, false); }, // IFD far outside
      (b) => { new DataView(b.buffer).setUint16(exifAt + 14, 0, false); }, // no entries
      (b) => { new DataView(b.buffer).setUint16(exifAt + 18, 4, false); }, // tag of type LONG, not SHORT
      (b) => { new DataView(b.buffer).setUint16(exifAt + 24, 99, false); }, // orientation 99
      (b) => { new DataView(b.buffer).setUint16(4, 0xffff, false); }, // segment longer than the file
    ];
    for (const damage of cases) {
      const b = good.slice();
      damage(b);
      expect(jpegOrientation(b)).toBe(1);
    }
    expect(jpegOrientation(good.subarray(0, 12))).toBe(1);
  });

  it('turns a decoded JPEG upright', () => {
    const data = new Uint8Array(6 * 4 * 4);
    for (let p = 0; p < 24; p++) data.set([p * 10, 255 - p * 10, (p * 37) & 255, 255], 4 * p);
    const jpeg = new Uint8Array(encodeJpeg({ width: 6, height: 4, data }, 100).data);
    const upright = decodeImage(withExifOrientation(jpeg, 8), 'turned.jpg');
    const reference = orientRaster(decodeImage(jpeg, 'plain.jpg'), 8);
    expect([upright.width, upright.height]).toEqual([4, 6]);
    expect(Array.from(upright.data)).toEqual(Array.from(reference.data));
  });
});

describe('pngOrientation', () => {
  const png = encodePng({ width: 3, height: 2, data: stored.data, channels: 1, depth: 8 });

  it('reads the eXIf chunk in either byte order, and 1 when there is none', () => {
    expect(pngOrientation(png)).toBe(1);
    for (let k = 1; k <= 8; k++) {
      expect(pngOrientation(withPngExifOrientation(png, k))).toBe(k);
      expect(pngOrientation(withPngExifOrientation(png, k, true))).toBe(k);
    }
    // A chunk cut short or an orientation out of range is ignored.
    expect(pngOrientation(withPngExifOrientation(png, 6).subarray(0, 50))).toBe(1);
    expect(pngOrientation(withPngExifOrientation(png, 99))).toBe(1);
  });

  it('turns a decoded PNG upright', () => {
    const r = decodeImage(withPngExifOrientation(png, 6), 'turned.png');
    expect([r.width, r.height, Array.from(r.data)]).toEqual([2, 3, [4, 1, 5, 2, 6, 3]]);
  });
});
