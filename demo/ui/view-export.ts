// "Save PNG" beside each image view's title: the picture the view shows now, as a PNG named for
// the view and the training step, as the CLI writes its pictures. The worker draws the views into
// transferred canvases; the page's canvas still holds the last frame shown, which toBlob encodes.
import { VIEW_NAMES } from '../shared/protocol';
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
    button.onclick = () => canvasOf(view).toBlob((blob) => { if (blob) downloadBlob(blob, `${view}-step-${step()}.png`); }, 'image/png');
    title.before(button); // beside the heading, not in it: the heading keeps its own name
  }
}
