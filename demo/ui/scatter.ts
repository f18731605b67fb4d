// Scatter plot of the test set's posterior means in a 2-D latent space, coloured by label (the
// companion of the manifold view: where each class lives; the legend names clothes and shapes).
// A plain 2-D canvas: a thousand points drawn a few times a minute cost nothing worth moving to
// the GPU.
import { labelName } from './data-classes';

/**
 * One colour per class, told apart on the page's dark background: every pair at least 30 apart in
 * CIELAB (the one before had red and salmon 20 apart, Fashion-MNIST's Dress and Shirt).
 */
export const PALETTE = ['#3b9cff', '#ff8c1a', '#3ddc55', '#ff3333', '#b48cff', '#fff04d', '#ff66cc', '#00d0c0', '#e0e0e0', '#b5793c'];

/**
 * Past ten classes (the user's IDX files may have more) the colours come round again in another
 * shape: a ring, then a plus. (A filled square was a dot at the plot's point size.)
 */
export const MARKERS = ['dot', 'ring', 'plus'] as const;
export type Marker = (typeof MARKERS)[number];

/** How `label`'s points are drawn: 30 classes are told apart (dots, rings, pluses); past that, markers repeat. */
export function classMarker(label: number): { colour: string; marker: Marker } {
  return { colour: PALETTE[label % PALETTE.length], marker: MARKERS[Math.floor(label / PALETTE.length) % MARKERS.length] };
}

/** Draws one marker of radius `r` centred at (x, y) in `colour`. */
export function drawMarker(ctx: CanvasRenderingContext2D, marker: Marker, colour: string, x: number, y: number, r: number): void {
  ctx.beginPath();
  if (marker !== 'dot') {
    // Strokes a little larger than the dot, so that their open middle shows at the plot's size.
    ctx.strokeStyle = colour;
    ctx.lineWidth = Math.max(1.2, r * 0.45);
    if (marker === 'ring') {
      ctx.arc(x, y, r, 0, 2 * Math.PI);
    } else {
      const arm = 1.5 * r;
      ctx.moveTo(x - arm, y); ctx.lineTo(x + arm, y);
      ctx.moveTo(x, y - arm); ctx.lineTo(x, y + arm);
    }
    ctx.stroke();
    return;
  }
  ctx.fillStyle = colour;
  ctx.arc(x, y, r, 0, 2 * Math.PI);
  ctx.fill();
}

/**
 * The data picker's choice, which names the data of the model shown: the settings form, the
 * picker included, is locked while a model exists, and a loaded model trains on the picked data.
 */
const dataChoice = () => (document.getElementById('dataset') as HTMLSelectElement | null)?.value ?? '';

/**
 * The labels the legend lists: those that occur, in order (digits 0-9, dSprites' three shapes),
 * or none when every point has the same label (the user's own pictures), as colour then tells
 * nothing apart.
 */
export function legendLabels(labels: Uint8Array): number[] {
  const seen = [...new Set(labels)].sort((a, b) => a - b);
  return seen.length > 1 ? seen : [];
}

/** Pixels a side of the saved plot: the page's largest (canvas.scatter's max-width). */
const SAVED_SIZE = 560;

export class Scatter {
  private readonly ctx: CanvasRenderingContext2D;
  private last: { mu: Float32Array; labels: Uint8Array } | null = null;

  constructor(private readonly canvas: HTMLCanvasElement, private readonly legend: HTMLElement) {
    this.ctx = canvas.getContext('2d')!;
    new ResizeObserver(() => this.draw()).observe(canvas);
    this.draw();
  }

  update(mu: Float32Array, labels: Uint8Array): void {
    this.last = { mu, labels };
    this.fillLegend(legendLabels(labels));
    this.draw();
  }

  /**
   * Lists the `count` labels the picked data will have before its first points arrive: the legend
   * takes its height (two lines for Fashion-MNIST's names) while the model is built, and the first
   * points move nothing below it. One class (the user's own pictures) lists none, as update does.
   */
  expect(count: number): void {
    if (this.last) return;
    this.fillLegend(count > 1 ? Array.from({ length: count }, (_, k) => k) : []);
  }

