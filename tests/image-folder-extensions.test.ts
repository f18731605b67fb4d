// JPEGs and PNGs saved under their other common endings are read, not lost without a word:
// Windows saves many downloaded JPEGs as .jfif, .jpe is JPEG's registered ending, and an
// animated PNG (.apng) is a PNG whose first frame is its picture.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { loadImageFolder } from '../src/data/image-folder';
import { tempDir } from './helpers/temp-dir';

describe('loadImageFolder: file name endings', () => {
  it('reads .jfif, .jpe, .jfi, .pjpeg, .pjp and .apng files (any letter case) beside .jpg and .png', async () => {
    const dir = tempDir('webgpu-vae-endings-');
    const jpeg = new Uint8Array(encodeJpeg({ width: 8, height: 8, data: new Uint8Array(256).fill(200) }, 90).data);
    const png = encodePng({ width: 8, height: 8, data: new Uint8Array(192).fill(100), channels: 3, depth: 8 });
    const names = ['a.jpg', 'b.jfif', 'c.JFIF', 'd.jpe', 'e.jfi', 'f.pjpeg', 'g.pjp'];
    for (const name of names) writeFileSync(join(dir, name), jpeg);
    writeFileSync(join(dir, 'h.png'), png);
    writeFileSync(join(dir, 'i.apng'), png);
    const warnings: string[] = [];
    const set = await loadImageFolder(dir, { imageSize: 4, channels: 3, cache: false, warn: (m) => warnings.push(m) });
    expect(set.files).toEqual([...names, 'h.png', 'i.apng']);
    expect(warnings).toEqual([]);
  });
});

describe('loadImageFolder: pictures of formats it does not read', () => {
  it('counts Netpbm, Targa and SVG files among those passed over, instead of passing them over unsaid', async () => {
    const dir = tempDir('webgpu-vae-endings-');
    const png = encodePng({ width: 8, height: 8, data: new Uint8Array(192).fill(100), channels: 3, depth: 8 });
    writeFileSync(join(dir, 'a.png'), png);
    writeFileSync(join(dir, 'b.png'), png);
    for (const name of ['s1.pgm', 's2.pgm', 'x.ppm', 'y.tga', 'logo.svg', 'z.gif']) writeFileSync(join(dir, name), 'P5\n');
    const warnings: string[] = [];
    await loadImageFolder(dir, { imageSize: 4, channels: 3, cache: false, warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringMatching(/^passing over 6 files of other formats in .* \(2 \.pgm, 1 \.gif, 1 \.ppm, 1 \.svg, 1 \.tga: /)]);
  });
});
