// In the browser: dropped picture files decoded by createImageBitmap and read back through an
// OffscreenCanvas, then prepared and split by the code the Node folder reader uses. PNGs must come
// out byte for byte as the Node path makes them; JPEGs within a few levels (two JPEG decoders).
import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/data/idx';
import { decodeImage } from '../src/data/image-decode';
import { loadImageFiles } from '../src/data/image-files';
import { prepareImage } from '../src/data/image-pixels';
import { splitImageSet } from '../src/data/image-set';
import { withExifOrientation } from './helpers/exif';

function picture(k: number, width: number, height: number, channels: number): Uint8Array {
  const data = new Uint8Array(width * height * channels);
  for (let i = 0; i < data.length; i++) data[i] = (k * 53 + i * 29 + ((i * i) >> 3)) & 255;
  // Opaque alpha: a canvas stores colours premultiplied, so only opaque pixels read back exactly.
  if (channels % 2 === 0) for (let p = channels - 1; p < data.length; p += channels) data[p] = 255;
  return data;
}

const png = (k: number, w: number, h: number, channels: number) => encodePng({ width: w, height: h, data: picture(k, w, h, channels), channels, depth: 8 });
const file = (bytes: Uint8Array, name: string, type = 'image/png') => new File([new Uint8Array(bytes)], name, { type });

async function canvasJpeg(width: number, height: number): Promise<Uint8Array> {
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d')!;
  // A smooth picture, as photographs are: two JPEG decoders differ most on colour noise, where
  // their chroma upsampling differs.
  const rgba = new Uint8Array(width * height * 4);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgba.set([(x * 255) / width, (y * 255) / height, 128 + 3 * (x - y), 255], 4 * (y * width + x));
  ctx.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  const blob = await canvas.convertToBlob({ type: 'image/jpeg', quality: 0.95 });
  return new Uint8Array(await blob.arrayBuffer());
}

describe('loadImageFiles (browser)', () => {
  it('decodes PNG files to exactly the bytes and split the Node path gives', async () => {
    const pngs: [string, Uint8Array][] = [
      ['b.png', png(1, 17, 11, 3)],
      ['a.PNG', png(2, 9, 9, 1)],
      ['sub/c.png', png(3, 12, 20, 4)],
      ['d.png', png(4, 30, 30, 2)],
    ];
    const files = [...pngs.map(([name, bytes]) => file(bytes, name)), file(new TextEncoder().encode('x'), 'notes.txt', 'text/plain')];
    for (const channels of [1, 3] as const) {
      const opts = { imageSize: 8, channels, testFraction: 0.25, seed: 3 };
      const set = await loadImageFiles(files, { ...opts, warn: () => { throw new Error('no warnings expected'); } });
      const sorted = [...pngs].sort((x, y) => (x[0] < y[0] ? -1 : 1));
      expect(set.files).toEqual(sorted.map(([name]) => name));
      const size = channels * 64;
      const stack = new Uint8Array(sorted.length * size);
      sorted.forEach(([name, bytes], i) => stack.set(prepareImage(decodeImage(bytes, name), 8, channels), i * size));
      const node = splitImageSet(stack, sorted.length, 'files', { ...opts });
      expect(Array.from(set.train.images)).toEqual(Array.from(node.train.images));
      expect(Array.from(set.test.images)).toEqual(Array.from(node.test.images));
      expect([set.train.count, set.test.count, set.train.channels, set.train.rows]).toEqual([3, 1, channels, 8]);
    }
  });

  it('decodes a JPEG close to jpeg-js: grey within IDCT rounding, colour within chroma upsampling', async () => {
    const jpeg = await canvasJpeg(24, 16);
    const diff = async (channels: 1 | 3) => {
      const set = await loadImageFiles([file(jpeg, 'p.jpg', 'image/jpeg')], { imageSize: 16, channels, testFraction: 0 });
      const node = prepareImage(decodeImage(jpeg, 'p.jpg'), 16, channels);
      let worst = 0;
      let sum = 0;
      set.train.images.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - node[i])); sum += Math.abs(v - node[i]); });
      return { worst, mean: sum / node.length };
    };
    // Luma is stored at full resolution: only the decoders' inverse DCT rounding differs.
    const grey = await diff(1);
    expect(grey.worst).toBeLessThanOrEqual(3);
    // Chroma is stored at half resolution; jpeg-js repeats it, browsers interpolate it, so red and
    // blue differ along a steep colour gradient (measured: mean 4.3, worst 10 levels).
    const colour = await diff(3);
    expect(colour.mean).toBeLessThanOrEqual(6);
    expect(colour.worst).toBeLessThanOrEqual(16);
  });

  it('turns a JPEG upright by its EXIF orientation, as the Node path does', async () => {
    const turned = withExifOrientation(await canvasJpeg(24, 16), 6);
    for (const channels of [1, 3] as const) {
      const set = await loadImageFiles([file(turned, 't.jpg', 'image/jpeg')], { imageSize: 12, channels, testFraction: 0 });
      const node = prepareImage(decodeImage(turned, 't.jpg'), 12, channels);
      let worst = 0;
      let sum = 0;
      set.train.images.forEach((v, i) => { worst = Math.max(worst, Math.abs(v - node[i])); sum += Math.abs(v - node[i]); });
      // Unturned, the 24x16 gradient would crop to another square: differences of tens of levels.
      expect(channels === 1 ? worst : sum / node.length).toBeLessThanOrEqual(channels === 1 ? 3 : 6);
    }
  });

  it('skips an undecodable file with a warning naming it and what is wrong, and refuses it when strict', async () => {
    const whole = png(7, 8, 8, 3);
    const files = [file(png(5, 8, 8, 3), 'good.png'), file(png(6, 8, 8, 3), 'fine.png'), file(new TextEncoder().encode('not a png'), 'broken.png')];
    const warnings: string[] = [];
    const set = await loadImageFiles([...files, file(new Uint8Array(0), 'empty.png'), file(whole.subarray(0, 40), 'cut.png')], { imageSize: 4, channels: 3, warn: (m) => warnings.push(m) });
    expect(set.files).toEqual(['fine.png', 'good.png']);
    expect(set.skipped.map((s) => s.file)).toEqual(['broken.png', 'cut.png', 'empty.png']);
    // The browser says "cannot be decoded" of all three; the reasons come from the Node reader's checks.
    expect(warnings).toEqual([
      expect.stringMatching(/^skipping broken\.png: neither PNG nor JPEG \(the file starts with 6e 6f 74 20\)/),
      expect.stringMatching(/^skipping cut\.png: the PNG file ends before its picture data does \(truncated\? it has 40 bytes\)/),
      expect.stringMatching(/^skipping empty\.png: the file is empty \(0 bytes\)/),
    ]);
    await expect(loadImageFiles(files, { imageSize: 4, channels: 3, strict: true })).rejects.toThrow(DataError);
    await expect(loadImageFiles(files, { imageSize: 4, channels: 3, strict: true })).rejects.toThrow(/broken\.png: .*Strict loading refuses the set/);
    await expect(loadImageFiles([file(new Uint8Array(1), 'a.txt')], { imageSize: 4, channels: 3 })).rejects.toThrow(
      /none of the 1 chosen files is a picture: looked for \.png, \.jpg, \.jpeg, \.jpe, \.jfif, \.jfi, \.pjpeg, \.pjp, \.apng names/,
    );
  });
});
