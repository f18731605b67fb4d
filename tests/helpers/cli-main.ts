// Runs the CLI's main() in-process with stdout and stderr captured, for tests of what a user sees.
import { vi } from 'vitest';
import { main } from '../../src/cli/main';

export interface Outcome { code: number; stdout: string; stderr: string }

export async function runMain(argv: string[]): Promise<Outcome> {
  let stdout = '', stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { stdout += String(s); return true; });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { stderr += String(s); return true; });
  try {
    return { code: await main(argv), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}
