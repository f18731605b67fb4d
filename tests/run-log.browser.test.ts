// The demo's run log (demo/ui/run-log.ts) through the browser's own IndexedDB: what the page
// showed is kept up to the step of a save, read back for the run continued from that save, and
// replayed once, in the order it arrived; a log of another run is not replayed, and the log of an
// earlier save of the same run is (the write of the last one can be cut short by a reload).
import { describe, expect, it } from 'vitest';
import { RunLog } from '../demo/ui/run-log';
import { forgetRun, readHistory } from '../demo/shared/saved-run';
import type { EpochReport, LossChunk } from '../demo/shared/protocol';

const chunk = (step: number): LossChunk => ({ step, steps: 16, loss: 300 - step, rec: 280 - step, kl: 20 }) as LossChunk;
const epoch = (n: number, step: number): EpochReport => ({ epoch: n, step, train: { loss: 1, rec: 1, kl: 0 }, test: { loss: 2, rec: 2, kl: 0, examples: 10 }, seconds: 1 });
const RUN = 'run-a';
const kept = async (step: number, runId = RUN) => {
  // keep() writes in the background; the read waits for it.
  for (let i = 0; i < 50; i++) { if ((await readHistory({ step, runId }))?.step === step) return; await new Promise((r) => setTimeout(r, 20)); }
  throw new Error(`the log of step ${step} was not written`);
};
const describeItems = (items: ReturnType<RunLog['replay']>) => items.map((p) => ('chunks' in p ? `steps to ${p.chunks.at(-1)!.step + 1}` : `epoch ${p.epoch}`));

describe('the run log kept beside a saved run', () => {
  it('keeps what was shown up to the save, and replays it once for the run continued from it', async () => {
    await forgetRun();
    const shown = new RunLog();
    shown.progress([chunk(15)], 100);
    shown.progress([chunk(31), chunk(47)], 110);
    shown.epoch(epoch(1, 49));
    shown.progress([chunk(63)], 120);
    shown.progress([chunk(79)], 120); // after the save at step 64: not kept
    shown.keep(64, RUN);
    await kept(64);

    const page = new RunLog();
    await page.expect({ step: 64, runId: RUN });
    page.clear(); // the new model's 'dataset' message clears the page; the pending log stays
    expect(page.replay(63)).toEqual([]); // not where the kept run goes on from
    expect(describeItems(page.replay(64))).toEqual(['steps to 16', 'steps to 48', 'epoch 1', 'steps to 64']);
    expect(page.replay(64), 'replayed once').toEqual([]);

    // Replayed points count as the run's own: a later save keeps them with the new ones.
    page.progress([chunk(95)], 130);
    page.keep(96, RUN);
    await kept(96);
    const again = new RunLog();
    await again.expect({ step: 96, runId: RUN });
    expect(again.replay(96).filter((p) => 'chunks' in p).length).toBe(4);
    await forgetRun();
    expect(await readHistory({ step: 96, runId: RUN })).toBeNull();
  });

  it('replays the log of an earlier save of the run when the last one was not written, and never another run\'s', async () => {
    await forgetRun();
    const shown = new RunLog();
    shown.progress([chunk(15)], 100);
    shown.progress([chunk(31)], 100);
    shown.epoch(epoch(1, 31));
    shown.keep(32, RUN);
    await kept(32);
    // The run is saved again at step 64, and the page reloads before the log of that save is written.
    const page = new RunLog();
    await page.expect({ step: 64, runId: RUN });
    expect(describeItems(page.replay(64))).toEqual(['steps to 16', 'steps to 32', 'epoch 1']);

    const other = new RunLog();
    await other.expect({ step: 32, runId: 'run-b' });
    expect(other.replay(32), 'the log of another run').toEqual([]);
    // A run kept before runs were named takes only a log of its own step that names no run.
    const unnamed = new RunLog();
    await unnamed.expect({ step: 32 });
    expect(unnamed.replay(32)).toEqual([]);
    await forgetRun();
  });

  it('forgets what was shown after a step a restored run goes back to', async () => {
    await forgetRun();
    const log = new RunLog();
    for (const s of [15, 31, 47, 63]) log.progress([chunk(s)], 100);
    log.epoch(epoch(1, 49));
    log.truncate(40);
    log.keep(40, RUN);
    await kept(40);
    const back = new RunLog();
    await back.expect({ step: 40, runId: RUN });
    expect(back.replay(40).map((p) => ('chunks' in p ? p.chunks[0].step : -1))).toEqual([15, 31]);
    await forgetRun();
  });
});
