// The demo's run log (demo/ui/run-log.ts) through the browser's own IndexedDB: what the page
// showed is kept up to the step of a save, read back for the run continued from that save, and
// replayed once, in the order it arrived; a log of another save is not replayed.
import { describe, expect, it } from 'vitest';
import { RunLog } from '../demo/ui/run-log';
import { forgetRun, readHistory } from '../demo/shared/saved-run';
import type { EpochReport, LossChunk } from '../demo/shared/protocol';

const chunk = (step: number): LossChunk => ({ step, steps: 16, loss: 300 - step, rec: 280 - step, kl: 20 }) as LossChunk;
const epoch = (n: number, step: number): EpochReport => ({ epoch: n, step, train: { loss: 1, rec: 1, kl: 0 }, test: { loss: 2, rec: 2, kl: 0, examples: 10 }, seconds: 1 });
const kept = async (step: number) => {
  // keep() writes in the background; the read waits for it.
  for (let i = 0; i < 50; i++) { if (await readHistory(step)) return; await new Promise((r) => setTimeout(r, 20)); }
};

describe('the run log kept beside a saved run', () => {
  it('keeps what was shown up to the save, and replays it once for the run continued from it', async () => {
    await forgetRun();
    const shown = new RunLog();
    shown.progress([chunk(15)], 100);
    shown.progress([chunk(31), chunk(47)], 110);
    shown.epoch(epoch(1, 49));
    shown.progress([chunk(63)], 120);
    shown.progress([chunk(79)], 120); // after the save at step 64: not kept
    shown.keep(64);
    await kept(64);

    const page = new RunLog();
    await page.expect(64);
    page.clear(); // the new model's 'dataset' message clears the page; the pending log stays
    expect(page.replay(63)).toEqual([]); // another step: not this save's log
    const replayed = page.replay(64);
    expect(replayed.map((p) => ('chunks' in p ? `steps to ${p.chunks.at(-1)!.step + 1}` : `epoch ${p.epoch}`)))
      .toEqual(['steps to 16', 'steps to 48', 'epoch 1', 'steps to 64']);
    expect(page.replay(64), 'replayed once').toEqual([]);

    // Replayed points count as the run's own: a later save keeps them with the new ones.
    page.progress([chunk(95)], 130);
    page.keep(96);
    await kept(96);
    const again = new RunLog();
    await again.expect(96);
    expect(again.replay(96).filter((p) => 'chunks' in p).length).toBe(4);
    await forgetRun();
    expect(await readHistory(96)).toBeNull();
  });

  it('forgets what was shown after a step a restored run goes back to', async () => {
    await forgetRun();
    const log = new RunLog();
    for (const s of [15, 31, 47, 63]) log.progress([chunk(s)], 100);
    log.epoch(epoch(1, 49));
    log.truncate(40);
    log.keep(40);
    await kept(40);
    const back = new RunLog();
    await back.expect(40);
    expect(back.replay(40).map((p) => ('chunks' in p ? p.chunks[0].step : -1))).toEqual([15, 31]);
    await forgetRun();
  });
});
