// Folders of pictures written by the test itself (PNG and JPEG, a subfolder, odd letter case, a
// corrupt file, a hidden file, links, a FIFO, a name that is not UTF-8): decoding, the seeded
// split, the cache and where it goes, warnings and refusals.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { encode as encodeJpeg } from 'jpeg-js';
import { describe, expect, it } from 'vitest';
import { DataError } from '../src/data/idx';
import { cachePath, readImageCache, writeImageCache } from '../src/data/image-cache';
import { decodeImage } from '../src/data/image-decode';
import { isPictureName } from '../src/data/image-files';
import { loadImageFolder } from '../src/data/image-folder';
import { stampPictures } from '../src/data/image-listing';
import { prepareImage } from '../src/data/image-pixels';
import { splitImageSet, testCount } from '../src/data/image-set';
import { tempDir } from './helpers/temp-dir';

/** An RGB picture whose colours depend on `k`, so every file differs. */
function picture(k: number, width: number, height: number): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0; p < width * height; p++) data.set([(k * 40 + p) & 255, (k * 17 + 3 * p) & 255, (255 - k * 9) & 255], 3 * p);
  return data;
}
const toRgba = (rgb: Uint8Array) => {
  const out = new Uint8Array((rgb.length / 3) * 4).fill(255);
  for (let p = 0; p < rgb.length / 3; p++) out.set(rgb.subarray(3 * p, 3 * p + 3), 4 * p);
  return out;
};

/** 5 PNGs (one in a subfolder, one named .PNG), 2 JPEGs, a hidden PNG and a text file. */
function writeFolder(): string {
  const dir = tempDir('webgpu-vae-pictures-');
  mkdirSync(join(dir, 'more'));
  const png = (k: number, w: number, h: number) => encodePng({ width: w, height: h, data: picture(k, w, h), channels: 3, depth: 8 });
  writeFileSync(join(dir, 'a.png'), png(0, 12, 12));
  writeFileSync(join(dir, 'b.png'), png(1, 16, 10));
  writeFileSync(join(dir, 'C.PNG'), png(2, 9, 14));
  writeFileSync(join(dir, 'd.png'), png(3, 8, 8));
  writeFileSync(join(dir, 'more', 'e.png'), png(4, 20, 20));
  writeFileSync(join(dir, 'f.jpg'), encodeJpeg({ width: 16, height: 16, data: toRgba(picture(5, 16, 16)) }, 90).data);
  writeFileSync(join(dir, 'g.jpeg'), encodeJpeg({ width: 24, height: 12, data: toRgba(picture(6, 24, 12)) }, 90).data);
  writeFileSync(join(dir, '.hidden.png'), png(7, 8, 8));
  writeFileSync(join(dir, 'notes.txt'), 'not a picture');
  return dir;
}
const EXPECTED_FILES = ['C.PNG', 'a.png', 'b.png', 'd.png', 'f.jpg', 'g.jpeg', 'more/e.png'];

function collect() {
  const warnings: string[] = [];
  return { warnings, warn: (m: string) => warnings.push(m) };
}

/** The key in the header of a folder's cache. */
async function readCacheKey(dir: string, imageSize: number, channels: number): Promise<string> {
  const bytes = readFileSync(cachePath(dir, imageSize, channels));
  return JSON.parse(bytes.subarray(12, 12 + bytes.readUInt32LE(8)).toString()).key;
}

/** Each example of a dataset, as a byte string, to compare sets regardless of order. */
const examples = (images: Uint8Array, size: number) =>
  Array.from({ length: images.length / size }, (_, i) => Buffer.from(images.subarray(i * size, (i + 1) * size)).toString('hex'));

