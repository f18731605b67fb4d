// Process ids for tests of locks and leftovers: one of a process that runs until the test file
// ends (a `sleep`, killed by afterAll), and one of a process that has ended.
import { spawn, spawnSync } from 'node:child_process';
import { afterAll } from 'vitest';

const children: { kill: () => void }[] = [];
afterAll(() => children.forEach((c) => c.kill()));

/** The id of a process that runs until this test file's end. */
export function liveProcess(): number {
  const child = spawn('sleep', ['600'], { stdio: 'ignore' });
  children.push(child);
  return child.pid!;
}

/** The id of a process that has ended. */
export const deadPid = (): number => spawnSync('true').pid!;
