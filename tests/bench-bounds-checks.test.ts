// `npm run bench -- --bounds-checks off`: our step on a device without WebGPU's bounds checks
// (acquireNodeDevice's boundsChecks), TF.js's on its own checked device. The option is parsed and
// refused where it cannot hold (Chromium's switch would reach TF.js's page too), the step record
// says what ran, and the report says it beside the table.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../bench/args';
import type { BenchRecord } from '../bench/common';
import { formatReport } from '../bench/report';

describe('bench --bounds-checks', () => {
  it("leaves the choice to WEBGPU_VAE_BOUNDS_CHECKS unless given, takes on or off, and refuses off outside Node", () => {
    expect(parseArgs([]).boundsChecks).toBeUndefined();
    expect(parseArgs(['--bounds-checks', 'on']).boundsChecks).toBe(true);
    expect(parseArgs(['--bounds-checks', 'off']).boundsChecks).toBe(false);
    expect(parseArgs(['--bounds-checks=on']).boundsChecks).toBe(true);
    expect(() => parseArgs(['--bounds-checks', 'no'])).toThrow(/--bounds-checks must be on or off, got 'no'/);
    expect(() => parseArgs(['--bounds-check', 'off'])).toThrow(/unknown option --bounds-check \(did you mean --bounds-checks\?\)/);
    expect(() => parseArgs(['--bounds-checks', 'off', '--env', 'both'])).toThrow(/runs in node only: in Chromium the switch .* is the whole browser's/);
    expect(parseArgs(['--bounds-checks', 'on', '--env', 'chromium']).boundsChecks).toBe(true);
  });

  it('runs our step without the checks, records it and says so in the report', async () => {
    const r = spawnSync(process.execPath, ['bin/bench.mjs', '--step', '--impl', 'ours', '--bounds-checks', 'off', '--batch', '16', '--hidden', '16', '--latent', '2',
      '--steps', '1', '--blocks', '1', '--rounds', '1', '--warmup', '0', '--examples', '64', '--json'], { encoding: 'utf8', timeout: 300_000 });
    expect(r.status, r.stderr).toBe(0);
    const records = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as BenchRecord);
    const step = records.find((x) => x.bench === 'train_step');
    expect(step).toMatchObject({ impl: 'webgpu-vae', bounds_checks: false });
    expect(r.stderr).toMatch(/node: adapter .* \(webgpu-vae's shaders without WebGPU's bounds checks\)/);
    expect(await formatReport(records)).toMatch(/note: webgpu-vae's shaders ran without WebGPU's bounds checks \(--bounds-checks off\); TF\.js's with them/);
    // --bounds-checks on wins over WEBGPU_VAE_BOUNDS_CHECKS=0: the record says nothing of unchecked shaders.
    const forced = spawnSync(process.execPath, ['bin/bench.mjs', '--step', '--impl', 'ours', '--bounds-checks', 'on', '--batch', '16', '--hidden', '16', '--latent', '2',
      '--steps', '1', '--blocks', '1', '--rounds', '1', '--warmup', '0', '--examples', '64', '--json'], { encoding: 'utf8', timeout: 300_000, env: { ...process.env, WEBGPU_VAE_BOUNDS_CHECKS: '0' } });
    expect(forced.status, forced.stderr).toBe(0);
    const forcedStep = forced.stdout.trim().split('\n').map((l) => JSON.parse(l) as BenchRecord).find((x) => x.bench === 'train_step');
    expect(forcedStep).toMatchObject({ impl: 'webgpu-vae' });
    expect(forcedStep).not.toHaveProperty('bounds_checks');
    // With the checks the record carries no such field, and the report no such note.
    const checked = { ...step!, bounds_checks: undefined } as BenchRecord;
    expect(await formatReport([checked])).not.toMatch(/without WebGPU's bounds checks/);
  }, 300_000);
});
