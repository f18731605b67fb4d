// The command line as users and scripts call it: a short training run writes the promised files
// and JSON events, eval and sample read its checkpoint, and mistakes give one line and exit 1.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: 300_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as NodeJS.ErrnoException & { code?: number }).code as unknown as number) ?? 1 : 0, stdout, stderr });
    });
  });
}

const jsonLines = (s: string) => s.trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

describe('webgpu-vae CLI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-cli-'));
  const out = join(dir, 'run');

  it('train --limit 512 --epochs 1 --json writes the model, samples and reconstructions', async () => {
    const r = await cli(['train', '--limit', '512', '--epochs', '1', '--json', '--test-limit', '500', '--hidden', '64', '--batch', '32', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const events = jsonLines(r.stdout);
    const epoch = events.find((e) => e.event === 'epoch');
    expect(epoch).toMatchObject({ event: 'epoch', epoch: 1 });
    for (const k of ['train_loss', 'test_loss', 'test_kl', 'test_rec', 'seconds', 'samples_per_s']) expect(Number.isFinite(epoch[k]), k).toBe(true);
    expect(epoch.test_loss).toBeCloseTo(epoch.test_rec + epoch.test_kl, 3);
    expect(epoch.train_loss).toBeLessThan(520); // an untrained model scores about 784 ln 2 = 543
    const done = events.find((e) => e.event === 'done');
    expect(done.files).toEqual({ model: join(out, 'model.safetensors'), samples: join(out, 'samples.png'), reconstructions: join(out, 'reconstructions.png') });
    const ckpt = readCheckpoint(new Uint8Array(readFileSync(done.files.model)));
    expect(ckpt.config.hidden).toEqual([64]);
    const samples = decode(readFileSync(done.files.samples));
    expect(samples.width).toBeGreaterThan(8 * 28);
    expect(samples.height).toBe(samples.width); // 8x8 grid
    expect(decode(readFileSync(done.files.reconstructions)).width).toBeGreaterThan(8 * 28);
    // Evaluating the checkpoint repeats the training run's test figure (same seed, same noise).
    const ev = await cli(['eval', '--checkpoint', done.files.model, '--limit', '500', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const e = jsonLines(ev.stdout).find((x) => x.event === 'eval');
    expect(e.test_loss).toBeCloseTo(epoch.test_loss, 3);
    const png = join(dir, 'more.png');
    const s = await cli(['sample', '--checkpoint', done.files.model, '--n', '16', '--out', png]);
    expect(s.code, s.stderr).toBe(0);
    expect(decode(readFileSync(png)).width).toBeGreaterThan(4 * 28);
  });

  it('a conditional IWAE run on binarized data: eval --iwae gives the NLL, sample --label draws one class', async () => {
    const run = join(dir, 'cvae');
    const r = await cli(['train', '--limit', '512', '--epochs', '1', '--json', '--test-limit', '100', '--hidden', '32', '--latent', '4', '--batch', '32',
      '--objective', 'iwae', '--samples', '3', '--conditional', '--binarize', 'dynamic', '--out', run]);
    expect(r.code, r.stderr).toBe(0);
    const events = jsonLines(r.stdout);
    const start = events.find((e) => e.event === 'start');
    expect(start.config).toMatchObject({ objective: 'iwae', samples: 3, classes: 10, binarize: 'dynamic' });
    expect(start.planned_bytes).toBeGreaterThan(0);
    expect(start.saved_bytes).toBeGreaterThanOrEqual(0);
    const model = join(run, 'model.safetensors');
    // samples.png: one row of 8 per class.
    const grid = decode(readFileSync(join(run, 'samples.png')));
    expect(grid.height / grid.width).toBeCloseTo(10 / 8, 1);
    const ev = await cli(['eval', '--checkpoint', model, '--limit', '40', '--iwae', '20', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const lines = jsonLines(ev.stdout);
    const elbo = lines.find((x) => x.event === 'eval'), iw = lines.find((x) => x.event === 'iwae');
    expect(iw).toMatchObject({ samples: 20, examples: 40 });
    // The K = 20 bound is an estimate of -log p(x), tighter than the -ELBO on the same examples.
    expect(iw.nll).toBeLessThan(elbo.test_loss);
    expect(iw.nll).toBeGreaterThan(0.5 * elbo.test_loss);
    expect(iw.stderr).toBeGreaterThan(0);
    expect(iw.bits_per_dim).toBeCloseTo(iw.nll / (784 * Math.LN2), 6);
    const png = join(dir, 'three.png');
    const s = await cli(['sample', '--checkpoint', model, '--label', '3', '--n', '4', '--out', png, '--json']);
    expect(s.code, s.stderr).toBe(0);
    expect(jsonLines(s.stdout).find((x) => x.event === 'done').label).toBe(3);
    const wrong = await cli(['sample', '--checkpoint', model, '--label', '10', '--out', png]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/--label must be an integer in 0\.\.9/);
    const plain = await cli(['sample', '--checkpoint', join(out, 'model.safetensors'), '--label', '3', '--out', png]);
    expect(plain.code).toBe(1);
    expect(plain.stderr).toMatch(/--label needs a conditional checkpoint/);
  });

  const mistakes: [string, string[], RegExp][] = [
    ['bad objective', ['train', '--objective', 'vae'], /--objective must be one of elbo, iwae/],
    ['beta with iwae', ['train', '--objective', 'iwae', '--beta', '2', '--limit', '64'], /apply to the elbo objective only/],
    ['too many samples for the ELBO', ['train', '--samples', '65'], /--samples must be an integer in 1\.\.64/],
    ['unknown flag', ['train', '--epoch', '3'], /Unknown option '--epoch'.*Valid flags: .*--epochs/],
    ['bad integer', ['train', '--batch', 'abc'], /--batch must be an integer/],
    ['bad choice', ['train', '--likelihood', 'poisson'], /--likelihood must be one of bernoulli, gaussian/],
    ['bad hidden list', ['train', '--hidden', '512,,256'], /--hidden must be one or more positive integers/],
    ['unknown command', ['fit'], /unknown command 'fit'/],
    ['missing checkpoint', ['eval', '--checkpoint', '/nonexistent/model.safetensors'], /does not exist/],
    ['missing required flag', ['sample', '--out', 'x.png'], /--checkpoint is required/],
  ];
  for (const [label, args, message] of mistakes) {
    it(`${label}: one clear line on stderr, exit 1, no stack trace`, async () => {
      const r = await cli(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it('a corrupt checkpoint is refused with a clear error', async () => {
    const bad = join(dir, 'corrupt.safetensors');
    writeFileSync(bad, 'this is not a checkpoint at all');
    const r = await cli(['eval', '--checkpoint', bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: .*(header|safetensors|length)/i);
    expect(existsSync(bad)).toBe(true);
  });
});

describe('webgpu-vae train: run folders', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgpu-vae-runs-'));

  it('a new run into a folder that holds a run is refused, and the folder is left as it was', async () => {
    const model = join(dir, 'model.safetensors');
    writeFileSync(model, 'an earlier model');
    const r = await cli(['train', '--limit', '64', '--out', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/already holds a run \(model\.safetensors\); continue it with `webgpu-vae train --resume .*`, or add --force/);
    expect(readFileSync(model, 'utf8')).toBe('an earlier model');
  });

  const mistakes: [string, string[], RegExp][] = [
    ['resume of a folder with no training state', ['train', '--resume', dir], /holds model\.safetensors but no training-state\.safetensors/],
    ['resume of a missing folder', ['train', '--resume', join(dir, 'nope')], /--resume .*nope: no such folder/],
    ['resume and force together', ['train', '--resume', dir, '--force'], /--force starts a run over and --resume continues one/],
    ['bad --save-every', ['train', '--save-every', 'often'], /--save-every must be an integer/],
  ];
  for (const [label, args, message] of mistakes) {
    it(`${label}: one clear line on stderr, exit 1`, async () => {
      const r = await cli(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    });
  }
});
