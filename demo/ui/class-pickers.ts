// The class pickers of a conditional model: which class the 2-D manifold decodes, and the class
// the interpolation decodes with (or each pair's first label). Hidden for an unconditional model,
// and the manifold's for a latent size other than 2, where there is no manifold view. Options are
// named as the scatter legend names labels (Fashion-MNIST's clothes, dSprites' shapes, digits).
import type { VaeConfig } from '../../src/index';
import { labelName } from './data-classes';
import type { RowLabel } from './row-labels';
import { MAX_CLASS_ROWS } from '../shared/layout';

/** The pickers' options, label value first: `choice` is the data picker's value, which names the data of the model shown. */
export const classOptions = (classes: number, choice: string): [string, string][] =>
  Array.from({ length: classes }, (_, k) => [String(k), labelName(k, choice)]);

/** The names beside a conditional model's samples rows (one per row shown, the first MAX_CLASS_ROWS classes); none for `classes` 0. */
export const classRowLabels = (classes: number, choice: string): RowLabel[] =>
  classOptions(Math.min(classes, MAX_CLASS_ROWS), choice).map(([, text]) => ({ text }));

export function showClassPickers(c: Pick<VaeConfig, 'classes' | 'latent'>, choice: string): void {
  const fill = (id: string, first: string | null) => {
    const select = document.getElementById(id) as HTMLSelectElement;
    const options = classOptions(c.classes, choice).map(([value, text]) => new Option(text, value));
    select.replaceChildren(...(first ? [new Option(first, '')] : []), ...options);
  };
  fill('manifold-class', null);
  fill('interp-class', 'the first image’s label');
  document.querySelectorAll<HTMLElement>('.class-control').forEach((el) => (el.hidden = c.classes === 0));
  if (c.latent !== 2) document.getElementById('manifold-class')!.closest<HTMLElement>('.class-control')!.hidden = true;
}
