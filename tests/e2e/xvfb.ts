// A virtual X display for the tests that need a headful browser: headless Chromium on SwiftShader
// never composites a WebGPU canvas context, headful Chromium under Xvfb does, so the page's default
// presentation path can only be checked by its pixels there. When DISPLAY is already set (a
// desktop, or `xvfb-run npm run test:e2e`) that display is used; otherwise Xvfb is started on a
// free display number (-displayfd) and stopped afterwards. Debian: apt-get install xvfb, or
// scripts/setup-debian.sh.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

export interface Display {
  /** The DISPLAY value, e.g. ":99". */
  name: string;
  stop(): Promise<void>;
}

const SCREEN = '1600x1200x24';

export async function openDisplay(timeoutMs = 60_000): Promise<Display> {
  if (process.env.DISPLAY) return { name: process.env.DISPLAY, stop: async () => undefined };
  if (spawnSync('sh', ['-c', 'command -v Xvfb'], { stdio: 'ignore' }).status !== 0) {
    throw new Error('these tests need a headful browser on a virtual display, and Xvfb is not installed: apt-get install xvfb (or run scripts/setup-debian.sh), or set DISPLAY');
  }
  // fd 3 is where Xvfb writes the display number it picked once it accepts connections.
  const xvfb: ChildProcess = spawn('Xvfb', ['-displayfd', '3', '-screen', '0', SCREEN, '-nolisten', 'tcp'], { stdio: ['ignore', 'ignore', 'pipe', 'pipe'] });
  let stderr = '';
  xvfb.stderr!.on('data', (d) => (stderr += d));
  const number = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`Xvfb did not report a display within ${timeoutMs / 1000} s: ${stderr}`)), timeoutMs);
    (xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (d) => {
      out += d;
      if (out.includes('\n')) { clearTimeout(timer); resolve(out.trim()); }
    });
    xvfb.on('exit', (code) => { clearTimeout(timer); reject(new Error(`Xvfb exited with code ${code} before reporting a display: ${stderr}`)); });
  });
  return {
    name: `:${number}`,
    stop: () => new Promise<void>((resolve) => {
      if (xvfb.exitCode !== null) return resolve();
      xvfb.once('exit', () => resolve());
      xvfb.kill('SIGTERM');
    }),
  };
}
