// Which files of a picture folder are pictures (Node), and their stamps, the cache's key material.
//
// A picture is a file whose name ends in one of IMAGE_EXTENSIONS (.png, .jpg, .jpeg, .jfif, ...;
// any letter case), in the folder or any subfolder; names starting with a dot (hidden files and
// folders, the cache) are skipped.
// Links are followed: a link to a file is listed by its own name, and a link to a folder is
// walked like a subfolder, after every real subfolder, so that a folder reached twice (through a
// link and directly, or a link that loops back to a parent) is listed once, under its real name
// when it has one. A file reached twice (a link to a picture in the folder, a hard link) is
// likewise listed once, under its real name (a name that is not a link, first in name order),
// and the other names are returned apart: read twice, a picture would weigh double, and could be
// held out for testing under one name while trained on under the other. Names are read as the
// bytes the file system stores and files opened by those bytes, so a name that is not valid UTF-8 still reads; it is shown (in `files` and messages)
// with U+FFFD in place of the bytes that do not decode.
//
// Files of picture formats that are not read (TIFF, WebP, HEIC, camera raw: OTHER_PICTURE_EXTENSIONS)
// are listed apart, by name, so the folder reader can say they were passed over.
//
// A subfolder that cannot be listed (no permission) is listed apart too, with why, so that the
// reader skips it as it skips an unreadable file, instead of one locked folder stopping the run;
// the folder itself failing to list is still an error, for the caller to report.
import { lstat, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { extname, join, sep } from 'node:path';
import { someNames } from '../errors';
import type { FileStamp } from './image-cache';
import { hasOtherPictureExtension, hasPictureExtension } from './image-set';

/** A picture file: its stamp (relative name, size, times, inode), the bytes of its path to open it
 *  by, whether it is a regular file (a FIFO or a device would block or never end), and, when it
 *  cannot even be looked at (a link to nothing), why, in words. */
export interface PictureFile extends FileStamp {
  path: Buffer;
  regular: boolean;
  unreadable?: string;
}


const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const lossyUtf8 = new TextDecoder('utf-8');
const SEPARATOR = Buffer.from(sep);
const DOT = 0x2e;

/** A file name's bytes as text: exact when they are UTF-8, else with U+FFFD for the bytes that are not. */
function nameText(bytes: Uint8Array): string {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return lossyUtf8.decode(bytes);
  }
}

/** Real path of a folder as a Set key (latin1 maps bytes to characters one to one); null when it cannot be resolved. */
const realKey = (path: Buffer) => realpath(path, { encoding: 'buffer' }).then((r) => r.toString('latin1'), () => null);

const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** A subfolder that could not be listed: its relative name, and why in words with the fix. */
export interface UnlistedFolder {
  name: string;
  reason: string;
}

/** A path as one word of a shell command line, quoted when it needs it. */
export const shellWord = (s: string) => (/^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

/** Why a folder cannot be listed, in words, with the fix; `path` as the user's messages show it. */
export function unlistableFolder(path: string, e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'EACCES' || code === 'EPERM') {
    return `no permission to list the folder (${code}). Let it be read with \`chmod -R a+rX ${shellWord(path)}\`, or move it out of the picture folder`;
  }
  if (code === 'ENOENT') return 'the folder was removed while the picture folder was read';
  return `cannot list the folder (${(e as Error).message})`;
}

/**
 * The rules a folder is listed by: 2 (0.15.0 on) reads every ending in IMAGE_EXTENSIONS and a file
 * reached under two names once; 1, the rules before, reads .png, .jpg and .jpeg only and every
 * name, so that a run started under them resumes on the pictures it trained on.
 */
export type PictureListing = 1 | 2;
export const PICTURE_LISTINGS: readonly PictureListing[] = [1, 2];
const LISTING_1_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/** Every picture file under `root` by the `listing` rules, unsorted, with relative names and raw
 *  paths; and the relative names of the files in other picture formats. */
async function listPictures(root: string, listing: PictureListing): Promise<{ listed: { name: string; path: Buffer; link: boolean }[]; others: string[]; unlisted: UnlistedFolder[] }> {
  const out: { name: string; path: Buffer; link: boolean }[] = [];
  const others: string[] = [];
  const unlisted: UnlistedFolder[] = [];
  const rootPath = Buffer.from(root);
  const seen = new Set<string>();
  let linkedFolders: { name: string; path: Buffer }[] = [];
  /** Lists a folder not seen before (a loop, or a folder reached twice, is skipped). */
  const walk = async (dir: Buffer, prefix: string): Promise<void> => {
    const key = await realKey(dir);
    if (key !== null && seen.has(key)) return;
    if (key !== null) seen.add(key);
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true, encoding: 'buffer' });
    } catch (e) {
      if (prefix === '') throw e; // the folder itself: the caller's error
      unlisted.push({ name: prefix, reason: unlistableFolder(join(root, prefix), e) });
      return;
    }
    for (const entry of entries) {
      if (entry.name[0] === DOT) continue;
      const path = Buffer.concat([dir, SEPARATOR, entry.name]);
      const name = join(prefix, nameText(entry.name));
      if (entry.isDirectory()) await walk(path, name);
      else if (entry.isSymbolicLink() && (await stat(path).then((s) => s.isDirectory(), () => false))) linkedFolders.push({ name, path });
      else if (listing === 1 ? LISTING_1_EXTENSIONS.some((e) => name.toLowerCase().endsWith(e)) : hasPictureExtension(name)) out.push({ name, path, link: entry.isSymbolicLink() }); // a dangling link too: reading it reports why it cannot be read
      else if (hasOtherPictureExtension(name) && !(listing === 1 && hasPictureExtension(name))) others.push(name);
    }
  };
  await walk(rootPath, '');
  // Linked folders after the real tree, in name order, so that a folder also reached directly
  // keeps its real name; the links they hold in turn come after them.
  while (linkedFolders.length > 0) {
    const batch = linkedFolders.sort(byName);
    linkedFolders = [];
    for (const { name, path } of batch) await walk(path, name);
  }
  return { listed: out, others, unlisted: unlisted.sort(byName) };
}

