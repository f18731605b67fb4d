// A terminal that closes under a training run (its window closed, an ssh session dropped) sends it
// SIGHUP, and every later write to the terminal fails (EIO). The run answers as it does SIGTERM: a
// checkpoint at the next step, its folder let go, and an end by the signal. It used to end at once,
// the steps since the last epoch's checkpoint lost; answered, its message to the closed terminal
// then crashed it (an unheard EIO), and Node's own exit aborted (restoring the gone terminal's
// settings). `script` (util-linux, in every Debian) gives the run a terminal to lose.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { processRuns } from '../src/data/stale-temps';
import { LOCK_FILE } from '../src/cli/run-lock';
import { peekMetadata } from '../src/io/safetensors';
import { shellQuote } from '../src/cli/self-name';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
const haveScript = spawnSync('script', ['--version']).status === 0;

async function until(what: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 100))) if (what()) return true;
  return what();
}

describe('a closed terminal', () => {
  it.skipIf(!haveScript)('stops train with a checkpoint at the next step, as SIGTERM does', async () => {
    const root = mkdtempSync(join(tmpdir(), 'webgpu-vae-hangup-'));
    const dir = join(root, 'run'), pidFile = join(root, 'pid'), errFile = join(root, 'stderr');
    const train = [process.execPath, BIN, 'train', '--limit', '4096', '--test-limit', '128', '--hidden', '64', '--latent', '8', '--batch', '64', '--epochs', '3', '--out', dir];
    // The run's stdin and stdout are the terminal; stderr goes to a file, to read what it said after.
    const command = `echo $$ > ${shellQuote(pidFile)}; exec ${train.map(shellQuote).join(' ')} 2> ${shellQuote(errFile)}`;
    const terminal = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
    let shown = '';
    terminal.stdout.on('data', (d) => { shown += d; });
    expect(await until(() => shown.includes('epoch 1:'), 240_000), shown).toBe(true);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // The terminal goes away: its master side closes, and the kernel hangs up on the run.
    terminal.kill('SIGKILL');
    expect(await until(() => !processRuns(pid), 120_000), 'the run ended').toBe(true);
    const stderr = readFileSync(errFile, 'utf8');
    expect(stderr).not.toMatch(/EIO|Assertion failed|internal error|\n\s+at /);
    const log = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    expect(log.at(-1)).toMatchObject({ event: 'interrupted', reason: 'SIGHUP' });
    const progress = JSON.parse(peekMetadata(new Uint8Array(readFileSync(join(dir, 'training-state.safetensors'))))!.progress!);
    expect(progress.step, 'the checkpoint is of the step it stopped at').toBe(log.at(-1).step);
    expect(existsSync(join(dir, LOCK_FILE)), 'the folder let go').toBe(false);
  }, 300_000);
});
