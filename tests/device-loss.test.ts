// A device lost mid-run, on the real command: WEBGPU_VAE_TEST_LOSE_DEVICE_AT_STEP=k (a test hook,
// see src/cli/recovery.ts) destroys the process's device right after step k, as a driver reset
// would. With --retries the run says what happened and continues from the last checkpoint on a
// fresh device, ending bit for bit where an undisturbed run ends; with none left it exits 4 with
// the checkpoint intact and the command that resumes, which then finishes the run identically.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeAll } from '../src/cli/files';
import { DEVICE_LOST_EXIT_CODE } from '../src/cli/recovery';
import { trainCommand } from '../src/cli/train';
import type { AcquiredDevice } from '../src/gpu/device';
import { acquireNodeDevice } from '../src/gpu/node-device';
import { decodeSafetensors } from '../src/io/safetensors';
import { readTrainingState } from '../src/training-state';
import { tempDir } from './helpers/temp-dir';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
/** 8 steps per epoch; the device goes after step 10, two steps past the epoch-end checkpoint. */
const RUN = ['--hidden', '32', '--latent', '4', '--limit', '512', '--batch', '64', '--test-limit', '128', '--epochs', '3'];
const LOSE_AT = 10;
const root = tempDir('webgpu-vae-device-loss-');
const baseline = join(root, 'baseline');
/** Child processes compile every pipeline, twice when they retry: give a busy machine room. */
const SLOW = 600_000;
let device: AcquiredDevice;

function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: SLOW - 60_000, env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Every tensor of a run's two files as raw bytes, and its step and epoch figures without timings. */
function outcome(dir: string) {
  const tensors = (file: string) => Object.fromEntries(Object.entries(decodeSafetensors(new Uint8Array(readFileSync(join(dir, file)))).tensors)
    .map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64')]));
  const figures = new Map<string, unknown>();
  for (const e of readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l))) {
    if (e.event !== 'step' && e.event !== 'epoch') continue;
    const { seconds: _s, samples_per_s: _r, ...rest } = e;
    figures.set(`${e.event}:${e.step}`, rest);
  }
  return { model: tensors('model.safetensors'), state: tensors('training-state.safetensors'), figures: [...figures.values()] };
}

const stepOf = (dir: string) => readTrainingState(new Uint8Array(readFileSync(join(dir, 'training-state.safetensors')))).progress.step;
const LOSE = { WEBGPU_VAE_TEST_LOSE_DEVICE_AT_STEP: String(LOSE_AT) };

beforeAll(async () => {
  device = await acquireNodeDevice();
  const out: string[] = [];
  const code = await trainCommand([...RUN, '--out', baseline, '--json'], { device, print: (_s, t) => out.push(t) });
  expect(code, out.join('')).toBe(0);
}, SLOW);
afterAll(() => device?.device.destroy());

