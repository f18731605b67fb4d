// Ctrl-C while `train` decodes a picture folder: the decoding stops between pictures (a large
// folder takes minutes), the command says so and ends by the signal, and it leaves nothing: no
// cache of part of the folder (it would be served as the whole) and no run files.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encode as encodePng } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/temp-dir';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');

/** `n` pictures of noise, which compresses badly, so that decoding them takes a second or more. */
function noiseFolder(n: number, side: number): string {
  const dir = tempDir('webgpu-vae-stop-decoding-');
  let s = 12345;
  for (let k = 0; k < n; k++) {
    const data = new Uint8Array(side * side * 3);
    for (let i = 0; i < data.length; i++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      data[i] = s >>> 24;
    }
    writeFileSync(join(dir, `p${k}.png`), encodePng({ width: side, height: side, data, channels: 3, depth: 8 }));
  }
  return dir;
}

describe('Ctrl-C on train while a picture folder is decoded', () => {
  it('stops decoding, says so, caches nothing, writes no run files and ends with status 130', async () => {
    const data = noiseFolder(1500, 96);
    const out = join(tempDir('webgpu-vae-stop-decoding-run-'), 'run');
    const child = spawn(process.execPath, [BIN, 'train', '--dataset', 'folder', '--data-dir', data, '--image-size', '32', '--out', out, '--epochs', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let said = '', signalled = false;
    // Info lines go to stdout, warnings and errors to stderr: both are watched.
    const watch = (d: Buffer) => {
      said += d;
      if (!signalled && said.includes('decoding the 1500 pictures')) {
        signalled = true;
        child.kill('SIGINT');
      }
    };
    child.stdout.on('data', watch);
    child.stderr.on('data', watch);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    expect(signalled, said).toBe(true);
    expect({ code, signal }, said).toEqual({ code: 130, signal: null });
    expect(said).toContain('SIGINT received while the pictures were decoded: stopped before the first step; nothing was trained or written (the pictures decoded so far are not cached)');
    expect(said).not.toMatch(/compiled in|training and \d+ test pictures/);
    // Stopped between two pictures, not after all 1500 (about 1.5 s here): a whole decode is cached.
    expect(readdirSync(data).filter((f) => !f.endsWith('.png')), 'no cache of part of the folder').toEqual([]);
    expect(existsSync(out) ? readdirSync(out) : [], 'no run files').toEqual([]);
  }, 300_000);
});
