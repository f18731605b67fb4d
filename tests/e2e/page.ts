// Driving the demo page from the tests: its settings for a small quick model, the status line
// (waited for, never timed: a busy machine only makes the waits longer), screenshots of its
// canvases once they are stable, and the test hook that destroys the worker's GPU device.
import type { Page } from 'playwright';
import { DRAWING_AFTER_PAUSE } from '../../demo/shared/protocol';
import { decodePng, maxDifference, type Picture } from './browser';

/** Small enough to train ~20 steps/s on SwiftShader; still learns clearly within 300 steps. */
export const SMALL = { latent: '2', hidden: '64', batch: '32', subset: '2000', lr: '0.002', seed: '0' };

/** The longest any single wait may take: a bound on a hung page, not a speed requirement. */
const PATIENCE_MS = 600_000;

export const statusOf = async (page: Page) => (await page.textContent('[data-testid=status]')) ?? '';
export const numberIn = (text: string, label: string) => Number(new RegExp(`${label} ([\\d.]+)`).exec(text)?.[1] ?? NaN);

/** The error banner's text, or null while it is hidden. */
export async function errorShown(page: Page): Promise<string | null> {
  const banner = page.locator('[data-testid=error]');
  return (await banner.isHidden()) ? null : (await banner.textContent()) ?? '';
}

/**
 * Waits until the status line reaches `n` steps with a loss shown and returns its text; throws
 * at once if the page shows an error instead.
 */
export async function atStep(page: Page, n: number): Promise<string> {
  await page.waitForFunction((min) => {
    if (!document.querySelector<HTMLElement>('[data-testid=error]')?.hidden) return true;
    const m = /step (\d+) · [^·]*\d/.exec(document.querySelector('[data-testid=status]')?.textContent ?? '');
    return !!m && Number(m[1]) >= min;
  }, n, { timeout: PATIENCE_MS, polling: 200 });
  const error = await errorShown(page);
  if (error !== null) throw new Error(`the page showed an error while waiting for step ${n}: ${error}`);
  return statusOf(page);
}

/** Waits until the status line starts with `prefix` and contains `detail`. */
export async function waitForStatus(page: Page, prefix: string, detail = '', timeout = PATIENCE_MS): Promise<string> {
  await page.waitForFunction(([p, d]) => {
    const text = document.querySelector('[data-testid=status]')?.textContent ?? '';
    return text.startsWith(p) && text.includes(d);
  }, [prefix, detail] as const, { timeout, polling: 200 });
  return statusOf(page);
}
/** Waits until the page is paused with its views drawn (not while it says DRAWING_AFTER_PAUSE). */
export async function paused(page: Page, detail = ''): Promise<string> {
  await page.waitForFunction(([d, drawing]) => {
    const text = document.querySelector('[data-testid=status]')?.textContent ?? '';
    return text.startsWith('Paused') && text.includes(d) && !text.includes(drawing);
  }, [detail, DRAWING_AFTER_PAUSE] as const, { timeout: PATIENCE_MS, polling: 200 });
  return statusOf(page);
}

/** Fills the settings form with SMALL and presses Start. */
export async function startSmall(page: Page): Promise<void> {
  for (const [name, value] of Object.entries(SMALL)) await page.fill(`[name=${name}]`, value);
  await page.click('[data-testid=start]');
}

/** Destroys the worker's GPU device through the page's test hook (the page needs ?debug). */
export const loseDevice = (page: Page) => page.evaluate(() => (window as unknown as { vaeDemo: { loseDevice(): void } }).vaeDemo.loseDevice());

/**
 * A screenshot of one canvas once the compositor shows the latest frame: frames come from the
 * worker asynchronously, so take pictures until two in a row agree.
 */
export async function shot(page: Page, testid: string): Promise<Picture> {
  const take = async () => {
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
    return decodePng(await page.locator(`[data-testid=${testid}]`).screenshot());
  };
  let last = await take();
  for (let i = 0; i < 20; i++) {
    const next = await take();
    if (maxDifference(next, last) === 0) return next;
    last = next;
  }
  return last;
}

/** One layout shift the page made without user input: its score and what moved (y, height before -> after). */
export interface LayoutShift { atMs: number; score: number; moved: string[] }

/**
 * Starts recording the page's layout shifts (from its load on: the observer is buffered). Shifts
 * within 500 ms of an input are the user's own doing and are left out, as the cumulative layout
 * shift score leaves them out.
 */
export async function watchLayoutShifts(page: Page): Promise<void> {
  await page.evaluate(() => {
    const shifts: LayoutShift[] = [];
    Object.assign(window, { layoutShifts: shifts });
    type Entry = PerformanceEntry & { value: number; hadRecentInput: boolean; sources: { node: Node | null; previousRect: DOMRectReadOnly; currentRect: DOMRectReadOnly }[] };
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as Entry[]) {
        if (e.hadRecentInput) continue;
        shifts.push({
          atMs: Math.round(e.startTime), score: e.value,
          moved: e.sources.map((s) => {
            const el = s.node instanceof Element ? s.node : null;
            const name = el ? `${el.localName}${el.id ? `#${el.id}` : ''}${el.classList.length ? `.${Array.from({ length: el.classList.length }, (_, i) => el.classList.item(i)).join('.')}` : ''}` : '(removed)';
            return `${name} y ${Math.round(s.previousRect.y)} h ${Math.round(s.previousRect.height)} -> y ${Math.round(s.currentRect.y)} h ${Math.round(s.currentRect.height)}`;
          }),
        });
      }
    }).observe({ type: 'layout-shift', buffered: true });
  });
}

/** The layout shifts recorded from `sinceMs` on (the page's performance.now()). */
export const layoutShifts = (page: Page, sinceMs: number) =>
  page.evaluate((t) => (window as unknown as { layoutShifts: LayoutShift[] }).layoutShifts.filter((s) => s.atMs >= t), sinceMs);

/**
 * Records, from now on, every change of the status line, of the run buttons' enabled states and of
 * the focus, with its time; `controlTimeline` reads the record back. A failed wait on the controls
 * prints it, so that the order of what the page did is known.
 */
export async function watchControls(page: Page): Promise<void> {
  await page.evaluate(() => {
    const t0 = performance.now(), lines: string[] = [];
    let last = '';
    const note = () => {
      const status = document.querySelector('[data-testid=status]')?.textContent ?? '';
      const on = ['start', 'pause', 'resume', 'reset', 'save'].filter((id) => !(document.getElementById(id) as HTMLButtonElement | null)?.disabled);
      const line = `${status} | enabled: ${on.join(' ') || 'none'} | focus: ${document.activeElement?.id || document.activeElement?.tagName}`;
      if (line !== last) lines.push(`${((performance.now() - t0) / 1000).toFixed(2)} s ${(last = line)}`);
    };
    new MutationObserver(note).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['disabled'] });
    document.addEventListener('focusin', note);
    document.addEventListener('focusout', () => setTimeout(note));
    note();
    Object.assign(window, { controlTimeline: lines });
  });
}

/** What `watchControls` recorded, one change a line. */
export const controlTimeline = (page: Page) => page.evaluate(() => ((window as unknown as { controlTimeline?: string[] }).controlTimeline ?? []).join('\n'));
