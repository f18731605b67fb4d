// Loss read-back without stalls: each training step's reduce kernel writes (loss, rec, kl, n) into
// slot (step mod N) of a small GPU history buffer. Every N steps the filled slots are copied, in
// the same command encoder as the step, into the next of K staging buffers, which is mapped
// asynchronously. The CPU only waits when it would reuse a staging buffer the GPU has not
// finished with, i.e. when it runs K*N steps ahead: that is the back-pressure that keeps the
// submit loop from queueing a whole epoch ahead of the GPU.
// Maps are awaited through gentleWait, so that in Node the wait does not spin a core.
// Beside each loss comes the step's health record (shaders/grad-norm.ts): its gradient norm, its
// flags (NaN/Inf loss or gradient norm, divergence) and its clip scale, copied from a second ring
// of the same slots into the same staging buffer, so bad numbers are seen with no extra read.
import { ourLabel } from '../gpu/labels';
import { HEALTH_FLAGS } from '../../shaders/grad-norm';
import { mapForReading } from '../gpu/map-read';
import { BufferUsage } from '../gpu/webgpu-flags';

export interface StepLoss {
  /** The step's index, from 0: `vae.step` counts the steps taken, so the latest loss is step `vae.step - 1`. */
  step: number;
  /**
   * The training objective of the step: rec + w * kl, with w the KL weight at the step (beta,
   * ramped by warm-up or cycles; for beta-TCVAE the ramp alone, with w (beta - 1) times the
   * batch's total correlation added; the KL term is beta * |kl - C| under capacity control and the
   * sum of max(lambda, KL_j) under free bits), the -ELBO when w = 1; for the IWAE objective the
   * -IWAE bound over the step's K samples, with rec the mean over K and kl the closed-form KL.
   */
  loss: number;
  rec: number;
  kl: number;
  /** Examples in the batch. */
  examples: number;
  /** Global gradient norm before clipping (NaN when the model keeps no health ring). */
  gradNorm: number;
  /** HEALTH_FLAGS bits: 0 for a good step; a flagged step was not applied by the optimizer. */
  flags: number;
  /** Factor the gradient was scaled by (--clip-grad), 1 when not clipped. */
  clipScale: number;
}

/** What a step's flags say, in words, each naming the quantity first: e.g. 'gradient norm: NaN or infinite'. */
export function flaggedQuantities(flags: number): string[] {
  const out: string[] = [];
  if (flags & HEALTH_FLAGS.lossNotFinite) out.push('loss: NaN or infinite');
  if (flags & HEALTH_FLAGS.gradNormNotFinite) out.push('gradient norm: NaN or infinite');
  if (flags & HEALTH_FLAGS.diverged) out.push('loss: diverging (smoothed, over 10x its running minimum)');
  return out;
}

interface Staging {
  buffer: GPUBuffer;
  pending: Promise<void> | null;
}

export class LossRing {
  private readonly staging: Staging[];
  private next = 0;
  /** First step whose loss is still only on the GPU. */
  private firstUnread = 0;
  private readonly results: StepLoss[] = [];
  private destroyed = false;
  /** The first exception onLosses threw and readLosses has not yet thrown (boxed: anything may be thrown). */
  private callbackError: { error: unknown } | null = null;

  constructor(
    private readonly device: GPUDevice,
    private readonly history: GPUBuffer,
    /** Slots in the history ring (N): losses are read every N steps. */
    readonly slots: number,
    depth = 3,
    private readonly onLosses?: (losses: StepLoss[]) => void,
    /** The health ring (same slots as `history`), read into the second half of each staging buffer. */
    private readonly health?: GPUBuffer,
  ) {
    this.staging = Array.from({ length: depth }, (_, i) => ({
      buffer: device.createBuffer({ label: `webgpu-vae:loss-staging${i}`, size: slots * 32, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST }),
      pending: null,
    }));
  }

  slotOf(step: number): number {
    return step % this.slots;
  }

