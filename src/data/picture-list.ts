// The pictures a folder run trained on, by name, each with a digest of its decoded pixels. The
// command line writes the list beside a new run (pictures.json) so that a resume refused because
// the folder changed can name the pictures added, removed or changed, not only say that some were.
// A run started before the list existed has none, and the refusal says what it can without it.
import { createHash } from 'node:crypto';
import { someNames } from '../errors';

/** The list's file in a run's folder. */
export const PICTURE_LIST_FILE = 'pictures.json';

/** Name -> digest (the first 16 hex digits of SHA-256 of its pixels) of the pictures stacked in
 *  `pixels`, `size` bytes each, in the order of `files`. */
export function pictureDigests(files: readonly string[], pixels: Uint8Array, size: number): Map<string, string> {
  const digests = new Map<string, string>();
  files.forEach((name, i) => {
    digests.set(name, createHash('sha256').update(pixels.subarray(i * size, (i + 1) * size)).digest('hex').slice(0, 16));
  });
  return digests;
}

/** The list as the file holds it: one JSON object of name -> digest, names sorted. */
export function formatPictureList(digests: ReadonlyMap<string, string>): string {
  return `${JSON.stringify(Object.fromEntries([...digests].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))))}\n`;
}

/** The list a file holds, or null when it is not one (another program's file, a damaged one). */
export function parsePictureList(text: string): Map<string, string> | null {
  try {
    const parsed: unknown = JSON.parse(text);
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
    const entries = Object.entries(parsed as Record<string, unknown>);
    return entries.every(([, v]) => typeof v === 'string') ? new Map(entries as [string, string][]) : null;
  } catch {
    return null;
  }
}

/** "changed: a.png; added: b.png, c.png; removed: d.png and 3 more", or null when the two lists
 *  hold the same pictures. A renamed picture is one removed and one added. */
export function describePictureChanges(before: ReadonlyMap<string, string>, now: ReadonlyMap<string, string>, shown = 4): string | null {
  const changed = [...now].filter(([name, digest]) => before.has(name) && before.get(name) !== digest).map(([name]) => name);
  const added = [...now.keys()].filter((name) => !before.has(name));
  const removed = [...before.keys()].filter((name) => !now.has(name));
  const parts = ([['changed', changed], ['added', added], ['removed', removed]] as const).filter(([, names]) => names.length).map(([what, names]) => `${what}: ${someNames(names, shown)}`);
  return parts.length ? parts.join('; ') : null;
}
