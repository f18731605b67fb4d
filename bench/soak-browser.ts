// The browser soak: the demo page driven as a person would, through its data-testid hooks, in
// system Chromium. Each cycle presses Start, waits for --steps training steps, presses Reset and
// waits for Ready; after each cycle the trainer worker's and the page's JS heaps are measured after
// a forced garbage collection (Chrome DevTools Protocol: HeapProfiler.collectGarbage and
// Runtime.getHeapUsage on each target), and the GPU buffers the worker holds are counted by
// wrapping GPUDevice.prototype.createBuffer and GPUBuffer.prototype.destroy inside the worker (the
// page itself exposes no count). The verdict is bench/soak-verdict.ts's, with one sample per cycle.
//
//   npx tsx bench/soak-browser.ts [--cycles 10] [--steps 100] [--snapshot-from N] [--reuse-build] [--json]
//
// --snapshot-from N takes a heap snapshot of the page after cycle N and after the last, and lists
// what the later one holds more of, by constructor (bench/heap-snapshot.ts): where a growing
// heap's bytes are.
//
// The demo is built into dist-demo/ (unless --reuse-build and it exists) and served by Vite's
// preview server on 127.0.0.1 (navigator.gpu needs a secure context).
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CDPSession, Page } from 'playwright';
import { build, preview } from 'vite';
import { launch } from '../tests/e2e/browser';
import { formatSoak, MIN_SOAK_SAMPLES, soakExitStatus, soakVerdict, type SoakSample } from './soak-verdict';
import { heapGrowth, snapshotOfSession, summarizeHeap, type HeapGroup } from './heap-snapshot';

const ROOT = resolve(import.meta.dirname, '..');
/**
 * Heap band of the browser soak: the page and worker heaps are about 4 MiB together, so the Node
 * soak's 4 MiB would let them double; 1 MiB over the whole run is a quarter of them.
 */
const HEAP_BAND_BYTES = 2 ** 20;
/** The e2e tests' small model: about 20 steps/s on SwiftShader, so a cycle takes seconds. */
const SETTINGS = { latent: '2', hidden: '64', batch: '32', subset: '2000', lr: '0.002', seed: '0' };

/** Runs in the worker: counts live GPU buffers and their bytes from here on. */
const COUNT_BUFFERS = `(() => {
  if (self.__soakBuffers) return 'already';
  const live = new Map();
  const stats = { get live() { return live.size; }, get bytes() { let b = 0; for (const s of live.values()) b += s; return b; } };
  const create = GPUDevice.prototype.createBuffer, destroy = GPUBuffer.prototype.destroy;
  GPUDevice.prototype.createBuffer = function (d) { const b = create.call(this, d); live.set(b, b.size); return b; };
  GPUBuffer.prototype.destroy = function () { live.delete(this); return destroy.call(this); };
  self.__soakBuffers = stats;
  return 'installed';
})()`;

/** A CDP connection to one worker target, through the browser session (Playwright opens none for workers). */
async function attachWorker(browserCdp: CDPSession) {
  const { targetInfos } = await browserCdp.send('Target.getTargets');
  const target = targetInfos.find((t) => t.type === 'worker' && t.url.includes('worker'));
  if (!target) throw new Error(`no trainer worker among the targets: ${targetInfos.map((t) => `${t.type} ${t.url}`).join(', ')}`);
  const { sessionId } = await browserCdp.send('Target.attachToTarget', { targetId: target.targetId, flatten: false });
  let next = 0;
  const pending = new Map<number, (m: { result?: Record<string, unknown>; error?: { message: string } }) => void>();
  browserCdp.on('Target.receivedMessageFromTarget', (e) => {
    if (e.sessionId !== sessionId) return;
    const m = JSON.parse(e.message);
    pending.get(m.id)?.(m);
    pending.delete(m.id);
  });
  return async (method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> => {
    const id = ++next;
    const reply = new Promise<{ result?: Record<string, unknown>; error?: { message: string } }>((r) => pending.set(id, r));
    await browserCdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) });
    const m = await reply;
    if (m.error) throw new Error(`${method} in the worker: ${m.error.message}`);
    return m.result ?? {};
  };
}

const status = async (page: Page) => (await page.textContent('[data-testid=status]')) ?? '';

async function waitForStep(page: Page, n: number): Promise<void> {
  await page.waitForFunction((min) => {
    const m = /step (\d+) · loss/.exec(document.querySelector('[data-testid=status]')?.textContent ?? '');
    return !!m && Number(m[1]) >= min;
  }, n, { timeout: 600_000, polling: 200 });
}

const waitForReady = (page: Page) => page.waitForFunction(() => (document.querySelector('[data-testid=status]')?.textContent ?? '').startsWith('Ready'), undefined, { timeout: 300_000, polling: 200 });

function parse(argv: string[]) {
  const opts = { cycles: 10, steps: 100, snapshotFrom: 0, reuseBuild: false, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--reuse-build') opts.reuseBuild = true;
    else if (a === '--json') opts.json = true;
    else if (a === '--cycles' || a === '--steps' || a === '--snapshot-from') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) throw new Error(`${a} needs a positive integer, got '${argv[i] ?? ''}'`);
      opts[a === '--cycles' ? 'cycles' : a === '--steps' ? 'steps' : 'snapshotFrom'] = v;
    } else throw new Error(`unknown option ${a}; use --cycles N, --steps N, --snapshot-from N, --reuse-build, --json`);
  }
  if (opts.cycles < MIN_SOAK_SAMPLES) throw new Error(`--cycles ${opts.cycles}: the verdict compares one sample per cycle, at least ${MIN_SOAK_SAMPLES}; give --cycles ${MIN_SOAK_SAMPLES} or more`);
  if (opts.snapshotFrom >= opts.cycles) throw new Error(`--snapshot-from ${opts.snapshotFrom} must be below --cycles ${opts.cycles}: the second snapshot is taken after the last cycle`);
  return opts;
}

