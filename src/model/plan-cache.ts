// The graphs a model has planned, by kind, row count and options: built once, then replayed.
// Bounded: beyond `max` plans besides the pinned one (the training step), the least recently
// used is dropped and its buffers freed, so a caller drawing at many sizes cannot grow memory
// without end. A plan whose build failed (e.g. over a device limit) is forgotten, to be retried.
import type { BufferArena } from '../gpu/buffers';
import type { Plan } from './graphs';

export class PlanCache {
  private readonly plans = new Map<string, Promise<Plan>>();

  constructor(private readonly arena: BufferArena, private readonly max: number, private readonly pinnedKey: string) {}

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

  private evict(): void {
    for (const [key, p] of this.plans) {
      if (this.plans.size <= this.max + 1) break;
      if (key === this.pinnedKey) continue;
      this.plans.delete(key);
      p.then((plan) => plan.graph.memory.buffers.forEach((b) => this.arena.release(b)), () => {});
    }
  }

  clear(): void {
    this.plans.clear();
  }
}
