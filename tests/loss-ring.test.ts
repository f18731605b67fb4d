// The loss ring (src/model/loss-ring.ts) on a real device: every N steps the filled slots go to
// the next of K staging buffers, so that K reads can be in flight while training goes on; the
// losses come back numbered by step, with the health ring's figures beside them; and a staging
// buffer still being read is never written again before ready() says it is free.
import { describe, expect, it } from 'vitest';
import { writeData } from '../src/gpu/buffers';
import { LossRing } from '../src/model/loss-ring';
import { gpu } from './helpers/gpu';

const SLOTS = 4, DEPTH = 3;

describe('LossRing', () => {
  it('fills K staging buffers in turn, and gives back every step\'s figures in order', async () => {
    const { device } = await gpu();
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    const history = device.createBuffer({ size: SLOTS * 16, usage }), health = device.createBuffer({ size: SLOTS * 16, usage });
    const ring = new LossRing(device, history, SLOTS, DEPTH, undefined, health);
    const targets: GPUBuffer[] = [];
    for (let step = 0; step < 12; step++) {
      // What a step's reduce and health kernels write into its slot.
      writeData(device, history, ring.slotOf(step) * 16, new Float32Array([100 + step, 90 + step, step / 10, 32]));
      writeData(device, health, ring.slotOf(step) * 16, new Float32Array([step + 0.5, 0, 1, 0]));
      await ring.ready();
      const encoder = device.createCommandEncoder();
      // The copy's destination, seen through the encoder.
      const copy = encoder.copyBufferToBuffer.bind(encoder);
      encoder.copyBufferToBuffer = ((src: GPUBuffer, so: number, dst: GPUBuffer, ...rest: number[]) => {
        if (src === history) targets.push(dst);
        return copy(src, so, dst, ...(rest as [number, number]));
      }) as typeof encoder.copyBufferToBuffer;
      const afterSubmit = ring.record(encoder, step);
      device.queue.submit([encoder.finish()]);
      afterSubmit?.();
    }
    await ring.flush(11);
    // Three reads of 4 steps, each into its own staging buffer: none waited for the one before.
    expect(targets).toHaveLength(3);
    expect(new Set(targets).size, 'one staging buffer per read in flight').toBe(DEPTH);
    const losses = ring.take();
    expect(losses.map((l) => l.step)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    for (const l of losses) {
      expect([l.loss, l.rec, l.examples, l.gradNorm, l.flags, l.clipScale]).toEqual([100 + l.step, 90 + l.step, 32, l.step + 0.5, 0, 1]);
      expect(l.kl).toBeCloseTo(l.step / 10, 6);
    }
    ring.destroy();
    history.destroy();
    health.destroy();
  });

  it('refuses to record into a staging buffer whose read is still pending', async () => {
    const { device } = await gpu();
    const history = device.createBuffer({ size: SLOTS * 16, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const ring = new LossRing(device, history, SLOTS, 1);
    const first = device.createCommandEncoder();
    const after = ring.record(first, SLOTS - 1)!;
    device.queue.submit([first.finish()]);
    after();
    // One staging buffer, still mapping: the next read must wait for ready().
    expect(() => ring.record(device.createCommandEncoder(), 2 * SLOTS - 1)).toThrow(/await ready\(\) before recording/);
    await ring.ready();
    expect(ring.record(device.createCommandEncoder(), 2 * SLOTS - 1)).not.toBeNull();
    ring.destroy();
    history.destroy();
  });
});
