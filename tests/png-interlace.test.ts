// Adam7-interlaced PNGs of 1, 2 and 4 bits per pixel (src/data/png-interlace.ts), which fast-png
// refuses: each is decoded to the same pixels as the same picture written without interlacing (which
// fast-png reads) and as worked out from the samples written, for grey and palette pictures, with and
// without transparency, at sizes that leave some passes empty and rows ending mid-byte. Interlaced
// files cut short or damaged are refused in the words used for any other PNG.
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/data/image-decode';
import { crc32 } from './helpers/fuzz';
import { type PackedPicture, writePackedPng } from './helpers/png-packed';

const SIZES: [number, number][] = [[1, 1], [3, 5], [9, 7], [33, 17]];
const KINDS = ['grey', 'grey+tRNS', 'palette', 'palette+tRNS'] as const;

/** A picture with samples from a small hash, so neighbouring pixels differ. */
function picture(width: number, height: number, depth: 1 | 2 | 4, kind: (typeof KINDS)[number]): PackedPicture {
  const levels = 1 << depth;
  const samples = Uint8Array.from({ length: width * height }, (_, i) => (Math.imul(i + 31 * depth + width, 2654435761) >>> 22) % levels);
  if (kind.startsWith('grey')) return { width, height, depth, samples, trns: kind === 'grey+tRNS' ? Uint8Array.of(0, samples[0]) : undefined };
  // A palette one entry longer than the depth allows indices for, as writers often leave.
  const palette = Array.from({ length: levels + 1 }, (_, k) => [(k * 37 + 11) & 255, (200 - k * 23) & 255, (k * 91) & 255]);
  const trns = kind === 'palette+tRNS' ? Uint8Array.from({ length: Math.max(1, levels >> 1) }, (_, k) => (k * 97 + 3) & 255) : undefined;
  return { width, height, depth, samples, palette, trns };
}

/** The decoded pixels the picture should give: 8-bit grey (scaled) or RGB, alpha after each when transparent. */
function expectedPixels(pic: PackedPicture): { components: number; data: number[] } {
  const data: number[] = [];
  const scale = 255 / ((1 << pic.depth) - 1);
  const paletteAlpha = (v: number) => (pic.trns && v < pic.trns.length ? pic.trns[v] : 255);
  for (const v of pic.samples) {
    if (!pic.palette) data.push(Math.round(v * scale), ...(pic.trns ? [v === pic.trns[1] ? 0 : 255] : []));
    else data.push(...pic.palette[v], ...(pic.trns ? [paletteAlpha(v)] : []));
  }
  return { components: (pic.palette ? 3 : 1) + (pic.trns ? 1 : 0), data };
}

const decoded = (bytes: Uint8Array, name: string) => {
  const r = decodeImage(bytes, name);
  return { width: r.width, height: r.height, components: r.components, data: Array.from(r.data) };
};

describe('interlaced PNGs of 1, 2 and 4 bits per pixel', () => {
  for (const depth of [1, 2, 4] as const) {
    for (const kind of KINDS) {
      it(`decodes ${depth}-bit ${kind} pictures to the pixels of the same picture not interlaced`, () => {
        for (const [width, height] of SIZES) {
          const pic = picture(width, height, depth, kind);
          const plain = decoded(writePackedPng(pic, { interlaced: false }), 'plain.png');
          const interlaced = decoded(writePackedPng(pic, { interlaced: true }), 'adam7.png');
          expect(interlaced, `${width}x${height}`).toEqual(plain);
          expect(interlaced, `${width}x${height} from the samples`).toEqual({ width, height, ...expectedPixels(pic) });
        }
      });
    }
  }

  it('undoes each filter type when every row of every pass uses it', () => {
    for (const depth of [1, 2, 4] as const) {
      const pic = picture(33, 17, depth, 'palette');
      const want = { width: 33, height: 17, ...expectedPixels(pic) };
      for (let type = 0; type <= 4; type++) {
        expect(decoded(writePackedPng(pic, { interlaced: true, filterOf: () => type }), 'f.png'), `${depth}-bit, filter ${type}`).toEqual(want);
      }
    }
  });

  it('decodes an interlaced file whose IEND trailer is missing', () => {
    const pic = picture(9, 7, 2, 'grey+tRNS');
    const bytes = writePackedPng(pic, { interlaced: true });
    expect(decoded(bytes.slice(0, bytes.length - 12), 'no-iend.png')).toEqual(decoded(bytes, 'full.png'));
  });
});

describe('interlaced low-bit PNGs that are damaged or cut short', () => {
  const pic = picture(33, 17, 4, 'palette');
  const bytes = writePackedPng(pic, { interlaced: true });
  /** Where the IDAT chunk starts, and its body's length. */
  const idatAt = bytes.findIndex((_, k) => String.fromCharCode(...bytes.subarray(k + 4, k + 8)) === 'IDAT');
  const idatLength = new DataView(bytes.buffer).getUint32(idatAt, false);

  it('says a file cut inside its picture data ends early', () => {
    for (const cut of [idatAt + 20, idatAt + 8 + Math.floor(idatLength / 2), idatAt + 8 + idatLength]) {
      expect(() => decodeImage(bytes.slice(0, cut), 'cut.png'), `cut at ${cut}`).toThrow(
        `cut.png: the PNG file ends before its picture data does (truncated? it has ${cut} bytes). Copy or download it again, or move it out of the folder.`,
      );
    }
  });

  it('names a row whose filter type does not exist, and picture data that stops short, as damage', () => {
    const badFilter = writePackedPng(pic, { interlaced: true, filterOf: (k) => (k === 6 ? 7 : 1) });
    expect(() => decodeImage(badFilter, 'filter.png')).toThrow(
      /^filter\.png: a row of the PNG's picture data names filter type 7, which does not exist, so the file is damaged\./,
    );
    const short = writePackedPng(pic, { interlaced: true, dropRawBytes: 5 });
    expect(() => decodeImage(short, 'short.png')).toThrow(
      /^short\.png: the PNG's compressed picture data stops before the picture is complete, so the file is damaged\./,
    );
  });

  it('names compressed data that does not inflate as damage', () => {
    const garbled = bytes.slice();
    garbled.fill(0xff, idatAt + 10, idatAt + 24); // inside the deflate stream, after the zlib header
    new DataView(garbled.buffer).setUint32(idatAt + 8 + idatLength, crc32(garbled.subarray(idatAt + 4, idatAt + 8 + idatLength)), false);
    expect(() => decodeImage(garbled, 'garbled.png')).toThrow(
      /^garbled\.png: the PNG's compressed picture data does not decompress \([a-z/ ]+\), so the file is damaged\./,
    );
  });
});
