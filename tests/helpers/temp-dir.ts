// Temporary directories for tests that write files (CLI runs, checkpoints, pictures). Each one is
// removed when the test file's tests have finished, so repeated `npm test` runs leave nothing in
// the system's temp folder. Vitest evaluates this module once per test file (files are isolated),
// so the hook below belongs to the file that imports it.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];

afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new, empty directory under the system temp folder (`prefix` + random), removed after the file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
