// Integration point with bench/matmul.ts: its `runMatmulBench(device, opts)` times every matmul
// variant on the VAE's shapes. It is called through a dynamic import and only that one function
// (plus `formatMatmulTable` for the text report when present) is relied on, so the matmul
// benchmark can change without breaking this harness.
import type { BenchEnv, MatmulRecord } from './common';

type MatmulModule = {
  runMatmulBench?: (device: GPUDevice, opts?: { batches?: number[]; square?: number; variants?: string[]; onResult?: (r: object) => void }) => Promise<object[]>;
  formatMatmulTable?: (results: never[]) => string;
};

async function load(): Promise<MatmulModule | null> {
  try {
    return (await import('./matmul')) as MatmulModule;
  } catch {
    return null;
  }
}

/** Runs the matmul table at the given batch sizes; false when bench/matmul.ts has no runner. */
export async function runMatmulHook(device: GPUDevice, env: BenchEnv, adapter: string, batches: number[], square: number, emit: (r: MatmulRecord) => void, variants?: string[]): Promise<boolean> {
  const mod = await load();
  if (typeof mod?.runMatmulBench !== 'function') return false;
  await mod.runMatmulBench(device, {
    batches,
    square,
    ...(variants ? { variants } : {}),
    onResult: (r) => emit({ ...r, bench: 'matmul', env, adapter }),
  });
  return true;
}

/** The matmul module's own table, or null (report.ts then prints a generic one). */
export async function formatMatmul(records: MatmulRecord[]): Promise<string | null> {
  const mod = await load();
  return typeof mod?.formatMatmulTable === 'function' ? mod.formatMatmulTable(records as never[]) : null;
}
