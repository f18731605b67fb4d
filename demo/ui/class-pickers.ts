// The class pickers of a conditional model: which class the 2-D manifold decodes, and the class
// the interpolation decodes with (or each pair's first label). Hidden for an unconditional model,
// and the manifold's for a latent size other than 2, where there is no manifold view.
import type { VaeConfig } from '../../src/index';

export function showClassPickers(c: Pick<VaeConfig, 'classes' | 'latent'>): void {
  const fill = (id: string, first: string | null) => {
    const select = document.getElementById(id) as HTMLSelectElement;
    const options = Array.from({ length: c.classes }, (_, k) => new Option(String(k), String(k)));
    select.replaceChildren(...(first ? [new Option(first, '')] : []), ...options);
  };
  fill('manifold-class', null);
  fill('interp-class', 'the first image’s label');
  document.querySelectorAll<HTMLElement>('.class-control').forEach((el) => (el.hidden = c.classes === 0));
  if (c.latent !== 2) document.getElementById('manifold-class')!.closest<HTMLElement>('.class-control')!.hidden = true;
}
