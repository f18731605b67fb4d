// Global setup of the end-to-end tests: build the demo once (or reuse dist-demo/ with
// WEBGPU_VAE_E2E_REUSE_BUILD=1) and serve the built files with Vite's preview server on a free
// port of 127.0.0.1 (a secure context, so navigator.gpu exists). Test files get its URL through
// inject('demoUrl').
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { build, preview } from 'vite';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    demoUrl: string;
  }
}

const root = resolve(import.meta.dirname, '../..');
const configFile = resolve(root, 'vite.config.ts');

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const reuse = process.env.WEBGPU_VAE_E2E_REUSE_BUILD === '1' && existsSync(resolve(root, 'dist-demo/index.html'));
  if (!reuse) {
    const t0 = performance.now();
    await build({ configFile, logLevel: 'error' });
    console.log(`e2e: built the demo into dist-demo/ in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const server = await preview({ configFile, logLevel: 'error', preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a URL');
  project.provide('demoUrl', url);
  return () => server.close();
}
