// Memory planning for tensors (planTensors in src/tensor.ts), which the scheduler
// (KernelGraph.build in src/graph.ts) uses to place a graph's tensors, and tensor views, which
// take their root's place. The scheduler's side is in tensor-plan-graph.test.ts.
//
// The planner packs short-lived tensors into shared pool buffers. Getting that wrong corrupts
// activations silently (two live tensors in the same bytes) or makes WebGPU reject the dispatch
// (one buffer bound read-only and writable at once), so the tests check the plan's invariants
// directly, with a brute-force validator over every pair of tensors, on hand-made cases and on a
// seeded random stress case.
import { describe, expect, it } from 'vitest';
import { planTensors, Tensor, type MemoryPlan } from '../src/tensor';
import { ALIGN, arenaMaker } from './helpers/arenas';

/** A pool cap far above anything here, so only lifetimes and conflicts shape the plan. */
const NO_LIMIT = 1 << 30;

const newArena = arenaMaker('tensor-plan-test');

const span = (at: number[]) => [Math.min(...at), Math.max(...at)] as const;

/**
 * Checks every rule a plan must keep, pair by pair, and returns the violations (empty when valid):
 * each tensor placed inside its buffer; pooled offsets aligned; pinned tensors alone in their
 * buffer; no two tensors with overlapping lifetimes overlapping in bytes of one buffer; no
 * conflicting pair in one buffer; pools no larger than the cap unless one tensor alone exceeds
 * it; and the plan's byte accounting consistent with the buffers it made.
 */
function validatePlan(uses: Map<Tensor, number[]>, conflicts: Map<Tensor, Set<Tensor>>, plan: MemoryPlan, poolLimit: number, prePlaced = new Set<Tensor>()): string[] {
  const bad: string[] = [];
  const tensors = [...uses.keys()];
  // Tensors placed by an earlier graph keep their buffers, which this plan neither made nor counts.
  const fresh = tensors.filter((t) => !prePlaced.has(t));
  for (const t of tensors) {
    const s = t.slice;
    if (!s) { bad.push(`${t.name} not placed`); continue; }
    const offset = s.offset ?? 0;
    if (offset % ALIGN !== 0) bad.push(`${t.name} at unaligned offset ${offset}`);
    if (offset + t.bytes > s.buffer.size) bad.push(`${t.name} [${offset}, ${offset + t.bytes}) past its buffer of ${s.buffer.size}`);
    if (s.size !== undefined && s.size !== t.bytes) bad.push(`${t.name} slice size ${s.size} != ${t.bytes}`);
    if (!prePlaced.has(t) && !plan.buffers.includes(s.buffer)) bad.push(`${t.name} in a buffer the plan does not list`);
  }
  for (let i = 0; i < tensors.length; i++) {
    for (let j = i + 1; j < tensors.length; j++) {
      const a = tensors[i], b = tensors[j];
      if (!a.slice || !b.slice || a.slice.buffer !== b.slice.buffer) continue;
      if (a.pinned || b.pinned) bad.push(`pinned ${a.pinned ? a.name : b.name} shares a buffer with ${a.pinned ? b.name : a.name}`);
      if (conflicts.get(a)?.has(b) || conflicts.get(b)?.has(a)) bad.push(`conflicting ${a.name} and ${b.name} share a buffer`);
      const [fa, la] = span(uses.get(a)!), [fb, lb] = span(uses.get(b)!);
      const oa = a.slice.offset ?? 0, ob = b.slice.offset ?? 0;
      if (fa <= lb && fb <= la && oa < ob + b.bytes && ob < oa + a.bytes) {
        bad.push(`${a.name} [${oa}, ${oa + a.bytes}) live ${fa}..${la} overlaps ${b.name} [${ob}, ${ob + b.bytes}) live ${fb}..${lb}`);
      }
    }
  }
  for (const buffer of plan.buffers) {
    const inside = tensors.filter((t) => t.slice?.buffer === buffer);
    const biggest = Math.max(0, ...inside.map((t) => Math.ceil(t.bytes / ALIGN) * ALIGN));
    if (!inside.some((t) => t.pinned) && buffer.size > Math.max(poolLimit, biggest)) bad.push(`pool of ${buffer.size} bytes above the cap ${poolLimit}`);
  }
  const distinct = new Set(plan.buffers);
  if (distinct.size !== plan.buffers.length) bad.push('a buffer listed twice');
  const total = [...distinct].reduce((s, b) => s + b.size, 0);
  if (plan.plannedBytes !== total) bad.push(`plannedBytes ${plan.plannedBytes} != buffers' ${total}`);
  const naive = fresh.reduce((s, t) => s + t.bytes, 0);
  if (plan.savedBytes !== Math.max(0, naive - plan.plannedBytes)) bad.push(`savedBytes ${plan.savedBytes} != ${naive} - ${plan.plannedBytes}`);
  if (plan.tensors !== uses.size) bad.push(`tensors ${plan.tensors} != ${uses.size}`);
  return bad;
}

