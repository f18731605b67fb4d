// A folder of the user's pictures as train and test Datasets (Node). Every PNG and JPEG file
// (IMAGE_EXTENSIONS: .png, .jpg, .jpeg, .jfif, ...) in the folder and its subfolders (hidden
// names skipped; a file reached under two names read once) is decoded (image-decode.ts),
// center-cropped, resized and converted (image-pixels.ts), stacked in sorted-name order, cached
// (image-cache.ts) and split by a seeded shuffle (image-set.ts). Pictures carry no labels.
//
// Which files are pictures, and how links, odd names and files that are not regular files are
// treated: image-listing.ts.
//
// A file that cannot be read or decoded, or a subfolder that cannot be listed, is skipped with a
// warning that names it and says why; with
// `strict` the folder is refused instead, naming every such file at once (so one run shows all
// there is to fix), and nothing is loaded. The cache remembers skipped files, so a cached run
// warns (or refuses) the same way as the first. A folder that cannot hold its cache (read-only)
// gets it in the user's cache directory instead (image-cache.ts).
//
// Files in picture formats that are not read (TIFF, WebP, HEIC, camera raw) are counted: a folder
// of only those is refused saying so, and those beside PNGs and JPEGs get one warning line.
import { createHash } from 'node:crypto';
import { lstat, mkdir, readFile, realpath, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { cacheKey, cachePath, folderCacheId, readImageCache, userPictureCacheDir, writeImageCache, type CachedImages, type SmallPictures } from './image-cache';
import { decodeImage, IMAGE_EXTENSIONS } from './image-decode';
import { describeOtherFormats, shellWord, stampPictures, type PictureFile, type PictureListing } from './image-listing';
import { prepareImage } from './image-pixels';
import { pictureDigests } from './picture-list';
import { errorText } from './image-problems';
import { resolveImageSetOptions, splitImageSet, type ImageSet, type ImageSetOptions, type ResolvedImageSetOptions } from './image-set';
import { DataError } from './idx';
import { someNames } from '../errors';

export interface ImageFolderOptions extends ImageSetOptions {
  /** true (default): cache next to the pictures (or in the user's cache directory when the folder
   *  cannot hold it); a string: cache in that directory; false: never. */
  cache?: boolean | string;
  /** Once aborted, decoding stops before the next picture and the load rejects with the signal's
   *  reason; nothing is cached (a cache of part of the folder would be a wrong one). */
  signal?: AbortSignal;
  /** Called as pictures are decoded (not when they come from the cache): first with 0, then after each picture. */
  onDecodeProgress?: (done: number, total: number) => void;
  /** The listing rules (image-listing.ts): 2, the default, or 1 for a run started before 0.15.0. */
  listing?: PictureListing;
}

/** What decoding watches: a stop, and whom to tell how far it is. */
type DecodeWatch = Pick<ImageFolderOptions, 'signal' | 'onDecodeProgress'>;

export interface ImageFolderSet extends ImageSet {
  /** heldOutFingerprint of the test set: the CLI records it in a checkpoint, to notice later
   *  that the folder no longer holds out the pictures the run did. */
  testFingerprint: string;
  /** Where the decoded pictures are cached (read from, or written now); null when nowhere. */
  cachedAt: string | null;
  /** True when 3 channels (RGB) were asked for and every decoded picture is greyscale (PNG colour
   *  type grey or grey+alpha, one-component JPEG): a colour model would be trained on grey
   *  pictures, where channels 1 trains a grey one. False otherwise. */
  allGrey: boolean;
  /** Name -> digest of every decoded picture (picture-list.ts), worked out when first asked. */
  pictureDigests: () => Map<string, string>;
}

/** Refuses `dir` (as the user wrote it; `root` resolved) unless it is a folder, saying what it is instead. */
async function checkFolder(dir: string, root: string): Promise<void> {
  let info;
  try {
    info = await stat(root);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const link = await lstat(root).then((s) => s.isSymbolicLink(), () => false);
    if (link) {
      const what = code === 'ELOOP' ? 'that leads round in a loop (through other links)' : 'to a folder that does not exist';
      throw new DataError(`picture folder ${dir} is a symbolic link ${what}. Check the path.`);
    }
    if (code === 'ENOTDIR') throw new DataError(`picture folder ${dir} cannot exist: ${await fileOnTheWay(root)} is a file, not a folder. Check the path.`);
    throw new DataError(
      code === 'ENOENT' ? `picture folder ${dir} does not exist. Check the path.` : `cannot open picture folder ${dir} (${(e as Error).message}).`,
    );
  }
  if (info.isFile()) throw new DataError(`${dir} is a file, not a folder. Pass the folder that holds the pictures.`);
  if (!info.isDirectory()) throw new DataError(`${dir} is not a folder (a FIFO, socket or device). Pass the folder that holds the pictures.`);
}

/** The first path above `path` that exists, when it is the file that stops `path` from being a folder. */
async function fileOnTheWay(path: string): Promise<string> {
  for (let at = dirname(path); at !== dirname(at); at = dirname(at)) {
    if (await stat(at).then((s) => s.isFile(), () => false)) return at;
  }
  return path;
}

/** Why a picture's bytes could not be read, in words. */
function readFailure(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') return `${path}: no permission to read the file (${code}). Change its permissions, or move it out of the folder.`;
  if (code === 'ENOENT') return `${path}: the file was removed while the folder was read.`;
  if (code === 'EISDIR') return `${path}: a folder named like a picture, not a file.`;
  return `${path}: cannot read the file (${(e as Error).message}).`;
}

/** The refusal of a strict load: every subfolder that could not be listed (`unlisted`) and file
 *  that could not be used, the first several by name. */
function strictRefusal(unlisted: string[], skipped: { reason: string }[]): DataError {
  const reasons = [...unlisted, ...skipped.map((s) => s.reason)];
  const what = unlisted.length === 0 ? 'file' : skipped.length === 0 ? 'folder' : 'file or folder';
  if (reasons.length === 1) {
    return new DataError(`${reasons[0]} Strict loading refuses the folder; remove or fix the ${what}, or load without strict to skip it.`);
  }
  const shown = reasons.slice(0, STRICT_SHOWN).map((reason) => `  ${reason}`);
  if (reasons.length > STRICT_SHOWN) shown.push(`  and ${reasons.length - STRICT_SHOWN} more.`);
  const counted = unlisted.length === 0 ? `${reasons.length} files` : skipped.length === 0 ? `${reasons.length} subfolders` : `${reasons.length} files and subfolders`;
  return new DataError(
    `Strict loading refuses the folder: ${counted} cannot be used.\n${shown.join('\n')}\n` +
      'Remove or fix them, or load without strict to skip them.',
  );
}
/** Files a strict refusal names one by one; the rest are counted. */
const STRICT_SHOWN = 8;

/** Decodes every picture; `unlisted`: the subfolders that could not be listed, which a strict load refuses with the bad files. */
async function decodeAll(dir: string, pictures: PictureFile[], opts: ResolvedImageSetOptions, key: string, unlisted: string[], watch: DecodeWatch): Promise<CachedImages> {
  const size = opts.channels * opts.imageSize * opts.imageSize;
  const examples: Uint8Array[] = [];
  const files: string[] = [];
  const skipped: { file: string; reason: string }[] = [];
  let grey = 0;
  // Pictures whose shorter side is under half of --image-size: enlarged more than 2x, blocky.
  const small: { name: string; width: number; height: number }[] = [];
  // A large folder takes minutes: say how far it is, and stop between pictures when asked.
  watch.onDecodeProgress?.(0, pictures.length);
  for (const [done, picture] of pictures.entries()) {
    watch.signal?.throwIfAborted();
    if (done > 0) watch.onDecodeProgress?.(done, pictures.length);
    const name = picture.name;
    const path = join(dir, name);
    try {
      if (picture.unreadable) throw new DataError(`${path}: ${picture.unreadable}.`);
      if (!picture.regular) {
        throw new DataError(`${path}: not a regular file (a FIFO, socket or device, perhaps through a link), so it is not read. Move it out of the folder.`);
      }
      const bytes = new Uint8Array(await readFile(picture.path).catch((e) => { throw new DataError(readFailure(path, e)); }));
      const raster = decodeImage(bytes, path);
      // Strict loading refuses the folder at the end anyway: after a bad file, decoding (to find
      // the other bad ones) is enough, without preparing examples that will not be used.
      if (opts.strict && skipped.length + unlisted.length > 0) continue;
      examples.push(prepareImage(raster, opts.imageSize, opts.channels));
      files.push(name);
      if (2 * Math.min(raster.width, raster.height) < opts.imageSize) small.push({ name, width: raster.width, height: raster.height });
      if (raster.components <= 2) grey++;
    } catch (e) {
      const reason = e instanceof DataError ? e.message : `${path}: cannot be decoded (${errorText(e)}).`;
      skipped.push({ file: name, reason });
      if (!opts.strict) opts.warn(`skipping ${reason}`);
    }
  }
  watch.signal?.throwIfAborted();
  watch.onDecodeProgress?.(pictures.length, pictures.length);
  if (opts.strict && skipped.length + unlisted.length > 0) throw strictRefusal(unlisted, skipped);
  const smallest = small.length ? small.reduce((a, b) => (Math.min(b.width, b.height) < Math.min(a.width, a.height) ? b : a)) : null;
  const enlarged = smallest ? { count: small.length, smallest } : null;
  warnEnlarged(dir, enlarged, files.length, opts);
  const pixels = new Uint8Array(examples.length * size);
  examples.forEach((x, i) => pixels.set(x, i * size));
  const allGrey = opts.channels === 3 && files.length > 0 && grey === files.length;
  return { key, imageSize: opts.imageSize, channels: opts.channels, count: files.length, files, skipped, allGrey, small: enlarged, pixels };
}

/** Warns of pictures enlarged more than 2x (blocky), naming the smallest; said alike whether they were decoded now or read from the cache. */
function warnEnlarged(dir: string, small: SmallPictures | null, count: number, opts: ResolvedImageSetOptions): void {
  if (!small) return;
  const { name, width, height } = small.smallest;
  opts.warn(`${small.count} of the ${count} pictures in ${dir} have a shorter side under half of --image-size ${opts.imageSize} (the smallest: ${name}, ${width}x${height}): ` +
    'they are enlarged more than 2x, so they look blocky; a smaller --image-size keeps them as they are');
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

/** A skipped file's reason, which opens with the file's path when it was decoded, with its path in `root`. */
function atFolder(s: { file: string; reason: string }, root: string): string {
  const at = s.reason.indexOf(`${s.file}: `);
  return at < 0 ? s.reason : `${join(root, s.file)}${s.reason.slice(at + s.file.length)}`;
}

/** Decoded pictures from the cache when it is current, else decoded now (and cached). `unlisted`:
 *  why each subfolder that could not be listed was not (a strict load refuses them). */
async function loadPictures(root: string, pictures: PictureFile[], opts: ResolvedImageSetOptions, cache: boolean | string, unlisted: string[], watch: DecodeWatch): Promise<{ images: CachedImages; cachedAt: string | null }> {
  const key = cacheKey(opts.imageSize, opts.channels, pictures);
  const places = cachePlaces(root, await realpath(root), cache, opts);
  const readable = places ? [places.path, ...(places.fallback ? [places.fallback] : [])] : [];
  for (const path of readable) {
    try {
      const hit = await readImageCache(path, key);
      if (hit && hit.imageSize === opts.imageSize && hit.channels === opts.channels) {
        // The cache may have been written where the folder was before it moved: name the files where they are now.
        const skipped = hit.skipped.map((s) => ({ ...s, reason: atFolder(s, root) }));
        if (opts.strict && skipped.length + unlisted.length > 0) throw strictRefusal(unlisted, skipped);
        for (const s of skipped) opts.warn(`skipping ${s.reason}`);
        warnEnlarged(root, hit.small, hit.count, opts);
        return { images: { ...hit, skipped }, cachedAt: path };
      }
    } catch (e) {
      if (e instanceof DataError) throw e;
      opts.warn(`picture cache ${path} is unusable (${(e as Error).message}); decoding the pictures again.`);
    }
  }
  const fresh = await decodeAll(root, pictures, opts, key, unlisted, watch);
  const cachedAt = places && fresh.count > 0 ? await saveCache(places, fresh, opts.warn) : null;
  return { images: fresh, cachedAt };
}

/** Writes the cache, in the fallback place when the first cannot take it, and warns only with what
 *  is true; returns where it was written, or null. */
async function saveCache(places: { path: string; fallback?: string }, pictures: CachedImages, warn: (message: string) => void): Promise<string | null> {
  const { path, fallback } = places;
  let why: string;
  try {
    await writeImageCache(path, pictures);
    return path;
  } catch (e) {
    why = (e as Error).message;
  }
  if (!fallback) {
    warn(`cannot write picture cache ${path} (${why}); the next run decodes the pictures again. Pass another cache directory to keep one.`);
    return null;
  }
  try {
    await mkdir(dirname(fallback), { recursive: true });
    await writeImageCache(fallback, pictures);
    warn(`cannot write picture cache ${path} (${why}); cached the decoded pictures in ${fallback} instead, where the next run finds them.`);
    return fallback;
  } catch (e) {
    warn(
      `cannot write picture cache ${path} (${why}) nor ${fallback} (${(e as Error).message}); the next run decodes the pictures again. ` +
        'Make the folder writable, or set XDG_CACHE_HOME to a writable directory, to keep a cache.',
    );
    return null;
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
  await checkFolder(dir, root);
  let listing: Awaited<ReturnType<typeof stampPictures>>;
  try {
    listing = await stampPictures(root, options.listing);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const fix = code === 'EACCES' || code === 'EPERM' ? ` Let it be read with \`chmod -R a+rX ${shellWord(dir)}\`, or run as a user who may read it.` : '';
    throw new DataError(`cannot list picture folder ${dir} (${(e as Error).message}).${fix}`);
  }
  const { pictures: stamps, others, duplicates } = listing;
  if (duplicates.length > 0) {
    const n = duplicates.length;
    opts.warn(`reading ${n === 1 ? 'a picture' : `${n} pictures`} in ${dir} once, not again under ${n === 1 ? 'another name' : 'other names'} (a link or hard link to it): ` +
      `${someNames(duplicates.map((d) => `${d.name} is ${d.same}`), 4)}; read twice, a picture weighs double and may be held out for testing while trained on.`);
  }
  // A subfolder that cannot be listed is skipped as an unreadable file is: one locked folder
  // (another user's, a mount's lost+found) does not stop a run on all the others.
  const unlisted = listing.unlisted.map((u) => `${join(dir, u.name)}: ${u.reason}.`);
  if (!opts.strict) for (const reason of unlisted) opts.warn(`skipping ${reason}`);
  const passedOver = describeOtherFormats(others);
  const files = (n: number) => `${n} file${n === 1 ? '' : 's'}`;
  if (stamps.length === 0 && passedOver.count > 0) {
    throw new DataError(
      `picture folder ${dir} holds no PNG or JPEG pictures; it has ${files(passedOver.count)} of other formats (${passedOver.text}: ${passedOver.named}), ` +
        'which are not read: convert them to PNG or JPEG.',
    );
  }
  if (stamps.length === 0 && unlisted.length > 0) {
    throw new DataError(`picture folder ${dir} holds no pictures that can be listed: ${unlisted.join(' ')}`);
  }
  if (stamps.length === 0) {
    throw new DataError(
      `picture folder ${dir} holds no pictures: looked for ${IMAGE_EXTENSIONS.join(', ')} files (any letter case, ` +
        'subfolders and linked folders included, hidden names skipped). Put PNG or JPEG files in it, or point at the folder that has them.',
    );
  }
  if (passedOver.count > 0) {
    opts.warn(`passing over ${files(passedOver.count)} of other formats in ${dir} (${passedOver.text}: ${passedOver.named}): only PNG and JPEG are read; convert them to train on them.`);
  }
  const { images: pictures, cachedAt } = await loadPictures(root, stamps, opts, options.cache ?? true, unlisted, options);
  if (pictures.count === 0) {
    throw new DataError(`picture folder ${dir}: none of its ${stamps.length} picture files could be decoded (see the warnings above).`);
  }
  const { train, test, testIndices } = splitImageSet(pictures.pixels, pictures.count, `folder:${basename(root)}`, opts, `the folder ${dir}`);
  const testFiles = Array.from(testIndices, (i) => pictures.files[i]);
  const sizes = new Map(stamps.map((s) => [s.name, s.size]));
  const testFingerprint = heldOutFingerprint(testFiles.map((name) => ({ name, size: sizes.get(name) ?? -1 })));
  const digests = () => pictureDigests(pictures.files, pictures.pixels, opts.channels * opts.imageSize * opts.imageSize);
  return { train, test, files: pictures.files, skipped: pictures.skipped, testFiles, testFingerprint, allGrey: pictures.allGrey, cachedAt, pictureDigests: digests };
}