  private fillLegend(labels: readonly number[]): void {
    const choice = dataChoice();
    this.legend.replaceChildren(...labels.map((label) => {
      const item = document.createElement('span');
      const { colour, marker } = classMarker(label);
      item.className = `swatch ${marker}`;
      item.dataset.marker = marker;
      item.style.setProperty('--swatch', colour);
      item.textContent = labelName(label, choice);
      return item;
    }));
  }

  clear(): void {
    this.last = null;
    this.legend.replaceChildren();
    this.draw();
  }

  private draw(): void {
    const dpr = window.devicePixelRatio || 1;
    const size = Math.round(this.canvas.clientWidth || 480);
    if (this.canvas.width !== size * dpr) {
      this.canvas.width = this.canvas.height = size * dpr;
    }
    this.drawOn(this.ctx, size, dpr);
  }

  /**
   * The plot on a canvas of its own, `size` pixels a side whatever the window's width (the Save
   * PNG's picture, as the other views save at their grid's size); transparent like the page's.
   */
  picture(size = SAVED_SIZE): HTMLCanvasElement {
    const canvas = Object.assign(document.createElement('canvas'), { width: size, height: size });
    this.drawOn(canvas.getContext('2d')!, size, 1);
    return canvas;
  }

  /** Draws the axes and the points on `ctx`, `size` CSS pixels a side at `dpr` canvas pixels each. */
  private drawOn(ctx: CanvasRenderingContext2D, size: number, dpr: number): void {
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, size, size);
    const pad = 28, inner = size - 2 * pad;
    // Symmetric range covering nearly all points (a few outliers may fall outside), at least ±2.5.
    let extent = 2.5;
    if (this.last) {
      // Means that are not numbers (a diverged model) would make the range NaN and hide every point.
      const abs = Array.from(this.last.mu, Math.abs).filter(Number.isFinite).sort((a, b) => a - b);
      extent = Math.max(2.5, Math.ceil(abs[Math.floor(abs.length * 0.99)] ?? 0));
    }
    const toX = (v: number) => pad + ((v + extent) / (2 * extent)) * inner;
    const toY = (v: number) => pad + ((extent - v) / (2 * extent)) * inner;
    ctx.strokeStyle = 'rgba(240,246,252,0.12)';
    ctx.fillStyle = '#8b949e';
    ctx.font = '11px system-ui, sans-serif';
    ctx.lineWidth = 1;
    const step = tickStep(extent);
    for (let t = -Math.floor(extent / step) * step; t <= extent; t += step) {
      ctx.beginPath();
      ctx.moveTo(toX(t), pad); ctx.lineTo(toX(t), size - pad);
      ctx.moveTo(pad, toY(t)); ctx.lineTo(size - pad, toY(t));
      ctx.stroke();
      ctx.textAlign = 'center';
      ctx.fillText(String(t), toX(t), size - pad + 14);
      ctx.textAlign = 'right';
      ctx.fillText(String(t), pad - 5, toY(t) + 4);
    }
    if (!this.last) {
      ctx.textAlign = 'center';
      // Shown only for latent size 2 (view-canvases.ts hides it otherwise): say what fills it, not what to set.
      ctx.fillText('No model yet: press Start', size / 2, size * 0.35); // clear of the axis line through the middle
      return;
    }
    const { mu, labels } = this.last;
    // The few outliers past the range are left out, not drawn over the axes' labels.
    ctx.save();
    ctx.beginPath();
    ctx.rect(pad, pad, inner, inner);
    ctx.clip();
    ctx.globalAlpha = 0.8;
    for (let i = 0; i < labels.length; i++) {
      const { colour, marker } = classMarker(labels[i]);
      drawMarker(ctx, marker, colour, toX(mu[2 * i]), toY(mu[2 * i + 1]), 2.2);
    }
    ctx.restore();
  }
}

/**
 * The spacing of the axes' ticks: 1, 2, 5, 10, ... whichever keeps them to at most 6 a side, so
 * that the labels of a wide range (a dSprites code spans +-16) do not run into each other.
 */
export function tickStep(extent: number): number {
  for (let scale = 1; ; scale *= 10) {
    for (const m of [1, 2, 5]) if (extent / (m * scale) <= 6) return m * scale;
  }
}
