// The demo page's layout on a phone and its settings form in the browser, no training needed: at
// 420 px nothing scrolls sideways, the title keeps one line and the GPU badge goes below it; on a
// 1280 x 800 laptop Start is in sight at load and Pause beside the charts and views;
// Gaussian σ and Dequantize are off under the Bernoulli likelihood and on under the Gaussian; an
// absurd β is refused at Start with the field's range under the settings' title. On a phone the
// settings panel scrolls with the page; by keyboard, a bad setting is shown at its field and
// focused, and focus follows Start and Pause to the next button. One click on Start starts even
// when it ends the edit of a field that resizes the views. The embedding
// example says it takes 28 x 28 grey models only, and refuses a colour one in those words.
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { encodeSafetensors } from '../../src/io/safetensors';
import { paramLayout } from '../../src/model/build';
import { initialParams } from '../../src/model/params';
import { resolveConfig } from '../../src/model/config';
import { launch, presentMode, recordConsole } from './browser';
import { atStep, controlTimeline, errorShown, paused, startSmall, watchControls } from './page';

describe.skipIf(process.env.WEBGPU_VAE_E2E !== '1')('the demo page\'s layout and controls', () => {
  let browser: Browser;
  let log: string[] = [];

  beforeEach((ctx) => ctx.onTestFailed(() => console.log(`browser console:\n${log.join('\n')}`)));
  beforeAll(async () => { browser = await launch(); });
  afterAll(async () => browser?.close());

  async function open(width: number, height = 900): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height } });
    log = recordConsole(page);
    await page.goto(`${inject('demoUrl')}?present=${presentMode()}`);
    await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent?.startsWith('Ready'), undefined, { timeout: 60_000, polling: 200 });
    return page;
  }

  it('fits a 420 px wide screen: no sideways scrolling, the title on one line, the badge below it', async () => {
    const page = await open(420);
    const m = await page.evaluate(() => {
      const box = (sel: string) => document.querySelector(sel)!.getBoundingClientRect();
      const h1 = document.querySelector('h1')!;
      return {
        scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth,
        h1Height: box('h1').height, lineHeight: parseFloat(getComputedStyle(h1).lineHeight) || 1.45 * parseFloat(getComputedStyle(h1).fontSize),
        badge: box('#adapter'), taglineBottom: box('.tagline').bottom, badgeText: document.getElementById('adapter')!.textContent,
      };
    });
    expect(m.badgeText, 'the worker named its adapter').not.toMatch(/Looking/);
    expect(m.scrollWidth, 'page width at a 420 px viewport').toBeLessThanOrEqual(m.clientWidth);
    expect(m.h1Height, '"webgpu-vae" on one line').toBeLessThan(1.5 * m.lineHeight);
    expect(m.badge.right).toBeLessThanOrEqual(m.clientWidth);
    expect(m.badge.top, 'the badge below the tagline').toBeGreaterThanOrEqual(m.taglineBottom);
    await page.close();
  });

  it('keeps the badge beside the title on a wide screen', async () => {
    const page = await open(1440);
    const [h1, badge] = await page.evaluate(() => ['h1', '#adapter'].map((s) => document.querySelector(s)!.getBoundingClientRect().toJSON()));
    expect(badge.top).toBeLessThan(h1.bottom + 40);
    expect(badge.left).toBeGreaterThan(h1.right);
    await page.close();
  });

  it('turns Gaussian σ and Dequantize off under Bernoulli, and refuses β 1e9 naming its range', async () => {
    const page = await open(1440);
    const off = () => page.evaluate(() => ['sigma', 'dequantize'].map((n) => (document.querySelector(`[name=${n}]`) as HTMLInputElement).disabled));
    expect(await page.inputValue('[name=likelihood]')).toBe('bernoulli');
    expect(await off()).toEqual([true, true]);
    await page.selectOption('[name=likelihood]', 'gaussian');
    expect(await off()).toEqual([false, false]);
    await page.check('[name=dequantize]');
    await page.selectOption('[name=likelihood]', 'bernoulli');
    expect(await off()).toEqual([true, true]);
    expect(await page.isChecked('[name=dequantize]'), 'a box that cannot be unticked is unticked').toBe(false);

    await page.fill('[name=beta]', '1e9');
    await page.click('[data-testid=start]');
    expect(await errorShown(page)).not.toBeNull();
    expect(await page.textContent('#error-title')).toBe('Check the settings');
    expect(await page.textContent('#error-text')).toBe('β must be a number from 0 to 10,000 (1 gives the ELBO) (got "1e9")');
    expect(await page.textContent('[data-testid=status]')).toMatch(/^Ready/);
    await page.close();
  });

  it('choosing IWAE asks for 5 importance samples, undone on leaving it; a start with K = 1 says that it is the ELBO', async () => {
    const page = await open(1440);
    expect(await page.inputValue('[name=samples]')).toBe('1');
    await page.selectOption('[name=objective]', 'iwae');
    expect(await page.inputValue('[name=samples]')).toBe('5');
    // Back to the ELBO: the 5 goes with IWAE; a value the user typed stays.
    await page.selectOption('[name=objective]', 'elbo');
    expect(await page.inputValue('[name=samples]')).toBe('1');
    await page.selectOption('[name=objective]', 'iwae');
    await page.fill('[name=samples]', '7');
    await page.selectOption('[name=objective]', 'tcvae');
    expect(await page.inputValue('[name=samples]')).toBe('7');
    await page.selectOption('[name=objective]', 'iwae');
    await page.fill('[name=samples]', '1');
    await startSmall(page);
    await expect.poll(() => page.textContent('[data-testid=notice]'), { timeout: 30_000 }).toMatch(/^IWAE with K = 1 importance sample is the ELBO, so this run trains as the ELBO would: for the tighter bound, set Samples per example \(L or K\) to 5 or more\.$/);
    expect(await errorShown(page)).toBeNull();
    await page.click('[data-testid=pause]');
    await paused(page);
    await page.close();
  });

  it('one click on Start starts, even when it ends the edit of a field that resizes the views', async () => {
    // Latent size 2 -> 8 hides the two 2-D views and grows the traversal: the page gets shorter.
    // The field reports its change as Start takes the focus, between the press and the release.
    const page = await open(1440);
    await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
    await page.fill('[name=latent]', '8');
    await page.click('[data-testid=start]');
    await expect.poll(() => page.textContent('[data-testid=status]'), { timeout: 30_000, message: 'the status after one click on Start' }).not.toMatch(/^Ready/);
    // The views did follow the new latent size once the click was done.
    await expect.poll(() => page.evaluate(() => document.body.classList.contains('latent-not-2d')), { timeout: 10_000 }).toBe(true);
    // Paused before the page closes, as below.
    await page.click('[data-testid=pause]');
    await paused(page);
    await page.close();
  });

  it('lays the views out for the classes of picked IDX label files before Start, counted as the worker counts them: 20 classes, 16 named rows, 20 legend markers', async () => {
    const page = await open(1440);
    await page.selectOption('#dataset', 'files');
    await page.check('[name=conditional]');
    const count = 100, side = 28;
    const header = (magic: number, dims: number[]) => { // IDX: big-endian 32-bit words
      const bytes = Buffer.alloc(4 * (1 + dims.length));
      [magic, ...dims].forEach((v, i) => bytes.writeUInt32BE(v, 4 * i));
      return bytes;
    };
    const images = Buffer.concat([header(0x803, [count, side, side]), Buffer.alloc(count * side * side, 7)]);
    const labels = Buffer.concat([header(0x801, [count]), Buffer.from(Array.from({ length: count }, (_, i) => i % 20))]);
    await page.setInputFiles('#idx-files', [
      { name: 'emnist-train-images-idx3-ubyte', mimeType: 'application/octet-stream', buffer: images },
      { name: 'emnist-train-labels-idx1-ubyte', mimeType: 'application/octet-stream', buffer: labels },
    ]);
    const rowNames = Array.from({ length: 16 }, (_, k) => String(k));
    await expect.poll(() => page.locator('[data-testid=samples-rows] li').allTextContents(), { timeout: 10_000 }).toEqual(rowNames);
    expect(await page.textContent('#samples-note')).toMatch(/\(the first 16 of 20\)/);
    const legend = await page.$$eval('#scatter-legend .swatch', (items) => items.map((el) => `${el.textContent} ${(el as HTMLElement).dataset.marker} ${getComputedStyle(el).getPropertyValue('--swatch').trim()}`));
    expect(legend).toHaveLength(20);
    expect(new Set(legend.map((l) => l.split(' ').slice(1).join(' '))).size, 'every class of the legend drawn its own way').toBe(20);
    expect(legend[10]).toMatch(/^10 ring /);
    // Cleared, the files no longer say: the classes go back to the ten a label file is assumed to have.
    await page.click('#idx-clear');
    await expect.poll(() => page.locator('[data-testid=samples-rows] li').count(), { timeout: 10_000 }).toBe(10);
    // Counted as the worker counts them: labels 10-19 only past the first 30 training examples,
    // the held-out last tenth 0-9. All the training examples: 20 classes; Training examples 30: 10.
    const split = Buffer.concat([header(0x801, [count]), Buffer.from(Array.from({ length: count }, (_, i) => (i >= 30 && i < 90 ? 10 : 0) + (i % 10)))]);
    await page.setInputFiles('#idx-files', [
      { name: 'train-images-idx3-ubyte', mimeType: 'application/octet-stream', buffer: images },
      { name: 'train-labels-idx1-ubyte', mimeType: 'application/octet-stream', buffer: split },
    ]);
    await expect.poll(() => page.locator('[data-testid=samples-rows] li').count(), { timeout: 10_000 }).toBe(16);
    await page.fill('[name=subset]', '30');
    await page.locator('[name=subset]').blur();
    await expect.poll(() => page.locator('[data-testid=samples-rows] li').count(), { timeout: 10_000 }).toBe(10);
    expect(await page.locator('#scatter-legend .swatch').count()).toBe(10);
    // A label file the worker will refuse (a byte more than its header counts) decides nothing.
    await page.fill('[name=subset]', '6000');
    await page.locator('[name=subset]').blur();
    const corrupt = Buffer.concat([header(0x801, [count]), Buffer.alloc(count, 3), Buffer.from([255])]);
    await page.setInputFiles('#idx-files', [{ name: 'train-labels-idx1-ubyte', mimeType: 'application/octet-stream', buffer: corrupt }]);
    await expect.poll(() => page.locator('#scatter-legend .swatch').count(), { timeout: 10_000 }).toBe(10);
    expect(await page.locator('[data-testid=samples-rows] li').count()).toBe(10);
    await page.close();
  });

  it('on a phone, the settings panel scrolls with the page: nothing covers Start or the status', async () => {
    const page = await open(390);
    for (const sel of ['[data-testid=start]', '[data-testid=status]', '[name=latent]']) {
      await page.locator(sel).scrollIntoViewIfNeeded();
      const onTop = await page.evaluate((s) => {
        const el = document.querySelector(s)!, r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
        return !!hit && (hit === el || el.contains(hit) || hit.contains(el));
      }, sel);
      expect(onTop, `${sel} is the element at its own centre`).toBe(true);
    }
    expect(await page.evaluate(() => getComputedStyle(document.querySelector('.controls')!).position)).toBe('static');
    await page.close();
  });

  it('on a 1280 x 800 laptop, Start is in sight at load, and Pause and the status while the page shows the charts or the views below them', async () => {
    const page = await open(1280, 800);
    // Where `sel` is in the window, and whether it is the element at its own centre (nothing covers it).
    const seen = (sel: string) => page.evaluate((s) => {
      const el = document.querySelector(s)!, r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return { top: Math.round(r.top), bottom: Math.round(r.bottom), inside: r.top >= 0 && r.bottom <= window.innerHeight, onTop: !!hit && (hit === el || el.contains(hit)) };
    }, sel);
    expect(await page.evaluate(() => window.scrollY)).toBe(0);
    expect(await seen('[data-testid=start]'), 'Start at load').toMatchObject({ inside: true, onTop: true });
    expect(await seen('[data-testid=status]'), 'the status at load').toMatchObject({ inside: true });
    await startSmall(page); // startSmall's fields scroll the panel, as a person would
    await atStep(page, 2);
    // The page scrolled by the wheel to the charts, then to the last view.
    for (const view of ['#chart-elbo', '[data-testid=traversal]']) {
      await page.mouse.move(900, 400);
      const target = await page.$eval(view, (el) => Math.min(el.getBoundingClientRect().top + window.scrollY - 16, document.documentElement.scrollHeight - window.innerHeight));
      while (await page.evaluate(() => window.scrollY) < target - 1) {
        const before = await page.evaluate(() => window.scrollY);
        await page.mouse.wheel(0, Math.min(200, target - before));
        await page.waitForFunction((y) => window.scrollY !== y, before, { timeout: 5_000 }).catch(() => undefined);
        if (await page.evaluate(() => window.scrollY) === before) break;
      }
      expect(await seen(view), `${view} scrolled to`).toMatchObject({ inside: true });
      expect(await seen('[data-testid=pause]'), `Pause beside ${view}`).toMatchObject({ inside: true, onTop: true });
      expect(await seen('[data-testid=status]'), `the status beside ${view}`).toMatchObject({ inside: true });
    }
    // The rest of the panel is reached by scrolling it, the page staying at the views.
    const at = await page.evaluate(() => window.scrollY);
    await page.locator('[data-testid=save]').scrollIntoViewIfNeeded();
    expect(await seen('[data-testid=save]'), 'Save model, the panel scrolled').toMatchObject({ inside: true, onTop: true });
    expect(Math.abs(await page.evaluate(() => window.scrollY) - at), 'the page scrolled to reach Save model').toBeLessThanOrEqual(1);
    await page.click('[data-testid=pause]');
    await paused(page);
    await page.close();
  });

  it('by keyboard: a bad setting is shown at its field and focused; then focus follows Start and Pause', async () => {
    const page = await open(1440);
    // The labels' help reaches the controls themselves, where a screen reader reads it.
    expect(await page.getAttribute('[name=imageSize]', 'title')).toMatch(/centre-cropped/);
    await page.fill('[name=latent]', '0');
    await page.focus('[data-testid=start]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.getAttribute('name') === 'latent', undefined, { timeout: 10_000, polling: 100 });
    expect(await page.getAttribute('[name=latent]', 'aria-invalid')).toBe('true');
    expect(await page.getAttribute('[name=latent]', 'aria-describedby')).toBe('field-error');
    expect(await page.textContent('[data-testid=field-error]')).toBe('Latent size must be a whole number from 1 to 512 (got "0")');
    expect(await page.evaluate(() => document.getElementById('field-error')!.previousElementSibling!.contains(document.querySelector('[name=latent]')))).toBe(true);

    await page.fill('[name=latent]', '2');
    await watchControls(page);
    await page.focus('[data-testid=start]');
    await page.keyboard.press('Enter');
    expect(await page.getAttribute('[name=latent]', 'aria-invalid')).toBeNull();
    expect(await page.isHidden('[data-testid=field-error]')).toBe(true);
    const seen = new Set<string>();
    // Waits for the focus to reach `id`; on a timeout, says what the page did meanwhile.
    const focusReaches = async (id: string, message: string) => {
      const focused = async () => { const at = await page.evaluate(() => document.activeElement?.id ?? ''); seen.add(at); return at; };
      try {
        await expect.poll(focused, { timeout: 120_000, interval: 20, message }).toBe(id);
      } catch (e) {
        const timeline = (await controlTimeline(page)).split('\n').slice(-80).join('\n');
        throw new Error(`${(e as Error).message}\nthe status, the enabled buttons and the focus, as they changed:\n${timeline}`);
      }
    };
    await focusReaches('pause', 'focus after Start');
    await page.keyboard.press('Enter');
    await focusReaches('resume', 'focus after Pause');
    // While the pause draws its pictures (compiling the views' kernels the first time), the run is
    // paused and Resume stays enabled: a compile once said 'loading' and disabled it, and an Enter
    // pressed then was lost.
    await paused(page);
    const sincePaused = (await controlTimeline(page)).split('\n').filter((line, i, all) => i >= all.findIndex((l) => / s Paused · /.test(l)));
    expect(sincePaused.length).toBeGreaterThan(0);
    expect(sincePaused.filter((line) => !/enabled: [^|]*\bresume\b/.test(line)), 'lines of the pause with Resume disabled').toEqual([]);
    // Resume waits for the worker with Pause, Resume and Start all off: the focus waits for Pause,
    // and never lands on Reset, where the next Space would throw the model away.
    seen.clear();
    await page.keyboard.press('Enter');
    await focusReaches('pause', 'focus after Resume');
    expect([...seen]).not.toContain('reset');
    // Paused again before the page closes: a page closed mid-training left the browser's GPU
    // process busy, and the next test's page waited minutes for it.
    await page.keyboard.press('Enter');
    await paused(page);
    await page.close();
  });

  it('at 320 px, the buttons stay put while a run goes on; after an epoch every chart legend entry lies inside its card, and the traversal picture spans it', async () => {
    const page = await open(320);
    await startSmall(page);
    await atStep(page, 2);
    // From here on the status and the notes under it change (the rate, "evaluating the test set",
    // the run kept in the browser) within the lines kept for them: the buttons below stay put.
    await page.evaluate(() => {
      const tops: number[] = [];
      const save = document.querySelector('[data-testid=save]')!;
      const watch = () => { tops.push(save.getBoundingClientRect().top + window.scrollY); requestAnimationFrame(watch); };
      watch();
      Object.assign(window, { saveTops: tops });
    });
    // SMALL's epoch is 63 steps: past step 70 the test series have a point, and every legend
    // entry a figure ("123.45", or "123.45 (step 62)" past the epoch's end: the longest text).
    await atStep(page, 70);
    const tops = await page.evaluate(() => (window as unknown as { saveTops: number[] }).saveTops);
    expect(Math.max(...tops) - Math.min(...tops), `Save model moved during training (${tops.length} frames, at ${Math.min(...tops).toFixed(0)}-${Math.max(...tops).toFixed(0)} px)`).toBeLessThanOrEqual(1);
    await page.click('[data-testid=pause]');
    await paused(page);
    // [step, train rec, test rec, train KL, test KL]: the epoch's report may land a moment after the pause.
    await expect.poll(async () => (await page.locator('#chart-terms .u-legend .u-value').allTextContents()).slice(1).every((v) => /\d/.test(v)),
      { timeout: 60_000, message: 'every series of the terms chart has a figure in its legend' }).toBe(true);
    const outside = await page.evaluate(() => Array.from(document.querySelectorAll('.chart')).flatMap((card) => {
      const box = card.getBoundingClientRect();
      return Array.from(card.querySelectorAll('.u-legend .u-series'))
        .filter((s) => (s as HTMLElement).offsetParent !== null)
        .map((s) => ({ card: card.id, entry: s.textContent?.trim(), r: s.getBoundingClientRect() }))
        .filter(({ r }) => r.bottom > box.bottom + 0.5 || r.right > box.right + 0.5 || r.height === 0)
        .map(({ card: id, entry, r }) => `${id}: "${entry}" at ${r.top.toFixed(0)}-${r.bottom.toFixed(0)} px, card ${box.top.toFixed(0)}-${box.bottom.toFixed(0)}`);
    }));
    expect(outside, 'legend entries cut off by their card').toEqual([]);
    // The traversal picture keeps the card's width once its labels are there (below it, not beside).
    await page.locator('[data-testid=traversal-rows] li').first().waitFor({ timeout: 60_000 });
    const [picture, card] = await page.evaluate(() => {
      const canvas = document.querySelector('[data-testid=traversal]')!;
      return [canvas.getBoundingClientRect().width, canvas.closest('figure')!.clientWidth];
    });
    expect(picture, `the traversal picture's width in a ${card} px card`).toBeGreaterThan(0.8 * card - 40);
    await page.close();
  });

  it('Reset while a model loads and compiles cancels it: no run starts, and the page is ready again', async () => {
    const page = await open(1200);
    // A small conv model: its kernels take seconds to compile here, time enough to press Reset in.
    await page.selectOption('[name=arch]', 'conv');
    await page.fill('[name=channels]', '8, 16');
    await page.fill('[name=subset]', '2000');
    await page.click('[data-testid=start]');
    await page.waitForFunction(() => /^(Loading|Compiling)/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''), undefined, { timeout: 60_000, polling: 50 });
    expect(await page.isEnabled('[data-testid=reset]'), 'Reset while loading').toBe(true);
    const seen: string[] = [];
    await page.exposeFunction('noteStatus', (t: string) => seen.push(t));
    await page.evaluate(() => new MutationObserver(() => (window as unknown as { noteStatus(t: string): void }).noteStatus(document.querySelector('[data-testid=status]')!.textContent ?? ''))
      .observe(document.querySelector('[data-testid=status]')!, { childList: true, subtree: true, characterData: true }));
    await page.click('[data-testid=reset]');
    // The press is answered at once, though the kernels in flight finish first (seconds here).
    expect(await page.textContent('[data-testid=status]')).toMatch(/^Resetting: stopping the model/);
    await page.waitForFunction(() => document.querySelector('[data-testid=status]')?.textContent?.startsWith('Ready'), undefined, { timeout: 240_000, polling: 200 });
    expect(seen.filter((t) => /step \d/.test(t)), `no training step shown after Reset: ${JSON.stringify(seen)}`).toEqual([]);
    expect(await errorShown(page)).toBeNull();
    expect(await page.isEnabled('[data-testid=start]'), 'Start for a new model').toBe(true);
    // The model's first save (step 0) may land while the reset waits: the page says no run is kept.
    expect(await page.textContent('[data-testid=stored]'), 'the note of a kept run after Reset').toBe('');
    await page.close();
  });

  it('embed.html: says which models it draws, and refuses a colour one saying so', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    log = recordConsole(page);
    await page.goto(new URL('embed.html', inject('demoUrl')).href);
    expect(await page.textContent('body')).toMatch(/takes a model\.safetensors of those: one saved by the\s+training demo on MNIST, Fashion-MNIST/);
    const config = resolveConfig({ inputDim: 3 * 16 * 16, imageShape: [16, 16], imageChannels: 3, hidden: [8], latent: 2 });
    const layout = paramLayout(config), flat = initialParams(layout, 1);
    const tensors = Object.fromEntries(layout.tensors.map((t) => [t.name, { shape: t.shape, data: flat.slice(t.offset, t.offset + t.count) }]));
    const bytes = encodeSafetensors(tensors, { format: 'webgpu-vae', version: '1', config: JSON.stringify(config) });
    await page.setInputFiles('[data-testid=file]', { name: 'colour.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
    await page.waitForFunction(() => /^Error/.test(document.querySelector('[data-testid=status]')?.textContent ?? ''), undefined, { timeout: 240_000, polling: 250 })
      .catch(async (e: Error) => { throw new Error(`${e.message}; the embed page's status: "${await page.textContent('[data-testid=status]')}"`); });
    expect(await page.textContent('[data-testid=status]')).toBe('Error: colour.safetensors models 3 x 16 x 16 images; this example draws 28 x 28 grey ones (MNIST, Fashion-MNIST)');
    await page.close();
  });
});
