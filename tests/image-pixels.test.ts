// The picture pipeline's pixel maths (crop, area-average resize, grey/RGB conversion, planar
// layout) against the float64 reference, and the PNG/JPEG decoding in front of it.
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/data/idx';
import { decodeImage, sniffImageFormat } from '../src/data/image-decode';
import { prepareImage, type Raster } from '../src/data/image-pixels';
import { expectClose } from './helpers/compare';
import { pngChunk } from './helpers/png-packed';
import { referenceCropResize, referenceLuma } from './reference/image-resize';

/** A deterministic RGB picture: channel c of pixel (x, y) from a small hash. */
function rgbPicture(width: number, height: number, seed = 1): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = (Math.imul(i + seed * 7919, 2654435761) >>> 24) & 255;
  return data;
}

/** A progressive grey JPEG holding only its DC scan, every block's difference 0 (one bit a block):
 *  as small as a JPEG of so many pixels can be, like a flat progressive photo. */
function flatProgressiveJpeg(width: number, height: number): Uint8Array {
  const u16 = (v: number) => [v >> 8, v & 255];
  const segment = (marker: number, body: number[]) => [0xff, marker, ...u16(body.length + 2), ...body];
  const blocks = Math.ceil(width / 8) * Math.ceil(height / 8);
  return Uint8Array.from([
    0xff, 0xd8,
    ...segment(0xdb, [0, ...new Array(64).fill(1)]), // quantization table 0: all ones
    ...segment(0xc2, [8, ...u16(height), ...u16(width), 1, 1, 0x11, 0]), // progressive frame, one grey component
    ...segment(0xc4, [0x00, 1, ...new Array(15).fill(0), 0]), // DC table 0: the 1-bit code 0 for category 0
    ...segment(0xda, [1, 1, 0x00, 0, 0, 0]), // the DC scan
    ...new Array(Math.ceil(blocks / 8)).fill(0),
    0xff, 0xd9,
  ]);
}

const planesOf = (data: ArrayLike<number>, n: number, components: number) =>
  Array.from({ length: Math.min(components, 3) }, (_, c) => Float64Array.from({ length: n }, (_, p) => data[p * components + c]));