describe('a lost device', () => {
  it('--retries 1: says so, continues from the checkpoint of step 8 on a fresh device, and ends identical to an undisturbed run', async () => {
    const dir = join(root, 'retry');
    const r = await cli(['train', ...RUN, '--retries', '1', '--out', dir, '--json'], LOSE);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the GPU device was lost \(destroyed\): .*; the last checkpoint \(step 8\) in .*retry is intact; retrying from it on a fresh device \(0 retries left\)/);
    const events = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(events.find((e) => e.event === 'device-lost')).toMatchObject({ action: 'retry', checkpoint_step: 8, retries_left: 0 });
    expect(events.filter((e) => e.event === 'start')).toHaveLength(2); // one per device
    expect(events.at(-1)).toMatchObject({ event: 'done', steps: 24 });
    expect(outcome(dir)).toEqual(outcome(baseline));
    const log = readFileSync(join(dir, 'metrics.jsonl'), 'utf8');
    expect(log).toContain('"event":"device-lost"');
    expect(log).toContain('"event":"restart"');
  }, SLOW);

  it('the retry keeps the flags about this machine that the run record does not hold (--autotune)', async () => {
    const dir = join(root, 'retry-autotune');
    const r = await cli(['train', ...RUN, '--retries', '1', '--autotune', 'quick', '--max-gpu-memory', '4096', '--out', dir, '--json'], LOSE);
    expect(r.code, r.stderr).toBe(0);
    const starts = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).filter((e) => e.event === 'start');
    expect(starts).toHaveLength(2);
    for (const start of starts) expect(start.autotune?.mode, 'each attempt autotunes').toBe('quick');
  }, SLOW);

  it('--retries 0: exit 4, the checkpoint intact, the resume command printed; resuming finishes the run identically', async () => {
    const dir = join(root, 'no-retry');
    const r = await cli(['train', ...RUN, '--retries', '0', '--save-every', '4', '--out', dir], LOSE);
    expect(r.code, r.stderr + r.stdout).toBe(DEVICE_LOST_EXIT_CODE);
    expect(r.stdout).toMatch(new RegExp(`the GPU device was lost \\(destroyed\\).*; the last checkpoint \\(step 8\\) in .*no-retry is intact; continue with\\n  (npx )?webgpu-vae train --resume ${dir}`));
    expect(stepOf(dir)).toBe(8);
    const out: string[] = [];
    expect(await trainCommand(['--resume', dir, '--json'], { device, print: (_s, t) => out.push(t) }), out.join('')).toBe(0);
    expect(outcome(dir)).toEqual(outcome(baseline));
  }, SLOW);

  it('lost after the last checkpoint, while drawing the pictures: the restart on a fresh device only draws them', async () => {
    const dir = join(root, 'after-last');
    const first = await acquireNodeDevice();
    const fresh: AcquiredDevice[] = [];
    const out: string[] = [];
    let files = 0;
    // One attempt listens for signals at a time: the failed one until the next takes over (no
    // gap while the fresh device comes, where a Ctrl-C would kill the process without a word),
    // then the next alone, so a Ctrl-C is answered once, not once per attempt.
    const listening = process.listenerCount('SIGINT');
    let listeningAtRetry = -1;
    const listeningWhilePrinting: number[] = [];
    const code = await trainCommand([...RUN, '--out', dir, '--json'], {
      device: first,
      print: (_s, t) => {
        out.push(t);
        listeningWhilePrinting.push(process.listenerCount('SIGINT'));
      },
      // Checkpoints at steps 8, 16 and 24 write two files each; the device goes as the sixth is written.
      writeChunk: (fd, bytes) => {
        writeAll(fd, bytes);
        if (++files === 6) first.device.destroy();
      },
      newDevice: async () => {
        listeningAtRetry = process.listenerCount('SIGINT');
        fresh.push(await acquireNodeDevice());
        return fresh.at(-1)!;
      },
    }).finally(() => fresh.forEach((d) => d.device.destroy()));
    expect(code, out.join('')).toBe(0);
    expect(fresh).toHaveLength(1);
    expect(listeningAtRetry, 'SIGINT listeners while the fresh device comes').toBe(listening + 1);
    expect(Math.max(...listeningWhilePrinting), 'SIGINT listeners at any line of either attempt').toBe(listening + 1);
    expect(process.listenerCount('SIGINT'), 'after the run').toBe(listening);
    expect(out.join('')).toMatch(/the GPU device was lost \(destroyed\): .*; the last checkpoint \(step 24\) in .* is intact; retrying from it on a fresh device/);
    expect(outcome(dir)).toEqual(outcome(baseline));
    for (const picture of ['samples.png', 'reconstructions.png']) {
      expect(existsSync(join(dir, picture)), picture).toBe(true);
      expect(readFileSync(join(dir, picture)).equals(readFileSync(join(baseline, picture))), `${picture} as the undisturbed run drew it`).toBe(true);
    }
  }, SLOW);
});
