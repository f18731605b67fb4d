// Whether leaving the page would lose training. A run on the built-in data sets is kept in the
// browser as it trains (the worker stores it; a reload offers to continue it); a run on the
// user's own pictures is not, as the pictures are not there after a reload. Such a run says so
// under the status, and leaving the page asks first (beforeunload) while it has steps that no
// file holds: steps after the last Save model, or after the file it was loaded from.

export const NOT_KEPT = 'Runs on your own pictures are not kept in this browser: Save model downloads the weights.';

export class UnsavedRun {
  private kept = true;
  private savedAt = 0;

  /** `at()`: whether a model exists, and the step it has trained to. */
  constructor(at: () => { model: boolean; step: number }) {
    window.addEventListener('beforeunload', (e) => {
      const now = at();
      if (now.model && !this.kept && now.step > this.savedAt) e.preventDefault();
    });
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