describe('prepareImage', () => {
  it('keeps a square picture of the target size unchanged, laid out channel-major', () => {
    const data = rgbPicture(5, 5);
    const out = prepareImage({ width: 5, height: 5, components: 3, data }, 5, 3);
    for (let p = 0; p < 25; p++) for (let c = 0; c < 3; c++) expect(out[c * 25 + p]).toBe(data[p * 3 + c]);
  });

  it('averages 2x2 blocks when halving, with halves rounded up', () => {
    const data = Uint8Array.of(0, 1, 2, 2, 0, 0, 2, 2, 10, 20, 255, 255, 30, 41, 255, 255);
    const out = prepareImage({ width: 4, height: 4, components: 1, data }, 2, 1);
    // means 0.25 -> 0, 2 -> 2, 25.25 -> 25, 255 -> 255; and a tie: 10,20,30,41 = 25.25
    expect(Array.from(out)).toEqual([0, 2, 25, 255]);
    const tie = prepareImage({ width: 2, height: 2, components: 1, data: Uint8Array.of(0, 1, 0, 1) }, 1, 1);
    expect(tie[0]).toBe(1); // 0.5 rounds up
  });

  const shapes: [number, number, number][] = [
    [7, 7, 3], [9, 5, 4], [5, 9, 4], [13, 11, 5], [4, 6, 7], [3, 3, 8], [1, 1, 3], [31, 17, 16], [64, 48, 28],
  ];
  for (const [w, h, size] of shapes) {
    it(`matches the float64 reference: ${w}x${h} RGB to ${size}x${size}, grey and colour`, () => {
      const data = rgbPicture(w, h, w * 31 + h);
      const raster: Raster = { width: w, height: h, components: 3, data };
      const rgbRef = referenceCropResize(planesOf(data, w * h, 3), w, h, size);
      expectClose(prepareImage(raster, size, 3), rgbRef, { atol: 0.5 + 1e-9, rtol: 0 }, 'rgb');
      const luma = Float64Array.from({ length: w * h }, (_, p) => referenceLuma(data[3 * p], data[3 * p + 1], data[3 * p + 2]));
      const greyRef = referenceCropResize([luma], w, h, size);
      // Grey is rounded to u8 before resizing, so allow that rounding as well as the final one.
      expectClose(prepareImage(raster, size, 1), greyRef, { atol: 1 + 1e-9, rtol: 0 }, 'grey');
    });
  }

  it('takes the centered square of a wide and of a tall picture', () => {
    const wide = Uint8Array.from({ length: 6 * 2 }, (_, i) => i % 6); // columns 0..5, two rows
    expect(Array.from(prepareImage({ width: 6, height: 2, components: 1, data: wide }, 2, 1))).toEqual([2, 3, 2, 3]);
    const tall = Uint8Array.from({ length: 2 * 5 }, (_, i) => Math.floor(i / 2)); // rows 0..4
    expect(Array.from(prepareImage({ width: 2, height: 5, components: 1, data: tall }, 2, 1))).toEqual([1, 1, 2, 2]);
  });

  it('converts colour to grey with the BT.601 fixed-point weights and keeps grey exact', () => {
    const px = (r: number, g: number, b: number) => prepareImage({ width: 1, height: 1, components: 3, data: Uint8Array.of(r, g, b) }, 1, 1)[0];
    expect(px(255, 0, 0)).toBe(76);
    expect(px(0, 255, 0)).toBe(150);
    expect(px(0, 0, 255)).toBe(29);
    for (const g of [0, 1, 127, 128, 254, 255]) expect(px(g, g, g)).toBe(g);
  });

  it('composites alpha onto black, spreads grey to three channels and reduces 16-bit samples by rounding', () => {
    const px = (components: Raster['components'], data: Raster['data'], channels: 1 | 3) =>
      Array.from(prepareImage({ width: 1, height: 1, components, data }, 1, channels));
    expect(px(4, Uint8Array.of(255, 0, 255, 0), 3)).toEqual([0, 0, 0]); // magenta hidden under alpha 0
    expect(px(4, Uint8Array.of(200, 100, 50, 128), 3)).toEqual([100, 50, 25]); // round(v * 128 / 255)
    expect(px(4, Uint8Array.of(200, 100, 50, 128), 1)).toEqual([62]); // luma of the composited colour
    expect(px(4, Uint8Array.of(10, 20, 30, 255), 3)).toEqual([10, 20, 30]); // opaque: unchanged
    expect(px(2, Uint8Array.of(99, 7), 3)).toEqual([3, 3, 3]); // round(99 * 7 / 255) = round(2.72)
    expect(px(2, Uint16Array.of(65535, 128 * 257), 1)).toEqual([128]); // 16-bit: to 8 bits first
    const greyAlpha = prepareImage({ width: 1, height: 1, components: 2, data: Uint8Array.of(99, 255) }, 2, 3);
    expect(Array.from(greyAlpha)).toEqual(new Array(12).fill(99));
    const deep = prepareImage({ width: 3, height: 1, components: 1, data: Uint16Array.of(65535, 128, 129 * 257 + 128) }, 1, 1);
    expect(deep[0]).toBe(0); // the crop is the middle column: 128 / 257 rounds to 0
    const mid = prepareImage({ width: 1, height: 1, components: 1, data: Uint16Array.of(129 * 257 + 129) }, 1, 1);
    expect(mid[0]).toBe(130); // 129.50... rounds up
  });

  it('enlarges a picture smaller than the target by blending the covered pixels', () => {
    const out = prepareImage({ width: 2, height: 2, components: 1, data: Uint8Array.of(0, 200, 0, 200) }, 3, 1);
    expect(Array.from(out)).toEqual([0, 100, 200, 0, 100, 200, 0, 100, 200]);
  });

  it('refuses sizes and rasters that make no sense, naming the problem', () => {
    const one: Raster = { width: 1, height: 1, components: 1, data: Uint8Array.of(1) };
    expect(() => prepareImage(one, 0, 1)).toThrow(/imageSize must be an integer from 1 to 4096/);
    expect(() => prepareImage({ ...one, width: 0 }, 4, 1)).toThrow(DataError);
    expect(() => prepareImage({ ...one, width: 2 }, 4, 1)).toThrow(/fewer than 2x1x1/);
  });
});

