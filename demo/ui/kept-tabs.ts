// The demo's tabs share one kept run: the browser keeps the latest one any tab stored
// (demo/shared/saved-run.ts). Each tab says on a BroadcastChannel when it kept its run, so that a
// tab whose kept run another tab has since replaced says so (its "Kept in this browser at step N"
// would be false, and its steps since its last file in none), and a tab that offers to continue the
// kept run asks whether another tab has that run open, to say so before the run is forked in two.
import { newRunId } from '../shared/saved-run';

const CHANNEL = 'webgpu-vae-demo-kept-run';

/** The run a tab has open: its name, its step, and whether it is training now. */
export interface OpenRun { runId: string; step: number; training: boolean }

type TabMessage =
  | { type: 'kept'; tab: string; runId: string; step: number }
  | ({ type: 'open?'; tab: string; runId: string })
  | ({ type: 'open'; tab: string } & OpenRun);

export interface KeptTabsHooks {
  /** Another tab kept its run at `step`, in place of what this tab kept. */
  replaced(step: number): void;
  /** The run this tab has open, or null. */
  open(): OpenRun | null;
  /** Another tab has the run `run.runId` open. */
  openElsewhere(run: OpenRun): void;
}

export class KeptTabs {
  private readonly tab = newRunId();
  private readonly channel = typeof BroadcastChannel === 'undefined' ? null : new BroadcastChannel(CHANNEL);

  constructor(private readonly hooks: KeptTabsHooks) {
    this.channel?.addEventListener('message', (e: MessageEvent<TabMessage>) => this.receive(e.data));
  }

  /** This tab kept its run `runId` at `step`. */
  kept(runId: string, step: number): void {
    this.post({ type: 'kept', tab: this.tab, runId, step });
  }

  /** Asks the other tabs whether one has the run `runId` open (the answer comes to openElsewhere). */
  ask(runId: string): void {
    this.post({ type: 'open?', tab: this.tab, runId });
  }

  close(): void {
    this.channel?.close();
  }

  private post(m: TabMessage): void {
    this.channel?.postMessage(m);
  }

  private receive(m: TabMessage): void {
    if (!m || typeof m !== 'object' || m.tab === this.tab) return;
    if (m.type === 'kept') this.hooks.replaced(m.step);
    else if (m.type === 'open?') {
      const here = this.hooks.open();
      if (here && here.runId === m.runId) this.post({ type: 'open', tab: this.tab, ...here });
    } else if (m.type === 'open') this.hooks.openElsewhere({ runId: m.runId, step: m.step, training: m.training });
  }
}
