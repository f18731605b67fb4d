// Temporary files of writes that were killed midway (kill -9, a crash, power loss). Files are
// written to a temporary name holding the writer's process id and renamed into place, so a killed
// write leaves its temporary file, which nothing else removes: as large as a checkpoint, or as the
// pictures of a folder's cache. A later writer of the same folder removes those whose writer no
// longer runs. Shared by the run folder's files (src/cli/files.ts) and the picture caches
// (image-cache.ts).
import { readdirSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';

/** Whether a process of that id runs: signal 0 checks without sending; EPERM means it runs as another user. */
export function processRuns(pid: number): boolean {
  if (!Number.isSafeInteger(pid)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the files in `dir` whose name `writerOf` reads a writer's process id from, where that
 * process no longer runs; `ownAreStale` says whether this process's own count as gone (a process
 * whose writes are synchronous has none open now). Every other file stays, and so does one that
 * cannot be removed. A folder that cannot be listed has nothing removed. Returns the paths removed.
 */
export function removeStaleTemps(dir: string, writerOf: (name: string) => number | null, ownAreStale: boolean): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return []; // no folder (yet), or not ours to list: nothing to tidy
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const pid = writerOf(entry);
    if (pid === null || (pid === process.pid ? !ownAreStale : processRuns(pid))) continue;
    try {
      unlinkSync(join(dir, entry));
      removed.push(join(dir, entry));
    } catch { /* gone meanwhile, or not ours to remove: it harms nothing but space */ }
  }
  return removed;
}