export async function main(argv: string[]): Promise<number> {
  const opts = parse(argv);
  const log = (line: string) => process.stderr.write(`[soak-browser] ${line}\n`);
  const configFile = resolve(ROOT, 'vite.config.ts');
  if (!opts.reuseBuild || !existsSync(resolve(ROOT, 'dist-demo/index.html'))) {
    log('building the demo into dist-demo/');
    await build({ configFile, logLevel: 'error' });
  }
  const server = await preview({ configFile, logLevel: 'error', preview: { host: '127.0.0.1', port: 0, strictPort: true, open: false } });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a URL');
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (e) => log(`page error: ${e.message}`));
    await page.goto(`${url}?present=bitmap`);
    await waitForReady(page);
    const pageCdp = await page.context().newCDPSession(page);
    const inWorker = await attachWorker(await browser.newBrowserCDPSession());
    log(`counting buffers in the worker: ${(await inWorker('Runtime.evaluate', { expression: COUNT_BUFFERS, returnByValue: true }) as { result: { value: string } }).result.value}`);
    for (const [name, value] of Object.entries(SETTINGS)) await page.fill(`[name=${name}]`, value);

    const samples: SoakSample[] = [];
    let earlier: Map<string, HeapGroup> | null = null;
    for (let cycle = 1; cycle <= opts.cycles; cycle++) {
      const t0 = performance.now();
      await page.click('[data-testid=start]');
      await waitForStep(page, opts.steps);
      const ms = performance.now() - t0;
      const reached = await status(page);
      await page.click('[data-testid=reset]');
      await waitForReady(page);
      await inWorker('HeapProfiler.collectGarbage');
      await pageCdp.send('HeapProfiler.collectGarbage');
      const worker = await inWorker('Runtime.getHeapUsage') as { usedSize: number };
      const main = await pageCdp.send('Runtime.getHeapUsage');
      const counted = await inWorker('Runtime.evaluate', { expression: 'JSON.stringify({ live: self.__soakBuffers.live, bytes: self.__soakBuffers.bytes })', returnByValue: true }) as { result: { value: string } };
      const buffers = JSON.parse(counted.result.value) as { live: number; bytes: number };
      // Losses reach the page every few steps, so a cycle runs past --steps; time per step reached.
      const steps = Number(/step (\d+)/.exec(reached)?.[1] ?? opts.steps);
      const s: SoakSample = { step: cycle, gpuBytes: buffers.bytes, buffers: buffers.live, heapBytes: worker.usedSize + main.usedSize, rssBytes: null, stepMs: ms / steps };
      samples.push(s);
      log(`cycle ${cycle}: "${reached}" in ${(ms / 1000).toFixed(1)} s; after reset ${buffers.live} buffers (${buffers.bytes} bytes), heap worker ${(worker.usedSize / 2 ** 20).toFixed(2)} MiB + page ${(main.usedSize / 2 ** 20).toFixed(2)} MiB`);
      if (opts.json) console.log(JSON.stringify({ bench: 'soak_browser_sample', ...s, worker_heap: worker.usedSize, page_heap: main.usedSize }));
      if (opts.snapshotFrom && (cycle === opts.snapshotFrom || cycle === opts.cycles)) {
        const summary = summarizeHeap(await snapshotOfSession(pageCdp));
        if (cycle === opts.snapshotFrom) earlier = summary;
        else {
          const growth = heapGrowth(earlier!, summary);
          log(`page heap, cycle ${opts.snapshotFrom} to ${cycle}, what grew (self bytes, objects):`);
          for (const g of growth) log(`  ${String(g.selfBytes).padStart(8)} B ${String(g.count).padStart(6)}  ${g.group}`);
          if (opts.json) console.log(JSON.stringify({ bench: 'soak_browser_heap_growth', from: opts.snapshotFrom, to: cycle, growth }));
        }
      }
    }
    const verdict = soakVerdict(samples, HEAP_BAND_BYTES);
    if (opts.json) console.log(JSON.stringify({ bench: 'soak_browser_verdict', cycles: opts.cycles, steps: opts.steps, chromium: browser.version(), ...verdict }));
    else console.log(`browser soak: ${opts.cycles} cycles of Start, ${opts.steps} steps, Reset in Chromium ${browser.version()}; ms/step is a cycle's time (model build included) over the steps it reached\n\n${formatSoak(samples, verdict, 'cycle')}`);
    return soakExitStatus(verdict);
  } finally {
    await browser.close();
    await new Promise<void>((r) => server.httpServer.close(() => r()));
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.dirname, 'soak-browser.ts')) {
  main(process.argv.slice(2)).then((code) => process.exit(code), (e) => {
    process.stderr.write(`soak-browser: ${e instanceof Error ? e.stack ?? e.message : e}\n`);
    process.exit(2);
  });
}
