// The demo keeps training through trouble, in a real (headless) browser:
//  - its GPU device is destroyed mid-run while it presents through WebGPU canvas contexts, which
//    headless Chromium on SwiftShader never shows: the page replaces the device by itself, goes on
//    from the last saved state through the bitmap path, and the pictures appear;
//  - the page is reloaded mid-run: it offers the run kept in browser storage, and continuing it
//    carries on the step counter and the loss instead of starting over, with the run's own
//    settings in the form.
import type { Browser, BrowserContext, Page } from 'playwright';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { launch, recordConsole } from './browser';
import { imageVariance } from './grid-pixels';
import { atStep, loseDevice, numberIn, paused, shot, SMALL, startSmall, statusOf, waitForStatus } from './page';

const UNTRAINED = 784 * Math.LN2; // ~543 nats: the loss of a model that has learned nothing
const stepOf = (status: string) => numberIn(status, 'step');

/** Waits until the page says the run is kept in browser storage at step `n` or later; returns that step. */
async function storedAt(page: Page, n: number): Promise<number> {
  await page.waitForFunction((min) => Number(document.querySelector<HTMLElement>('[data-testid=stored]')?.dataset.step) >= min, n, { timeout: 600_000, polling: 200 });
  return Number(await page.getAttribute('[data-testid=stored]', 'data-step'));
}

