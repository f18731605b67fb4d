// The graphs a model has planned, by kind, row count and options: built once, then replayed.
// Bounded: beyond `max` plans besides the training step's, the least recently used is dropped and
// its buffers freed, so a caller drawing at many sizes cannot grow memory without end. No plan's
// buffer is ever handed to a caller (the *ToBuffer calls copy into buffers of their own,
// vae-forward.ts), so any plan but the training step's may go. A plan whose build failed (e.g. over
// a device limit) is forgotten, to be retried.
import type { BufferArena } from '../gpu/buffers';
import type { Plan } from './graphs';

export class PlanCache {
  private readonly plans = new Map<string, Promise<Plan>>();

  constructor(private readonly arena: BufferArena, private readonly max: number, private readonly trainKey: string) {}

  /** The plan for `key`, built on first use. */
  get(key: string, build: () => Promise<Plan>): Promise<Plan> {
    const cached = this.plans.get(key);
    if (cached) {
      this.plans.delete(key); // most recently used goes last
      this.plans.set(key, cached);
      return cached;
    }
    const p = build();
    this.plans.set(key, p);
    p.catch(() => this.plans.delete(key));
    this.evict();
    return p;
  }

  /** Whether the plan for `key` is held (built, or being built). */
  has(key: string): boolean {
    return this.plans.has(key);
  }

  /** Whether one more plan would stay within the bound, evicting none. */
  get hasRoom(): boolean {
    return this.evictable < this.max;
  }

  /** Plans held besides the training step's: those the bound counts and eviction may drop. */
  private get evictable(): number {
    return this.plans.size - (this.plans.has(this.trainKey) ? 1 : 0);
  }

  private evict(): void {
    let evictable = this.evictable;
    for (const [key, p] of this.plans) {
      if (evictable <= this.max) break;
      if (key === this.trainKey) continue;
      this.plans.delete(key);
      evictable--;
      this.release(p);
    }
  }

  /**
   * Drops the plans whose key ends in `:suffix` and frees their buffers, whatever the bound: those
   * bound to a buffer that was replaced (planKey ends in its label), which no call asks for again.
   */
  dropEndingIn(suffix: string): void {
    for (const [key, p] of this.plans) {
      if (key === this.trainKey || !key.endsWith(`:${suffix}`)) continue;
      this.plans.delete(key);
      this.release(p);
    }
  }

  private release(p: Promise<Plan>): void {
    p.then((plan) => plan.graph.memory.buffers.forEach((b) => this.arena.release(b)), () => {});
  }

  clear(): void {
    this.plans.clear();
  }
}
