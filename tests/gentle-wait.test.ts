// gentleWait: while a GPU wait is pending in Node, native setImmediate callbacks (dawn.node's poll)
// are deferred through setTimeout; JS callbacks are not, and the global comes back afterwards.
import { readFile } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { gentleWait, gpuWaitSpins } from '../src/gpu/gentle-wait';
import { PipelineCache } from '../src/gpu/pipelines';
import { columnSum } from '../shaders/column-sum';
import { gpu } from './helpers/gpu';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('gentleWait', () => {
  it('applies in Node only', () => {
    expect(gpuWaitSpins()).toBe(true);
  });

  it('defers native setImmediate callbacks during the wait and restores the global after', async () => {
    const before = globalThis.setImmediate;
    const order: string[] = [];
    const note = (what: string) => { order.push(what); };
    await gentleWait(async () => {
      expect(globalThis.setImmediate).not.toBe(before);
      // A bound function prints as native code, as dawn.node's poll callback does. Queued first,
      // it still runs after the JS callback: it went to a timer, not the immediate queue.
      setImmediate(note.bind(null, 'native'));
      setImmediate(() => note('js'));
      await sleep(20);
    });
    expect(order).toEqual(['js', 'native']);
    expect(globalThis.setImmediate).toBe(before);
    // After the wait, native callbacks are immediate again: before any timer. Both are queued from
    // an I/O callback, where Node runs immediates before timers without fail (from elsewhere the
    // order of setImmediate and setTimeout(0) depends on the loop's phase, and this test flaked).
    const after: string[] = [];
    await new Promise<void>((done) => readFile(__filename, () => {
      setTimeout(() => { after.push('timer'); done(); }, 0);
      setImmediate(after.push.bind(after, 'native'));
    }));
    expect(after).toEqual(['native', 'timer']);
  });

  it('restores the global only when the last of overlapping waits ends, also on rejection', async () => {
    const before = globalThis.setImmediate;
    let release!: () => void;
    const long = gentleWait(() => new Promise<void>((resolve) => { release = resolve; }));
    await expect(gentleWait(async () => { throw new Error('map failed'); })).rejects.toThrow('map failed');
    expect(globalThis.setImmediate).not.toBe(before);
    release();
    await long;
    expect(globalThis.setImmediate).toBe(before);
  });

  it('resolves real GPU waits (map and onSubmittedWorkDone) with their values', async () => {
    const { device } = await gpu();
    const buf = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    device.queue.writeBuffer(buf, 0, Float32Array.of(1, 2, 3, 4));
    await gentleWait(() => device.queue.onSubmittedWorkDone());
    await gentleWait(() => buf.mapAsync(GPUMapMode.READ));
    expect(Array.from(new Float32Array(buf.getMappedRange()))).toEqual([1, 2, 3, 4]);
    buf.unmap();
    buf.destroy();
  });

  it('also while a pipeline compiles: the compile does not spin a core beside the compiler', async () => {
    const { device } = await gpu();
    const before = globalThis.setImmediate;
    // A cache of its own, so this compile is not already done by an earlier test.
    const pending = new PipelineCache(device).get(columnSum({ rows: 3, cols: 5 }));
    expect(globalThis.setImmediate, 'setImmediate throttled while the compile is pending').not.toBe(before);
    const compiled = await pending;
    expect(compiled.pipeline).toBeDefined();
    expect(globalThis.setImmediate).toBe(before);
  });
});
