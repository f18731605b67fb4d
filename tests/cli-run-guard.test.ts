// What keeps a run whole when something outside it goes wrong: a second `train` into the same
// folder is refused while the first runs (run-lock.ts); a reader of the output that goes away
// (`train --json | head -1`) stops the run as a Ctrl-C does, with a checkpoint, instead of a stack
// trace (closed-output.ts); a Ctrl-C while the program is still loading is answered; and an
// evaluation stops early when asked (VAE.elbo's signal), so that a Ctrl-C during the end-of-epoch
// evaluation is not held up by it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE, lockRunDir } from '../src/cli/run-lock';
import { VAE } from '../src/model/vae';
import { gpu } from './helpers/gpu';
import { runMain } from './helpers/cli-main';
import { deadPid, liveProcess } from './helpers/process-ids';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
const ANNOUNCE_LISTENER = pathToFileURL(join(__dirname, 'fixtures', 'announce-signal-listener.mjs')).href;
const root = mkdtempSync(join(tmpdir(), 'webgpu-vae-guard-'));


describe('one run per folder', () => {
  it('refuses a folder another live process trains into, naming it; takes over the lock of one that is gone', () => {
    const dir = join(root, 'held');
    mkdirSync(dir);
    const other = liveProcess();
    writeFileSync(join(dir, LOCK_FILE), `${other}\n`);
    expect(() => lockRunDir(dir)).toThrow(new RegExp(`^${dir} is in use by another webgpu-vae train \\(process ${other}\\); wait for it to end, or stop it \\(kill -INT ${other} saves its checkpoint first\\); a new run can take another --out\\. ` +
      // The id may be another program's now, which would hold the folder for as long as it runs.
      `If process ${other} is not webgpu-vae \\(see \`ps -p ${other}\`: the run that held the folder was killed and its id reused\\), remove ${join(dir, LOCK_FILE)} and run the command again$`));
    writeFileSync(join(dir, LOCK_FILE), `${deadPid()}\n`);
    const release = lockRunDir(dir);
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
    // The same process again (a run restarting itself after a bad step) holds it already.
    const again = lockRunDir(dir);
    again();
    expect(existsSync(join(dir, LOCK_FILE)), 'still held by the first holder').toBe(true);
    release();
    expect(readdirSync(dir), 'given back: the folder is as it was').toEqual([]);
  });

  it('a folder it had to make is removed again when nothing was written into it', () => {
    const dir = join(root, 'made', 'run');
    lockRunDir(dir)();
    expect(existsSync(dir)).toBe(false);
  });

  it('train is refused before its device starts when the folder is in use', async () => {
    const dir = join(root, 'busy');
    mkdirSync(dir);
    const other = liveProcess();
    writeFileSync(join(dir, LOCK_FILE), `${other}\n`);
    const r = await runMain(['train', '--limit', '256', '--epochs', '1', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`is in use by another webgpu-vae train (process ${other})`);
    expect(r.stderr, 'refused before the device').not.toContain('adapter:');
    expect(readdirSync(dir)).toEqual([LOCK_FILE]);
  });

  it('a folder in use before its first checkpoint is refused for its holder, not for its files', async () => {
    // What a run has written while it trains towards its first checkpoint.
    const dir = join(root, 'starting');
    mkdirSync(dir);
    const other = liveProcess();
    writeFileSync(join(dir, LOCK_FILE), `${other}\n`);
    writeFileSync(join(dir, 'config.json'), '{}\n');
    writeFileSync(join(dir, 'metrics.jsonl'), '');
    const inUse = `${dir} is in use by another webgpu-vae train (process ${other}); wait for it to end, or stop it (kill -INT ${other} saves its checkpoint first); a new run can take another --out. ` +
      `If process ${other} is not webgpu-vae (see \`ps -p ${other}\`: the run that held the folder was killed and its id reused), remove ${join(dir, LOCK_FILE)} and run the command again`;
    for (const argv of [['--resume', dir], ['--out', dir], ['--out', dir, '--force']]) {
      const r = await runMain(['train', '--limit', '256', ...argv]);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.stderr, argv.join(' ')).toContain(inUse);
    }
    expect(readdirSync(dir).sort()).toEqual([LOCK_FILE, 'config.json', 'metrics.jsonl']);
  });
});

describe('outside the run', () => {
  it('a closed output stops train as a Ctrl-C does: a checkpoint, no stack trace', async () => {
    const dir = join(root, 'piped');
    const child = spawn(process.execPath, [BIN, 'train', '--limit', '2048', '--test-limit', '128', '--batch', '32', '--epochs', '4', '--json', '--out', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    // As `| head -1` does: the reader leaves once it has the first step's line.
    child.stdout.on('data', (d) => {
      stdout += d;
      if (stdout.includes('"event":"step"')) child.stdout.destroy();
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|Unhandled|internal error|\n\s+at /);
    expect(stderr).toContain('the output was closed (its reader went away): stopping at the next step, with a checkpoint');
    expect(code, stderr).toBe(130);
    expect(readdirSync(dir)).toEqual(expect.arrayContaining(['model.safetensors', 'training-state.safetensors']));
    expect(readdirSync(dir)).not.toContain(LOCK_FILE);
  }, 300_000);

  it('a Ctrl-C while the program loads is answered, not ended in silence', async () => {
    // The signal goes once the program listens (the preload says when), not at a fixed delay:
    // under load Node's own start-up can outlast any delay, and a signal then ends it unanswered.
    const child = spawn(process.execPath, ['--import', ANNOUNCE_LISTENER, BIN, 'train', '--limit', '256', '--out', join(root, 'early')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let sent = false;
    child.stdout.on('data', (d) => { output += d; });
    child.stderr.on('data', (d) => {
      output += d;
      if (!sent && output.includes('[listening for SIGINT]')) sent = child.kill('SIGINT');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(sent, output).toBe(true);
    expect(code, output).toBe(130);
    // Before the sources are loaded (most machines) or once the command listens: said either way.
    expect(output).toMatch(/SIGINT received (before the command started: nothing was done|: stopping before the first step)/);
  }, 120_000);

  it('an evaluation given a signal stops once it is aborted, with the signal\'s reason', async () => {
    const { device } = await gpu();
    const vae = await VAE.create({ inputDim: 16, hidden: [8], latent: 2 }, { device, batch: 4 });
    const data = vae.upload({ images: new Uint8Array(16 * 4000).fill(100), count: 4000 });
    const whole = await vae.elbo(data);
    expect(Number.isFinite(whole.loss)).toBe(true);
    const stop = new AbortController();
    const running = vae.elbo(data, { signal: stop.signal });
    stop.abort(new Error('stopped by the test'));
    await expect(running).rejects.toThrow('stopped by the test');
    // The model goes on working afterwards.
    expect((await vae.elbo(data)).loss).toBeCloseTo(whole.loss, 4);
    vae.destroy();
  });
});
