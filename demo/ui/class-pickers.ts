// The class pickers of a conditional model: which class the 2-D manifold decodes, and the class
// the interpolation decodes with (or each pair's first label). Hidden for an unconditional model,
// and the manifold's for a latent size other than 2, where there is no manifold view. Options are
// named as the scatter legend names labels (Fashion-MNIST's clothes, dSprites' shapes, digits).
import type { VaeConfig } from '../../src/index';
import { labelName } from './scatter';

/** The pickers' options, label value first: `choice` is the data picker's value, which names the data of the model shown. */
export const classOptions = (classes: number, choice: string): [string, string][] =>
  Array.from({ length: classes }, (_, k) => [String(k), labelName(k, choice)]);

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
