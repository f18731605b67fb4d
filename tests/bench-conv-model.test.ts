// bench/conv-model.ts, at a size that runs in seconds on SwiftShader: one JSON record per method
// choice asked for, each with positive GPU times, the defaults' slowest dispatches, and a refusal
// naming the methods for an unknown one.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

// tsx's CLI under this Node, so the test needs no npx on the PATH.
const tsxCli = createRequire(import.meta.url).resolve('tsx/cli');
const run = (...args: string[]) => spawnSync(process.execPath, [tsxCli, 'bench/conv-model.ts', ...args], { encoding: 'utf8', timeout: 300_000 });

describe('bench/conv-model.ts', () => {
  it('times the train graph under each method choice and prints one record each', () => {
    const r = run('--image=1,8,8', '--channels=16,16', '--dense=none', '--latent=2', '--batch=2', '--rounds=1', '--methods=defaults,im2col,direct-subgroup', '--json');
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const records = lines.filter((x) => x.bench === 'conv_model');
    expect(records.map((x) => x.choice)).toEqual(['defaults', 'im2col', 'direct-subgroup']);
    // The defaults' slowest dispatches, slowest first, each a dispatch of the graph (SwiftShader has timestamps).
    const slowest = lines.filter((x) => x.bench === 'conv_model_dispatch');
    expect(slowest.length).toBeGreaterThan(3);
    expect(slowest.length).toBeLessThanOrEqual(12);
    expect(slowest.map((d) => d.median_ms)).toEqual([...slowest.map((d) => d.median_ms)].sort((a, b) => b - a));
    for (const d of slowest) expect(d).toMatchObject({ kernel: expect.stringMatching(/^[\w-]+$/), index: expect.any(Number), workgroups: expect.any(Number) });
    expect(new Set(slowest.map((d) => d.index)).size).toBe(slowest.length);
    for (const x of records) {
      expect(x).toMatchObject({ bench: 'conv_model', batch: 2, channels: [16, 16] });
      expect(x.samples_ms).toHaveLength(2);
      expect(x.median_ms).toBeGreaterThan(0);
    }
  }, 300_000);

  it('refuses an unknown method, naming the ones it takes', () => {
    const r = run('--methods=defaults,fft');
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/--methods: unknown fft; use defaults or direct, direct-subgroup, implicit-gemm, im2col/);
  }, 300_000);
});
