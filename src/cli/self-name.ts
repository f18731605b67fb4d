// How the user can run this program again from their shell, for the commands the CLI prints
// ("continue with webgpu-vae train --resume ..."). Installed (npm install -g, or a project's
// node_modules/.bin on PATH), that is `webgpu-vae`; from a clone of the repository (`npm start`,
// `node bin/webgpu-vae.mjs`) no such name is on PATH, and `npx webgpu-vae` finds the clone's own.
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
    if (!dir) continue;
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
