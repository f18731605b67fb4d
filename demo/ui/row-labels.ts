// Labels beside a grid picture, one per row of tiles: the traversal's latent dimensions and a
// conditional model's classes. Beside the picture each label takes the height of a row as drawn
// (the picture's CSS height over the rows, in --grid-row), so that it sits level with its row
// whatever size the page gives the picture. The picture is the list's sibling canvas, looked up
// each time: a change of presentation path replaces the canvases (view-canvases.ts). The Save PNG of the view draws them too
// (view-export.ts), read back from the list.
export interface RowLabel {
  text: string;
  /** Shown on hover. */
  title?: string;
  /** Data attributes of the item (e.g. the latent dimension it sweeps). */
  data?: Record<string, string>;
}

export class RowLabels {
  /** `list`: the labels' list, beside the grid's canvas in one container. */
  constructor(private readonly list: HTMLElement) {
    new ResizeObserver(() => this.align()).observe(list.parentElement!);
  }

  show(labels: readonly RowLabel[]): void {
    this.list.replaceChildren(...labels.map(({ text, title, data }) => {
      const item = document.createElement('li');
      item.textContent = text;
      if (title) item.title = title;
      Object.assign(item.dataset, data);
      return item;
    }));
    this.align();
  }

  clear(): void {
    this.list.replaceChildren();
  }

  private align(): void {
    const rows = this.list.children.length;
    const picture = this.list.parentElement?.querySelector('canvas');
    if (rows && picture) this.list.style.setProperty('--grid-row', `${picture.getBoundingClientRect().height / rows}px`);
  }
}
