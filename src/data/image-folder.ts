// A folder of the user's pictures as train and test Datasets (Node). Every .png, .jpg and .jpeg
// file in the folder and its subfolders (hidden names skipped) is decoded (image-decode.ts),
// center-cropped, resized and converted (image-pixels.ts), stacked in sorted-name order, cached
// (image-cache.ts) and split by a seeded shuffle (image-set.ts). Pictures carry no labels.
//
// Which files are pictures, and how links, odd names and files that are not regular files are
// treated: image-listing.ts.
//
// A file that cannot be read or decoded is skipped with a warning that names it and says why; with
// `strict` it is refused instead and nothing is loaded. The cache remembers skipped files, so a
// cached run warns (or refuses) the same way as the first. A folder that cannot hold its cache
// (read-only) gets it in the user's cache directory instead (image-cache.ts).
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { cacheKey, cachePath, folderCacheId, readImageCache, userPictureCacheDir, writeImageCache, type CachedImages } from './image-cache';
import { decodeImage, IMAGE_EXTENSIONS } from './image-decode';
import { stampPictures, type PictureFile } from './image-listing';
import { prepareImage } from './image-pixels';
import { resolveImageSetOptions, splitImageSet, type ImageSet, type ImageSetOptions, type ResolvedImageSetOptions } from './image-set';
import { DataError } from './idx';

export interface ImageFolderOptions extends ImageSetOptions {
  /** true (default): cache next to the pictures (or in the user's cache directory when the folder
   *  cannot hold it); a string: cache in that directory; false: never. */
  cache?: boolean | string;
}

export interface ImageFolderSet extends ImageSet {
  /** heldOutFingerprint of the test set: the CLI records it in a checkpoint, to notice later
   *  that the folder no longer holds out the pictures the run did. */
  testFingerprint: string;
}

async function checkFolder(dir: string): Promise<void> {
  let info;
  try {
    info = await stat(dir);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(
      code === 'ENOENT' ? `picture folder ${dir} does not exist. Check the path.` : `cannot open picture folder ${dir} (${(e as Error).message}).`,
    );
  }
  if (!info.isDirectory()) throw new DataError(`${dir} is a file, not a folder. Pass the folder that holds the pictures.`);
}

async function decodeAll(dir: string, pictures: PictureFile[], opts: ResolvedImageSetOptions, key: string): Promise<CachedImages> {
  const size = opts.channels * opts.imageSize * opts.imageSize;
  const examples: Uint8Array[] = [];
  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const picture of pictures) {
    const name = picture.name;
    const path = join(dir, name);
    try {
      if (!picture.regular) {
        throw new DataError(`${path}: not a regular file (a FIFO, socket or device, perhaps through a link), so it is not read. Move it out of the folder.`);
      }
      const bytes = new Uint8Array(await readFile(picture.path));
      examples.push(prepareImage(decodeImage(bytes, path), opts.imageSize, opts.channels));
      files.push(name);
    } catch (e) {
      const reason = e instanceof DataError ? e.message : `${path}: cannot read the file (${(e as Error).message}).`;
      if (opts.strict) throw new DataError(`${reason} Strict loading refuses the folder; remove or fix the file, or load without strict to skip it.`);
      skipped.push({ file: name, reason });
      opts.warn(`skipping ${reason}`);
    }
  }
  const pixels = new Uint8Array(examples.length * size);
  examples.forEach((x, i) => pixels.set(x, i * size));
  return { key, imageSize: opts.imageSize, channels: opts.channels, count: files.length, files, skipped, pixels };
}

/** Where the cache is read and written: `cache` as ImageFolderOptions says, and for the default,
 *  the user's cache directory as the place to fall back on. */
function cachePlaces(root: string, realRoot: string, cache: boolean | string, opts: ResolvedImageSetOptions): { path: string; fallback?: string } | null {
  const { imageSize, channels } = opts;
  if (cache === false) return null;
  if (typeof cache === 'string') {
    return { path: resolve(cache) === root ? cachePath(root, imageSize, channels) : cachePath(cache, imageSize, channels, folderCacheId(realRoot)) };
  }
  return { path: cachePath(root, imageSize, channels), fallback: cachePath(userPictureCacheDir(), imageSize, channels, folderCacheId(realRoot)) };
}

