// bench/model-step.ts, at sizes that run in seconds on SwiftShader: a preset's step timed by kernel
// family, the family it exists for among them (IWAE's weights, beta-TCVAE's stratified TC, the
// dSprites raster of pictures drawn on the GPU), and refusals naming the presets and the JSON form.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const run = (...args: string[]) => spawnSync(process.execPath, [tsxCli, 'bench/model-step.ts', ...args], { encoding: 'utf8', timeout: 300_000 });

function records(args: string[]) {
  const r = run(...args, '--rounds=1', '--json');
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  return { step: lines.find((x) => x.bench === 'model_step'), families: lines.filter((x) => x.bench === 'model_step_family') };
}

describe('bench/model-step.ts', () => {
  it.each([
    ['iwae', 'iwae', 2],
    ['tcvae-mss', 'tc', 2],
    ['conditional', 'concat', 3],
  ])('--preset=%s times the step with its %s kernels among the families', (preset, family, dispatches) => {
    const { step, families } = records([`--preset=${preset}`, '--config={"hidden":[8],"latent":2}', '--batch=4']);
    expect(step).toMatchObject({ bench: 'model_step', preset, batch: 4, config: expect.objectContaining({ hidden: [8], latent: 2 }) });
    expect(step.median_ms).toBeGreaterThan(0);
    expect(families.find((f) => f.family === family)).toMatchObject({ dispatches, ms: expect.any(Number) });
    // Largest first, each a positive time.
    expect(families.map((f) => f.ms)).toEqual([...families.map((f) => f.ms)].sort((a, b) => b - a));
    expect(families.every((f) => f.ms > 0)).toBe(true);
  }, 300_000);

  it('draws dSprites on the GPU for the dsprites preset', () => {
    const { families } = records(['--preset=dsprites', '--config={"channels":[4,4,4,4],"dense":[8],"latent":2}', '--batch=2']);
    expect(families.find((f) => f.family === 'dsprites')).toMatchObject({ dispatches: 1 });
  }, 300_000);

  it('--dispatches=N lists the N slowest dispatches of the step, slowest first', () => {
    const r = run('--preset=iwae', '--config={"hidden":[8],"latent":2}', '--batch=4', '--rounds=1', '--dispatches', '3', '--json');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const listed = lines.filter((x) => x.bench === 'model_step_dispatch');
    expect(listed).toHaveLength(3);
    for (const d of listed) expect(d).toMatchObject({ preset: 'iwae', graph: expect.any(String), index: expect.any(Number), kernel: expect.any(String), workgroups: expect.any(Number), median_ms: expect.any(Number) });
    expect(listed.map((d) => d.median_ms)).toEqual([...listed.map((d) => d.median_ms)].sort((a, b) => b - a));
    // The slowest dispatch is no faster than any family's share of one dispatch.
    const families = lines.filter((x) => x.bench === 'model_step_family');
    expect(listed[0].median_ms).toBeGreaterThanOrEqual(Math.max(...families.map((f) => f.ms / f.dispatches)) - 1e-3);
    const bad = run('--dispatches=-1');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--dispatches takes a count of dispatches to list \(0 or more\), got -1/);
  }, 300_000);

  it('refuses an unknown preset and a --config that is not JSON, naming what it takes', () => {
    const unknown = run('--preset=tcave');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toMatch(/--preset: unknown 'tcave'; use one of iwae, tcvae, tcvae-mss, conditional, group-norm, nearest, dsprites/);
    const bad = run('--config={objective:tcvae}');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/--config must be a JSON object of VaeConfig fields/);
  });
});
