// The run order of the test files (tests/run-order.ts): the slowest named there must exist, or
// a renamed file would silently drop back into vitest's size order and run alone at the end.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { rankOf, SLOWEST_FIRST, testWorkers } from './run-order';

const here = import.meta.dirname;

describe('test run order', () => {
  it('names only test files that exist, each once', () => {
    const missing = SLOWEST_FIRST.filter((name) => !existsSync(resolve(here, `${name}.test.ts`)));
    expect(missing).toEqual([]);
    expect(new Set(SLOWEST_FIRST).size).toBe(SLOWEST_FIRST.length);
  });

  it('ranks a listed file by its place, e2e files by their folder, and others last', () => {
    expect(rankOf(resolve(here, 'matmul.test.ts'))).toBe(SLOWEST_FIRST.indexOf('matmul'));
    expect(rankOf(resolve(here, 'e2e/images.test.ts'))).toBe(0);
    // conv.test.ts and conv-layers.test.ts are different files; so are e2e/demo and a demo-*.
    expect(rankOf(resolve(here, 'conv-layers.test.ts'))).toBe(SLOWEST_FIRST.indexOf('conv-layers'));
    expect(rankOf(resolve(here, 'demo-config.test.ts'))).toBe(SLOWEST_FIRST.length);
    expect(rankOf(resolve(here, 'images.test.ts'))).toBe(SLOWEST_FIRST.length);
  });

  it('runs two to four files at a time, or as many as WEBGPU_VAE_TEST_WORKERS asks, refusing a bad count', () => {
    const saved = process.env.WEBGPU_VAE_TEST_WORKERS;
    try {
      delete process.env.WEBGPU_VAE_TEST_WORKERS;
      expect(testWorkers()).toBeGreaterThanOrEqual(2);
      expect(testWorkers()).toBeLessThanOrEqual(4);
      process.env.WEBGPU_VAE_TEST_WORKERS = '1';
      expect(testWorkers()).toBe(1);
      process.env.WEBGPU_VAE_TEST_WORKERS = '3';
      expect(testWorkers()).toBe(3);
      for (const bad of ['many', '0', '1.5']) {
        process.env.WEBGPU_VAE_TEST_WORKERS = bad;
        expect(() => testWorkers()).toThrow(`WEBGPU_VAE_TEST_WORKERS must be an integer >= 1 (test files at once), got '${bad}'`);
      }
    } finally {
      if (saved === undefined) delete process.env.WEBGPU_VAE_TEST_WORKERS;
      else process.env.WEBGPU_VAE_TEST_WORKERS = saved;
    }
  });
});
