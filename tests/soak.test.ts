// The soak benchmark (npm run bench -- --soak) kept working: its argument rules, its verdict on
// made-up series that do and do not grow, and a real 30-step run with an evaluation and a sample
// every 10 steps whose verdict is computed from counted buffers, a collected heap and timed steps.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../bench/args';
import { trackBuffers } from '../bench/buffer-tracker';
import { runSoak } from '../bench/soak';
import { heapGrowth, summarizeHeap, takeHeapSnapshot } from '../bench/heap-snapshot';
import { formatSoak, HEAP_BAND_BYTES, slope, soakExitStatus, soakVerdict, type SoakSample } from '../bench/soak-verdict';
import { loadMnistNode } from '../src/data/mnist-node';
import type { AcquiredDevice } from '../src/gpu/device';
import { acquireNodeDevice } from '../src/gpu/node-device';

const MiB = 2 ** 20;
const flat = (n: number, over: Partial<SoakSample> = {}, grow: (i: number) => Partial<SoakSample> = () => ({})): SoakSample[] =>
  Array.from({ length: n }, (_, i) => ({ step: (i + 1) * 500, gpuBytes: 1000, buffers: 20, heapBytes: 8 * MiB, rssBytes: 300 * MiB, stepMs: 150, ...over, ...grow(i) }));
const check = (samples: SoakSample[], name: string) => soakVerdict(samples).checks.find((c) => c.name === name)!;

describe('soak arguments', () => {
  it('defaults to 10000 steps, an eval every 1000 and a sample every 500 over all of MNIST', () => {
    expect(parseArgs(['--soak']).soak).toEqual({ steps: 10000, evalEvery: 1000, sampleEvery: 500, examples: 60000, testExamples: 10000 });
    expect(parseArgs(['--soak', '--steps', '30', '--eval-every', '10', '--sample-every', '10']).soak).toMatchObject({ steps: 30, evalEvery: 10, sampleEvery: 10 });
    expect(parseArgs(['--step']).soak).toBeNull();
  });

  it('refuses soak settings without --soak, and --soak in the browser', () => {
    expect(() => parseArgs(['--eval-every', '10'])).toThrow(UsageError);
    expect(() => parseArgs(['--eval-every', '10'])).toThrow(/--eval-every belongs to --soak/);
    expect(() => parseArgs(['--soak', '--env', 'chromium'])).toThrow(/node only/);
    expect(() => parseArgs(['--soak', '--sample-every', '0'])).toThrow(/--sample-every needs a positive integer/);
  });

  it('refuses a soak too short for the two samples its verdict compares, naming the steps it needs', () => {
    expect(() => parseArgs(['--soak', '--steps', '500'])).toThrow(
      /^--soak --steps 500 takes 1 sample \(one every --sample-every 500 steps\), and its verdict compares at least 2: give --steps 1000 or more, or a smaller --sample-every$/);
    expect(() => parseArgs(['--soak', '--steps', '30', '--sample-every', '20'])).toThrow(/takes 1 sample .* give --steps 40 or more/);
    expect(parseArgs(['--soak', '--steps', '1000']).soak).toMatchObject({ steps: 1000, sampleEvery: 500 });
    expect(parseArgs(['--steps', '1']).soak).toBeNull();
  });
});

describe('soak verdict', () => {
  it('fits a least-squares slope', () => {
    expect(slope([0, 1, 2, 3], [1, 3, 5, 7])).toBeCloseTo(2, 12);
    expect(slope([5], [1])).toBe(0);
  });

  it('passes a flat series and names every check', () => {
    const v = soakVerdict(flat(20));
    expect(v.pass).toBe(true);
    expect(v.checks.map((c) => c.name)).toEqual(['GPU bytes', 'GPU buffers', 'JS heap', 'step time', 'RSS']);
  });

  it('fails one extra buffer, one extra byte, a heap that grows past the band and a step time that drifts', () => {
    expect(check(flat(20, {}, (i) => (i === 19 ? { buffers: 21 } : {})), 'GPU buffers').pass).toBe(false);
    expect(check(flat(20, {}, (i) => (i === 10 ? { gpuBytes: 1001 } : {})), 'GPU bytes').pass).toBe(false);
    // 20 samples, the heap climbing steadily by a little more than the band over the run.
    const perSample = (HEAP_BAND_BYTES * 1.1) / 19;
    expect(check(flat(20, {}, (i) => ({ heapBytes: 8 * MiB + i * perSample })), 'JS heap').pass).toBe(false);
    expect(check(flat(20, {}, (i) => ({ heapBytes: 8 * MiB + i * perSample * 0.8 })), 'JS heap').pass).toBe(true);
    expect(check(flat(20, {}, (i) => ({ stepMs: i < 15 ? 150 : 200 })), 'step time').pass).toBe(false);
    expect(check(flat(20, {}, (i) => ({ stepMs: i < 15 ? 150 : 180 })), 'step time').pass).toBe(true);
    expect(soakVerdict(flat(20, {}, (i) => ({ buffers: 20 + i }))).pass).toBe(false);
  });

  it('with fewer than two samples finds nothing either way: inconclusive, with its own exit status', () => {
    for (const samples of [flat(0), flat(1)]) {
      const v = soakVerdict(samples);
      expect(v).toMatchObject({ pass: false, inconclusive: true });
      const text = formatSoak(samples, v);
      expect(text).toContain(`- samples: too few (${samples.length} sample(s); a verdict compares at least 2)`);
      expect(text).toMatch(/\nverdict: inconclusive \(too few samples to judge growth; nothing was found either way\)$/);
      expect(text).not.toMatch(/FAIL|GROWTH/);
      expect(soakExitStatus(v)).toBe(3);
    }
    expect(soakVerdict(flat(2)).inconclusive).toBe(false);
    expect([soakExitStatus(soakVerdict(flat(20))), soakExitStatus(soakVerdict(flat(20, {}, (i) => ({ buffers: 20 + i }))))]).toEqual([0, 1]);
  });

  it('RSS alone never decides', () => {
    const rssGrows = soakVerdict(flat(20, {}, (i) => ({ rssBytes: (300 + 10 * i) * MiB })));
    expect(rssGrows.checks.find((c) => c.name === 'RSS')).toMatchObject({ pass: false, informational: true });
    expect(rssGrows.pass).toBe(true);
  });
});

