// The commands the CLI prints for the user to run next name the program as their shell runs it:
// `webgpu-vae` where that name on PATH is this program (a global install), `npx webgpu-vae` from
// a project or a clone of the repository, where only npm's node_modules/.bin, or nothing, has it.
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/temp-dir';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
const root = tempDir('webgpu-vae-self-name-');

/** stderr of a refusal that prints a command (resuming a folder with no run), under `PATH`. */
function refusalUnder(path: string): Promise<string> {
  const empty = join(root, 'empty');
  mkdirSync(empty, { recursive: true });
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, 'train', '--resume', empty], { env: { ...process.env, PATH: path } }, (_err, _stdout, stderr) => resolve(stderr));
  });
}

describe('the program name in printed commands', () => {
  const systemPath = (process.env.PATH ?? '').split(delimiter).filter((d) => d && !d.includes('node_modules')).join(delimiter);

  it('is `npx webgpu-vae` when no webgpu-vae is on PATH', async () => {
    expect(await refusalUnder(systemPath)).toMatch(/start one with `npx webgpu-vae train --out /);
  });

  it('is `webgpu-vae` when webgpu-vae on PATH is this program, and npx when it is another one', async () => {
    const installed = join(root, 'installed');
    mkdirSync(installed);
    symlinkSync(BIN, join(installed, 'webgpu-vae'));
    expect(await refusalUnder(`${installed}${delimiter}${systemPath}`)).toMatch(/start one with `webgpu-vae train --out /);
    const other = join(root, 'other');
    mkdirSync(other);
    writeFileSync(join(other, 'webgpu-vae'), '#!/bin/sh\necho another version\n', { mode: 0o755 });
    expect(await refusalUnder(`${other}${delimiter}${installed}${delimiter}${systemPath}`)).toMatch(/start one with `npx webgpu-vae train --out /);
  });

  it('is `npx webgpu-vae` when the name is only in a node_modules/.bin that npm or npx put on PATH', async () => {
    const bin = join(root, 'project', 'node_modules', '.bin');
    mkdirSync(bin, { recursive: true });
    symlinkSync(BIN, join(bin, 'webgpu-vae'));
    expect(await refusalUnder(`${bin}${delimiter}${systemPath}`)).toMatch(/start one with `npx webgpu-vae train --out /);
  });
});
