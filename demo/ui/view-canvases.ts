// The image views' canvases (samples, reconstructions, manifold, interpolation, traversal): the
// size each is shown at, which follows the grid it will hold (picture size, classes, latent size);
// handing them to the worker, which draws into them; new ones when the worker changes how frames
// reach the page; and a click on a test picture of the reconstructions view.
import { canvasSize, gridSpec, RECON_COUNT, tileAt } from '../shared/layout';
import { VIEW_NAMES, type ViewName } from '../shared/protocol';

/** What decides the views' grids: the pictures' size, a conditional model's classes, the latent size, the test pictures there are. */
export interface ViewGeometry { imgW: number; imgH: number; classes: number; latent: number; tests: number }

/** The page's canvas of view `v` (looked up each time: a change of presentation path replaces it). */
export const canvasOf = (v: ViewName) => document.querySelector<HTMLCanvasElement>(`canvas[data-view="${v}"]`)!;

export class ViewCanvases {
  /** The default model's (as the page's HTML sizes the canvases before this script runs). */
  private geometry: ViewGeometry = { imgW: 28, imgH: 28, classes: 0, latent: 2, tests: RECON_COUNT };

  /** `onPickTest(index)`: a click on test picture `index` of the reconstructions view (of `testCount()` shown). */
  constructor(private readonly onPickTest: (index: number) => void, private readonly testCount: () => number) {}

  /**
   * Sizes every view for the geometry with `change` applied. The worker owns the pixel size; the
   * page caps the display size at 1:1 and keeps the aspect, so a view does not change size when
   * the worker first draws into it.
   */
  size(change: Partial<ViewGeometry> = {}): void {
    const g = (this.geometry = { ...this.geometry, ...change });
    document.body.classList.toggle('latent-not-2d', g.latent !== 2);
    for (const v of VIEW_NAMES) {
      const { width, height } = canvasSize(gridSpec(v, g.imgW, g.imgH, g.classes, g.latent, g.tests));
      const el = canvasOf(v);
      el.style.maxWidth = `${width}px`;
      el.style.aspectRatio = `${width} / ${height}`;
    }
  }

  /** Hands every view's canvas to the worker (it draws into them from then on). */
  transfer(): Record<ViewName, OffscreenCanvas> {
    canvasOf('reconstructions').onclick = (e) => this.pick(e);
    return Object.fromEntries(VIEW_NAMES.map((v) => [v, canvasOf(v).transferControlToOffscreen()])) as Record<ViewName, OffscreenCanvas>;
  }

  /**
   * New canvases in place of the transferred ones, for a change of presentation path: a canvas
   * keeps the kind of context it was first given, so the old ones cannot switch.
   */
  fresh(): Record<ViewName, OffscreenCanvas> {
    for (const v of VIEW_NAMES) canvasOf(v).replaceWith(canvasOf(v).cloneNode(false));
    this.size();
    return this.transfer();
  }

  /** A click on the reconstructions view: the test picture under it, if any (originals are the even rows). */
  private pick(e: MouseEvent): void {
    const el = e.currentTarget as HTMLCanvasElement, spec = gridSpec('reconstructions', this.geometry.imgW, this.geometry.imgH, 0, 1, this.geometry.tests);
    const { width, height } = canvasSize(spec);
    const t = tileAt(spec, (e.offsetX / el.clientWidth) * width, (e.offsetY / el.clientHeight) * height);
    if (!t || t.row % 2 === 1) return;
    const index = (t.row / 2) * spec.cols + t.col;
    if (index < Math.min(RECON_COUNT, this.testCount())) this.onPickTest(index);
  }
}
