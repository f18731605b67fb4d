// A picture folder with a subfolder that cannot be listed: it is skipped with a warning naming it
// and the fix, as an unreadable file is (refused with strict); the folder itself failing to list
// is an error naming the fix. Permissions do not stop root, so the test makes the listing fail
// (readdir throws EACCES for the folders it locks) rather than chmod-ing them.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadImageFolder } from '../src/data/image-folder';
import { tempDir } from './helpers/temp-dir';

const locked = vi.hoisted(() => new Set<string>());
vi.mock('node:fs/promises', async (original) => {
  const fs = await original<typeof import('node:fs/promises')>();
  const readdir = async (path: Parameters<typeof fs.readdir>[0], options?: unknown) => {
    if (locked.has(String(path))) throw Object.assign(new Error(`EACCES: permission denied, scandir '${String(path)}'`), { code: 'EACCES' });
    return fs.readdir(path, options as never);
  };
  return { ...fs, readdir };
});
afterEach(() => locked.clear());

const png = (k: number) => encodePng({ width: 4, height: 4, data: new Uint8Array(48).fill(k * 40), channels: 3, depth: 8 });
const opts = { imageSize: 4, channels: 3 as const, testFraction: 0 };

/** a.png, b.png and locked/c.png, with `locked` made unlistable. */
function folderWithLocked(): { dir: string; lockedDir: string } {
  const dir = tempDir('webgpu-vae-locked-');
  const lockedDir = join(dir, 'locked');
  mkdirSync(lockedDir);
  writeFileSync(join(dir, 'a.png'), png(1));
  writeFileSync(join(dir, 'b.png'), png(2));
  writeFileSync(join(lockedDir, 'c.png'), png(3));
  locked.add(lockedDir);
  return { dir, lockedDir };
}

describe('loadImageFolder: folders it cannot list', () => {
  it('skips a subfolder it cannot list, warning with its name and the fix, on a cached run too', async () => {
    const { dir, lockedDir } = folderWithLocked();
    const warning = `skipping ${lockedDir}: no permission to list the folder (EACCES). Let it be read with \`chmod -R a+rX ${lockedDir}\`, or move it out of the picture folder.`;
    for (const run of ['fresh', 'cached']) {
      const warnings: string[] = [];
      const set = await loadImageFolder(dir, { ...opts, warn: (m) => warnings.push(m) });
      expect(set.files, run).toEqual(['a.png', 'b.png']);
      expect(warnings, run).toEqual([warning]);
    }
  });

  it('refuses a strict load, naming the folder with the bad files', async () => {
    const { dir, lockedDir } = folderWithLocked();
    await expect(loadImageFolder(dir, { ...opts, cache: false, strict: true })).rejects.toThrow(
      `${lockedDir}: no permission to list the folder (EACCES). Let it be read with \`chmod -R a+rX ${lockedDir}\`, or move it out of the picture folder. ` +
        'Strict loading refuses the folder; remove or fix the folder, or load without strict to skip it.',
    );
    writeFileSync(join(dir, 'bad.png'), 'not a png');
    const refusal = (await loadImageFolder(dir, { ...opts, cache: false, strict: true }).catch((e: Error) => e)) as Error;
    expect(refusal.message).toMatch(/^Strict loading refuses the folder: 2 files and subfolders cannot be used\.\n {2}.*locked: no permission to list the folder.*\n {2}.*bad\.png: /);
  });

  it('says when the only pictures are in folders it cannot list', async () => {
    const dir = tempDir('webgpu-vae-locked-');
    mkdirSync(join(dir, 'locked'));
    writeFileSync(join(dir, 'locked', 'c.png'), png(3));
    locked.add(join(dir, 'locked'));
    await expect(loadImageFolder(dir, opts)).rejects.toThrow(`picture folder ${dir} holds no pictures that can be listed: ${join(dir, 'locked')}: no permission to list the folder (EACCES).`);
  });

  it('refuses a picture folder it cannot list itself, naming the fix', async () => {
    const { dir } = folderWithLocked();
    locked.add(dir);
    await expect(loadImageFolder(dir, opts)).rejects.toThrow(
      `cannot list picture folder ${dir} (EACCES: permission denied, scandir '${dir}'). Let it be read with \`chmod -R a+rX ${dir}\`, or run as a user who may read it.`,
    );
  });
});
