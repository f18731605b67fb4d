// The labels of the latent traversal view: which latent dimension each row sweeps, and how much KL
// it carries on the test images (the rows come most informative first). The pictures themselves
// are drawn by the worker (worker/traversal.ts) into the canvas beside this list.
import type { VaeConfig } from '../../src/index';
import { MAX_TRAVERSAL_ROWS, TRAVERSAL_RANGE, traversalRows } from '../shared/layout';
import { RowLabels } from './row-labels';

/** What the view shows; `cut` says which rows are left out, if any. The page starts with explanation(''). */
function explanation(cut: string): string {
  return `One row per latent dimension${cut}: the posterior mean of the first test image, with that one coordinate swept from −${TRAVERSAL_RANGE} to +${TRAVERSAL_RANGE}. Rows are ordered by the dimension’s mean KL on test images (in nats); a row that does not change is a dimension the model does not use.`;
}

/** Added to the explanation when the rows name factors (dSprites, whose pictures carry them). */
const FACTORS_NOTE = ' Where a row names a factor, that factor explains the given share of the dimension’s posterior mean over the test pictures (a disentangled code has one factor per row, near 100%).';

/** The dSprites factors in plain words. */
const FACTOR_WORDS: Record<string, string> = {
  posX: 'x position', posY: 'y position', scale: 'size', orientation: 'rotation', shape: 'shape', shapeHue: 'sprite hue', backgroundHue: 'background hue',
};
export const factorWords = (name: string) => FACTOR_WORDS[name] ?? name;

export class TraversalLabels {
  private explained = explanation('');
  private readonly rows: RowLabels;

  /** `list`: the labels beside the traversal canvas. */
  constructor(list: HTMLElement, private readonly note: HTMLElement) {
    this.note.textContent = this.explained;
    this.rows = new RowLabels(list);
  }

  /** Describes the view for a newly built or loaded model. */
  describe(config: VaeConfig): void {
    const shown = traversalRows(config.latent, config.imageShape[0]);
    const fitted = shown < Math.min(config.latent, MAX_TRAVERSAL_ROWS) ? ' (as many as fit at this image size)' : '';
    const cut = config.latent > shown ? `, the ${shown} with most KL of ${config.latent}${fitted}` : '';
    this.explained = explanation(cut);
    this.note.textContent = this.explained;
    this.rows.clear();
  }

  /** Labels the rows the worker drew; on dSprites a used row also names the factor that explains most of it. */
  show(dims: number[], kl: number[] | null, factors: ({ name: string; share: number } | null)[] | null = null): void {
    this.rows.show(dims.map((dim, row) => {
      const factor = factors?.[row];
      const share = factor ? `${(100 * factor.share).toFixed(0)}%` : '';
      return {
        text: `z${dim}${kl ? ` · KL ${kl[row].toFixed(2)} nats` : ''}${factor ? ` · ${factorWords(factor.name)} ${share}` : ''}`,
        title: factor ? `${factorWords(factor.name)} explains ${share} of this dimension's posterior mean over the test pictures` : undefined,
        data: { dim: String(dim) },
      };
    }));
    this.note.textContent = this.explained + (factors?.some((f) => f) ? FACTORS_NOTE : '');
  }

  clear(): void {
    this.rows.clear();
  }
}