describe.skipIf(process.env.WEBGPU_VAE_E2E !== '1')('the demo recovers', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let log: string[];

  beforeEach((ctx) => ctx.onTestFailed(() => console.log(`browser console:\n${log.join('\n')}`)));
  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(async () => browser?.close());

  /** A page in a context of its own (its own browser storage). */
  async function open(query: string): Promise<void> {
    await context?.close();
    context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
    page = await context.newPage();
    log = recordConsole(page);
    await page.goto(`${inject('demoUrl')}?${query}`);
    await waitForStatus(page, 'Ready');
  }

  it('from a lost device while training: a new device, the bitmap path, and training goes on', async () => {
    await open('present=canvas&debug');
    await startSmall(page);
    await storedAt(page, 100);
    const before = stepOf(await statusOf(page));
    const saved = Number(await page.getAttribute('[data-testid=stored]', 'data-step'));
    await loseDevice(page);
    const notice = page.locator('[data-testid=notice]');
    await notice.waitFor({ state: 'visible' });
    // "Restarting on a new device from ..." while it restarts, "Restored on a new device from ..." once done.
    const told = /GPU device was lost .*(?:Restarting|Restored) on a new device from the state saved at step (\d+), with pictures handed to the page as bitmaps/.exec((await notice.textContent()) ?? '');
    expect(told, 'the notice of the automatic recovery').not.toBeNull();
    expect(Number(told![1])).toBeGreaterThanOrEqual(saved);
    // Training resumes by itself on the new device, from the saved step, and keeps counting.
    await waitForStatus(page, 'Training');
    await page.waitForFunction(() => /Restored on a new device from the state saved at step \d+/.test(document.querySelector('[data-testid=notice]')?.textContent ?? ''));
    const after = await atStep(page, Math.max(before, saved) + 48);
    console.log(`e2e: device destroyed near step ${before} (state saved at ${saved}); training again, now "${after}"`);
    expect(numberIn(after, '−ELBO')).toBeLessThan(0.8 * UNTRAINED);
    await page.click('[data-testid=pause]');
    await paused(page);
    expect(await page.locator('[data-testid=error]').isHidden(), 'an error banner after an automatic recovery').toBe(true);
    // Headless Chromium showed nothing of the canvas path; the bitmap path shows the pictures.
    const [samples, recon] = [imageVariance(await shot(page, 'samples'), 'samples'), imageVariance(await shot(page, 'reconstructions'), 'reconstructions')];
    console.log(`e2e: after the recovery, image-pixel variance samples ${samples.toFixed(0)}, reconstructions ${recon.toFixed(0)}`);
    expect(samples, 'samples are blank after the recovery').toBeGreaterThan(200);
    expect(recon, 'reconstructions are blank after the recovery').toBeGreaterThan(200);
  });

  it('from a reload: the run kept in the browser is offered and continues where it was', async () => {
    await open('present=bitmap');
    await startSmall(page);
    // The run is written to browser storage every 100 steps; wait for the second save.
    const storedStep = await storedAt(page, 200);
    const lossBefore = numberIn(await statusOf(page), '−ELBO');
    // Scrolled to the views' end, as someone watching them would be: the offer must still be seen.
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await page.reload();
    await waitForStatus(page, 'Ready');
    const offer = page.locator('[data-testid=saved-run]');
    await offer.waitFor({ state: 'visible' });
    const offered = Number(await offer.getAttribute('data-step'));
    expect(offered, 'the offer is for a later save than the one seen before the reload').toBeGreaterThanOrEqual(storedStep);
    expect(await offer.textContent()).toMatch(new RegExp(`saved in this browser at step ${offered}\\b`));
    const [box, viewport] = [await offer.boundingBox(), page.viewportSize()!];
    expect(box && box.y >= 0 && box.y + box.height <= viewport.height, `the offer in view after the reload (at ${box?.y.toFixed(0)} px)`).toBe(true);

    // Continue trains on from the saved step, with the curves and epoch lines shown before the reload.
    await page.click('[data-testid=continue]');
    const restored = await waitForStatus(page, 'Training');
    console.log(`e2e: saved at step ${storedStep} (loss ${lossBefore.toFixed(1)}) before the reload; after it: "${restored}"`);
    expect(stepOf(restored)).toBeGreaterThanOrEqual(offered);
    expect(stepOf(restored), 'training went on from the saved step, not from 0').toBeLessThan(offered + 100);
    // About 57 steps an epoch (SMALL): the summary shows the last epoch finished before the save.
    const lastEpoch = Number(/Epoch (\d+): .*test −ELBO/.exec((await page.textContent('#summary')) ?? '')?.[1] ?? 0);
    expect(lastEpoch, 'the epoch line of the run before the reload').toBeGreaterThanOrEqual(3);
    expect(await page.isChecked('[name=conditional]')).toBe(false);
    expect(await page.inputValue('[name=hidden]')).toBe('64');
    // The training settings too, not the page's defaults (batch 100, learning rate 0.001, 6000 examples).
    for (const name of ['batch', 'lr', 'subset', 'seed'] as const) expect(await page.inputValue(`[name=${name}]`), name).toBe(SMALL[name]);
    expect(await page.inputValue('#dataset')).toBe('mnist');

    const later = await atStep(page, offered + 32);
    console.log(`e2e: resumed, now "${later}"`);
    // A model trained from scratch would show ~400-540 nats in its first 32 steps.
    expect(numberIn(later, '−ELBO')).toBeLessThan(0.8 * UNTRAINED);
    expect(Math.abs(numberIn(later, '−ELBO') - lossBefore), 'the loss carries on from where it was').toBeLessThan(60);
    await page.click('[data-testid=pause]');
    await paused(page);
    expect(imageVariance(await shot(page, 'reconstructions'), 'reconstructions')).toBeGreaterThan(200);
    expect(await page.locator('[data-testid=error]').isHidden()).toBe(true);
    await context.close();
  });

  it('two tabs share the one kept run: an offer says the run is open elsewhere, a replaced tab says so', async () => {
    await open('present=bitmap');
    await startSmall(page);
    await storedAt(page, 1);
    await page.click('[data-testid=pause]');
    await paused(page);
    const keptStep = await storedAt(page, 1);
    // A second tab of the same browser is offered that run, and told that the first tab has it open.
    const second = await context.newPage();
    const secondLog = recordConsole(second);
    await second.goto(`${inject('demoUrl')}?present=bitmap`);
    await waitForStatus(second, 'Ready');
    const offer = second.locator('[data-testid=saved-run]');
    await offer.waitFor({ state: 'visible' });
    await expect.poll(() => offer.textContent(), { timeout: 10_000 }).toContain(`It is open in another tab of this page now (step ${keptStep.toLocaleString('en')}, paused): carry on there;`);
    // The second tab starts a run of its own: once it is kept, the first tab no longer claims its run is.
    await startSmall(second);
    await storedAt(second, 0);
    await expect.poll(() => page.textContent('[data-testid=stored]'), { timeout: 30_000 }).toMatch(/^Another tab kept its run in this browser \(step \d+\) in place of this one; this run's next save keeps it again\.$/);
    expect(await page.getAttribute('[data-testid=stored]', 'data-step'), 'no step claimed kept').toBeNull();
    await second.click('[data-testid=pause]');
    await paused(second);
    // The first tab's next save keeps its run again, and the second tab is told in turn.
    await page.click('[data-testid=resume]');
    await atStep(page, keptStep + 5);
    await page.click('[data-testid=pause]');
    await paused(page);
    expect(await storedAt(page, keptStep + 5), 'kept again on the pause').toBeGreaterThan(keptStep);
    expect(await page.textContent('[data-testid=stored]')).toMatch(/^Kept in this browser at step \d+/);
    await expect.poll(() => second.textContent('[data-testid=stored]'), { timeout: 30_000 }).toMatch(/^Another tab kept its run in this browser/);
    expect([...log, ...secondLog].filter((l) => /^\[(error|pageerror)\]/.test(l))).toEqual([]);
    await context.close();
  });
});
