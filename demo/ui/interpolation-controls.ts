// The interpolation's endpoints (two test-image indices, typed, drawn at random or clicked in the
// reconstructions view) and the class pickers of a conditional model's manifold and
// interpolation: each change asks the worker to draw that view again.
import type { ToWorker } from '../shared/protocol';

const field = (id: string) => document.getElementById(id) as HTMLInputElement;
const select = (id: string) => document.getElementById(id) as HTMLSelectElement;

export class InterpolationControls {
  /** Which endpoint a click on a test image sets next. */
  private next: 'a' | 'b' = 'a';

  /** `testCount`: how many test images the current model's data set has. */
  constructor(private readonly send: (m: ToWorker) => void, private readonly testCount: () => number) {
    field('interp-a').onchange = field('interp-b').onchange = () => this.interpolate();
    // '' in the interpolation's picker: each pair's first label.
    const classOf = (id: string) => (select(id).value === '' ? null : Number(select(id).value));
    select('manifold-class').onchange = () => send({ type: 'view-class', view: 'manifold', label: classOf('manifold-class') });
    select('interp-class').onchange = () => send({ type: 'view-class', view: 'interpolation', label: classOf('interp-class') });
    (document.getElementById('interp-random') as HTMLButtonElement).onclick = () => {
      // Two different pictures: a is any, b any other.
      const n = Math.max(2, this.testCount());
      const a = Math.floor(Math.random() * n);
      field('interp-a').value = String(a);
      field('interp-b').value = String((a + 1 + Math.floor(Math.random() * (n - 1))) % n);
      this.interpolate();
    };
  }

  /** A click on test image `index` makes it the next endpoint, a and b in turn. */
  pick(index: number): void {
    field(this.next === 'a' ? 'interp-a' : 'interp-b').value = String(index);
    this.next = this.next === 'a' ? 'b' : 'a';
    this.interpolate();
  }

  private interpolate(): void {
    this.send({ type: 'interpolate', a: this.index('interp-a'), b: this.index('interp-b') });
  }

  /**
   * The endpoint typed in field `id`, brought into the test set's range in the field itself, so
   * that the number shown is the picture drawn (5000 of 1000 pictures shows 999, not 5000).
   */
  private index(id: string): number {
    const el = field(id), n = this.testCount();
    const typed = Math.trunc(Number(el.value));
    if (n < 1) return Number.isFinite(typed) ? typed : 0;
    el.max = String(n - 1);
    const index = Math.min(n - 1, Math.max(0, Number.isFinite(typed) ? typed : 0));
    if (String(index) !== el.value) el.value = String(index);
    return index;
  }
}
