// Readable tables of the collected records (the default, non --json output).
import type { AutotuneRecord, BenchRecord, MatmulRecord, NoteRecord, ProfileRecord, RatioRecord, StepRecord, SweepRecord } from './common';
import type { PeakRecord } from './peak';
import { formatMatmul } from './matmul-hook';

/** Columns listed in `left` are left-aligned (text), the others right-aligned (numbers). */
function table(head: string[], rows: string[][], left: number[] = [0]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (left.includes(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const mb = (bytes: number | null) => (bytes === null ? 'n/a' : (bytes / 2 ** 20).toFixed(1));
const num = (x: number | null, digits = 1) => (x === null || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));
const int = (x: number | null) => (x === null ? 'n/a' : String(x));

function stepTable(steps: StepRecord[]): string {
  const rows = steps.map((r) => [
    r.impl, r.env, num(r.median_ms, 1), num(r.samples_per_s, 0), num(r.first_step_ms, 0), r.hot_kernels ? `${r.hot_kernels} in ${num(r.hot_kernels_ms ?? null, 0)} ms` : '-',
    int(r.dispatches) + (r.impl === 'webgpu-vae' && r.dispatches_counted !== null && r.dispatches_counted !== r.dispatches ? ` (counted ${r.dispatches_counted})` : ''),
    int(r.submits), mb(r.gpu_bytes), mb(r.data_bytes), r.planned_bytes === null ? 'n/a' : `${mb(r.planned_bytes)} (-${mb(r.saved_bytes)})`, num(r.loss, 1),
    r.impl === 'webgpu-vae' ? `${r.samples_ms.length}x${r.steps_per_sample}` : `${r.samples_ms.length}`,
  ]);
  return table(['impl', 'env', 'median ms', 'examples/s', 'first step ms', 'hot kernels', 'dispatches', 'submits', 'GPU MiB', 'data MiB', 'step tensors MiB (saved)', 'loss', 'samples'], rows, [0, 1]);
}

function profileTable(records: ProfileRecord[]): string {
  const rows = records.map((r) => [r.family, String(r.dispatches), num(r.gpu_ms, 2), `${(r.share * 100).toFixed(1)}%`, r.family === 'total' ? '' : r.kernels.join(' ')]);
  const total = records.find((r) => r.family === 'total');
  const tail = total?.step_ms !== undefined
    ? `\nsum of kernel times ${total.gpu_ms.toFixed(1)} ms vs unprofiled step ${total.step_ms.toFixed(1)} ms (profiling runs each dispatch in its own pass)` +
      (total.span_gpu_ms !== undefined ? `; the unprofiled step's passes span ${total.span_gpu_ms.toFixed(2)} ms of GPU time` : '')
    : '';
  return table(['family', 'dispatches', 'GPU ms', 'share', 'kernels'], rows, [0, 4]) + tail;
}

function sweepTable(records: SweepRecord[]): string {
  const rows = records.map((r) => [r.env, String(r.batch), num(r.median_ms, 1), num(r.samples_per_s, 0), num(r.first_step_ms, 0), mb(r.gpu_bytes), String(r.steps)]);
  return table(['env', 'batch', 'ms/step', 'examples/s', 'first step ms', 'GPU MiB', 'steps'], rows, [0]);
}

async function matmulTable(records: MatmulRecord[]): Promise<string> {
  const own = await formatMatmul(records);
  if (own) return own;
  return records.map((r) => JSON.stringify(r)).join('\n');
}

/** Groups records by benchmark and environment into titled tables. */
export async function formatReport(records: BenchRecord[]): Promise<string> {
  const out: string[] = [];
  const envs = [...new Set(records.map((r) => r.env))];
  for (const env of envs) {
    const of = <T extends BenchRecord>(bench: T['bench']) => records.filter((r) => r.env === env && r.bench === bench) as T[];
    const steps = of<StepRecord>('train_step');
    const adapters = [...new Set(records.filter((r) => r.env === env && 'adapter' in r).map((r) => String((r as { adapter: unknown }).adapter)))];
    out.push(`=== ${env} === adapter: ${adapters.join(' | ') || 'n/a'}`);
    if (steps.length) {
      const s = steps[0];
      out.push(`\nTrain step: VAE 784-${s.hidden.join('-')}-${s.latent}-${[...s.hidden].reverse().join('-')}-784, batch ${s.batch}, Adam, one z sample`);
      out.push(stepTable(steps));
      for (const r of of<RatioRecord>('train_step_ratio')) {
        const rounds = r.round_ratios?.length ? ` (per round: ${r.round_ratios.map((x) => `${x.toFixed(2)}x`).join(', ')})` : '';
        out.push(`tfjs-webgpu / webgpu-vae step time: ${r.ratio.toFixed(2)}x ${r.ratio >= 1 ? '(webgpu-vae faster)' : '(tfjs-webgpu faster)'}${rounds}`);
      }
      if (steps.some((r) => r.bounds_checks === false)) out.push("note: webgpu-vae's shaders ran without WebGPU's bounds checks (--bounds-checks off); TF.js's with them");
      const tf = steps.find((r) => r.impl === 'tfjs-webgpu');
      if (tf && tf.adapter !== steps[0].adapter) out.push(`note: the two implementations reported different adapters: ${steps.map((r) => `${r.impl}: ${r.adapter}`).join('; ')}`);
    }
    const profile = of<ProfileRecord>('profile');
    if (profile.length) out.push(`\nProfile: webgpu-vae train step, batch ${profile[0].batch}, GPU time per kernel family (timestamp queries, median of reps)`, profileTable(profile));
    const sweep = of<SweepRecord>('sweep');
    if (sweep.length) out.push('\nBatch sweep: webgpu-vae', sweepTable(sweep));
    const tuned = of<AutotuneRecord>('autotune');
    if (tuned.length) {
      out.push(`\nAutotune (${tuned[0].mode}): matmul choice per product of the step`);
      out.push(table(['product', 'choice', 'ms', 'candidates'], tuned.map((r) => [r.product, r.choice, num(r.ms, 3), String(r.candidates)]), [0, 1]));
    }
    const peak = of<PeakRecord>('arith_peak')[0];
    if (peak) out.push(`\nArithmetic ceiling (bench/peak.ts): ${num(peak.gflops, 2)} GFLOP/s (${peak.chains} fma chains per invocation, ${peak.invocations} invocations, ${num(peak.ms, 1)} ms)`);
    const matmul = of<MatmulRecord>('matmul');
    if (matmul.length) {
      out.push('\nMatmul (bench/matmul.ts)', await matmulTable(matmul));
      const fastest = matmul.reduce((a, b) => (Number(b.gflops) > Number(a.gflops) ? b : a));
      if (peak) out.push(`fastest: ${fastest.variant} ${fastest.M}x${fastest.N}x${fastest.K} at ${num(Number(fastest.gflops), 2)} GFLOP/s, ${((100 * Number(fastest.gflops)) / peak.gflops).toFixed(0)}% of the measured ceiling`);
    }
    const notes = of<NoteRecord>('note');
    if (notes.length) out.push('', ...notes.map((n) => `note: ${n.message}`));
    out.push('');
  }
  return out.join('\n');
}
