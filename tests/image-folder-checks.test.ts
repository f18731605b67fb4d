// What a picture folder's reader says about what it cannot use: files of other picture formats,
// every bad file of a strict load at once, broken links, a file given as the folder; and what it
// reads as the user would see it: files cut short that still hold the whole picture, transparent
// pixels (composited onto black, and an older cache that did not is rebuilt), and a folder of
// only grey pictures (allGrey).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { cachePath, writeImageCache } from '../src/data/image-cache';
import { decodeImage } from '../src/data/image-decode';
import { loadImageFolder } from '../src/data/image-folder';
import { stampPictures } from '../src/data/image-listing';
import { prepareImage } from '../src/data/image-pixels';
import { tempDir } from './helpers/temp-dir';

const rgbPng = (k: number, size = 4) =>
  encodePng({ width: size, height: size, data: Uint8Array.from({ length: size * size * 3 }, (_, i) => (k * 50 + i * 7) & 255), channels: 3, depth: 8 });
const greyPng = (k: number) => encodePng({ width: 4, height: 4, data: new Uint8Array(16).fill(k * 30), channels: 1, depth: 8 });

/** A progressive one-component (grey) JPEG holding only its DC scan, every block mid-grey. */
function greyJpeg(side: number): Uint8Array {
  const u16 = (v: number) => [v >> 8, v & 255];
  const segment = (marker: number, body: number[]) => [0xff, marker, ...u16(body.length + 2), ...body];
  return Uint8Array.from([
    0xff, 0xd8,
    ...segment(0xdb, [0, ...new Array(64).fill(1)]),
    ...segment(0xc2, [8, ...u16(side), ...u16(side), 1, 1, 0x11, 0]),
    ...segment(0xc4, [0x00, 1, ...new Array(15).fill(0), 0]),
    ...segment(0xda, [1, 1, 0x00, 0, 0, 0]),
    ...new Array(Math.ceil((Math.ceil(side / 8) ** 2) / 8)).fill(0),
    0xff, 0xd9,
  ]);
}

function collect() {
  const warnings: string[] = [];
  return { warnings, warn: (m: string) => warnings.push(m) };
}
/** Each example as a hex string, sorted: a split's examples regardless of the split's order. */
const examples = (images: Uint8Array, size: number) =>
  Array.from({ length: images.length / size }, (_, i) => Buffer.from(images.subarray(i * size, (i + 1) * size)).toString('hex')).sort();
const opts = { imageSize: 4, channels: 3 as const, testFraction: 0, cache: false as const };

