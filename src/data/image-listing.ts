// Which files of a picture folder are pictures (Node), and their stamps, the cache's key material.
//
// A picture is a file whose name ends in .png, .jpg or .jpeg (any letter case), in the folder or
// any subfolder; names starting with a dot (hidden files and folders, the cache) are skipped.
// Links are followed: a link to a file is listed by its own name, and a link to a folder is
// walked like a subfolder, after every real subfolder, so that a folder reached twice (through a
// link and directly, or a link that loops back to a parent) is listed once, under its real name
// when it has one. Names are read as the bytes the file system stores and files opened by those
// bytes, so a name that is not valid UTF-8 still reads; it is shown (in `files` and messages)
// with U+FFFD in place of the bytes that do not decode.
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import type { FileStamp } from './image-cache';
import { IMAGE_EXTENSIONS } from './image-set';

/** A picture file: its stamp (relative name, size, times, inode), the bytes of its path to open it
 *  by, and whether it is a regular file (a FIFO or a device would block or never end). */
export interface PictureFile extends FileStamp {
  path: Buffer;
  regular: boolean;
}

const isPicture = (name: string) => IMAGE_EXTENSIONS.some((ext) => name.toLowerCase().endsWith(ext));

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

/** Every picture file under `root`, unsorted, with relative names and raw paths. */
async function listPictures(root: string): Promise<{ name: string; path: Buffer }[]> {
  const out: { name: string; path: Buffer }[] = [];
  const rootPath = Buffer.from(root);
  const seen = new Set<string>();
  let linkedFolders: { name: string; path: Buffer }[] = [];
  /** Lists a folder not seen before (a loop, or a folder reached twice, is skipped). */
  const walk = async (dir: Buffer, prefix: string): Promise<void> => {
    const key = await realKey(dir);
    if (key !== null && seen.has(key)) return;
    if (key !== null) seen.add(key);
    for (const entry of await readdir(dir, { withFileTypes: true, encoding: 'buffer' })) {
      if (entry.name[0] === DOT) continue;
      const path = Buffer.concat([dir, SEPARATOR, entry.name]);
      const name = join(prefix, nameText(entry.name));
      if (entry.isDirectory()) await walk(path, name);
      else if (entry.isSymbolicLink() && (await stat(path).then((s) => s.isDirectory(), () => false))) linkedFolders.push({ name, path });
      else if (isPicture(name)) out.push({ name, path }); // a dangling link too: reading it reports why it cannot be read
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
  return out;
}

/** The pictures under `root`, sorted by relative name, each stamped from `stat` (following links). */
export async function stampPictures(root: string): Promise<PictureFile[]> {
  const listed = await listPictures(root);
  // Sorted as JavaScript strings (UTF-16 code units), as always, so that a folder keeps its order
  // and so its split; two names shown alike (U+FFFD for different bytes) go by their bytes.
  listed.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : Buffer.compare(a.path, b.path)));
  return Promise.all(
    listed.map(async ({ name, path }) => {
      try {
        const s = await stat(path);
        return { name, path, size: s.size, mtimeMs: s.mtimeMs, ctimeMs: s.ctimeMs, ino: s.ino, regular: s.isFile() };
      } catch {
        // Unreadable (a dangling or looping link): reading it reports why.
        return { name, path, size: -1, mtimeMs: -1, ctimeMs: -1, ino: -1, regular: true };
      }
    }),
  );
}
