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
 * The files that take longest, longest first (seconds on 2 cores: Node, Chromium, Deno, e2e).
 * Started first, none of them is left running alone at the end while the other worker idles.
 * Without this list a fresh checkout (no timings cached) would start the largest files first,
 * and matmul.test.ts, the slowest, is among the smaller ones.
 */
export const SLOWEST_FIRST = [
  'e2e/images', // 96 s
  'matmul', // 112 s Node, 124 s Chromium, 88 s Deno
  'gpu-sh', // 72 s
  'f16', // 70 s on lavapipe
  'conv', // 47 s Node, 47 s Chromium, 39 s Deno
  'cli-images', // 43 s
  'cli', // 34 s
  'e2e/demo', // 31 s
  'f16-conv', // 26 s
  'package', // 23 s: the npm pack install and the dist/ build
  'e2e/recovery', // 22 s
  'e2e/embed', // 21 s
  'conv-layers', // 19 s
  'resume', // 17 s
  'e2e/present-canvas', // 12 s
  'autotune', // 11 s
  'group-norm', // 9 s
  'device-loss', // 9 s
  'gradcheck', // 8 s on Deno
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
