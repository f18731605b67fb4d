// Two tabs of the demo share one kept run (demo/ui/kept-tabs.ts): a tab hears when another kept
// its run in place of its own, and a tab offering the kept run hears whether another has it open.
// Node's BroadcastChannel delivers between channels of one name in one process, as tabs' do.
import { afterEach, describe, expect, it } from 'vitest';
import { KeptTabs, type OpenRun } from '../demo/ui/kept-tabs';

const tabs: KeptTabs[] = [];
afterEach(() => { for (const t of tabs.splice(0)) t.close(); });

function tab(open: OpenRun | null) {
  const heard = { replaced: [] as number[], openElsewhere: [] as OpenRun[] };
  const t = new KeptTabs({ replaced: (step) => heard.replaced.push(step), open: () => open, openElsewhere: (run) => heard.openElsewhere.push(run) });
  tabs.push(t);
  return { t, heard };
}
const settle = () => new Promise((done) => setTimeout(done, 50));

describe('KeptTabs', () => {
  it('a tab hears another tab keep its run, and not its own keeping', async () => {
    const a = tab(null), b = tab(null);
    a.t.kept('run-1', 252);
    await settle();
    expect(b.heard.replaced).toEqual([252]);
    expect(a.heard.replaced).toEqual([]);
  });

  it('an offer asks who has its run open: the tab training it answers, a tab with another run does not', async () => {
    const asking = tab(null), training = tab({ runId: 'run-1', step: 393, training: true }), other = tab({ runId: 'run-2', step: 10, training: false });
    asking.t.ask('run-1');
    await settle();
    // One answer, from the tab that has run-1 open (a broadcast: the third tab hears it too, and
    // acts on it only where it offers run-1 itself).
    expect(asking.heard.openElsewhere).toEqual([{ runId: 'run-1', step: 393, training: true }]);
    expect(training.heard.openElsewhere).toEqual([]);
    expect(other.heard.openElsewhere).toEqual([{ runId: 'run-1', step: 393, training: true }]);
  });
});