describe('loadImageFolder', () => {
  it('decodes every PNG and JPEG, crops and resizes them, and splits them by a seeded shuffle', async () => {
    const dir = writeFolder();
    const { warnings, warn } = collect();
    const set = await loadImageFolder(dir, { imageSize: 8, channels: 3, testFraction: 0.3, seed: 5, warn, cache: false });
    expect(warnings).toEqual([]);
    expect(set.files).toEqual(EXPECTED_FILES);
    expect([set.train.count, set.test.count]).toEqual([5, 2]);
    for (const ds of [set.train, set.test]) expect([ds.channels, ds.rows, ds.cols]).toEqual([3, 8, 8]);
    expect(set.train.name).toMatch(/^folder:webgpu-vae-pictures-.*-train$/);
    // Together the splits hold exactly the pictures, each prepared by the shared pixel code.
    const expected = EXPECTED_FILES.map((f) => prepareImage(decodeImage(new Uint8Array(readFileSync(join(dir, f))), f), 8, 3));
    const size = 3 * 8 * 8;
    const got = [...examples(set.train.images, size), ...examples(set.test.images, size)].sort();
    expect(got).toEqual(expected.map((x) => Buffer.from(x).toString('hex')).sort());
  });

  it('warns once, naming the smallest, when pictures are enlarged more than 2x', async () => {
    const dir = writeFolder();
    const { warnings, warn } = collect();
    // --image-size 20: d.png (8x8), C.PNG (9x14) are under 10 on their shorter side; g.jpeg (24x12) and b.png (16x10) are not.
    await loadImageFolder(dir, { imageSize: 20, channels: 3, testFraction: 0.3, seed: 5, warn, cache: false });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^2 of the 7 pictures in .* have a shorter side under half of --image-size 20 \(the smallest: d\.png, 8x8\): they are enlarged more than 2x, so they look blocky; a smaller --image-size keeps them as they are$/);
  });

  it('warns of enlarged pictures the same when they come from the cache, and rebuilds a cache that did not record them', async () => {
    const dir = writeFolder();
    const load = async () => {
      const { warnings, warn } = collect();
      await loadImageFolder(dir, { imageSize: 20, channels: 3, testFraction: 0.3, seed: 5, warn });
      return warnings;
    };
    const first = await load();
    expect(first).toHaveLength(1);
    expect(first[0]).toMatch(/^2 of the 7 pictures in .* \(the smallest: d\.png, 8x8\)/);
    expect(existsSync(cachePath(dir, 20, 3))).toBe(true);
    expect(await load()).toEqual(first);
    // A cache of the format before `small` was recorded (version 2, keyed so) is rebuilt, not read as "none small".
    const { pictures } = await stampPictures(dir);
    const oldKey = createHash('sha256').update(JSON.stringify([2, 20, 3, pictures.map((p) => [p.name, p.size, p.mtimeMs, p.ctimeMs, p.ino])])).digest('hex');
    const current = (await readImageCache(cachePath(dir, 20, 3), (await readCacheKey(dir, 20, 3))))!;
    const { small: _, ...withoutSmall } = current;
    await writeImageCache(cachePath(dir, 20, 3), { ...withoutSmall, key: oldKey } as typeof current);
    expect(await load()).toEqual(first);
    expect(await readCacheKey(dir, 20, 3)).not.toBe(oldKey);
  });

  it('gives the same split for the same seed and another for another seed', async () => {
    const dir = writeFolder();
    const load = (seed: number) => loadImageFolder(dir, { imageSize: 4, channels: 1, testFraction: 0.5, seed, cache: false });
    const [a, b, c] = await Promise.all([load(1), load(1), load(2)]);
    expect(Array.from(a.test.images)).toEqual(Array.from(b.test.images));
    expect(Array.from(a.train.images)).toEqual(Array.from(b.train.images));
    expect(Array.from(a.test.images)).not.toEqual(Array.from(c.test.images));
    expect(a.train.channels).toBe(1);
    expect(a.train.images.length).toBe(a.train.count * 16);
  });

  it('caches the decoded pictures, reuses the cache, and rebuilds it when a file changes', async () => {
    const dir = writeFolder();
    const stamp = 1_700_000_000; // whole seconds, so a rewritten file can get its exact time back
    for (const f of EXPECTED_FILES) utimesSync(join(dir, f), stamp, stamp);
    const first = await loadImageFolder(dir, { imageSize: 6, channels: 3 });
    const path = cachePath(dir, 6, 3);
    expect(existsSync(path)).toBe(true);
    const all = (s: typeof first) => [...s.train.images, ...s.test.images];
    // The second load reads the cache: a cache rewritten with its pixels inverted (checksum and
    // key kept) comes back inverted.
    const header = (bytes: Buffer) => JSON.parse(bytes.subarray(12, 12 + bytes.readUInt32LE(8)).toString());
    const current = (await readImageCache(path, header(readFileSync(path)).key))!;
    await writeImageCache(path, { ...current, pixels: current.pixels.map((v) => 255 - v) });
    const second = await loadImageFolder(dir, { imageSize: 6, channels: 3, warn: (m) => { throw new Error(m); } });
    expect(all(second)).toEqual(all(first).map((v) => 255 - v));
    // A damaged pixel in the cache fails its checksum: the pictures are decoded again, with a warning.
    const cached = readFileSync(path);
    cached[cached.length - 1] ^= 0xff;
    writeFileSync(path, cached);
    const warnings: string[] = [];
    const rebuilt = await loadImageFolder(dir, { imageSize: 6, channels: 3, warn: (m) => warnings.push(m) });
    expect(warnings).toEqual([expect.stringMatching(/its pixels do not match their checksum/)]);
    expect(all(rebuilt)).toEqual(all(first));
    // A changed modification time changes the key: the pictures are decoded again.
    utimesSync(join(dir, 'a.png'), new Date(), new Date(Date.now() - 60_000));
    const third = await loadImageFolder(dir, { imageSize: 6, channels: 3 });
    expect(all(third)).toEqual(all(first));
  });

  it('rebuilds the cache when a file is replaced by one of the same size and modification time', async () => {
    const dir = tempDir('webgpu-vae-pictures-');
    // Stored (uncompressed) PNGs: every 8x8 picture takes the same number of bytes.
    const stored = (k: number) => encodePng({ width: 8, height: 8, data: picture(k, 8, 8), channels: 3, depth: 8 }, { zlib: { level: 0 } });
    for (let k = 0; k < 4; k++) writeFileSync(join(dir, `p${k}.png`), stored(k));
    const opts = { imageSize: 4, channels: 3 as const, testFraction: 0 };
    const stamp = 1_700_000_000;
    utimesSync(join(dir, 'p1.png'), stamp, stamp);
    await loadImageFolder(dir, opts);
    // What `cp -p`, `rsync -a` or `tar x` leave: other pixels, the same size and modification time.
    writeFileSync(join(dir, 'p1.png'), stored(9));
    utimesSync(join(dir, 'p1.png'), stamp, stamp);
    expect(statSync(join(dir, 'p1.png')).size).toBe(stored(1).length);
    const again = await loadImageFolder(dir, opts);
    const truth = await loadImageFolder(dir, { ...opts, cache: false });
    expect(Array.from(again.train.images)).toEqual(Array.from(truth.train.images));
  });

  it('keeps one cache per folder in a shared cache directory', async () => {
    const shared = tempDir('webgpu-vae-cache-');
    const [a, b] = [writeFolder(), writeFolder()];
    writeFileSync(join(b, 'extra.png'), encodePng({ width: 4, height: 4, data: picture(8, 4, 4), channels: 3, depth: 8 }));
    const opts = { imageSize: 4, channels: 1 as const, cache: shared };
    await loadImageFolder(a, opts);
    const [cacheOfA] = readdirSync(shared);
    const written = statSync(join(shared, cacheOfA));
    await loadImageFolder(b, opts);
    expect(readdirSync(shared)).toHaveLength(2);
    // The first folder's cache is read again, not rewritten.
    await loadImageFolder(a, opts);
    expect([statSync(join(shared, cacheOfA)).ino, statSync(join(shared, cacheOfA)).mtimeMs]).toEqual([written.ino, written.mtimeMs]);
  });

  it('caches in the user cache directory when the folder cannot hold the cache, and reads it there', async () => {
    const dir = writeFolder();
    const home = tempDir('webgpu-vae-home-');
    const was = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = home;
    try {
      // The folder refuses the cache as a read-only one would: a folder stands where its temporary file goes.
      mkdirSync(`${cachePath(dir, 4, 1)}.${process.pid}.tmp`);
      const first = collect();
      await loadImageFolder(dir, { imageSize: 4, channels: 1, warn: first.warn });
      const userCache = join(home, 'webgpu-vae', 'pictures');
      expect(first.warnings).toEqual([
        expect.stringMatching(/^cannot write picture cache .*\.webgpu-vae-cache-4-1\.bin \(.*\); cached the decoded pictures in .*webgpu-vae\/pictures\/webgpu-vae-cache-[0-9a-f]{16}-4-1\.bin instead/),
      ]);
      expect(readdirSync(userCache)).toHaveLength(1);
      const second = collect();
      const set = await loadImageFolder(dir, { imageSize: 4, channels: 1, warn: second.warn });
      expect(second.warnings).toEqual([]);
      expect(set.files).toEqual(EXPECTED_FILES);
    } finally {
      if (was === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = was;
    }
  });

  it('rebuilds an unusable cache with a warning, and warns when the cache cannot be written', async () => {
    const dir = writeFolder();
    writeFileSync(cachePath(dir, 4, 1), 'garbage');
    const { warnings, warn } = collect();
    const set = await loadImageFolder(dir, { imageSize: 4, channels: 1, warn });
    expect(set.train.count + set.test.count).toBe(7);
    expect(warnings).toEqual([expect.stringMatching(/picture cache .* is unusable \(not a picture cache \(bad magic\)\); decoding the pictures again/)]);
    const nowhere = collect();
    await loadImageFolder(dir, { imageSize: 4, channels: 1, warn: nowhere.warn, cache: join(dir, 'no', 'such', 'dir') });
    expect(nowhere.warnings).toEqual([expect.stringMatching(/cannot write picture cache .*no\/such\/dir.* Pass another cache directory/)]);
  });

  it('skips a corrupt file with a warning naming it, also on a cached run, and refuses it when strict', async () => {
    const dir = writeFolder();
    writeFileSync(join(dir, 'broken.png'), encodePng({ width: 4, height: 4, data: new Uint8Array(48), channels: 3, depth: 8 }).subarray(0, 40));
    writeFileSync(join(dir, 'fake.jpg'), 'this is text');
    for (let run = 0; run < 2; run++) {
      const { warnings, warn } = collect();
      const set = await loadImageFolder(dir, { imageSize: 4, channels: 3, warn });
      expect(set.files).toEqual(EXPECTED_FILES);
      expect(set.skipped.map((s) => s.file)).toEqual(['broken.png', 'fake.jpg']);
      expect(warnings).toEqual([
        expect.stringMatching(/^skipping .*broken\.png: the PNG file ends before its picture data does \(truncated\? it has 40 bytes\)/),
        expect.stringMatching(/^skipping .*fake\.jpg: neither PNG nor JPEG/),
      ]);
    }
    // Moved with its cache: the cached warnings name the files where they are now.
    const moved = `${dir}-moved`;
    renameSync(dir, moved);
    const after = collect();
    await loadImageFolder(moved, { imageSize: 4, channels: 3, warn: after.warn });
    expect(after.warnings.map((w) => w.slice(0, w.indexOf(': ')))).toEqual([`skipping ${join(moved, 'broken.png')}`, `skipping ${join(moved, 'fake.jpg')}`]);
    renameSync(moved, dir);
    const strict = loadImageFolder(dir, { imageSize: 4, channels: 3, strict: true, cache: false });
    await expect(strict).rejects.toThrow(DataError);
    const all = /^Strict loading refuses the folder: 2 files cannot be used\.\n {2}\S*broken\.png: the PNG file ends .*\n {2}\S*fake\.jpg: neither PNG nor JPEG.*\nRemove or fix them/;
    await expect(strict).rejects.toThrow(all); // every bad file named at once; so does strict against the cache written above
    await expect(loadImageFolder(dir, { imageSize: 4, channels: 3, strict: true })).rejects.toThrow(all);
  });

  it('follows links to folders, each folder once, loops cut', async () => {
    const base = tempDir('webgpu-vae-pictures-');
    const [dir, other] = [join(base, 'pics'), join(base, 'other')];
    const png = (k: number) => encodePng({ width: 4, height: 4, data: picture(k, 4, 4), channels: 3, depth: 8 });
    mkdirSync(join(dir, 'real'), { recursive: true });
    mkdirSync(other);
    writeFileSync(join(dir, 'a.png'), png(0));
    writeFileSync(join(dir, 'real', 'r.png'), png(1));
    writeFileSync(join(other, 'x.png'), png(2));
    writeFileSync(join(other, 'y.png'), png(3));
    symlinkSync(other, join(dir, 'linked')); // a folder elsewhere: walked
    symlinkSync(join(dir, 'real'), join(dir, 'alias')); // a folder already in the tree: listed by its real name only
    symlinkSync('.', join(dir, 'loop')); // loops, to the folder and to a parent
    symlinkSync('..', join(dir, 'real', 'up'));
    const { warnings, warn } = collect();
    const set = await loadImageFolder(dir, { imageSize: 4, channels: 3, testFraction: 0, warn, cache: false });
    expect(set.files).toEqual(['a.png', 'linked/x.png', 'linked/y.png', 'real/r.png']);
    expect(warnings).toEqual([]);
  });

  it.runIf(process.platform === 'linux')('skips a FIFO and a link to one with a warning instead of waiting on it', async () => {
    const dir = writeFolder();
    execFileSync('mkfifo', [join(dir, 'pipe.png')]);
    const base = tempDir('webgpu-vae-fifo-');
    execFileSync('mkfifo', [join(base, 'fifo')]);
    symlinkSync(join(base, 'fifo'), join(dir, 'linked.png'));
    const { warnings, warn } = collect();
    const set = await loadImageFolder(dir, { imageSize: 4, channels: 3, warn, cache: false });
    expect(set.files).toEqual(EXPECTED_FILES);
    expect(set.skipped.map((s) => s.file)).toEqual(['linked.png', 'pipe.png']);
    expect(warnings).toEqual([
      expect.stringMatching(/^skipping .*linked\.png: not a regular file \(a FIFO, socket or device, perhaps through a link\)/),
      expect.stringMatching(/^skipping .*pipe\.png: not a regular file/),
    ]);
  }, 20_000);

  it.runIf(process.platform === 'linux')('reads a picture whose name is not valid UTF-8', async () => {
    const dir = writeFolder();
    const bytes = encodePng({ width: 4, height: 4, data: picture(9, 4, 4), channels: 3, depth: 8 });
    writeFileSync(Buffer.concat([Buffer.from(join(dir, 'caf')), Buffer.of(0xe9), Buffer.from('-latin1.png')]), bytes);
    const { warnings, warn } = collect();
    const set = await loadImageFolder(dir, { imageSize: 4, channels: 3, testFraction: 0, warn, cache: false });
    expect(warnings).toEqual([]);
    expect(set.files).toEqual(['C.PNG', 'a.png', 'b.png', 'caf\ufffd-latin1.png', 'd.png', 'f.jpg', 'g.jpeg', 'more/e.png']);
    const decoded = Buffer.from(prepareImage(decodeImage(bytes, 'caf.png'), 4, 3)).toString('hex');
    expect(examples(set.train.images, 4 * 4 * 3)).toContain(decoded);
  });

  it('leaves out the files the browser file list leaves out: hidden files and hidden folders', async () => {
    const dir = tempDir('webgpu-vae-pictures-');
    const png = encodePng({ width: 4, height: 4, data: picture(1, 4, 4), channels: 3, depth: 8 });
    const inside = ['a.png', '.hidden/b.png', '.thumbnails/c.PNG', 'sub/d.png', 'sub/.e.png', 'sub/.cache/f.jpg', 'sub/g.png'];
    for (const name of inside) {
      mkdirSync(join(dir, name, '..'), { recursive: true });
      writeFileSync(join(dir, name), png);
    }
    const node = await loadImageFolder(dir, { imageSize: 4, channels: 3, cache: false });
    expect(node.files).toEqual(['a.png', 'sub/d.png', 'sub/g.png']);
    // A chosen folder's files are named by their path inside it, which starts with the folder's name.
    const chosen = inside.map((name) => `pics/${name}`).filter(isPictureName).map((name) => name.slice('pics/'.length));
    expect(chosen.sort()).toEqual(node.files);
    // The folder itself may be hidden, as a hidden folder given to Node is read; a hidden file alone is not.
    expect([isPictureName('.pics/a.png'), isPictureName('.a.png'), isPictureName('a.png')]).toEqual([true, false, true]);
  });

  it('refuses a missing folder, a file, an empty folder and one whose pictures all fail', async () => {
    const dir = tempDir('webgpu-vae-pictures-');
    const opts = { imageSize: 8, channels: 3 as const, cache: false };
    await expect(loadImageFolder(join(dir, 'nope'), opts)).rejects.toThrow(/picture folder .*nope does not exist/);
    writeFileSync(join(dir, 'x.txt'), 'x');
    await expect(loadImageFolder(join(dir, 'x.txt'), opts)).rejects.toThrow(/x\.txt is a file, not a folder/);
    await expect(loadImageFolder(dir, opts)).rejects.toThrow(
      new RegExp(`picture folder ${dir} holds no pictures: looked for \\.png, \\.jpg, \\.jpeg, \\.jpe, \\.jfif, \\.jfi, \\.pjpeg, \\.pjp, \\.apng files`),
    );
    writeFileSync(join(dir, 'bad.png'), 'no');
    await expect(loadImageFolder(dir, { ...opts, warn: () => {} })).rejects.toThrow(/none of its 1 picture files could be decoded/);
    // One good picture cannot be split: the folder is named in words, not as its data set's name.
    writeFileSync(join(dir, 'a.png'), encodePng({ width: 12, height: 12, data: picture(0, 12, 12), channels: 3, depth: 8 }));
    await expect(loadImageFolder(dir, { ...opts, warn: () => {} })).rejects.toThrow(new RegExp(`^the folder ${dir}: 1 usable picture, but a train/test split`));
  });

  it('refuses bad options by name, and too few pictures for a split', async () => {
    const dir = writeFolder();
    await expect(loadImageFolder(dir, { imageSize: 0, channels: 3 })).rejects.toThrow(/imageSize must be an integer from 1 to 4096/);
    await expect(loadImageFolder(dir, { imageSize: 8, channels: 2 as 1 })).rejects.toThrow(/channels must be 1 \(grey\) or 3 \(RGB\), got 2/);
    await expect(loadImageFolder(dir, { imageSize: 8, channels: 1, testFraction: 1 })).rejects.toThrow(/testFraction must be a number in \[0, 1\)/);
    await expect(loadImageFolder(dir, { imageSize: 8, channels: 1, seed: -1 })).rejects.toThrow(/seed must be a non-negative integer/);
    expect(() => splitImageSet(new Uint8Array(4), 1, 'one', { imageSize: 2, channels: 1, testFraction: 0.2, seed: 0 })).toThrow(
      /^one: 1 usable picture, but a train\/test split with testFraction 0.2 needs at least 2/,
    );
    const all = splitImageSet(new Uint8Array(4), 1, 'one', { imageSize: 2, channels: 1, testFraction: 0, seed: 0 });
    expect([all.train.count, all.test.count]).toEqual([1, 0]);
  });

  it('holds out round(count * fraction) pictures, at least one and never all', () => {
    expect([testCount(10, 0.1), testCount(10, 0.01), testCount(10, 0.99), testCount(1000, 0.25), testCount(5, 0)]).toEqual([1, 1, 9, 250, 0]);
  });
});
