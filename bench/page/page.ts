// Browser entry of the benchmark page (bundled by bench/chromium.ts with esbuild). It runs the same
// suite as Node, on navigator.gpu, and sends every record and progress line back to Node through
// functions Playwright exposes on window. TF.js is imported statically here: its WebGPU backend
// registers itself at load because navigator.gpu already exists in the page.
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-webgpu';
import { acquireBrowserDevice } from '../../src/gpu/device';
import type { BenchOptions } from '../common';
import { runSuite } from '../suite';
import type { Tf } from '../tfjs-vae';

export interface PageRequest {
  opts: BenchOptions;
  /** Values per example of the bytes served at /data.u8. */
  dim: number;
}

interface BenchWindow {
  __benchEmit(json: string): Promise<void>;
  __benchLog(line: string): Promise<void>;
  __runBench?: (req: PageRequest) => Promise<void>;
}

const w = window as unknown as BenchWindow;

async function loadTf(): Promise<Tf> {
  if (!(await tf.setBackend('webgpu'))) throw new Error("tf.setBackend('webgpu') failed in the page");
  await tf.ready();
  return tf as unknown as Tf;
}

w.__runBench = async ({ opts, dim }: PageRequest) => {
  const log = (line: string) => void w.__benchLog(line);
  const acquired = await acquireBrowserDevice();
  log(`adapter ${[acquired.adapter.vendor, acquired.adapter.architecture, acquired.adapter.description].filter(Boolean).join(' / ')}`);
  const response = await fetch('/data.u8');
  if (!response.ok) throw new Error(`GET /data.u8: HTTP ${response.status}`);
  const images = new Uint8Array(await response.arrayBuffer());
  try {
    await runSuite({
      env: 'chromium', acquired, data: { images, count: images.length / dim, dim }, loadTf,
      emit: (r) => void w.__benchEmit(JSON.stringify(r)), log,
    }, opts);
  } finally {
    try {
      tf.removeBackend('webgpu');
    } catch {
      // never initialised (e.g. --impl ours)
    }
    acquired.device.destroy();
  }
  await w.__benchLog('finished'); // exposed calls arrive in order: every record is in once this resolves
};
