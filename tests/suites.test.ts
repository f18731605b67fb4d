// The lists of tests/suites.ts against the test files that exist: a test that builds kernels runs
// on the other WebGPU implementations or says why not, and a test with f16 cases reaches the one
// adapter that has shader-f16. Without this, a new kernel's test would run on Dawn alone and its
// f16 cases nowhere, and every run would still pass.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BROWSER_ONLY_TESTS, HALF_PRECISION_TESTS, KERNEL_TESTS, NODE_ONLY_KERNEL_TESTS } from './suites';

const testFiles = readdirSync('tests').filter((f) => f.endsWith('.test.ts')).map((f) => `tests/${f}`);
const source = (file: string) => readFileSync(file, 'utf8');
/** Imports a kernel factory (shaders/) or the package's kernel API (src/kernels). */
const buildsKernels = (file: string) => /from '\.\.\/(shaders\/|src\/kernels')/.test(source(file));
/** Uses the f16 helpers, whose cases skip on an adapter without shader-f16. */
const hasHalfCases = (file: string) => /from '\.\/helpers\/f16'/.test(source(file));

describe('tests/suites.ts', () => {
  it('names only test files that exist, each once', () => {
    const listed = [...KERNEL_TESTS, ...Object.keys(NODE_ONLY_KERNEL_TESTS), ...HALF_PRECISION_TESTS, ...BROWSER_ONLY_TESTS];
    expect(listed.filter((f) => !existsSync(f))).toEqual([]);
    expect(listed.filter((f, i) => listed.indexOf(f) !== i && !HALF_PRECISION_TESTS.includes(f))).toEqual([]);
  });

  it('places every test that builds kernels: on the kernel list, the f16 list or the Node-only list with a reason', () => {
    const placed = new Set([...KERNEL_TESTS, ...HALF_PRECISION_TESTS, ...Object.keys(NODE_ONLY_KERNEL_TESTS)]);
    const unplaced = testFiles.filter((f) => buildsKernels(f) && !placed.has(f));
    expect(unplaced, 'add these to KERNEL_TESTS in tests/suites.ts (or to NODE_ONLY_KERNEL_TESTS with the reason)').toEqual([]);
  });

  it('sends every test with f16 cases to the lavapipe run', () => {
    const missing = testFiles.filter((f) => hasHalfCases(f) && !HALF_PRECISION_TESTS.includes(f));
    expect(missing, 'add these to HALF_PRECISION_TESTS in tests/suites.ts').toEqual([]);
  });

  it('the checks see what they look for (negative controls)', () => {
    expect(buildsKernels('tests/matmul.test.ts')).toBe(true);
    expect(buildsKernels('tests/kernels-api.test.ts')).toBe(true);
    expect(buildsKernels('tests/suites.test.ts')).toBe(false);
    expect(hasHalfCases('tests/f16.test.ts')).toBe(true);
    expect(hasHalfCases('tests/matmul.test.ts')).toBe(false);
  });
});
