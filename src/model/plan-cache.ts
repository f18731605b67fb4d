// The graphs a model has planned, by kind, row count and options: built once, then replayed.
// Bounded: beyond `max` plans besides the pinned ones, the least recently used is dropped and its
// buffers freed, so a caller drawing at many sizes cannot grow memory without end. Pinned plans
// are never dropped: the training step's, and every plan whose output buffer was handed to the
// caller (the *ToBuffer calls), since the caller may still bind that buffer and freeing it would
// fail the model on the caller's next use. A plan whose build failed (e.g. over a device limit) is
// forgotten, to be retried.
import type { BufferArena } from '../gpu/buffers';
import type { Plan } from './graphs';

export class PlanCache {
  private readonly plans = new Map<string, Promise<Plan>>();
  /** Keys eviction skips, the training step's included. */
  private readonly pinned = new Set<string>();

  constructor(private readonly arena: BufferArena, private readonly max: number, private readonly trainKey: string) {
    this.pinned.add(trainKey);
  }

  /**
   * The plan for `key`, built on first use. `pin`: the caller is handed the plan's output buffer,
   * so the plan is kept until clear(). Pinning happens before any await, so no other lookup can
   * evict the plan between its build and the hand-out.
   */
  get(key: string, build: () => Promise<Plan>, { pin = false } = {}): Promise<Plan> {
    const newlyPinned = pin && !this.pinned.has(key);
    if (pin) this.pinned.add(key);
    const cached = this.plans.get(key);
    if (cached) {
      this.plans.delete(key); // most recently used goes last
      this.plans.set(key, cached);
      return cached;
    }
    const p = build();
    this.plans.set(key, p);
    p.catch(() => {
      this.plans.delete(key);
      // No buffer of a failed build was handed out, so nothing holds this plan any more.
      if (newlyPinned) this.pinned.delete(key);
    });
    this.evict();
    return p;
  }

  private evict(): void {
    let unpinned = [...this.plans.keys()].filter((key) => !this.pinned.has(key)).length;
    for (const [key, p] of this.plans) {
      if (unpinned <= this.max) break;
      if (this.pinned.has(key)) continue;
      this.plans.delete(key);
      unpinned--;
      p.then((plan) => plan.graph.memory.buffers.forEach((b) => this.arena.release(b)), () => {});
    }
  }

  clear(): void {
    this.plans.clear();
    this.pinned.clear();
    this.pinned.add(this.trainKey);
  }
}