describe('loadImageFolder: what it cannot use', () => {
  it('refuses a folder of only other picture formats, counting them by ending, and warns once when they sit beside PNGs', async () => {
    const dir = tempDir('webgpu-vae-formats-');
    for (const name of ['a.tif', 'b.TIF', 'c.webp', 'd.bmp', 'e.HEIC', 'f.NEF', 'notes.txt', 'data.json', '.DS_Store', '.hidden.webp']) {
      writeFileSync(join(dir, name), 'x');
    }
    await expect(loadImageFolder(dir, opts)).rejects.toThrow(
      `picture folder ${dir} holds no PNG or JPEG pictures; it has 6 files of other formats (2 .tif, 1 .bmp, 1 .heic, 1 .nef, 1 .webp: a.tif, b.TIF, c.webp, d.bmp and 2 more), ` +
        'which are not read: convert them to PNG or JPEG.',
    );
    writeFileSync(join(dir, 'g.png'), rgbPng(1));
    writeFileSync(join(dir, 'h.png'), rgbPng(2));
    const { warnings, warn } = collect();
    const set = await loadImageFolder(dir, { ...opts, warn });
    expect(set.files).toEqual(['g.png', 'h.png']);
    expect(warnings).toEqual([
      `passing over 6 files of other formats in ${dir} (2 .tif, 1 .bmp, 1 .heic, 1 .nef, 1 .webp: a.tif, b.TIF, c.webp, d.bmp and 2 more): only PNG and JPEG are read; convert them to train on them.`,
    ]);
    // One file is named by its path in the folder, subfolder included.
    const one = tempDir('webgpu-vae-formats-');
    mkdirSync(join(one, 'scans'));
    writeFileSync(join(one, 'scans', 'page.tiff'), 'x');
    writeFileSync(join(one, 'g.png'), rgbPng(1));
    writeFileSync(join(one, 'h.png'), rgbPng(2));
    const said = collect();
    await loadImageFolder(one, { ...opts, warn: said.warn });
    expect(said.warnings).toEqual([`passing over 1 file of other formats in ${one} (1 .tiff: scans/page.tiff): only PNG and JPEG are read; convert them to train on them.`]);
  });

  it('refuses a strict load naming every bad file at once (the first 8, then a count), fresh and from the cache', async () => {
    const dir = tempDir('webgpu-vae-strict-');
    for (let k = 0; k < 3; k++) writeFileSync(join(dir, `good${k}.png`), rgbPng(k));
    for (let k = 0; k < 10; k++) writeFileSync(join(dir, `bad${k}.png`), `not a picture ${k}`);
    await loadImageFolder(dir, { imageSize: 4, channels: 3, warn: () => {} }); // writes the cache, bad files recorded
    for (const cache of [false, true]) {
      const refusal = loadImageFolder(dir, { imageSize: 4, channels: 3, strict: true, cache });
      await expect(refusal).rejects.toThrow(/^Strict loading refuses the folder: 10 files cannot be used\.\n/);
      const lines = ((await refusal.catch((e: Error) => e)) as Error).message.split('\n');
      expect(lines).toHaveLength(1 + 8 + 2);
      expect(lines.slice(1, 9).map((l) => /bad\d\.png/.exec(l)?.[0])).toEqual([0, 1, 2, 3, 4, 5, 6, 7].map((k) => `bad${k}.png`));
      expect(lines.slice(9)).toEqual(['  and 2 more.', 'Remove or fix them, or load without strict to skip them.']);
    }
    // One bad file: one sentence, as before.
    const one = tempDir('webgpu-vae-strict-');
    writeFileSync(join(one, 'a.png'), rgbPng(1));
    writeFileSync(join(one, 'b.png'), 'no');
    await expect(loadImageFolder(one, { ...opts, strict: true })).rejects.toThrow(/b\.png: neither PNG nor JPEG .* Strict loading refuses the folder; remove or fix the file/);
  });

  it('says a broken symbolic link is one, and names its target', async () => {
    const dir = tempDir('webgpu-vae-links-');
    writeFileSync(join(dir, 'a.png'), rgbPng(1));
    symlinkSync(join(dir, 'gone.png'), join(dir, 'dangling.png'));
    symlinkSync('loop.png', join(dir, 'loop.png'));
    const { warnings, warn } = collect();
    const set = await loadImageFolder(dir, { ...opts, warn });
    expect(set.files).toEqual(['a.png']);
    expect(warnings).toEqual([
      `skipping ${join(dir, 'dangling.png')}: a symbolic link to a file that does not exist (${join(dir, 'gone.png')}). Restore the file, or remove the link.`,
      expect.stringMatching(/^skipping .*loop\.png: a symbolic link that leads round in a loop/),
    ]);
  });

  it('says a file given as the folder is a file, with a trailing slash too, and names a file on the way', async () => {
    const dir = tempDir('webgpu-vae-notdir-');
    const file = join(dir, 'afile.png');
    writeFileSync(file, rgbPng(1));
    await expect(loadImageFolder(file, opts)).rejects.toThrow(`${file} is a file, not a folder.`);
    await expect(loadImageFolder(`${file}/`, opts)).rejects.toThrow(`${file}/ is a file, not a folder.`);
    await expect(loadImageFolder(join(file, 'sub'), opts)).rejects.toThrow(`picture folder ${join(file, 'sub')} cannot exist: ${file} is a file, not a folder.`);
    symlinkSync(join(dir, 'nowhere'), join(dir, 'link'));
    await expect(loadImageFolder(join(dir, 'link'), opts)).rejects.toThrow(/link is a symbolic link to a folder that does not exist/);
  });
});

