// A reading command (eval, sample, ...) stopped by Ctrl-C says that it stopped and what it leaves,
// then ends by the signal as Node would have (status 130 in a shell), without a native crash.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
const FIXTURE = join(__dirname, 'fixtures', 'v1-checkpoint.safetensors');

describe('Ctrl-C on eval', () => {
  it('says it stopped and wrote nothing, and ends by SIGINT', async () => {
    // An IWAE estimate long enough to be interrupted once the device is up.
    const child = spawn(process.execPath, [BIN, 'eval', '--checkpoint', FIXTURE, '--iwae', '5000', '--limit', '500'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '', signalled = false;
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!signalled && stderr.includes('adapter:')) {
        signalled = true;
        setTimeout(() => child.kill('SIGINT'), 500);
      }
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('close', (c, s) => resolve([c, s])));
    expect(signalled, stderr).toBe(true);
    expect({ code, signal }, stderr).toEqual({ code: null, signal: 'SIGINT' });
    expect(stderr).toContain('SIGINT received: eval stopped before it finished; it writes no file');
    expect(stderr).not.toMatch(/Segmentation|internal error/);
  }, 300_000);
});
