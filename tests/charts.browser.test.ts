// The demo's training charts (demo/ui/charts.ts) in a real page: each card keeps the height its
// CSS gives it when the charts are rebuilt for another likelihood and objective in one go (a
// Gaussian run followed by an IWAE one), as they are on a fresh page.
import { describe, expect, it } from 'vitest';
import 'uplot/dist/uPlot.min.css';
import { Charts } from '../demo/ui/charts';

const settle = () => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));

describe('the training charts', () => {
  it('keep their cards\' height through rebuilds for a new likelihood and objective together', async () => {
    document.body.style.width = '800px';
    const card = () => {
      const el = document.createElement('div');
      // As styles.css gives a .chart card: a fixed height the plot fits into.
      Object.assign(el.style, { height: '270px', padding: '6px', overflow: 'hidden', boxSizing: 'border-box', width: '760px' });
      document.body.append(el);
      return el;
    };
    const els = { elbo: card(), terms: card(), speed: card() };
    const charts = new Charts(els);
    await settle();
    const heights = () => Object.values(els).map((el) => el.offsetHeight);
    const fresh = heights();
    // A Gaussian run (linear axes), then an IWAE run of a Bernoulli model (log axes): each change
    // rebuilds the charts, and the page makes both at once when the new model arrives.
    charts.useLogScale(false);
    await settle();
    charts.useLogScale(true);
    charts.useObjective('iwae', 5);
    await settle();
    charts.useLogScale(false);
    charts.useObjective('elbo', 1);
    await settle();
    expect(heights(), 'card heights after the rebuilds').toEqual(fresh);
    expect(Object.values(els).map((el) => el.style.minHeight)).toEqual(['', '', '']);
  });
});