/** Why a picture cannot be looked at, in words, from stat's error: most often a link to nothing. */
async function whyUnreadable(path: Buffer, e: NodeJS.ErrnoException): Promise<string> {
  const link = await lstat(path).then((s) => s.isSymbolicLink(), () => false);
  const target = link ? await readlink(path, { encoding: 'utf8' }).catch(() => '') : '';
  if (link && e.code === 'ENOENT') return `a symbolic link to a file that does not exist${target ? ` (${target})` : ''}. Restore the file, or remove the link`;
  if (link && e.code === 'ELOOP') return 'a symbolic link that leads round in a loop (through other links) and never to a file. Remove the link';
  if (e.code === 'ENOENT') return 'the file was removed while the folder was read';
  if (e.code === 'EACCES' || e.code === 'EPERM') return `no permission to look at the file (${e.code}). Change its permissions, or move it out of the folder`;
  return `cannot look at the file (${e.message})`;
}

/** Files of other formats a message names one by one; the rest are counted. */
const OTHERS_NAMED = 4;

/** Files in other picture formats, counted by ending: "2 .tif, 1 .webp", most common first; and
 *  the first few by name, "a.tif, b/c.tif, d.webp", with how many more, so the user can find them. */
export function describeOtherFormats(names: string[]): { count: number; text: string; named: string } {
  const counts = new Map<string, number>();
  for (const name of names) {
    const ext = extname(name).toLowerCase();
    counts.set(ext, (counts.get(ext) ?? 0) + 1);
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
  return { count: names.length, text: sorted.map(([ext, n]) => `${n} ${ext}`).join(', '), named: someNames(names, OTHERS_NAMED) };
}

/** A name that leads to a picture already listed under another (`same`). */
export interface DuplicatePicture {
  name: string;
  same: string;
}

/**
 * The pictures under `root`, sorted by relative name, each stamped from `stat` (following links),
 * each file once (`duplicates`: the other names of a file reached twice, sorted), the names of
 * the files in picture formats that are not read (`others`, sorted), and the subfolders that
 * could not be listed (`unlisted`, sorted). Throws when `root` itself cannot be listed.
 */
export async function stampPictures(root: string, listing: PictureListing = 2): Promise<{ pictures: PictureFile[]; duplicates: DuplicatePicture[]; others: string[]; unlisted: UnlistedFolder[] }> {
  const { listed, others, unlisted } = await listPictures(root, listing);
  // Sorted as JavaScript strings (UTF-16 code units), as always, so that a folder keeps its order
  // and so its split; two names shown alike (U+FFFD for different bytes) go by their bytes.
  listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : Buffer.compare(a.path, b.path)));
  const stamped = await Promise.all(
    listed.map(async ({ name, path, link }): Promise<PictureFile & { file: string | null; link: boolean }> => {
      try {
        const s = await stat(path);
        // The file itself, whatever name reaches it (a regular file with an inode number: a device's says nothing of its contents).
        const file = s.isFile() && s.ino > 0 ? `${s.dev}:${s.ino}` : null;
        return { name, path, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino, regular: s.isFile(), file, link };
      } catch (e) {
        // Cannot be looked at (a dangling or looping link): the reader skips it, saying why.
        return { name, path, size: -1, mtimeMs: -1, ctimeMs: -1, ino: -1, regular: true, unreadable: await whyUnreadable(path, e as NodeJS.ErrnoException), file: null, link };
      }
    }),
  );
  // Each file under one name: one that is not a link when there is one, else the first in name order.
  const kept = new Map<string, string>();
  for (const p of [...stamped.filter((p) => !p.link), ...stamped.filter((p) => p.link)]) {
    if (p.file !== null && !kept.has(p.file)) kept.set(p.file, p.name);
  }
  const duplicates: DuplicatePicture[] = [];
  const pictures: PictureFile[] = [];
  for (const { file, link: _, ...picture } of stamped) {
    const same = file === null ? undefined : kept.get(file);
    if (listing === 2 && same !== undefined && same !== picture.name) duplicates.push({ name: picture.name, same });
    else pictures.push(picture);
  }
  return { pictures, duplicates, others: others.sort(), unlisted };
}
