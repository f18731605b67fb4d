// `--env chromium`: bundles bench/page/page.ts with esbuild (a dependency of tsx and vite), serves
// it with the MNIST bytes from 127.0.0.1 (navigator.gpu needs a secure context), and runs it in
// headless system Chromium through Playwright with the flags the browser tests use (SwiftShader
// when there is no GPU). Records come back through page.exposeFunction as they are produced.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'esbuild';
import { chromiumArgs } from '../tests/browser-flags';
import type { BenchOptions, BenchRecord } from './common';
import { loadBenchData } from './node-env';
import type { PageRequest } from './page/page';

const PAGE_ENTRY = fileURLToPath(new URL('./page/page.ts', import.meta.url));

/**
 * Node-only modules reached behind Node-only branches (bench/matmul.ts's own CLI imports the Node
 * device helper, which imports Dawn and node: built-ins). Each becomes an empty CommonJS module,
 * which esbuild lets any named import read (as undefined), so the bundle builds and never calls them.
 */
const nodeStubs: Plugin = {
  name: 'node-only-stubs',
  setup(build) {
    build.onResolve({ filter: /^(node:.*|webgpu|module|fs|path|os|url)$/ }, (a) => ({ path: a.path, namespace: 'node-stub' }));
    build.onLoad({ filter: /.*/, namespace: 'node-stub' }, () => ({ loader: 'js', contents: 'module.exports = {};' }));
  },
};

export async function bundlePage(): Promise<string> {
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [PAGE_ENTRY],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    write: false,
    minify: false,
    logLevel: 'silent',
    // bench/matmul.ts asks `process.argv[1]` whether it is the main module.
    define: { 'process.argv': '[]', 'process.env.NODE_ENV': '"production"' },
    plugins: [nodeStubs],
  });
  return result.outputFiles[0].text;
}

const HTML = '<!doctype html><meta charset="utf-8"><title>webgpu-vae bench</title><script type="module" src="/bench.js"></script>';

function serve(bundle: string, data: Uint8Array): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (type: string, body: string | Uint8Array) => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    if (path === '/' || path === '/index.html') send('text/html; charset=utf-8', HTML);
    else if (path === '/bench.js') send('text/javascript; charset=utf-8', bundle);
    else if (path === '/data.u8') send('application/octet-stream', data);
    else if (path === '/favicon.ico') {
      res.writeHead(204);
      res.end();
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

export async function runInChromium(opts: BenchOptions, emit: (r: BenchRecord) => void, log: (line: string) => void): Promise<void> {
  const t0 = performance.now();
  const bundle = await bundlePage();
  log(`chromium: page bundled (${(bundle.length / 2 ** 20).toFixed(1)} MiB) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const data = await loadBenchData(opts);
  const server = await serve(bundle, data.images);
  const { chromium } = await import('playwright');
  const executablePath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const browser = await chromium.launch({ executablePath, headless: true, args: chromiumArgs() });
  try {
    const page = await browser.newPage();
    await page.exposeFunction('__benchEmit', (json: string) => emit(JSON.parse(json) as BenchRecord));
    await page.exposeFunction('__benchLog', (line: string) => log(`chromium: ${line}`));
    page.on('pageerror', (e) => log(`chromium: page error: ${e.message}`));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') log(`chromium console.${m.type()}: ${m.text()}`);
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    await page.goto(url);
    await page.waitForFunction(() => typeof (window as unknown as { __runBench?: unknown }).__runBench === 'function', undefined, { timeout: 120_000 });
    log(`chromium: ${await browser.version()} at ${url}`);
    const request: PageRequest = { opts, dim: data.dim };
    await page.evaluate((req) => (window as unknown as { __runBench(r: PageRequest): Promise<void> }).__runBench(req), request);
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