describe('loadImageFolder: what it reads', () => {
  it('reads a PNG without IEND and a JPEG without EOI, whose pictures are whole, instead of skipping them', async () => {
    const dir = tempDir('webgpu-vae-cut-');
    const png = rgbPng(3, 8);
    const jpg = new Uint8Array(encodeJpeg({ width: 8, height: 8, data: new Uint8Array(256).fill(90) }, 90).data);
    writeFileSync(join(dir, 'a.png'), png.subarray(0, png.length - 12));
    writeFileSync(join(dir, 'b.jpg'), jpg.subarray(0, jpg.length - 2));
    const { warnings, warn } = collect();
    const set = await loadImageFolder(dir, { ...opts, warn });
    expect([set.files, warnings]).toEqual([['a.png', 'b.jpg'], []]);
    const whole = [prepareImage(decodeImage(png, 'a'), 4, 3), prepareImage(decodeImage(jpg, 'b'), 4, 3)];
    expect(examples(set.train.images, 48)).toEqual(examples(Uint8Array.from(whole.flatMap((x) => Array.from(x))), 48));
  });

  it('composites transparent pixels onto black, and rebuilds a cache written before it did', async () => {
    const dir = tempDir('webgpu-vae-alpha-');
    // RGBA: magenta at alpha 0, white at alpha 128, opaque red; grey+alpha: 200 at alpha 0, 255 at 51, opaque 90.
    const rgba = Uint8Array.of(255, 0, 255, 0, 255, 255, 255, 128, 255, 0, 0, 255);
    writeFileSync(join(dir, 'a.png'), encodePng({ width: 3, height: 1, data: rgba, channels: 4, depth: 8 }));
    writeFileSync(join(dir, 'b.png'), encodePng({ width: 3, height: 1, data: Uint8Array.of(200, 0, 255, 51, 90, 255), channels: 2, depth: 8 }));
    // A 3x1 picture is cropped to its middle pixel; three 1x1 pictures of each kind show every pixel.
    const load = () => loadImageFolder(dir, { imageSize: 1, channels: 3, testFraction: 0 });
    const first = await load();
    expect(examples(first.train.images, 3)).toEqual(examples(Uint8Array.of(128, 128, 128, 51, 51, 51), 3));
    for (const [k, px] of [[0, [255, 0, 255, 0]], [1, [255, 0, 0, 255]]] as const) {
      writeFileSync(join(dir, `c${k}.png`), encodePng({ width: 1, height: 1, data: Uint8Array.from(px), channels: 4, depth: 8 }));
    }
    writeFileSync(join(dir, 'd.png'), encodePng({ width: 1, height: 1, data: Uint8Array.of(200, 0), channels: 2, depth: 8 }));
    const composited = examples(Uint8Array.of(128, 128, 128, 51, 51, 51, 0, 0, 0, 255, 0, 0, 0, 0, 0), 3);
    expect(examples((await load()).train.images, 3)).toEqual(composited);
    // A cache as the previous format wrote it (its key from format version 1; alpha dropped): not served.
    const { pictures } = await stampPictures(dir);
    const oldKey = createHash('sha256')
      .update(JSON.stringify([1, 1, 3, pictures.map((s) => [s.name, s.size, s.mtimeMs, s.ctimeMs, s.ino])]))
      .digest('hex');
    const dropped = Uint8Array.of(255, 255, 255, 255, 255, 255, 255, 0, 255, 255, 0, 0, 200, 200, 200);
    const files = pictures.map((p) => p.name);
    await writeImageCache(cachePath(dir, 1, 3), { key: oldKey, imageSize: 1, channels: 3, count: 5, files, skipped: [], allGrey: false, small: null, pixels: dropped });
    expect(examples((await load()).train.images, 3)).toEqual(composited);
    const cached = readFileSync(cachePath(dir, 1, 3));
    expect(JSON.parse(cached.subarray(12, 12 + cached.readUInt32LE(8)).toString()).key).not.toBe(oldKey);
  });

  it('says when every picture is grey and 3 channels were asked for, also from the cache', async () => {
    const dir = tempDir('webgpu-vae-grey-');
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'a.png'), greyPng(1));
    writeFileSync(join(dir, 'b.png'), encodePng({ width: 2, height: 2, data: Uint8Array.of(9, 255, 9, 255, 9, 255, 9, 128), channels: 2, depth: 8 }));
    writeFileSync(join(dir, 'sub', 'c.jpg'), greyJpeg(16));
    const grey = (channels: 1 | 3, cache = true) => loadImageFolder(dir, { imageSize: 4, channels, testFraction: 0, cache }).then((s) => s.allGrey);
    expect(await grey(3)).toBe(true);
    expect(await grey(3)).toBe(true); // from the cache
    expect(await grey(1)).toBe(false); // a grey model is what was asked for
    writeFileSync(join(dir, 'd.png'), rgbPng(4)); // one colour picture
    expect(await grey(3, false)).toBe(false);
    // A colour JPEG whose pixels happen to be grey is still a colour file.
    const flat = tempDir('webgpu-vae-grey-');
    writeFileSync(join(flat, 'a.jpg'), new Uint8Array(encodeJpeg({ width: 8, height: 8, data: new Uint8Array(256).fill(128) }, 90).data));
    expect((await loadImageFolder(flat, { ...opts })).allGrey).toBe(false);
  });
});