describe('heap snapshots (soak-browser --snapshot-from)', () => {
  class SoakProbe { constructor(readonly payload: number[]) {} }
  const snapshotText = async () => {
    const { getHeapSnapshot } = await import('node:v8');
    let text = '';
    for await (const chunk of getHeapSnapshot()) text += chunk;
    return text;
  };

  it('finds the objects a later V8 snapshot holds more of, by constructor', async () => {
    const before = summarizeHeap(await snapshotText());
    const kept = Array.from({ length: 1000 }, (_, i) => new SoakProbe([i]));
    const growth = heapGrowth(before, summarizeHeap(await snapshotText()), 50);
    const probes = growth.find((g) => g.group === 'object SoakProbe');
    expect(probes, growth.map((g) => g.group).join(', ')).toBeDefined();
    expect(probes!.count).toBe(kept.length);
    expect(probes!.selfBytes).toBeGreaterThan(0);
    expect(growth.every((g, i) => i === 0 || g.selfBytes <= growth[i - 1].selfBytes)).toBe(true);
  });

  it('collects the chunks a snapshot arrives in, after a collection, and stops listening', async () => {
    const calls: string[] = [];
    let listener: ((chunk: string) => void) | null = null;
    const text = await takeHeapSnapshot(async (method) => {
      calls.push(method);
      if (method === 'HeapProfiler.takeHeapSnapshot') for (const c of ['{"a":', '1}']) listener?.(c);
    }, (l) => { listener = l; return () => { listener = null; }; });
    expect(text).toBe('{"a":1}');
    expect(calls).toEqual(['HeapProfiler.collectGarbage', 'HeapProfiler.takeHeapSnapshot']);
    expect(listener).toBeNull();
  });
});

describe('soak run', () => {
  // One device for both tests: with a device of its own per test (the first destroyed before the
  // second's soak forces garbage collections), the test process crashed in 2 runs of 3 here.
  let acquired: AcquiredDevice;
  beforeAll(async () => { acquired = await acquireNodeDevice(); });
  afterAll(() => {
    acquired?.device.destroy();
  });

  it('counts buffers created and destroyed on a device', async () => {
    const { device } = acquired;
    const tracker = trackBuffers(device);
    const a = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE });
    const b = device.createBuffer({ size: 1024, usage: GPUBufferUsage.STORAGE });
    expect([tracker.live, tracker.bytes]).toEqual([2, 1280]);
    a.destroy();
    a.destroy();
    expect([tracker.live, tracker.bytes]).toEqual([1, 1024]);
    tracker.uninstall();
    device.createBuffer({ size: 64, usage: GPUBufferUsage.STORAGE }).destroy();
    b.destroy();
    expect([tracker.live, tracker.bytes]).toEqual([1, 1024]);
  });

  it('runs 30 steps with an eval and a sample every 10 and computes the verdict', async () => {
    const train = await loadMnistNode('train', { limit: 256 });
    const test = await loadMnistNode('test', { limit: 100 });
    const r = await runSoak(acquired, train, test, { steps: 30, evalEvery: 10, sampleEvery: 10, batch: 32, hidden: [64], latent: 8, lr: 1e-3, seed: 0 });
    expect(r.samples.map((s) => s.step)).toEqual([10, 20, 30]);
    expect(r.evals.map((e) => e.step)).toEqual([0, 10, 20, 30]);
    for (const e of r.evals) expect(Number.isFinite(e.testLoss)).toBe(true);
    // The tracker sees at least the model's own buffers (the arena) and nothing leaks step to step.
    for (const s of r.samples) {
      expect(s.buffers).toBeGreaterThan(0);
      expect(s.gpuBytes).toBeGreaterThanOrEqual(r.arenaBytes[0]);
      expect(s.heapBytes).toBeGreaterThan(0);
      expect(s.stepMs).toBeGreaterThan(0);
    }
    expect(r.verdict.checks.map((c) => c.name)).toEqual(['GPU bytes', 'GPU buffers', 'JS heap', 'step time', 'RSS']);
    expect(r.verdict.checks.find((c) => c.name === 'GPU buffers')!.pass).toBe(true);
    expect(r.verdict.checks.find((c) => c.name === 'GPU bytes')!.pass).toBe(true);
    expect(r.arenaBytes[1]).toBe(r.arenaBytes[0]);
    expect(r.stepsRun).toBe(30);
    expect(formatSoak(r.samples, r.verdict)).toMatch(/^verdict: /m);

    // Stopped early (Ctrl-C in the CLI): the steps taken and the samples so far.
    let sampled = 0;
    const stopped = await runSoak(acquired, train, test, { steps: 30, evalEvery: 10, sampleEvery: 5, batch: 32, hidden: [64], latent: 8, lr: 1e-3, seed: 0 },
      { stopRequested: () => sampled >= 2, onSample: () => sampled++ });
    expect(stopped.stepsRun).toBe(10);
    expect(stopped.samples.map((s) => s.step)).toEqual([5, 10]);
    expect(stopped.verdict.checks.length).toBeGreaterThan(3);
  });
});
