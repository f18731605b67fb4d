// bench/activation.ts at a tiny size on this machine's adapter: every activation asked for is
// timed forward and backward, with a positive time and bandwidth, and the table has a row for
// each activation and size.
import { describe, expect, it } from 'vitest';
import { activationTable, runActivationBench } from '../bench/activation';
import { gpu } from './helpers/gpu';

describe('bench/activation.ts', () => {
  it('times each activation forward and backward, and tabulates them', async () => {
    const { device } = await gpu();
    const results = await runActivationBench(device, { rows: 3, widths: [5, 8], reps: 1, warmup: 0, activations: ['relu', 'tanh'] });
    expect(results.map((r) => `${r.activation} ${r.pass} ${r.count}`)).toEqual([
      'relu forward 15', 'relu backward 15', 'tanh forward 15', 'tanh backward 15',
      'relu forward 24', 'relu backward 24', 'tanh forward 24', 'tanh backward 24',
    ]);
    for (const r of results) expect(r.median_ms > 0 && r.gbps > 0, JSON.stringify(r)).toBe(true);
    const rows = activationTable(results).split('\n').slice(2);
    expect(rows.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['relu 15', 'tanh 15', 'relu 24', 'tanh 24']);
  });
});
