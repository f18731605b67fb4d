// "Save PNG" beside each image view's title, and the latent scatter plot's: the picture the view
// shows now, as a PNG named for the view and the training step, as the CLI writes its pictures. The worker draws the views into
// transferred canvases; the page's canvas still holds the last frame shown, which toBlob encodes.
// A view whose rows are labelled beside it (the traversal's dimensions, a conditional model's
// classes: row-labels.ts) is saved with its labels to the right of the picture, each level with
// its row, the interpolation strip with the line naming its ends below it, and a conditional
// model's manifold with the class it is decoded as, in the colours the page shows them in, so that
// the file explains itself.
import { VIEW_NAMES, type ViewName } from '../shared/protocol';
import { canvasOf } from './view-canvases';
import { drawMarker, MARKERS, type Marker, type Scatter } from './scatter';

/** Starts a download of `blob` as `name`. */
export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = Object.assign(document.createElement('a'), { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

const pngOf = (canvas: HTMLCanvasElement) => new Promise<Blob | null>((done) => canvas.toBlob(done, 'image/png'));

/** Canvas pixels between the picture and its labels, and around the labels. */
const LABEL_MARGIN = 8;

/** The colour shown behind `el`: the first background of it or its ancestors that is not transparent. */
function backgroundOf(el: Element): string {
  for (let at: Element | null = el; at; at = at.parentElement) {
    const colour = getComputedStyle(at).backgroundColor;
    if (colour && colour !== 'transparent' && !/^rgba\(.*,\s*0\)$/.test(colour)) return colour;
  }
  return 'white';
}

/**
 * The line of words a view's picture is saved with, below it, and the element whose colour it
 * takes, or null: the interpolation's two ends, and the class a conditional model's manifold is
 * decoded as (two classes' manifolds are otherwise the same file but for their pixels).
 */
function captionOf(view: ViewName): { text: string; colourOf: Element } | null {
  if (view === 'interpolation') {
    const line = document.getElementById('interp-labels');
    const text = line?.textContent?.trim() ?? '';
    return line && text ? { text, colourOf: line } : null;
  }
  if (view === 'manifold') {
    const select = document.getElementById('manifold-class') as HTMLSelectElement | null;
    const control = select?.closest<HTMLElement>('.class-control');
    const option = select?.selectedOptions[0];
    if (!select || !control || control.hidden || !option) return null;
    // Digits are named by their number: "class 4", as the interpolation's line says it.
    const name = option.text === option.value ? `class ${option.value}` : option.text;
    return { text: `decoded as ${name}`, colourOf: control };
  }
  return null;
}

/** The picture of `view` as a PNG, with its row labels (if any) drawn beside it and its caption (if any) below. */
export async function viewPng(view: ViewName): Promise<Blob | null> {
  const canvas = canvasOf(view);
  const list = canvas.parentElement?.querySelector<HTMLElement>('.row-labels');
  const labels = Array.from(list?.children ?? [], (li) => li.textContent ?? '');
  const captionLine = captionOf(view), caption = captionLine?.text ?? '';
  const picture = await pngOf(canvas);
  if (!picture || (labels.length === 0 && !caption)) return picture;
  const bitmap = await createImageBitmap(picture);
  const { width, height } = bitmap;
  const rowHeight = height / Math.max(1, labels.length);
  // Text about 0.4 of a row high, readable whatever the picture's scale (11 to 16 canvas pixels).
  const fontPx = Math.round(Math.max(11, Math.min(16, 0.4 * rowHeight)));
  const style = getComputedStyle(list ?? canvas);
  const font = `${fontPx}px ${style.fontFamily}`;
  const out = document.createElement('canvas');
  const measure = out.getContext('2d')!;
  measure.font = font;
  const textWidth = labels.length ? Math.ceil(Math.max(...labels.map((t) => measure.measureText(t).width))) : 0;
  const captionHeight = caption ? 2 * fontPx : 0;
  out.width = Math.max(width + (labels.length ? LABEL_MARGIN * 2 + textWidth : 0), caption ? Math.ceil(measure.measureText(caption).width) + 2 * LABEL_MARGIN : 0);
  out.height = height + captionHeight;
  const ctx = out.getContext('2d')!; // resizing reset the context's state
  ctx.fillStyle = backgroundOf(canvas);
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  ctx.font = font;
  ctx.fillStyle = style.color;
  ctx.textBaseline = 'middle';
  labels.forEach((text, row) => ctx.fillText(text, width + LABEL_MARGIN, (row + 0.5) * rowHeight));
  ctx.textAlign = 'center';
  if (captionLine) {
    ctx.fillStyle = getComputedStyle(captionLine.colourOf).color; // the page's colour of that line
    ctx.fillText(caption, out.width / 2, height + captionHeight / 2);
  }
  return pngOf(out);
}

/**
 * The latent scatter plot as a PNG: `plot` (Scatter.picture(), of a fixed size) on the colour behind
 * the page's canvas `page` (both are transparent), and below it the legend's coloured dots and
 * names, wrapped to the plot's width, as the page shows them.
 */
export async function scatterPng(plot: HTMLCanvasElement, page: HTMLCanvasElement, legend: HTMLElement): Promise<Blob | null> {
  const items = Array.from(legend.children as HTMLCollectionOf<HTMLElement>, (el) => ({
    text: el.textContent ?? '', colour: getComputedStyle(el).getPropertyValue('--swatch').trim(),
    marker: (MARKERS as readonly string[]).includes(el.dataset.marker ?? '') ? el.dataset.marker as Marker : 'dot',
  }));
  const fontPx = 13, dot = 5, gap = 12, lineHeight = 20;
  const out = document.createElement('canvas');
  const ctx = out.getContext('2d')!;
  const font = `${fontPx}px ${getComputedStyle(legend).fontFamily}`;
  ctx.font = font;
  // Each item is a dot, a space and its name; items fill a line, then wrap.
  const widths = items.map((item) => 2 * dot + dot + ctx.measureText(item.text).width);
  const lines: number[][] = [];
  let used = Infinity;
  widths.forEach((w, i) => {
    if (used + gap + w > plot.width - 2 * gap) { lines.push([]); used = -gap; }
    lines[lines.length - 1].push(i);
    used += gap + w;
  });
  out.width = plot.width;
  out.height = plot.height + (lines.length ? lines.length * lineHeight + gap : 0);
  ctx.fillStyle = backgroundOf(page);
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(plot, 0, 0);
  ctx.font = font; // resizing reset the context's state
  ctx.textBaseline = 'middle';
  lines.forEach((line, row) => {
    const lineWidth = line.reduce((sum, i) => sum + widths[i], 0) + gap * (line.length - 1);
    let x = (out.width - lineWidth) / 2;
    const y = plot.height + row * lineHeight + lineHeight / 2;
    for (const i of line) {
      drawMarker(ctx, items[i].marker, items[i].colour, x + dot, y, dot);
      ctx.fillStyle = getComputedStyle(legend).color;
      ctx.fillText(items[i].text, x + 3 * dot, y);
      x += widths[i] + gap;
    }
  });
  return pngOf(out);
}

/** A Save PNG button before `title`, saving what `picture()` gives as `name()`. */
function addSaveButton(title: Element, testid: string, picture: () => Promise<Blob | null>, name: () => string): void {
  const button = Object.assign(document.createElement('button'), { type: 'button', className: 'save-view', textContent: 'Save PNG' });
  button.dataset.testid = testid;
  button.setAttribute('aria-label', `Save the ${title.textContent?.toLowerCase()} as a PNG file`);
  button.onclick = () => void picture().then((blob) => { if (blob) downloadBlob(blob, name()); });
  title.before(button); // beside the heading, not in it: the heading keeps its own name
}

/** Adds the Save PNG buttons; `stem()` names the run and the step the views show (runStem), for the file name. */
export function addViewExports(stem: () => string, scatter?: Scatter): void {
  for (const view of VIEW_NAMES) {
    const title = canvasOf(view).closest('figure')?.querySelector('figcaption h2');
    // The canvas is looked up on each click: a change of presentation path replaces it (view-canvases.ts).
    if (title) addSaveButton(title, `save-${view}`, () => viewPng(view), () => `${view}-${stem()}.png`);
  }
  const canvas = document.querySelector<HTMLCanvasElement>('canvas#scatter'), legend = document.getElementById('scatter-legend');
  const title = canvas?.closest('figure')?.querySelector('figcaption h2');
  if (scatter && canvas && legend && title) addSaveButton(title, 'save-scatter', () => scatterPng(scatter.picture(), canvas, legend), () => `latent-scatter-${stem()}.png`);
}
