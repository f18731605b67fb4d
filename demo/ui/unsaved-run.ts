// Whether leaving the page would lose training. A run on the built-in data sets is kept in the
// browser as it trains (the worker stores it; a reload offers to continue it); a run on the
// user's own pictures is not, as the pictures are not there after a reload. Such a run says so
// under the status, and while it has steps that no file holds (after the last Save model, or
// after the file it was loaded from) leaving the page asks first (beforeunload) and Reset takes a
// second press.

export const NOT_KEPT = 'Runs on your own pictures are not kept in this browser: Save model downloads the weights.';

/** How long a first Reset waits for the second that discards an unsaved model, ms. */
export const RESET_AGAIN_MS = 10_000;

export class UnsavedRun {
  private kept = true;
  private savedAt = 0;
  private resetArmedUntil = 0;

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
   * Null when Reset may discard the model now; else the words to show, and the next Reset within
   * RESET_AGAIN_MS discards it.
   */
  confirmReset(): string | null {
    const again = performance.now() < this.resetArmedUntil;
    this.resetArmedUntil = 0;
    if (!this.wouldLose() || again) return null;
    this.resetArmedUntil = performance.now() + RESET_AGAIN_MS;
    return `Reset discards the model trained on your pictures, and no saved file holds its last ${this.at().step - this.savedAt} steps: press Reset again within ${RESET_AGAIN_MS / 1000} s to discard it, or Save model first.`;
  }

  /** A new run (or a loaded file) on data the browser keeps or not; the words for the stored line. */
  started(kept: boolean): string {
    this.kept = kept;
    this.savedAt = 0;
    return kept ? '' : NOT_KEPT;
  }

  /** Steps up to `step` are in a file (saved, or the file or checkpoint the run goes on from). */
  savedTo(step: number): void {
    this.savedAt = Math.max(this.savedAt, step);
  }
}