/** Decoded pictures from the cache when it is current, else decoded now (and cached). */
async function loadPictures(root: string, pictures: PictureFile[], opts: ResolvedImageSetOptions, cache: boolean | string): Promise<CachedImages> {
  const key = cacheKey(opts.imageSize, opts.channels, pictures);
  const places = cachePlaces(root, await realpath(root), cache, opts);
  const readable = places ? [places.path, ...(places.fallback ? [places.fallback] : [])] : [];
  for (const path of readable) {
    try {
      const hit = await readImageCache(path, key);
      if (hit && hit.imageSize === opts.imageSize && hit.channels === opts.channels) {
        for (const s of hit.skipped) {
          if (opts.strict) throw new DataError(`${s.reason} Strict loading refuses the folder; remove or fix the file, or load without strict to skip it.`);
          opts.warn(`skipping ${s.reason}`);
        }
        return hit;
      }
    } catch (e) {
      if (e instanceof DataError) throw e;
      opts.warn(`picture cache ${path} is unusable (${(e as Error).message}); decoding the pictures again.`);
    }
  }
  const fresh = await decodeAll(root, pictures, opts, key);
  if (places && fresh.count > 0) await saveCache(places, fresh, opts.warn);
  return fresh;
}

/** Writes the cache, in the fallback place when the first cannot take it, and warns only with what is true. */
async function saveCache(places: { path: string; fallback?: string }, pictures: CachedImages, warn: (message: string) => void): Promise<void> {
  const { path, fallback } = places;
  let why: string;
  try {
    await writeImageCache(path, pictures);
    return;
  } catch (e) {
    why = (e as Error).message;
  }
  if (!fallback) {
    warn(`cannot write picture cache ${path} (${why}); the next run decodes the pictures again. Pass another cache directory to keep one.`);
    return;
  }
  try {
    await mkdir(dirname(fallback), { recursive: true });
    await writeImageCache(fallback, pictures);
    warn(`cannot write picture cache ${path} (${why}); cached the decoded pictures in ${fallback} instead, where the next run finds them.`);
  } catch (e) {
    warn(
      `cannot write picture cache ${path} (${why}) nor ${fallback} (${(e as Error).message}); the next run decodes the pictures again. ` +
        'Make the folder writable, or set XDG_CACHE_HOME to a writable directory, to keep a cache.',
    );
  }
}

/** A short digest of held-out pictures: their relative names and byte sizes, in name order. Two
 *  loads that hold out the same files give the same digest. A file added or removed anywhere in
 *  the folder reshuffles the split, and so (almost surely) changes it; so does a held-out
 *  picture renamed or changed in size. */
export function heldOutFingerprint(pictures: { name: string; size: number }[]): string {
  const sorted = pictures.map((p) => [p.name, p.size]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return createHash('sha256').update(JSON.stringify(sorted)).digest('hex').slice(0, 16);
}

/** Loads a folder of PNG and JPEG pictures as seeded train and test splits. */
export async function loadImageFolder(dir: string, options: ImageFolderOptions): Promise<ImageFolderSet> {
  const opts = resolveImageSetOptions(options);
  const root = resolve(dir);
  await checkFolder(root);
  let stamps: PictureFile[];
  try {
    stamps = await stampPictures(root);
  } catch (e) {
    throw new DataError(`cannot list picture folder ${dir} (${(e as Error).message}).`);
  }
  if (stamps.length === 0) {
    throw new DataError(
      `picture folder ${dir} holds no pictures: looked for ${IMAGE_EXTENSIONS.join(', ')} files (any letter case, ` +
        'subfolders and linked folders included, hidden names skipped). Put PNG or JPEG files in it, or point at the folder that has them.',
    );
  }
  const pictures = await loadPictures(root, stamps, opts, options.cache ?? true);
  if (pictures.count === 0) {
    throw new DataError(`picture folder ${dir}: none of its ${stamps.length} picture files could be decoded (see the warnings above).`);
  }
  const { train, test, testIndices } = splitImageSet(pictures.pixels, pictures.count, `folder:${basename(root)}`, opts);
  const testFiles = Array.from(testIndices, (i) => pictures.files[i]);
  const sizes = new Map(stamps.map((s) => [s.name, s.size]));
  const testFingerprint = heldOutFingerprint(testFiles.map((name) => ({ name, size: sizes.get(name) ?? -1 })));
  return { train, test, files: pictures.files, skipped: pictures.skipped, testFiles, testFingerprint };
}
