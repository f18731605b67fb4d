// Keyboard focus across the run buttons. A run button disables itself once pressed (Start while
// the model compiles, Pause until the step ends), which drops focus to the page body and a screen
// reader's place with it; focus then goes to the button that does the next thing, as soon as one
// is enabled (it may take the worker a moment to answer).

/**
 * The buttons that take the dropped focus, first enabled first. Never Reset: while Resume waits for
 * the worker, Reset was the one button enabled, took the focus, and the next Space (meant for
 * Pause) threw the model away. Until one of these is enabled, the focus waits.
 */
const NEXT_FOCUS = ['pause', 'resume', 'start'];

export class RunButtonFocus {
  private dropped = false;
  private had: Element | null = null;

  /** Call before the buttons' disabled states change. */
  before(): void {
    this.had = document.activeElement;
  }

  /** Call after: moves focus on when a pressed run button disabled itself under it. */
  after(): void {
    const had = this.had;
    if (had instanceof HTMLButtonElement && had.disabled && had.closest('.buttons')) this.dropped = true;
    if (!this.dropped) return;
    if (document.activeElement !== document.body && document.activeElement !== had) {
      this.dropped = false; // the user has moved focus elsewhere
      return;
    }
    const next = NEXT_FOCUS.map((id) => document.getElementById(id) as HTMLButtonElement | null).find((b) => b && !b.disabled);
    if (next) {
      next.focus();
      this.dropped = false;
    }
  }
}
