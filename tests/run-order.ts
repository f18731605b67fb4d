// How the suites share the machine: test files run two at a time (more on larger machines), the
// slowest first.
//
// On a software GPU a kernel test's time is mostly pipeline compiles, and each WebGPU device
// compiles on one thread (Dawn in Node, Chromium's GPU process, wgpu in Deno). With GPU waits
// through gentleWait (src/gpu/gentle-wait.ts), a Node test process keeps about one core busy, so
// a second file in a second process uses the other. Measured on 2 cores: the Node suite took
// 294 s two at a time against 510 s one at a time, Deno's kernel suite 106 s against 214 s.
// Chromium shares one GPU process between the files of a run, so scripts/test-browser.sh starts
// two runs instead.
import { availableParallelism, cpus } from 'node:os';
import { basename } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/** Test processes at once: WEBGPU_VAE_TEST_WORKERS, else one per core, 2 to 4. */
export function testWorkers(): number {
  const raw = process.env.WEBGPU_VAE_TEST_WORKERS;
  if (raw !== undefined && raw !== '') {
    const asked = Number(raw);
    if (!Number.isInteger(asked) || asked < 1) throw new Error(`WEBGPU_VAE_TEST_WORKERS must be an integer >= 1 (test files at once), got '${raw}'`);
    return asked;
  }
  const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
  return Math.max(2, Math.min(4, cores));
}

/**
 * The files that take longest, longest first (seconds in one CI run on 2 cores, 2026-12-04: Node,
 * Chromium, Deno, e2e). Started first, none of them is left running alone at the end while the
 * other worker idles. Without this list a fresh checkout (no timings cached) would start the
 * largest files first, and matmul.test.ts, the slowest, is among the smaller ones.
 */
export const SLOWEST_FIRST = [
  'e2e/images', // 134 s
  'matmul', // 191 s Node, 246 s Chromium, 105 s Deno
  'gpu-sh', // 104 s
  'gpu-all', // 48 s
  'conv', // 52 s Node, 87 s Chromium, 44 s Deno
  'cli-images', // 77 s
  'cli', // 76 s
  'e2e/demo', // 66 s
  'e2e/page-controls', // 62-81 s (2026-12-07): left to the end, it ran alone for over a minute
  'conv-layers', // 63 s Node, 35 s Chromium, 17 s Deno
  'bounds-checks', // 64 s (2026-12-07, a slow day)
  'matmul-register-vec4', // 36 s Node, 32 s Chromium (2026-12-07)
  'hot-kernels', // 33 s Node under load, 10 s Chromium (2026-12-07)
  'e2e/recovery', // 37 s
  'e2e/embed', // 36 s
  'torch-parity', // 34 s
  'package', // 33 s: the npm pack install and the dist/ build
  'resume', // 30 s
  'autotune', // 30 s
  'gpu-defaults', // 25 s (2026-12-06, alone)
  'device-loss', // 25 s
  'e2e/present-canvas', // 24 s
  'gradcheck', // 19 s Chromium, 12 s Node
  'group-norm', // 18 s Chromium
  'f16', // 14 s on lavapipe
  'f16-conv',
];

/** Where `file` (a test file's path) stands in SLOWEST_FIRST; files not listed come after all of them. */
export const rankOf = (file: string): number => {
  const name = basename(file).replace(/\.test\.ts$/, '');
  const key = /[/\\]e2e[/\\]/.test(file) ? `e2e/${name}` : name;
  const i = SLOWEST_FIRST.indexOf(key);
  return i < 0 ? SLOWEST_FIRST.length : i;
};

/** Vitest's order (failed first, then cached durations, then size), the files above moved to the front. */
export class SlowestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const base = await super.sort(files);
    return base
      .map((spec, i) => ({ spec, i, rank: rankOf(spec.moduleId) }))
      .sort((a, b) => a.rank - b.rank || a.i - b.i)
      .map(({ spec }) => spec);
  }
}

/** The scheduling every parallel suite's config spreads into its `test` block. */
export function fileScheduling(): { maxWorkers: number; sequence: { sequencer: typeof SlowestFirst } } {
  return { maxWorkers: testWorkers(), sequence: { sequencer: SlowestFirst } };
}
