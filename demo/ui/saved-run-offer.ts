// The offer to continue the training run kept in browser storage (demo/shared/saved-run.ts),
// shown when the page loads and a run is there: where it stood, when it was saved, and two
// buttons, Continue (data-testid="continue") and Discard (data-testid="discard").
import { forgetRun, keptSourceName, readRun, type SavedRun } from '../shared/saved-run';
import type { OpenRun } from './kept-tabs';

/** The offer's text for `run`. */
export function describeSavedRun(run: SavedRun): string {
  const s = run.settings;
  // A run saved before its shape was kept: an MLP's shape follows from its settings, but a conv
  // model's channels may have been chosen from the image size.
  const model = run.model ?? (s.arch === 'conv' ? 'convolutional' : [784, ...s.hidden, s.latent].join('-'));
  const loss = Number.isFinite(run.loss) ? `, loss ${run.loss.toFixed(2)}` : '';
  const when = new Date(run.savedAt).toLocaleString();
  return `A training run of a ${model} model on ${keptSourceName(run.data).name} was saved in this browser at step ${run.step.toLocaleString('en')} (epoch ${run.epoch}${loss}) on ${when}. Continue training it where it stopped?`;
}

export class SavedRunOffer {
  private readonly text: HTMLElement;
  private readonly continueButton: HTMLButtonElement;
  private run: SavedRun | null = null;

  /** `onContinue` gets the run offered (its settings are the ones it goes on with). */
  constructor(private readonly el: HTMLElement, onContinue: (run: SavedRun) => void) {
    this.text = el.querySelector('[data-role=text]')!;
    this.continueButton = el.querySelector('[data-testid=continue]')!;
    this.continueButton.onclick = () => {
      this.hide();
      if (this.run) onContinue(this.run);
    };
    el.querySelector<HTMLButtonElement>('[data-testid=discard]')!.onclick = () => {
      this.hide();
      void forgetRun();
    };
  }

  /** Shows the offer if a run is saved in this browser; the run offered, or null. */
  async check(): Promise<SavedRun | null> {
    const run = await readRun();
    if (!run) return null;
    this.run = run;
    this.text.textContent = describeSavedRun(run);
    this.el.dataset.step = String(run.step);
    this.el.hidden = false;
    return run;
  }

  /** Another tab has `open` open: said, where it is the run offered. */
  openElsewhere(open: OpenRun): void {
    if (this.el.hidden || !this.run || this.run.runId !== open.runId || this.el.dataset.openElsewhere) return;
    this.el.dataset.openElsewhere = 'true';
    this.text.textContent += ` It is open in another tab of this page now (step ${open.step.toLocaleString('en')}, ${open.training ? 'training' : 'paused'}): ` +
      'carry on there; continued here as well, it would go on twice, and each tab would replace the run the other keeps.';
  }

  /** Continue needs a started, idle worker. */
  enable(on: boolean): void {
    this.continueButton.disabled = !on;
  }

  hide(): void {
    this.el.hidden = true;
  }
}
