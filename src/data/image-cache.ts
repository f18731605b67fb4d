// The cache of a decoded picture folder: every picture, cropped, resized and converted, stacked as
// one u8 array, so a second run reads one file instead of decoding them all again.
//
// Where: `<folder>/.webgpu-vae-cache-<imageSize>-<channels>.bin` (hidden, so the folder listing
// skips it). In any other directory (one the caller names, or the user's cache directory when
// the folder cannot hold the cache) the file is `webgpu-vae-cache-<folder>-<imageSize>-<channels>.bin`,
// where <folder> is a short hash of the folder's real path, so that folders sharing the directory
// keep one cache each instead of overwriting one another's.
// Key: SHA-256 of the format version, the size, the channels and, for every picture file in
// sorted order, its relative name, byte size, modification time, status-change time (ctime) and
// inode. Any change to the folder's pictures gives a new key, and a cache with another key is
// rebuilt: a file replaced by one of the same size with its old modification time restored
// (`cp -p`, `rsync -a`, `tar x`, `touch -r`) still gets a new ctime, which no tool can set back.
// The format version is raised whenever the same files would give other pixels or other header
// fields, so that no older cache is served: 2 composites alpha onto black (1 dropped it) and
// records allGrey; 3 records `small` (pictures enlarged more than 2x), so a cached run warns of
// them as the first did.
// Layout: "WVAEIMG1" | u32 LE header length H | H bytes of JSON {key, imageSize, channels, count,
// files, skipped, allGrey, small, sha256} | count * channels * imageSize^2 pixel bytes, planar per example. The
// SHA-256 of the pixels catches a damaged cache, which is then rebuilt rather than trained on.
// Written to a temporary name and renamed, so an interrupted write never leaves a torn cache. A
// write killed midway (kill -9, a crash) leaves its temporary file, as large as the pictures (GBs
// for a large folder), in the picture folder, one more for each kill: each write first removes
// those whose writer no longer runs.
import { createHash, type Hash } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { removeStaleTemps } from './stale-temps';

const MAGIC = 'WVAEIMG1';
const FORMAT_VERSION = 3;

export interface CachedImages {
  key: string;
  imageSize: number;
  channels: number;
  count: number;
  files: string[];
  skipped: { file: string; reason: string }[];
  /** 3 channels were asked for and every decoded picture is grey (ImageFolderSet.allGrey). */
  allGrey: boolean;
  /** The pictures whose shorter side is under half of imageSize (enlarged more than 2x): how many, and the smallest; null when none. */
  small: SmallPictures | null;
  pixels: Uint8Array;
}

export interface SmallPictures {
  count: number;
  smallest: { name: string; width: number; height: number };
}

/** A header's `small` when it is well formed; null otherwise (none were small). */
function smallOf(value: unknown): SmallPictures | null {
  const v = value as SmallPictures | null;
  const ok = v && Number.isInteger(v.count) && v.count > 0 && typeof v.smallest?.name === 'string' && Number.isInteger(v.smallest.width) && Number.isInteger(v.smallest.height);
  return ok ? { count: v.count, smallest: { name: v.smallest.name, width: v.smallest.width, height: v.smallest.height } } : null;
}

export interface FileStamp {
  name: string;
  size: number;
  mtimeMs: number;
  ctimeMs: number;
  ino: number;
}

/** The cache's file name: plain inside the folder; with `folder` (folderCacheId) for any other directory. */
export function cacheFileName(imageSize: number, channels: number, folder?: string): string {
  return folder ? `webgpu-vae-cache-${folder}-${imageSize}-${channels}.bin` : `.webgpu-vae-cache-${imageSize}-${channels}.bin`;
}

export function cachePath(dir: string, imageSize: number, channels: number, folder?: string): string {
  return join(dir, cacheFileName(imageSize, channels, folder));
}

/** Bytes a hash update, a read or a write takes at a time: Node refuses more than 2^31 - 1 in one
 *  call ("data is too long", ERR_FS_FILE_TOO_LARGE), and a folder's pictures can be more (CelebA
 *  at 64x64 RGB: 2.5 GB). */
const CHUNK = 2 ** 30;

/** Feeds `bytes` of any length to `hash`, `chunk` bytes at a time. */
export function hashAll(hash: Hash, bytes: Uint8Array, chunk = CHUNK): Hash {
  for (let at = 0; at < bytes.length; at += chunk) hash.update(bytes.subarray(at, at + chunk));
  return hash;
}

const sha256 = (bytes: Uint8Array) => hashAll(createHash('sha256'), bytes).digest('hex');

