// The error banner (data-testid="error") and the words in it. A missing WebGPU is detected on the
// page before the worker starts, because the reasons (insecure origin, old browser, flag off on
// Linux) need different advice; adapter and device failures come from the worker.
import type { ErrorKind } from '../shared/protocol';
import { SAVED_WHEN } from '../shared/saved-run';
import { inPageTerms } from './page-terms';

const el = () => document.getElementById('error')!;

export function showError(title: string, text: string): void {
  document.getElementById('error-title')!.textContent = title;
  document.getElementById('error-text')!.textContent = text;
  el().hidden = false;
}

/**
 * A settings error, brought to the user: beside the control at fault (marked invalid, described by
 * the message, and focused, which scrolls it into view), or, with no single control to blame, the
 * banner itself is scrolled to and focused. The banner at the top of the page says it too; on a
 * narrow screen it can be a screenful above the Start button that was pressed.
 */
export function showSettingsError(title: string, text: string, control: HTMLElement | null): void {
  showError(title, text);
  const label = control?.closest('label');
  if (!control || !label) {
    el().scrollIntoView({ block: 'nearest' });
    el().focus({ preventScroll: true });
    return;
  }
  const note = fieldNote();
  note.textContent = text;
  note.hidden = false;
  label.after(note);
  control.setAttribute('aria-invalid', 'true');
  control.setAttribute('aria-describedby', note.id);
  control.focus();
}

/** The one note under an invalid control, made on first use. */
function fieldNote(): HTMLElement {
  let note = document.getElementById('field-error');
  if (!note) {
    note = document.createElement('p');
    note.id = 'field-error';
    note.className = 'field-error';
    note.dataset.testid = 'field-error';
  }
  return note;
}

export function clearError(): void {
  el().hidden = true;
  document.getElementById('recover')!.hidden = true;
  document.getElementById('notice')!.hidden = true;
  const note = document.getElementById('field-error');
  if (note) note.hidden = true;
  for (const c of Array.from(document.querySelectorAll('[aria-invalid="true"]'))) {
    c.removeAttribute('aria-invalid');
    if (c.getAttribute('aria-describedby') === 'field-error') c.removeAttribute('aria-describedby');
  }
}

const ENABLE_HELP =
  'Use a browser with WebGPU: Chrome or Edge 113 or newer (Windows, macOS, ChromeOS, Android), Safari 26, or Firefox 141 or newer on Windows. ' +
  'On Linux, Chrome needs it switched on: open chrome://flags/#enable-unsafe-webgpu, enable it and restart (or start Chrome with --enable-unsafe-webgpu). ' +
  'If it is on but blocked for your GPU, chrome://gpu says why; updating the GPU driver usually helps.';

/** Why this page cannot use WebGPU, or null when navigator.gpu is there. */
export function noWebGpuReason(): { title: string; text: string } | null {
  if (!window.isSecureContext) {
    return {
      title: 'WebGPU needs a secure page',
      text: `This page was opened from ${location.origin}, which is not a secure context, and browsers only offer WebGPU (navigator.gpu) to secure pages. ` +
        'Open it over https, or on http://localhost or http://127.0.0.1 (npm run demo does that).',
    };
  }
  if (!('gpu' in navigator) || !navigator.gpu) {
    return { title: 'WebGPU is not available in this browser', text: `navigator.gpu is missing, so nothing can run on the GPU.\n${ENABLE_HELP}` };
  }
  if (typeof OffscreenCanvas === 'undefined' || !('transferControlToOffscreen' in HTMLCanvasElement.prototype)) {
    return { title: 'This browser lacks OffscreenCanvas', text: 'Training runs in a worker that draws into transferred canvases; use a current Chrome, Edge, Firefox or Safari.' };
  }
  return null;
}

/**
 * The banner's title and text for an error of `kind`. The text is put in the page's words
 * (page-terms.ts): the library's messages name its API and the CLI's flags, the page its controls.
 */
export function describeError(kind: ErrorKind, raw: string): { title: string; text: string } {
  // The no-WebGPU advice names a browser flag on purpose; everything else speaks of the page.
  const message = kind === 'no-webgpu' ? raw : inPageTerms(raw);
  switch (kind) {
    case 'no-webgpu':
      return { title: 'WebGPU is not available to the training worker', text: `${message}\n${ENABLE_HELP}` };
    case 'device-lost':
      return { title: 'The GPU device was lost', text: `${message}\nThe model on it is gone. You can restart on a new device from the last weights read back (kept ${SAVED_WHEN}).` };
    case 'data':
      return { title: 'The dataset could not be used', text: message };
    case 'config':
      return { title: 'Check the settings', text: message };
    case 'checkpoint':
      // The file is refused, not the data: a run in training goes on (worker/build.ts checks
      // the file and its fit to the data before the run is dropped).
      return { title: 'The model file was not loaded', text: message };
    case 'kept-run':
      return { title: 'The kept run could not be continued', text: message };
    default:
      return { title: 'Something went wrong', text: message };
  }
}

/** A note that needs no action (data-testid="notice"), e.g. that the page recovered from a lost device by itself. */
export function showNotice(text: string, reveal = false): void {
  const el = document.getElementById('notice')!;
  el.textContent = text;
  el.hidden = false;
  // A question the next press answers (Reset, Load model) must be seen where the page is scrolled
  // to the views: unseen, a second press would discard the model without the person knowing.
  if (reveal) el.scrollIntoView({ block: 'nearest' });
}
