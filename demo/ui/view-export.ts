// "Save PNG" beside each image view's title: the picture the view shows now, as a PNG named for
// the view and the training step, as the CLI writes its pictures. The worker draws the views into
// transferred canvases; the page's canvas still holds the last frame shown, which toBlob encodes.
// A view whose rows are labelled beside it (the traversal's dimensions, a conditional model's
// classes: row-labels.ts) is saved with its labels to the right of the picture, each level with
// its row, in the colours the page shows them in, so that the file explains itself.
import { VIEW_NAMES, type ViewName } from '../shared/protocol';
import { canvasOf } from './view-canvases';

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

/** The picture of `view` as a PNG, with its row labels (if any) drawn beside it. */
export async function viewPng(view: ViewName): Promise<Blob | null> {
  const canvas = canvasOf(view);
  const list = canvas.parentElement?.querySelector<HTMLElement>('.row-labels');
  const labels = Array.from(list?.children ?? [], (li) => li.textContent ?? '');
  const picture = await pngOf(canvas);
  if (!picture || labels.length === 0) return picture;
  const bitmap = await createImageBitmap(picture);
  const { width, height } = bitmap;
  const rowHeight = height / labels.length;
  // Text about 0.4 of a row high, readable whatever the picture's scale (11 to 16 canvas pixels).
  const fontPx = Math.round(Math.max(11, Math.min(16, 0.4 * rowHeight)));
  const style = getComputedStyle(list!);
  const font = `${fontPx}px ${style.fontFamily}`;
  const out = document.createElement('canvas');
  const measure = out.getContext('2d')!;
  measure.font = font;
  const textWidth = Math.ceil(Math.max(...labels.map((t) => measure.measureText(t).width)));
  out.width = width + LABEL_MARGIN * 2 + textWidth;
  out.height = height;
  const ctx = out.getContext('2d')!; // resizing reset the context's state
  ctx.fillStyle = backgroundOf(canvas);
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  ctx.font = font;
  ctx.fillStyle = style.color;
  ctx.textBaseline = 'middle';
  labels.forEach((text, row) => ctx.fillText(text, width + LABEL_MARGIN, (row + 0.5) * rowHeight));
  return pngOf(out);
}

/** Adds the Save PNG buttons; `step()` is the training step the views show, for the file name. */
export function addViewExports(step: () => number): void {
  for (const view of VIEW_NAMES) {
    const figure = canvasOf(view).closest('figure');
    const title = figure?.querySelector('figcaption h2');
    if (!title) continue;
    const button = Object.assign(document.createElement('button'), { type: 'button', className: 'save-view', textContent: 'Save PNG' });
    button.dataset.testid = `save-${view}`;
    button.setAttribute('aria-label', `Save the ${title.textContent?.toLowerCase()} as a PNG file`);
    // The canvas is looked up on each click: a change of presentation path replaces it (view-canvases.ts).
    button.onclick = () => void viewPng(view).then((blob) => { if (blob) downloadBlob(blob, `${view}-step-${step()}.png`); });
    title.before(button); // beside the heading, not in it: the heading keeps its own name
  }
}
