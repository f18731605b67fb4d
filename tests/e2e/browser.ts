// Chromium for the demo's end-to-end tests: the system browser (Playwright cannot download its
// own here), with the project's WebGPU flags (tests/browser-flags.ts: SwiftShader when there is no
// GPU, or WEBGPU_VAE_SWIFTSHADER=1/0 to force either way) plus, on SwiftShader, ANGLE on
// SwiftShader for the compositor (with a GPU: --enable-gpu, which headless mode needs to use it).
// Headless Chromium on SwiftShader never composites a WebGPU canvas context (screenshots show the
// page behind it), so the pixel-checking tests open the page with ?present=bitmap, which hands
// frames over as GPU ImageBitmaps that every compositor shows. WEBGPU_VAE_PRESENT=canvas makes
// them check the default path (a WebGPU context on the transferred canvas) by its pixels where
// the compositor can show it; present-canvas.test.ts checks that path by its pixels in a headful
// browser on an Xvfb display, and demo.test.ts checks it is error-free headless.
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright';
import { decode } from 'fast-png';
import { chromiumArgs, useSwiftShader } from '../browser-flags';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function launchArgs(): string[] {
  const args = chromiumArgs();
  args.push(...(useSwiftShader() ? ['--use-angle=swiftshader', '--enable-unsafe-swiftshader'] : ['--enable-gpu']));
  return args;
}

/** How the page presents frames in the pixel-checking tests: see the comment at the top. */
export function presentMode(): 'bitmap' | 'canvas' {
  return process.env.WEBGPU_VAE_PRESENT === 'canvas' ? 'canvas' : 'bitmap';
}

/** Headless by default; with `display` (see xvfb.ts), a headful browser on that X display. */
export async function launch(args = launchArgs(), display?: string): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}; install it (apt-get install chromium) or set CHROMIUM_PATH`);
  if (display) return chromium.launch({ executablePath: CHROMIUM, headless: false, args, env: { ...process.env, DISPLAY: display } });
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args });
}

/** Collects console errors and uncaught exceptions, to print when a test fails. */
export function recordConsole(page: Page): string[] {
  const lines: string[] = [];
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') lines.push(`[${m.type()}] ${m.text()}`); });
  page.on('pageerror', (e) => lines.push(`[pageerror] ${e.message}`));
  return lines;
}

export interface Picture { width: number; height: number; channels: number; data: Uint8Array | Uint16Array }

export function decodePng(bytes: Uint8Array): Picture {
  const p = decode(bytes);
  return { width: p.width, height: p.height, channels: p.channels, data: p.data as Uint8Array };
}

/** Grey level (0-255) at (x, y); the pictures are grey, so the red channel is enough. */
export function grey(p: Picture, x: number, y: number): number {
  return p.data[(Math.floor(y) * p.width + Math.floor(x)) * p.channels];
}

/** Variance of the grey level over the whole picture: ~0 for a blank (uniform) canvas. */
export function variance(p: Picture): number {
  let sum = 0, sq = 0;
  const n = p.width * p.height;
  for (let i = 0; i < n; i++) {
    const v = p.data[i * p.channels];
    sum += v;
    sq += v * v;
  }
  return sq / n - (sum / n) ** 2;
}

/** Largest per-pixel difference of two same-sized pictures (all channels). */
export function maxDifference(a: Picture, b: Picture): number {
  if (a.width !== b.width || a.height !== b.height) return Infinity;
  let max = 0;
  for (let i = 0; i < a.data.length; i++) max = Math.max(max, Math.abs(a.data[i] - b.data[i]));
  return max;
}