function conflictMap(pairs: [Tensor, Tensor][]): Map<Tensor, Set<Tensor>> {
  const m = new Map<Tensor, Set<Tensor>>();
  const link = (a: Tensor, b: Tensor) => m.set(a, (m.get(a) ?? new Set()).add(b));
  for (const [a, b] of pairs) { link(a, b); link(b, a); }
  return m;
}

async function plan(uses: Map<Tensor, number[]>, conflicts = new Map<Tensor, Set<Tensor>>(), poolLimit = NO_LIMIT) {
  const prePlaced = new Set([...uses.keys()].filter((t) => t.slice));
  const p = planTensors(uses, conflicts, await newArena(), 'plan', poolLimit);
  expect(validatePlan(uses, conflicts, p, poolLimit, prePlaced)).toEqual([]);
  return p;
}

describe('planTensors', () => {
  it('keeps tensors with overlapping lifetimes apart in memory', async () => {
    // All live at dispatch 2, so none may share bytes; odd sizes exercise the 256-byte rounding.
    const ts = [10, 70, 65, 300].map((n, i) => new Tensor(`t${i}`, [n]));
    const uses = new Map(ts.map((t, i) => [t, [i, 2, 5 - i]]));
    const p = await plan(uses);
    const slices = ts.map((t) => [t.slice!.offset ?? 0, t.bytes] as const);
    for (let i = 0; i < ts.length; i++) {
      for (let j = i + 1; j < ts.length; j++) {
        if (ts[i].slice!.buffer !== ts[j].slice!.buffer) continue;
        const [oi, bi] = slices[i], [oj, bj] = slices[j];
        expect(oi + bi <= oj || oj + bj <= oi, `t${i} and t${j}`).toBe(true);
      }
    }
    expect(p.savedBytes).toBe(0);
  });

  it('lets tensors with disjoint lifetimes share memory', async () => {
    // A chain of 8 tensors each live for two consecutive dispatches: with no conflicts, the
    // greedy placement needs room for two at a time.
    const ts = Array.from({ length: 8 }, (_, i) => new Tensor(`a${i}`, [64, 4]));
    const uses = new Map(ts.map((t, i) => [t, [i, i + 1]]));
    const p = await plan(uses);
    const sum = ts.reduce((s, t) => s + t.bytes, 0);
    expect(p.plannedBytes).toBeLessThan(sum);
    expect(p.savedBytes).toBeGreaterThan(0);
    expect(p.plannedBytes).toBe(2 * 1024);
    // a0 and a2 never live together, so one of them can sit where the other did.
    expect(ts[0].slice!.buffer).toBe(ts[2].slice!.buffer);
    expect(ts[0].slice!.offset).toBe(ts[2].slice!.offset);
  });

  it('gives pinned tensors buffers of their own, whatever their lifetimes', async () => {
    const pin = [new Tensor('in', [33], true), new Tensor('out', [5, 7], true)];
    const free = [new Tensor('h0', [33]), new Tensor('h1', [33])];
    const uses = new Map<Tensor, number[]>([[pin[0], [0]], [free[0], [0, 1]], [free[1], [2, 3]], [pin[1], [3]]]);
    const p = await plan(uses);
    for (const t of pin) {
      expect(t.slice!.offset ?? 0).toBe(0);
      expect(t.slice!.buffer.size).toBe(t.bytes);
      expect(t.slice!.buffer.label).toContain(t.name);
    }
    expect(pin[0].slice!.buffer).not.toBe(pin[1].slice!.buffer);
    // The two free tensors never overlap in time, so they share one pool slot.
    expect(free[0].slice!.buffer).toBe(free[1].slice!.buffer);
    expect(p.buffers).toHaveLength(3);
  });

  it('never puts conflicting tensors in the same buffer', async () => {
    // Disjoint lifetimes would let a and b share bytes; the conflict must still keep them in
    // different buffers (a dispatch binding one read-only and the other writable).
    const a = new Tensor('a', [100]), b = new Tensor('b', [100]), c = new Tensor('c', [100]);
    const uses = new Map([[a, [0]], [b, [1]], [c, [2]]]);
    const conflicts = conflictMap([[a, b], [b, c]]);
    await plan(uses, conflicts);
    expect(a.slice!.buffer).not.toBe(b.slice!.buffer);
    expect(b.slice!.buffer).not.toBe(c.slice!.buffer);
    // a and c do not conflict and do not overlap in time: two pools suffice for the chain.
    expect(a.slice!.buffer).toBe(c.slice!.buffer);
  });

  it('keeps pools under the cap and gives an oversized tensor a pool of its own size', async () => {
    const small = Array.from({ length: 3 }, (_, i) => new Tensor(`s${i}`, [128])); // 512 bytes each
    const big = new Tensor('big', [1000]); // above the 1024-byte cap
    const uses = new Map<Tensor, number[]>([...small.map((t) => [t, [0, 1]] as [Tensor, number[]]), [big, [1]]]);
    const p = await plan(uses, new Map(), 1024);
    expect(big.slice!.buffer.size).toBe(4096);
    expect(small.every((t) => t.slice!.buffer !== big.slice!.buffer)).toBe(true);
    // Three live 512-byte tensors under a 1024-byte cap need two pools.
    expect(new Set(small.map((t) => t.slice!.buffer)).size).toBe(2);
    expect(p.buffers).toHaveLength(3);
  });

  it('leaves tensors placed by an earlier graph where they are', async () => {
    const shared = new Tensor('shared', [16], true);
    const first = await plan(new Map([[shared, [0]]]));
    const where = shared.slice;
    const h = new Tensor('h', [16]);
    const second = await plan(new Map([[shared, [0, 1]], [h, [1]]]));
    expect(shared.slice).toBe(where);
    expect(second.buffers).not.toContain(where!.buffer);
    expect(first.buffers).toContain(where!.buffer);
  });

  // Three seeds, the last two with a pool cap near the largest tensor, so pools fill up and the
  // planner has to open new ones as well as pack around conflicts.
  it.each([[20240611, 64 * 1024], [7, 8 * 1024], [99991, 12 * 1024]])('keeps every invariant on 200 random tensors, lifetimes and conflicts (seed %i, cap %i)', async (seed, cap) => {
    let s = seed >>> 0;
    const rand = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
    // Up to 2000 floats (8000 bytes, 8192 once aligned), one in ten pinned.
    const ts = Array.from({ length: 200 }, (_, i) => new Tensor(`r${i}`, [int(1, 40), int(1, 50)], rand() < 0.1));
    const uses = new Map<Tensor, number[]>();
    for (const t of ts) {
      const first = int(0, 79), last = Math.min(99, first + int(0, 20));
      // First and last use plus a few in between, in no particular order.
      uses.set(t, [last, ...Array.from({ length: int(0, 3) }, () => int(first, last)), first]);
    }
    // Conflicts as a graph makes them (between tensors bound by one dispatch, hence live
    // together) and a few between tensors that never are, which must still be kept apart.
    const pairs: [Tensor, Tensor][] = [];
    for (let k = 0; k < 300; k++) {
      const a = ts[int(0, 199)], b = ts[int(0, 199)];
      const [fa, la] = span(uses.get(a)!), [fb, lb] = span(uses.get(b)!);
      if (a !== b && (rand() < 0.2 || (fa <= lb && fb <= la))) pairs.push([a, b]);
    }
    expect(pairs.length).toBeGreaterThan(100);
    const p = await plan(uses, conflictMap(pairs), cap);
    // Real packing happened, not one buffer per tensor: memory saved, tensors at offsets above 0.
    expect(p.savedBytes).toBeGreaterThan(0);
    expect(ts.some((t) => (t.slice!.offset ?? 0) > 0)).toBe(true);
    const pooled = ts.filter((t) => !t.pinned);
    expect(new Set(pooled.map((t) => t.slice!.buffer)).size).toBeLessThan(pooled.length / 2);
  });

  it('the validator catches overlap, misalignment and conflicts', () => {
    // Negative control: hand-made bad plans must be reported, or the checks above prove nothing.
    const buffer = { size: 4096 } as GPUBuffer;
    const a = new Tensor('a', [100]), b = new Tensor('b', [100]), c = new Tensor('c', [10], true);
    a.slice = { buffer, offset: 0, size: a.bytes };
    b.slice = { buffer, offset: 128, size: b.bytes };
    c.slice = { buffer, offset: 1024, size: c.bytes };
    const uses = new Map([[a, [0, 2]], [b, [1]], [c, [5]]]);
    const fake: MemoryPlan = { buffers: [buffer], plannedBytes: 4096, savedBytes: 0, tensors: 3 };
    const bad = validatePlan(uses, conflictMap([[a, c]]), fake, NO_LIMIT).join('\n');
    expect(bad).toMatch(/b at unaligned offset 128/);
    expect(bad).toMatch(/a \[0, 400\) live 0\.\.2 overlaps b/);
    expect(bad).toMatch(/pinned c shares a buffer with a/);
    expect(bad).toMatch(/conflicting a and c/);
  });
});

