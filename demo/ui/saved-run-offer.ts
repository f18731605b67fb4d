// The offer to continue the training run kept in browser storage (demo/shared/saved-run.ts),
// shown when the page loads and a run is there: where it stood, when it was saved, and two
// buttons, Continue (data-testid="continue") and Discard (data-testid="discard").
import { forgetRun, readRun } from '../shared/saved-run';

export class SavedRunOffer {
  private readonly text: HTMLElement;
  private readonly continueButton: HTMLButtonElement;

  constructor(private readonly el: HTMLElement, onContinue: () => void) {
    this.text = el.querySelector('[data-role=text]')!;
    this.continueButton = el.querySelector('[data-testid=continue]')!;
    this.continueButton.onclick = () => {
      this.hide();
      onContinue();
    };
    el.querySelector<HTMLButtonElement>('[data-testid=discard]')!.onclick = () => {
      this.hide();
      void forgetRun();
    };
  }

  /** Shows the offer if a run is saved in this browser. */
  async check(): Promise<void> {
    const run = await readRun();
    if (!run) return;
    const s = run.settings;
    const arch = [784, ...s.hidden, s.latent].join('-');
    const loss = Number.isFinite(run.loss) ? `, loss ${run.loss.toFixed(2)}` : '';
    const when = new Date(run.savedAt).toLocaleString();
    this.text.textContent = `A training run of a ${arch} model on MNIST was saved in this browser at step ${run.step.toLocaleString('en')} (epoch ${run.epoch}${loss}) on ${when}. Continue it where it stopped?`;
    this.el.dataset.step = String(run.step);
    this.el.hidden = false;
  }

  /** Continue needs a started, idle worker. */
  enable(on: boolean): void {
    this.continueButton.disabled = !on;
  }

  hide(): void {
    this.el.hidden = true;
  }
}
