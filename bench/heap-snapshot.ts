// V8 heap snapshots through the DevTools protocol, summarized by constructor, and the difference
// of two summaries: what a soak's later snapshot holds more of than its earlier one. The snapshot
// format is V8's (.heapsnapshot): a flat `nodes` array of `meta.node_fields`-sized records whose
// `type` indexes `meta.node_types[0]` and whose `name` indexes `strings`.
import type { CDPSession } from 'playwright';

/** Takes a heap snapshot of the session's target (after a forced collection) as the .heapsnapshot text. */
export async function takeHeapSnapshot(send: (method: string, params?: object) => Promise<unknown>, on: (listener: (chunk: string) => void) => () => void): Promise<string> {
  const chunks: string[] = [];
  const off = on((chunk) => chunks.push(chunk));
  try {
    await send('HeapProfiler.collectGarbage');
    await send('HeapProfiler.takeHeapSnapshot', { reportProgress: false });
  } finally {
    off();
  }
  return chunks.join('');
}

/** takeHeapSnapshot on a Playwright CDP session (a page's). */
export function snapshotOfSession(cdp: CDPSession): Promise<string> {
  return takeHeapSnapshot((method, params) => cdp.send(method as 'HeapProfiler.takeHeapSnapshot', params as never), (listener) => {
    const handler = (e: { chunk: string }) => listener(e.chunk);
    cdp.on('HeapProfiler.addHeapSnapshotChunk', handler);
    return () => cdp.off('HeapProfiler.addHeapSnapshotChunk', handler);
  });
}

export interface HeapGroup { count: number; selfBytes: number }

/** Objects of a snapshot grouped by "type name" (e.g. "object Array", "closure onLoss", "string"), with counts and self sizes. */
export function summarizeHeap(text: string): Map<string, HeapGroup> {
  const snap = JSON.parse(text) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const fields = snap.snapshot.meta.node_fields, types = snap.snapshot.meta.node_types[0];
  const width = fields.length, typeAt = fields.indexOf('type'), nameAt = fields.indexOf('name'), sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, HeapGroup>();
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + typeAt]];
    // Strings and numbers are grouped by type alone: their "names" are their values.
    const key = type === 'string' || type === 'number' || type === 'concatenated string' || type === 'sliced string' ? type : `${type} ${snap.strings[snap.nodes[i + nameAt]]}`;
    const g = groups.get(key) ?? { count: 0, selfBytes: 0 };
    g.count++;
    g.selfBytes += snap.nodes[i + sizeAt];
    groups.set(key, g);
  }
  return groups;
}

export interface HeapGrowth { group: string; count: number; selfBytes: number }

/** Groups whose self size grew from `before` to `after`, largest growth first. */
export function heapGrowth(before: Map<string, HeapGroup>, after: Map<string, HeapGroup>, top = 15): HeapGrowth[] {
  const out: HeapGrowth[] = [];
  for (const [group, a] of after) {
    const b = before.get(group) ?? { count: 0, selfBytes: 0 };
    if (a.selfBytes > b.selfBytes) out.push({ group, count: a.count - b.count, selfBytes: a.selfBytes - b.selfBytes });
  }
  return out.sort((x, y) => y.selfBytes - x.selfBytes).slice(0, top);
}