/** The whole file, read a chunk at a time (fs.readFile refuses files over 2 GiB). */
async function readWhole(path: string, chunk: number): Promise<Uint8Array> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const bytes = new Uint8Array(size);
    for (let at = 0; at < size; ) {
      const { bytesRead } = await file.read(bytes, at, Math.min(chunk, size - at), at);
      if (bytesRead === 0) return bytes.subarray(0, at); // shrank while read: the checks below refuse it
      at += bytesRead;
    }
    return bytes;
  } finally {
    await file.close();
  }
}

/** Writes `parts` one after another into a new file, a chunk at a time. */
async function writeWhole(path: string, parts: Uint8Array[], chunk: number): Promise<void> {
  const file = await open(path, 'w');
  try {
    for (const part of parts) {
      for (let at = 0; at < part.length; ) {
        const { bytesWritten } = await file.write(part, at, Math.min(chunk, part.length - at));
        at += bytesWritten;
      }
    }
  } finally {
    await file.close();
  }
}

/** A short name for a picture folder from its real path, for a cache kept outside it. */
export function folderCacheId(realFolder: string): string {
  return sha256(new TextEncoder().encode(realFolder)).slice(0, 16);
}

/** Where a folder's cache goes when the folder cannot hold it: $XDG_CACHE_HOME/webgpu-vae/pictures,
 *  or ~/.cache/webgpu-vae/pictures (as the autotune cache). */
export function userPictureCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'webgpu-vae', 'pictures');
}

export function cacheKey(imageSize: number, channels: number, stamps: FileStamp[]): string {
  const text = JSON.stringify([FORMAT_VERSION, imageSize, channels, stamps.map((s) => [s.name, s.size, s.mtimeMs, s.ctimeMs, s.ino])]);
  return sha256(new TextEncoder().encode(text));
}

/** Reads a cache whose key matches. null when absent or stale; throws (with the reason) when the
 *  file exists but is not a well-formed cache, so the caller can warn and rebuild it. `chunk`:
 *  the bytes each read and hash update takes (under Node's 2 GiB a call). */
export async function readImageCache(path: string, key: string, chunk = CHUNK): Promise<CachedImages | null> {
  let bytes: Uint8Array;
  try {
    bytes = await readWhole(path, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  if (bytes.length < 12 || new TextDecoder().decode(bytes.subarray(0, 8)) !== MAGIC) {
    throw new Error('not a picture cache (bad magic)');
  }
  const headerLen = new DataView(bytes.buffer, bytes.byteOffset).getUint32(8, true);
  if (12 + headerLen > bytes.length) throw new Error('truncated header');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + headerLen)));
  if (header?.key !== key) return null;
  const { imageSize, channels, count, files, skipped } = header;
  const expected = count * channels * imageSize * imageSize;
  if (!Array.isArray(files) || files.length !== count || !Array.isArray(skipped)) throw new Error('inconsistent header');
  if (bytes.length - 12 - headerLen !== expected) {
    throw new Error(`holds ${bytes.length - 12 - headerLen} pixel bytes, expected ${expected}`);
  }
  const pixels = bytes.subarray(12 + headerLen);
  if (header.sha256 !== hashAll(createHash('sha256'), pixels, chunk).digest('hex')) throw new Error('its pixels do not match their checksum');
  return { key, imageSize, channels, count, files, skipped, allGrey: header.allGrey === true, small: smallOf(header.small), pixels };
}

/** A cache's temporary file: a cache file name (cacheFileName) with its writer's process id. */
const TEMP_FILE = /^\.?webgpu-vae-cache-.+\.bin\.([1-9]\d*)\.tmp$/;

/**
 * Removes the caches' temporary files in `dir` whose writer no longer runs. This process's own are
 * kept: it may be writing another folder's cache there now (one of the same name as the one it is
 * about to write is written over). Returns the paths removed.
 */
export function removeStaleCacheTemps(dir: string): string[] {
  return removeStaleTemps(dir, (name) => Number(TEMP_FILE.exec(name)?.[1]) || null, false);
}

/** Writes the cache (to a temporary name, then renamed), `chunk` bytes a write and hash update. */
export async function writeImageCache(path: string, cache: CachedImages, chunk = CHUNK): Promise<void> {
  removeStaleCacheTemps(dirname(path));
  const { pixels, ...header } = cache;
  const json = new TextEncoder().encode(JSON.stringify({ ...header, sha256: hashAll(createHash('sha256'), pixels, chunk).digest('hex') }));
  // The header apart from the pixels: one buffer of both would copy them, and may be over 2 GiB.
  const head = new Uint8Array(12 + json.length);
  head.set(new TextEncoder().encode(MAGIC), 0);
  new DataView(head.buffer).setUint32(8, json.length, true);
  head.set(json, 12);
  const temp = `${path}.${process.pid}.tmp`;
  try {
    await writeWhole(temp, [head, pixels], chunk);
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true }).catch(() => {}); // the write's own error is the one to report
    throw e;
  }
}
