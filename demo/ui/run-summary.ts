// The words the page shows about a run: the summary under the status line (its data, its model,
// its last epoch) and the captions of the views that depend on the model (samples, manifold).
import type { VaeConfig } from '../../src/index';
import { describeObjective, describeShape, PAGE_SYMBOLS } from '../../src/model/describe';
import { MAX_CLASS_ROWS } from '../shared/layout';
import type { EpochReport, FromWorker } from '../shared/protocol';
import { dataName } from './page-terms';

type DataMessage = Extract<FromWorker, { type: 'dataset' }>;
type ModelMessage = Extract<FromWorker, { type: 'model' }>;

/**
 * An epoch's time (its steps and its test evaluation; pauses not counted): tenths of a second, or
 * milliseconds for an epoch shorter than a second
 * (a few of the user's own pictures make an epoch of one step, which read as "0.0 s").
 */
export function epochTime(seconds: number): string {
  return seconds >= 1 ? `${seconds.toFixed(1)} s` : `${Math.max(1, Math.round(seconds * 1000))} ms`;
}

export class RunSummary {
  /** The data, the model and the last epoch's figures, one line each as they become known. */
  private lines: string[] = [];

  constructor(private readonly el: HTMLElement) {}

  /** A new model is being built on this data: the summary starts over. */
  data(m: DataMessage): void {
    // "22 training and 1 test image": the noun is the test count's.
    const images = m.test === 1 ? 'image' : 'images';
    this.lines = [`${dataName(m.name)}: ${m.train.toLocaleString('en')} training and ${m.test.toLocaleString('en')} test ${images}, ${m.rows}×${m.cols}`];
    this.show();
  }

  /**
   * `askedBatch`: the Batch size field's value. A batch larger than the training set is cut to
   * it (every image in each step); the line says so, as the field keeps what was typed.
   */
  model(m: ModelMessage, askedBatch?: number): void {
    const conditional = m.config.classes > 0 ? `, conditional on ${m.config.classes} classes` : '';
    const batch = askedBatch !== undefined && askedBatch > m.batch ? `batch ${m.batch} (all the training images; Batch size asks ${askedBatch})` : `batch ${m.batch}`;
    this.lines = [this.lines[0] ?? '', `Model ${describeShape(m.config, PAGE_SYMBOLS)}${conditional}, ${m.config.likelihood}, ${describeObjective(m.config, PAGE_SYMBOLS)}, ` +
      `${m.params.toLocaleString('en')} parameters, ${batch}${m.precision === 'f16' ? ', f16 activations' : ''}`];
    this.show();
  }

  /** The epoch's figures in place of the last epoch's. */
  epoch(r: EpochReport, config: VaeConfig): void {
    // The IWAE objective reports its bound; for the ELBO, rec + KL is the -ELBO even when β,
    // warm-up or free bits change what is optimised.
    const train = config.objective === 'iwae'
      ? `train −IWAE bound (K=${config.samples}) ${r.train.loss.toFixed(2)}`
      : `train −ELBO ${(r.train.rec + r.train.kl).toFixed(2)}`;
    this.lines = [...this.lines.slice(0, 2), `Epoch ${r.epoch}: ${train}, test −ELBO ${r.test.loss.toFixed(2)} (rec ${r.test.rec.toFixed(2)}, KL ${r.test.kl.toFixed(2)}), ${epochTime(r.seconds)}`];
    this.show();
  }

  /** The newest line (an epoch's figures once there are any), for the live region. */
  lastLine(): string {
    return this.lines.at(-1) ?? '';
  }

  clear(): void {
    this.lines = [];
    this.show();
  }

  private show(): void {
    this.el.textContent = this.lines.join('\n');
  }
}

/** The captions of the samples and manifold views for a model, or for the one the settings would build (a latent size other than 2 hides the manifold: view-canvases.ts). */
export function modelViewNotes(c: Pick<VaeConfig, 'classes' | 'latent'>): { samples: string; manifold: string } {
  return {
    samples: c.classes
      ? `One row per class, named beside it${c.classes > MAX_CLASS_ROWS ? ` (the first ${MAX_CLASS_ROWS} of ${c.classes})` : ''}; each column decodes one fixed z ~ N(0, I) with every class, so the rows show what the label controls and the columns what z does.`
      : '64 fixed draws z ~ N(0, I), decoded by the current weights.',
    manifold: `Decoded grid of z through the inverse Gaussian CDF (Kingma & Welling, figs. 4–5)${c.classes && c.latent === 2 ? ', all of the class chosen below' : ''}.`,
  };
}
