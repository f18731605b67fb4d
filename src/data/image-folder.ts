// A folder of the user's pictures as train and test Datasets (Node). Every .png, .jpg and .jpeg
// file in the folder and its subfolders (hidden names skipped) is decoded (image-decode.ts),
// center-cropped, resized and converted (image-pixels.ts), stacked in sorted-name order, cached
// (image-cache.ts) and split by a seeded shuffle (image-set.ts). Pictures carry no labels.
//
// A file that cannot be read or decoded is skipped with a warning that names it and says why; with
// `strict` it is refused instead and nothing is loaded. The cache remembers skipped files, so a
// cached run warns (or refuses) the same way as the first.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, join, relative, resolve } from 'node:path';
import { cacheKey, cachePath, readImageCache, writeImageCache, type CachedImages, type FileStamp } from './image-cache';
import { decodeImage, IMAGE_EXTENSIONS } from './image-decode';
import { prepareImage } from './image-pixels';
import { resolveImageSetOptions, splitImageSet, type ImageSet, type ImageSetOptions, type ResolvedImageSetOptions } from './image-set';
import { DataError } from './idx';

export interface ImageFolderOptions extends ImageSetOptions {
  /** true (default): cache next to the pictures; a string: cache in that directory; false: never. */
  cache?: boolean | string;
}

const isPicture = (name: string) => IMAGE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));

async function listPictures(root: string, dir: string, out: string[]): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true });
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await listPictures(root, path, out);
    else if ((entry.isFile() || entry.isSymbolicLink()) && isPicture(entry.name)) out.push(relative(root, path));
  }
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

/** Names (relative, sorted) with their sizes and modification times, the cache's key material. */
async function stampPictures(dir: string): Promise<FileStamp[]> {
  const names: string[] = [];
  try {
    await listPictures(dir, dir, names);
  } catch (e) {
    throw new DataError(`cannot list picture folder ${dir} (${(e as Error).message}).`);
  }
  names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return Promise.all(
    names.map(async (name) => {
      try {
        const s = await stat(join(dir, name));
        return { name, size: s.size, mtimeMs: s.mtimeMs };
      } catch {
        return { name, size: -1, mtimeMs: -1 }; // unreadable: decoding reports it
      }
    }),
  );
}

async function decodeAll(dir: string, stamps: FileStamp[], opts: ResolvedImageSetOptions, key: string): Promise<CachedImages> {
  const size = opts.channels * opts.imageSize * opts.imageSize;
  const examples: Uint8Array[] = [];
  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  for (const { name } of stamps) {
    const path = join(dir, name);
    try {
      const bytes = new Uint8Array(await readFile(path));
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

/** Decoded pictures from the cache when it is current, else decoded now (and cached). */
async function loadPictures(dir: string, stamps: FileStamp[], opts: ResolvedImageSetOptions, cache: boolean | string): Promise<CachedImages> {
  const key = cacheKey(opts.imageSize, opts.channels, stamps);
  const path = cache === false ? null : cachePath(typeof cache === 'string' ? cache : dir, opts.imageSize, opts.channels);
  if (path) {
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
  const fresh = await decodeAll(dir, stamps, opts, key);
  if (path && fresh.count > 0) {
    try {
      await writeImageCache(path, fresh);
    } catch (e) {
      opts.warn(`cannot write picture cache ${path} (${(e as Error).message}); the next run decodes the pictures again. Pass another cache directory to keep one.`);
    }
  }
  return fresh;
}

/** Loads a folder of PNG and JPEG pictures as seeded train and test splits. */
export async function loadImageFolder(dir: string, options: ImageFolderOptions): Promise<ImageSet> {
  const opts = resolveImageSetOptions(options);
  const root = resolve(dir);
  await checkFolder(root);
  const stamps = await stampPictures(root);
  if (stamps.length === 0) {
    throw new DataError(
      `picture folder ${dir} holds no pictures: looked for ${IMAGE_EXTENSIONS.join(', ')} files (any letter case, ` +
        'subfolders included, hidden names skipped). Put PNG or JPEG files in it, or point at the folder that has them.',
    );
  }
  const pictures = await loadPictures(root, stamps, opts, options.cache ?? true);
  if (pictures.count === 0) {
    throw new DataError(`picture folder ${dir}: none of its ${stamps.length} picture files could be decoded (see the warnings above).`);
  }
  const split = splitImageSet(pictures.pixels, pictures.count, `folder:${basename(root)}`, opts);
  return { ...split, files: pictures.files, skipped: pictures.skipped };
}