describe('decodeImage', () => {
  const rgb = rgbPicture(6, 4);
  const rgba = new Uint8Array(6 * 4 * 4);
  for (let p = 0; p < 24; p++) rgba.set([rgb[3 * p], rgb[3 * p + 1], rgb[3 * p + 2], 255], 4 * p);

  it('decodes grey, grey+alpha, RGB, RGBA and 16-bit PNGs to the pixels written', () => {
    for (const channels of [1, 2, 3, 4]) {
      const data = rgbPicture(6, 4 * channels).subarray(0, 24 * channels);
      const r = decodeImage(encodePng({ width: 6, height: 4, data, channels, depth: 8 }), 'x.png');
      expect([r.width, r.height, r.components]).toEqual([6, 4, channels]);
      expect(Array.from(r.data)).toEqual(Array.from(data));
    }
    const deep = Uint16Array.of(0, 1000, 65535, 257);
    const r16 = decodeImage(encodePng({ width: 2, height: 2, data: deep, channels: 1, depth: 16 }), 'd.png');
    expect(Array.from(r16.data)).toEqual(Array.from(deep));
  });

  it('decodes a JPEG to RGB close to what was encoded (lossy at quality 95)', () => {
    const flat = new Uint8Array(16 * 16 * 4).fill(200);
    const jpg = new Uint8Array(encodeJpeg({ width: 16, height: 16, data: flat }, 95).data);
    expect(sniffImageFormat(jpg)).toBe('jpeg');
    const r = decodeImage(jpg, 'flat.jpg');
    expect([r.width, r.height, r.components]).toEqual([16, 16, 3]);
    expectClose(r.data, new Array(16 * 16 * 3).fill(200), { atol: 3, rtol: 0 }, 'jpeg pixels');
    const photo = decodeImage(new Uint8Array(encodeJpeg({ width: 6, height: 4, data: rgba }, 100).data), 'p.jpg');
    expect(photo.data.length).toBe(6 * 4 * 3);
  });

  it('recognises the format by its signature, not the name', () => {
    const png = encodePng({ width: 1, height: 1, data: Uint8Array.of(5), channels: 1, depth: 8 });
    expect(decodeImage(png, 'misnamed.jpg').data[0]).toBe(5);
    expect(() => decodeImage(new TextEncoder().encode('hello'), 'notes.png')).toThrow(/notes\.png: neither PNG nor JPEG \(the file starts with 68 65 6c 6c\)/);
    expect(() => decodeImage(new Uint8Array(0), 'empty.png')).toThrow(/empty\.png: the file is empty \(0 bytes\)/);
  });

  it('decodes a large progressive JPEG of few bytes, and refuses a small file whose header declares a large picture', () => {
    // 4 megapixels in 8 KB: its memory allowance comes from the header's picture, not the file's size.
    const flat = flatProgressiveJpeg(2048, 2048);
    expect(flat.length).toBeLessThan(9000);
    const r = decodeImage(flat, 'flat.jpg');
    expect([r.width, r.height, r.data[0], r.data[r.data.length - 1]]).toEqual([2048, 2048, 128, 128]);
    // The same header on too few bytes to code its blocks: refused before its buffers are allocated.
    const cut = Uint8Array.from([...flatProgressiveJpeg(4096, 4096).subarray(0, 200), 0xff, 0xd9]);
    expect(() => decodeImage(cut, 'cut.jpg')).toThrow(/cut\.jpg: the header declares 4096x4096 pixels, more than a JPEG of 202 bytes can code.*truncated or corrupt/);
  });

  it('refuses truncated, bit-flipped and oversized files with a DataError naming them', () => {
    const png = encodePng({ width: 6, height: 4, data: rgb, channels: 3, depth: 8 });
    expect(() => decodeImage(png.slice(0, png.length - 20), 'cut.png')).toThrow(/^cut\.png: the PNG file ends before its picture data does \(truncated\?/);
    const flipped = png.slice();
    flipped[45] ^= 0x10; // inside the image data: the CRC check catches it
    expect(() => decodeImage(flipped, 'flip.png')).toThrow(/^flip\.png: the PNG's IDAT chunk does not match its checksum, so the file is damaged/);
    const huge = png.slice();
    new DataView(huge.buffer).setUint32(16, 1_000_000, false);
    new DataView(huge.buffer).setUint32(20, 1_000_000, false);
    expect(() => decodeImage(huge, 'huge.png')).toThrow(/huge\.png: the header declares 1000000x1000000 pixels, more than the 64 megapixels/);
    const jpg = new Uint8Array(encodeJpeg({ width: 6, height: 4, data: rgba }, 90).data);
    expect(() => decodeImage(jpg.slice(0, 30), 'cut.jpg')).toThrow(/^cut\.jpg: the JPEG file ends before its picture data does \(truncated\? it has 30 bytes\)/);
  });
});

const concat = (...parts: Uint8Array[]) => Uint8Array.from(parts.flatMap((p) => Array.from(p)));

describe('decodeImage: files too large, cut short or transparent', () => {
  const rgb = rgbPicture(40, 30);
  const png = encodePng({ width: 40, height: 30, data: rgb, channels: 3, depth: 8 });
  const rgba = new Uint8Array(40 * 30 * 4).fill(255);
  for (let p = 0; p < 1200; p++) rgba.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
  const jpg = new Uint8Array(encodeJpeg({ width: 40, height: 30, data: rgba }, 90).data);
  const ends = (name: string, format: string, length: number) =>
    `${name}: the ${format} file ends before its picture data does (truncated? it has ${length} bytes). Copy or download it again, or move it out of the folder.`;

  it('refuses a JPEG over the megapixel limit from its frame header, in the words used for a PNG', () => {
    const big = jpg.slice();
    const sof = big.findIndex((b, k) => b === 0xff && big[k + 1] === 0xc0);
    new DataView(big.buffer).setUint16(sof + 5, 7500, false);
    new DataView(big.buffer).setUint16(sof + 7, 9000, false);
    const bigPng = png.slice();
    new DataView(bigPng.buffer).setUint32(16, 9000, false);
    new DataView(bigPng.buffer).setUint32(20, 7500, false);
    const message = (bytes: Uint8Array, name: string) => { try { decodeImage(bytes, name); } catch (e) { return (e as Error).message.replace(name, 'NAME'); } };
    expect(message(big, 'over64mp.jpg')).toBe(
      'NAME: the header declares 9000x7500 pixels, more than the 64 megapixels this reader decodes. Shrink the picture first, or remove it from the folder.',
    );
    expect(message(bigPng, 'over64mp.png')).toBe(message(big, 'over64mp.jpg'));
  });

  it('reads a PNG without its IEND trailer and a JPEG without its EOI marker when the picture is all there', () => {
    const full = decodeImage(png, 'full.png');
    expect(decodeImage(png.slice(0, png.length - 12), 'no-iend.png')).toEqual(full);
    const fullJpeg = decodeImage(jpg, 'full.jpg');
    expect(Array.from(jpg.subarray(-2))).toEqual([0xff, 0xd9]);
    expect(decodeImage(jpg.slice(0, jpg.length - 2), 'no-eoi.jpg')).toEqual(fullJpeg);
  });

  it('says a file is cut short, in plain words, wherever it was cut', () => {
    // Exact-size copies (slice), as a file read from disk is: no bytes past the end to read by mistake.
    for (const cut of [20, 40, 100, png.length - 20, png.length - 14]) {
      expect(() => decodeImage(png.slice(0, cut), 'cut.png'), `PNG cut at ${cut}`).toThrow(ends('cut.png', 'PNG', cut));
    }
    for (const cut of [30, 100, 400, 600, jpg.length - 50, jpg.length - 3]) {
      expect(() => decodeImage(jpg.slice(0, cut), 'cut.jpg'), `JPEG cut at ${cut}`).toThrow(ends('cut.jpg', 'JPEG', cut));
    }
    // A PNG whose picture data spans two IDAT chunks, cut between them: the chunks are whole, the data is not.
    const at = 33;
    const idat = png.subarray(at + 8, at + 8 + new DataView(png.buffer).getUint32(at, false));
    const half = Math.floor(idat.length / 2);
    const two = concat(png.subarray(0, at), pngChunk('IDAT', idat.subarray(0, half)), pngChunk('IDAT', idat.subarray(half)));
    expect(decodeImage(two, 'two.png')).toEqual(decodeImage(png, 'one.png'));
    const firstOnly = two.slice(0, at + 12 + half);
    expect(() => decodeImage(firstOnly, 'half.png')).toThrow(ends('half.png', 'PNG', firstOnly.length));
    // A progressive JPEG with only its first (DC) scan and no EOI cannot be told from one cut after that scan.
    const dcOnly = flatProgressiveJpeg(64, 64);
    expect(decodeImage(dcOnly, 'dc.jpg').width).toBe(64);
    expect(() => decodeImage(dcOnly.slice(0, dcOnly.length - 2), 'dc-cut.jpg')).toThrow(ends('dc-cut.jpg', 'JPEG', dcOnly.length - 2));
  });

  it('names damaged data as damaged, without a decoder message that ends in a colon', () => {
    const at = 33;
    const length = new DataView(png.buffer).getUint32(at, false);
    const garbled = png.subarray(at + 8, at + 8 + length).slice();
    garbled.fill(0x55, 8, 20);
    const bad = concat(png.subarray(0, at), pngChunk('IDAT', garbled), png.subarray(at + 12 + length));
    expect(() => decodeImage(bad, 'bad.png')).toThrow(/^bad\.png: the PNG's compressed picture data does not decompress \([a-z/ ]+\), so the file is damaged/);
    const noData = concat(png.subarray(0, at), png.subarray(at + 12 + length));
    expect(() => decodeImage(noData, 'empty.png')).toThrow(/^empty\.png: the PNG holds no picture data \(no IDAT chunk\)/);
  });

  it('gives alpha where a palette or a colour key makes pixels transparent, so they composite onto black', () => {
    const palette: [number, number, number, number][] = [[255, 0, 255, 0], [200, 100, 50, 128], [10, 20, 30, 255]];
    const indexed = decodeImage(encodePng({ width: 3, height: 1, data: Uint8Array.of(0, 1, 2), depth: 8, channels: 1, palette }), 'p.png');
    expect([indexed.components, Array.from(indexed.data)]).toEqual([4, palette.flat()]);
    expect(Array.from(prepareImage({ ...indexed, width: 1, data: indexed.data.subarray(4, 8) }, 1, 3))).toEqual([100, 50, 25]);
    // A grey PNG whose level 7 is transparent (tRNS colour key).
    const grey = encodePng({ width: 2, height: 1, data: Uint8Array.of(7, 9), channels: 1, depth: 8 });
    const keyed = concat(grey.subarray(0, 33), pngChunk('tRNS', Uint8Array.of(0, 7)), grey.subarray(33));
    const r = decodeImage(keyed, 'k.png');
    expect([r.components, Array.from(r.data)]).toEqual([2, [7, 0, 9, 255]]);
  });

  it('gives a one-component JPEG as grey', () => {
    const r = decodeImage(flatProgressiveJpeg(16, 16), 'grey.jpg');
    expect([r.components, r.data.length, r.data[0]]).toEqual([1, 256, 128]);
  });
});
