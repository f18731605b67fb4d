// bench/gpu.sh in its --small mode, on whatever adapter this machine has (SwiftShader in CI): it
// must run every part and write the JSON and Markdown reports. On a GPU the same script runs the
// full sizes; this keeps it from rotting where there is none.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs } from '../bench/args';
import { gpuFileName, markdownReport, peakFor } from '../bench/gpu-report';
import { CONV_METHODS } from '../src/model/layers/conv-ops';
import { tempDir } from './helpers/temp-dir';

describe('bench/gpu.sh', () => {
  it('--small runs the step comparison, sweep, matmul table, ceiling, autotune, the f16 step and the conv benchmarks, and writes both reports', () => {
    const out = tempDir('gpu-sh-');
    const run = spawnSync('bash', ['bench/gpu.sh', '--small', '--peak-gflops', '100', '--out', out], { encoding: 'utf8', timeout: 1_700_000 });
    expect(run.status, run.stderr.slice(-3000)).toBe(0);
    const files = readdirSync(out).sort();
    expect(files.length).toBe(2);
    const json = JSON.parse(readFileSync(join(out, files.find((f) => f.endsWith('.json'))!), 'utf8'));
    expect(json.peak_gflops).toBe(100);
    const benches = (json.records as { bench: string; impl?: string; batch?: number; variant?: string; first_step_ms?: number; autotune?: string; precision?: string; matmul_generic?: boolean }[]);
    const steps = benches.filter((r) => r.bench === 'train_step');
    // At --small every step runs at batch 32: the comparison with TF.js, then ours with
    // shape-generic matmuls (the default here already).
    expect(steps.every((s) => s.batch === 32), 'every step at batch 32').toBe(true);
    const f32Steps = steps.filter((s) => s.autotune !== 'quick' && s.precision !== 'f16');
    expect(f32Steps.map((s) => s.impl)).toEqual(['webgpu-vae', 'tfjs-webgpu', 'webgpu-vae']);
    expect(f32Steps[2].matmul_generic).toBe(true);
    expect(steps.filter((s) => s.autotune === 'quick').map((s) => s.impl)).toEqual(['webgpu-vae']);
    // The f16 step: measured where the adapter has shader-f16, else a note says why not.
    const f16 = steps.filter((s) => (s as { precision?: string }).precision === 'f16');
    const skipped = benches.filter((r) => r.bench === 'note' && /f16 step skipped: this adapter has no shader-f16/.test((r as { message?: string }).message ?? ''));
    expect(f16.length + skipped.length, 'an f16 step record or the note that skips it').toBe(1);
    if (f16.length) expect(f16[0]).toMatchObject({ impl: 'webgpu-vae', batch: 32 });
    expect(steps.every((s) => (s.first_step_ms ?? 0) > 0)).toBe(true);
    expect(benches.filter((r) => r.bench === 'sweep').map((r) => r.batch)).toEqual([32, 64]);
    expect(new Set(benches.filter((r) => r.bench === 'matmul').map((r) => r.variant)).size).toBeGreaterThanOrEqual(4);
    // The square again without bounds checks, in rows of its own (Node).
    const matmuls = benches.filter((r) => r.bench === 'matmul') as { label?: string; bounds_checks?: boolean; M?: number; variant?: string }[];
    const unchecked = matmuls.filter((r) => r.bounds_checks === false);
    expect(unchecked.map((r) => r.variant), 'the two variants --small times unchecked').toEqual(['register', 'tiled-vec4']);
    expect(unchecked.every((r) => r.label === 'square, unchecked' && r.M === 64)).toBe(true);
    expect(matmuls.filter((r) => r.label === 'square').map((r) => r.variant)).toEqual(expect.arrayContaining(['register', 'tiled-vec4']));
    // The tile ladder, cut to its first 3 candidates at --small, each a distinct tile.
    const ladder = benches.filter((r) => r.bench === 'matmul_ladder') as { tile?: string; M?: number; median_ms?: number }[];
    expect(ladder.length).toBe(3);
    expect(new Set(ladder.map((r) => r.tile)).size).toBe(3);
    expect(ladder.every((r) => r.M === 32 && (r.median_ms ?? 0) > 0)).toBe(true);
    // The convolution table (every method and TF.js) and the conv VAE step against TF.js.
    // (GFLOP/s are rounded to 3 decimals: at these tiny sizes some round to 0, so check the times.)
    const convs = benches.filter((r) => r.bench === 'conv') as { impl?: string; median_ms?: number; gflops?: number }[];
    expect(new Set(convs.map((c) => c.impl))).toEqual(new Set([...CONV_METHODS, 'tfjs']));
    // Two layers at --small, three operations each, for every method and TF.js.
    expect(convs.length).toBe((CONV_METHODS.length + 1) * 3 * 2);
    for (const c of convs) expect((c.median_ms ?? 0) > 0 && (c.gflops ?? -1) >= 0, JSON.stringify(c)).toBe(true);
    expect(benches.filter((r) => r.bench === 'conv_step').map((r) => r.impl).sort()).toEqual(['tfjs-webgpu', 'webgpu-vae']);
    const convModel = benches.filter((r) => r.bench === 'conv_model') as { choice?: string; median_ms?: number }[];
    expect(convModel.map((r) => r.choice)).toEqual(['defaults', 'direct']);
    expect(convModel.every((r) => (r.median_ms ?? 0) > 0)).toBe(true);
    const ceiling = benches.filter((r) => r.bench === 'arith_peak') as { gflops?: number }[];
    expect(ceiling.length).toBe(1);
    expect(ceiling[0].gflops).toBeGreaterThan(0);
    const md = readFileSync(join(out, files.find((f) => f.endsWith('.md'))!), 'utf8');
    expect(md).toMatch(/## Train step, ours against TF\.js WebGPU/);
    expect(md).toMatch(/\| batch \| impl \| autotune \| precision \| matmuls \|/);
    expect(md).toMatch(/\| 32 \| webgpu-vae \| off \| f32 \| generic \|/);
    expect(md).toMatch(/## Matmul variants \(GFLOP\/s; % of fp32 peak\)/);
    expect(md).toMatch(/\| square, unchecked \| 64 x 64 x 64 \| nn \|/);
    expect(md).toMatch(/\d+\.\d%\)/);
    expect(md).toMatch(/## Tile ladder on the 32\^3 product[\s\S]*\| tiled[-\w]* \d+x\d+ BK\d+ \dx\d\/thread \|/);
    expect(md).toMatch(/## Convolutions \(GFLOP\/s; % of fp32 peak\)/);
    expect(md).toMatch(/## Conv VAE train graph 1x16x16, channels 4,8, dense none, batch 2[\s\S]*\| direct \| \d+\.\d{3} \|/);
    expect(md).toMatch(/Its slowest dispatches under the defaults:\n\n\| # \| kernel \| workgroups \| GPU ms \|\n\|---\|---\|---\|---\|\n\| \d+ \| [\w-]+ \| \d+ \| \d+\.\d{4} \|/);
    expect(md).toMatch(/- the unprofiled step's passes span \d+\.\d{3} ms of GPU time, \d+% of the step/);
    expect(md).toMatch(/## Training from the command line \(bench\/train-rate\.ts: the dSprites conv beta-TCVAE, the steps below\)[\s\S]*\| --arch conv .* \| 16 \| 4 \| \d+\.\d{3} \|/);
    expect(md).toMatch(/## MNIST conv VAE step \(channels 4-8\), ours against TF\.js WebGPU[\s\S]*TF\.js \/ ours = \d+\.\d+x/);
    expect(md).toMatch(/Measured arithmetic ceiling \(bench --peak\): \d+\.\d GFLOP\/s, \d+% of the fp32 peak/);
  }, 1_800_000);

  it('refuses an unknown option or --env before measuring anything', () => {
    for (const [args, message] of [[['--env', 'deno'], /--env takes node or chromium, got 'deno'/], [['--fast'], /unknown option '--fast'/]] as const) {
      const run = spawnSync('bash', ['bench/gpu.sh', ...args], { encoding: 'utf8', timeout: 30_000 });
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(message);
    }
  });

  it('names files after the adapter and knows the peaks of common GPUs', () => {
    expect(gpuFileName('nvidia / hopper / NVIDIA H200')).toBe('nvidia-hopper-nvidia-h200');
    expect(gpuFileName('google / swiftshader (software, CPU)')).toBe('google-swiftshader-software');
    expect(peakFor('nvidia / hopper / NVIDIA H200')?.gflops).toBe(66900);
    expect(peakFor('google / swiftshader')).toBeNull();
    expect(markdownReport([], null, null)).toMatch(/unknown \(give --peak-gflops\)/);
  });

  it('takes --precision f32 (the default) or f16, and refuses anything else', () => {
    expect(parseArgs(['--step']).precision).toBe('f32');
    expect(parseArgs(['--step', '--precision', 'f16']).precision).toBe('f16');
    expect(() => parseArgs(['--precision', 'f8'])).toThrow(/--precision must be f32 or f16, got 'f8'/);
  });

  it('takes --matmul-shapes generic or specialized (default: the adapter\'s choice), and refuses anything else', () => {
    expect(parseArgs(['--step']).matmulShapes).toBe('default');
    expect(parseArgs(['--step', '--matmul-shapes', 'generic']).matmulShapes).toBe('generic');
    expect(parseArgs(['--step', '--matmul-shapes', 'specialized']).matmulShapes).toBe('specialized');
    expect(() => parseArgs(['--matmul-shapes', 'tiled'])).toThrow(/--matmul-shapes must be generic or specialized \(default: the adapter's choice\), got 'tiled'/);
  });

  it('takes --matmul-variants as a comma list of variants (default: every one), naming an unknown one', () => {
    expect(parseArgs(['--matmul']).matmulVariants).toBeNull();
    expect(parseArgs(['--matmul', '--matmul-variants', 'register,tiled-vec4']).matmulVariants).toEqual(['register', 'tiled-vec4']);
    expect(() => parseArgs(['--matmul', '--matmul-variants', 'tiled-vec'])).toThrow(/^--matmul-variants: unknown variant 'tiled-vec' \(did you mean 'tiled-vec4'\?\); the variants are register, register-subgroup, tiled, /);
    expect(() => parseArgs(['--matmul', '--matmul-variants', ','])).toThrow(/--matmul-variants needs a comma list of variants/);
  });
});
