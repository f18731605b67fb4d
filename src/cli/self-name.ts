// How the user can run this program again from their shell, for the commands the CLI prints
// ("continue with webgpu-vae train --resume ..."). Installed globally (npm install -g), that is
// `webgpu-vae`; installed in a project, or run from a clone of the repository (`npm start`,
// `node bin/webgpu-vae.mjs`), the shell has no such name, and `npx webgpu-vae` finds the
// project's or the clone's own.
import { existsSync, realpathSync } from 'node:fs';
import { delimiter, join } from 'node:path';

const NAME = 'webgpu-vae';
let found: string | undefined;

/** Whether `webgpu-vae` on PATH is this very program (not another installed version). */
function onPathIsThisProgram(): boolean {
  const self = process.argv[1];
  if (!self) return false;
  let me: string;
  try {
    me = realpathSync(self);
  } catch {
    return false;
  }
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    // npm and npx put a project's node_modules/.bin on the PATH of what they run, not of the
    // user's shell: a name found only there is typed as `npx webgpu-vae`.
    if (!dir || /node_modules[\\/]\.bin[\\/]?$/.test(dir)) continue;
    const candidate = join(dir, NAME);
    if (!existsSync(candidate)) continue;
    try {
      // The first on PATH is what the shell runs: this program or another.
      return realpathSync(candidate) === me;
    } catch {
      return false;
    }
  }
  return false;
}

/** `webgpu-vae` where the shell runs this program by that name, else `npx webgpu-vae`. */
export function selfName(): string {
  found ??= onPathIsThisProgram() ? NAME : `npx ${NAME}`;
  return found;
}

/** Quotes a path for a shell command line when it needs it. */
export function shellQuote(s: string): string {
  return /^[\w./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}
