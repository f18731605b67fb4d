// Whether leaving the page would lose training. A run on the built-in data sets is kept in the
// browser as it trains (the worker stores it; a reload offers to continue it); a run on the
// user's own pictures or IDX files is not, as the files are not there after a reload. Such a run says so
// under the status, and while it has steps that no file holds (after the last Save model, or
// after the file it was loaded from) leaving the page asks first (beforeunload), and Reset and
// Load model, which both put another model in its place, take a second press.

import type { DataSource } from '../shared/protocol';

/** How the page names the user's own data a run trains on. */
export const ownDataName = (data: DataSource): string => (data.kind === 'files' ? 'your IDX files' : 'your pictures');

/** The stored line of a run the browser does not keep; `data` names what it trains on ('your pictures', 'your IDX files'). */
export const notKept = (data: string) => `Runs on ${data} are not kept in this browser: Save model downloads the weights.`;

/** How long a first Reset (or Load model) waits for the second that discards an unsaved model, ms. */
export const RESET_AGAIN_MS = 10_000;

/** The actions that discard the model in training, and how the page names them. */
export type DiscardingAction = 'Reset' | 'Load model';

/** What a second press of `action` does, in the confirmation's words. */
const AGAIN: Record<DiscardingAction, string> = {
  'Reset': `press Reset again within ${RESET_AGAIN_MS / 1000} s to discard it`,
  'Load model': `press Load model again within ${RESET_AGAIN_MS / 1000} s to choose the file that replaces it`,
};

export class UnsavedRun {
  private kept = true;
  private savedAt = 0;
  /** What the run trains on, as the confirmation names it. */
  private data = 'your pictures';
  /** The action whose next press within RESET_AGAIN_MS goes ahead, and until when. */
  private armed: { action: DiscardingAction; until: number } | null = null;

  /** `at()`: whether a model exists, and the step it has trained to. */
  constructor(private readonly at: () => { model: boolean; step: number }) {
    window.addEventListener('beforeunload', (e) => {
      if (this.wouldLose()) e.preventDefault();
    });
  }

  /** Whether the model has steps that neither the browser nor a file holds. */
  wouldLose(): boolean {
    const now = this.at();
    return now.model && !this.kept && now.step > this.savedAt;
  }

  /**
   * Null when `action` may discard the model now; else the words to show, and the next press of
   * the same action within RESET_AGAIN_MS goes ahead (a press of the other action asks anew).
   */
  confirmDiscard(action: DiscardingAction): string | null {
    const again = this.armed?.action === action && performance.now() < this.armed.until;
    this.armed = null;
    if (!this.wouldLose() || again) return null;
    this.armed = { action, until: performance.now() + RESET_AGAIN_MS };
    return `${action} discards the model trained on ${this.data}, and no saved file holds its last ${this.at().step - this.savedAt} steps: ${AGAIN[action]}, or Save model first.`;
  }

  /**
   * A new run (or a loaded file) on data the browser keeps or not (`data` names the user's own:
   * 'your pictures', 'your IDX files'); the words for the stored line.
   */
  started(kept: boolean, data = 'your pictures'): string {
    this.kept = kept;
    this.savedAt = 0;
    this.data = data;
    return kept ? '' : notKept(data);
  }

  /** Whether the browser keeps the run now: another tab's run may have taken its place, until its next save. */
  keptHere(kept: boolean): void {
    this.kept = kept;
  }

  /** Steps up to `step` are in a file (saved, or the file or checkpoint the run goes on from). */
  savedTo(step: number): void {
    this.savedAt = Math.max(this.savedAt, step);
  }
}
