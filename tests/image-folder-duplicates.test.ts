// A picture reached under two names in a folder (a link to it, a hard link) is read once, under
// its real name, with a warning: read twice, it weighed double and could be held out for testing
// under one name while trained on under the other, with nothing said.
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { loadImageFolder } from '../src/data/image-folder';
import { tempDir } from './helpers/temp-dir';

const png = (k: number) => encodePng({ width: 4, height: 4, data: new Uint8Array(48).fill(k * 10), channels: 3, depth: 8 });

describe('loadImageFolder: a picture reached under two names', () => {
  it('reads a file linked to (or hard-linked) from inside the folder once, under its real name, and says so', async () => {
    const dir = tempDir('webgpu-vae-twice-');
    mkdirSync(join(dir, 'all'));
    mkdirSync(join(dir, 'favourites'));
    for (let k = 0; k < 6; k++) writeFileSync(join(dir, 'all', `p${k}.png`), png(k));
    symlinkSync(join('..', 'all', 'p1.png'), join(dir, 'favourites', 'p1.png'));
    symlinkSync(join(dir, 'all', 'p4.png'), join(dir, 'a-link.png')); // sorts before all/: still the real name is kept
    linkSync(join(dir, 'all', 'p5.png'), join(dir, 'z-hard.png'));
    const warnings: string[] = [];
    const set = await loadImageFolder(dir, { imageSize: 4, channels: 3, cache: false, testFraction: 0.5, warn: (m) => warnings.push(m) });
    expect(set.files).toEqual(['all/p0.png', 'all/p1.png', 'all/p2.png', 'all/p3.png', 'all/p4.png', 'all/p5.png']);
    expect(set.train.count + set.test.count).toBe(6);
    expect(warnings).toEqual([
      `reading 3 pictures in ${dir} once, not again under other names (a link or hard link to it): a-link.png is all/p4.png, ` +
        'favourites/p1.png is all/p1.png, z-hard.png is all/p5.png; read twice, a picture weighs double and may be held out for testing while trained on.',
    ]);
  });

  it('keeps a link to a picture outside the folder, which is read under no other name', async () => {
    const [dir, elsewhere] = [tempDir('webgpu-vae-twice-'), tempDir('webgpu-vae-elsewhere-')];
    for (let k = 0; k < 2; k++) writeFileSync(join(dir, `p${k}.png`), png(k));
    writeFileSync(join(elsewhere, 'x.png'), png(9));
    symlinkSync(join(elsewhere, 'x.png'), join(dir, 'x.png'));
    const warnings: string[] = [];
    const set = await loadImageFolder(dir, { imageSize: 4, channels: 3, cache: false, warn: (m) => warnings.push(m) });
    expect(set.files).toEqual(['p0.png', 'p1.png', 'x.png']);
    expect(warnings).toEqual([]);
  });
});