  /** Waits, if needed, until the staging buffer the next copy will use is free again. */
  async ready(): Promise<void> {
    await this.staging[this.next].pending;
  }

  /**
   * Call after encoding `step`. When the ring is full (or `force`), records the copy of the unread
   * slots into `encoder` and returns a function to call right after the submit.
   */
  record(encoder: GPUCommandEncoder, step: number, force = false): (() => void) | null {
    const count = step + 1 - this.firstUnread;
    if (count <= 0 || (!force && this.slotOf(step) !== this.slots - 1)) return null;
    const s = this.staging[this.next];
    if (s.pending) throw new Error('LossRing: await ready() before recording a step that reads losses');
    const firstSlot = this.slotOf(this.firstUnread);
    encoder.copyBufferToBuffer(this.history, firstSlot * 16, s.buffer, 0, count * 16);
    if (this.health) encoder.copyBufferToBuffer(this.health, firstSlot * 16, s.buffer, this.slots * 16, count * 16);
    const firstStep = this.firstUnread;
    this.firstUnread = step + 1;
    this.next = (this.next + 1) % this.staging.length;
    return () => {
      const bytes = this.slots * 32;
      const read = mapForReading(this.device, s.buffer, 0, bytes).then(() => {
        const v = new Float32Array(s.buffer.getMappedRange(0, bytes).slice(0));
        s.buffer.unmap();
        s.pending = null;
        const losses: StepLoss[] = [];
        const h = 4 * this.slots;
        for (let i = 0; i < count; i++) {
          const health = this.health ? { gradNorm: v[h + 4 * i], flags: v[h + 4 * i + 1], clipScale: v[h + 4 * i + 2] } : { gradNorm: NaN, flags: 0, clipScale: 1 };
          losses.push({ step: firstStep + i, loss: v[4 * i], rec: v[4 * i + 1], kl: v[4 * i + 2], examples: v[4 * i + 3], ...health });
        }
        // Losses handed to onLosses are the app's and not kept as well: an app that never calls
        // readLosses() would otherwise hold every step's record for the model's life.
        if (!this.onLosses) {
          this.results.push(...losses);
          return;
        }
        // The app's callback runs inside a read no caller awaits: a throw here would surface from
        // whichever later step waits for this staging buffer, and fail that step. It is kept for
        // readLosses() instead, with the losses the callback failed to take, and the ring goes on.
        try {
          this.onLosses(losses);
        } catch (error) {
          this.callbackError ??= { error };
          this.results.push(...losses);
        }
      });
      // A model destroyed with reads in flight aborts them: that is its owner's choice, not a
      // failure, and nobody may be left to await them (an unhandled rejection otherwise). Any
      // other failure stays in `pending` for ready() and flush() to throw.
      s.pending = read.catch((e: unknown) => {
        if (!this.destroyed) throw e;
        s.pending = null;
      });
      s.pending.catch(() => undefined);
    };
  }

  /** Reads every loss still on the GPU up to `lastStep` and waits for all pending reads. */
  async flush(lastStep: number): Promise<void> {
    if (lastStep + 1 > this.firstUnread) {
      await this.ready();
      const enc = this.device.createCommandEncoder({ label: ourLabel('loss-copy') });
      const after = this.record(enc, lastStep, true);
      this.device.queue.submit([enc.finish()]);
      after?.();
    }
    await Promise.all(this.staging.map((s) => s.pending));
  }

  /** Throws, once, the first exception onLosses threw since the last call. */
  throwCallbackError(): void {
    const kept = this.callbackError;
    this.callbackError = null;
    if (kept) throw kept.error;
  }

  /** Losses read so far, oldest first; `take` empties the list. */
  take(): StepLoss[] {
    return this.results.splice(0, this.results.length);
  }

  /** Forgets unread steps (after a reset of the step counter). */
  resetTo(step: number): void {
    this.firstUnread = step;
  }

  destroy(): void {
    this.destroyed = true;
    for (const s of this.staging) s.buffer.destroy();
  }
}
