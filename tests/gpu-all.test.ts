// bench/gpu-all.sh in its --small mode on whatever adapter this machine has (SwiftShader in CI),
// without the two parts other tests already cover (gpu.sh has its own test; the suite is this
// one): both dSprites trainings must run side by side for the time given (counted from each one's
// first step, however long loading and compiling take on a loaded machine), be interrupted into a
// checkpoint, and leave their evaluation, factor report and pictures. The script is what a
// machine with a real GPU runs in one sitting, so it must not rot where there is none.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { describe, expect, it } from 'vitest';
import { tempDir } from './helpers/temp-dir';

const script = (args: string[]) => spawnSync('bash', ['bench/gpu-all.sh', ...args], { encoding: 'utf8', timeout: 600_000 });
const jsonLines = (file: string) => readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));

describe('bench/gpu-all.sh', () => {
  it('trains the grey and colour dSprites models for the time given, then evaluates and draws them', () => {
    const out = tempDir('gpu-all-');
    // Under a deadline (as on a machine lent for 10 minutes a command) far enough not to cut them.
    const run = script(['--small', '--skip', 'bench,tests', '--train-seconds', '8', '--deadline', '400', '--out', out]);
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    expect(run.stderr).not.toMatch(/the trainings get/);
    for (const name of ['dsprites-tcvae-32', 'dsprites-colour']) {
      expect(existsSync(join(out, name, 'model.safetensors')), `${name}'s checkpoint`).toBe(true);
      const steps = jsonLines(join(out, `${name}-train.jsonl`)).filter((r) => typeof r.step === 'number');
      expect(steps.length, `${name}: step records`).toBeGreaterThan(0);
      const evals = jsonLines(join(out, `${name}-eval.jsonl`));
      const evaluation = evals.filter((r) => r.event === 'eval');
      expect(evaluation.length, `${name}: an eval record`).toBe(1);
      expect(Number.isFinite(evaluation[0].test_loss) && evaluation[0].test_loss > 0, JSON.stringify(evaluation[0])).toBe(true);
    }
    const factors = jsonLines(join(out, 'dsprites-tcvae-32-traverse.jsonl'));
    expect(factors.some((r) => typeof r.mig?.value === 'number'), 'the factor report gives a MIG').toBe(true);
    for (const picture of ['dsprites-tcvae-32-traversal.png', 'dsprites-tcvae-32-reconstructions.png', 'dsprites-colour-reconstructions.png']) {
      const png = decode(readFileSync(join(out, picture)));
      expect(png.width * png.height, picture).toBeGreaterThan(64 * 64);
    }
    expect(existsSync(join(out, 'failures')), 'no part failed').toBe(false);
  });

  it('refuses a missing --out, an unknown part to skip and a non-numeric time, naming each', () => {
    const noOut = script(['--small']);
    expect(noOut.status).toBe(2);
    expect(noOut.stderr).toMatch(/--out DIR is required/);
    const badSkip = script(['--out', tempDir('gpu-all-'), '--skip', 'bench,trains']);
    expect(badSkip.status).toBe(2);
    expect(badSkip.stderr).toMatch(/--skip takes bench, grey, colour or tests, got 'trains'/);
    const badTime = script(['--out', tempDir('gpu-all-'), '--train-seconds', '5m']);
    expect(badTime.status).toBe(2);
    expect(badTime.stderr).toMatch(/--train-seconds takes whole seconds, got '5m'/);
    // A deadline cuts the trainings to what is left of it less their 90 s reserve.
    const cut = script(['--skip', 'bench,grey,colour,tests', '--train-seconds', '60', '--deadline', '100', '--out', tempDir('gpu-all-')]);
    expect(cut.status, cut.stderr).toBe(0);
    expect(cut.stderr).toMatch(/--deadline 100: the trainings get 10 s of their 60/);
    // gpu.sh runs under the deadline too: stopped at it (a failed part, named), not run past it.
    const began = performance.now();
    const stoppedOut = tempDir('gpu-all-');
    const stopped = script(['--small', '--skip', 'grey,colour,tests', '--deadline', '8', '--out', stoppedOut]);
    const gpuShLog = readFileSync(join(stoppedOut, 'gpu-sh.log'), 'utf8');
    expect(gpuShLog, 'gpu.sh ran').not.toMatch(/command not found/);
    expect(gpuShLog.length, 'gpu.sh ran and said something before it was stopped').toBeGreaterThan(0);
    expect(stopped.status, stopped.stderr).toBe(1);
    expect(stopped.stderr).toMatch(/\[gpu-all\]   gpu\.sh \(see gpu-sh\.log\)/);
    expect(performance.now() - began).toBeLessThan(20_000);
    const badDeadline = script(['--out', tempDir('gpu-all-'), '--deadline', '-1']);
    expect(badDeadline.status).toBe(2);
    expect(badDeadline.stderr).toMatch(/--deadline takes whole seconds, got '-1'/);
  });
});