describe('Tensor views', () => {
  it('share their root\'s memory', async () => {
    const t = new Tensor('t', [4, 6]);
    const v = t.view([2, 12], 'v');
    const vv = v.view([24]);
    expect(v.root).toBe(t);
    expect(vv.root).toBe(t);
    expect(() => v.buffer).toThrow(/no memory yet/);
    // Planning sees roots only (as KernelGraph.build records them); a second, live tensor
    // pushes t to a non-zero offset so the views must carry it.
    const other = new Tensor('o', [300]);
    await plan(new Map([[other, [0, 1]], [t, [1]]]));
    for (const x of [v, vv]) {
      const r = x.resolve();
      expect(r.buffer).toBe(t.slice!.buffer);
      expect(r.offset).toBe(t.slice!.offset);
      expect(r.size).toBe(t.bytes);
      expect(x.buffer).toBe(t.buffer);
    }
    expect(t.slice!.offset).toBeGreaterThan(0);
  });

  it('keep the root\'s pinned flag and activation', () => {
    const t = new Tensor('t', [8], true);
    t.activation = 'relu';
    const v = t.view([2, 4]);
    expect(v.pinned).toBe(true);
    expect(v.activation).toBe('relu');
    expect(v.name).toBe('t');
  });

  it('refuse a shape with another element count', () => {
    const t = new Tensor('t', [4, 6]);
    expect(() => t.view([5, 5])).toThrow(/tensor t: cannot view \[4,6\] as \[5,5\]/);
    expect(() => t.view([25])).toThrow(/cannot view/);
    expect(() => new Tensor('bad', [3, 0])).toThrow(/positive integers/);
  });
});
