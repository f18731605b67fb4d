// The report of bench/gpu.sh: reads the JSON records of its benchmark runs and writes
// <out>/<gpu-name>.json (every record, the GPU, its fp32 peak and the run's duration) and
// <out>/<gpu-name>.md (step comparison with first-step times, batch sweep, matmul table with
// GFLOP/s and % of fp32 peak, the measured arithmetic ceiling, the convolution table, the conv VAE
// step against TF.js, autotune choices).
//
//   npx tsx bench/gpu-report.ts --records FILE --out DIR [--peak-gflops N] [--seconds S]
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { AutotuneRecord, BenchRecord, NoteRecord, ProfileRecord, RatioRecord, StepRecord, SweepRecord } from './common';
import type { MatmulBenchResult } from './matmul';
import type { LadderRecord } from './matmul-ladder';
import type { PeakRecord } from './peak';
import type { ConvBenchResult } from './conv';
import type { TrainRateRecord } from './train-rate';

/** A line of bench/conv-step.ts --json. */
interface ConvStepRecord { bench: 'conv_step'; impl: string; batch: number; channels: number[]; median_ms: number; first_step_ms: number }

/** fp32 peaks (GFLOP/s, boost clock, from the vendors' data sheets), matched against the adapter text. */
export const KNOWN_PEAKS: [RegExp, number, string][] = [
  [/h200|h100.*sxm|gh100/i, 66900, 'NVIDIA H100/H200 SXM'],
  [/h100/i, 51200, 'NVIDIA H100 PCIe'],
  [/a100/i, 19500, 'NVIDIA A100'],
  [/rtx 4090/i, 82600, 'NVIDIA RTX 4090'],
  [/rtx 3090/i, 35600, 'NVIDIA RTX 3090'],
  [/rtx 3080 laptop/i, 19000, 'NVIDIA RTX 3080 Laptop'],
  [/rtx 3080/i, 29800, 'NVIDIA RTX 3080'],
  [/\bl4\b/i, 30300, 'NVIDIA L4'],
  [/\bt4\b/i, 8100, 'NVIDIA T4'],
  [/apple m2/i, 3600, 'Apple M2'],
  [/apple m1/i, 2600, 'Apple M1'],
];

export function peakFor(adapter: string): { gflops: number; source: string } | null {
  const hit = KNOWN_PEAKS.find(([re]) => re.test(adapter));
  return hit ? { gflops: hit[1], source: hit[2] } : null;
}

/** The arithmetic ceiling `bench --peak` measured, as a peak for adapters missing from KNOWN_PEAKS. */
export function measuredPeak(records: BenchRecord[]): { gflops: number; source: string } | null {
  const r = records.find((x) => x.bench === 'arith_peak') as PeakRecord | undefined;
  return r ? { gflops: r.gflops, source: 'measured by bench --peak: register-only fma chains' } : null;
}

/** A file name from the adapter text: lower case, runs of other characters as one '-'. */
export function gpuFileName(adapter: string): string {
  return adapter.replace(/\(software, CPU\)/, 'software').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80) || 'unknown-gpu';
}

const cell = (x: number | null | undefined, digits = 1) => (x === null || x === undefined || !Number.isFinite(x) ? 'n/a' : x.toFixed(digits));

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

export function markdownReport(records: BenchRecord[], peak: { gflops: number; source: string } | null, seconds: number | null): string {
  const of = <T extends BenchRecord>(bench: T['bench']) => records.filter((r) => r.bench === bench) as T[];
  const steps = of<StepRecord>('train_step'), ratios = of<RatioRecord>('train_step_ratio');
  const adapter = steps[0]?.adapter ?? String((records.find((r) => 'adapter' in r) as { adapter?: string } | undefined)?.adapter ?? 'unknown adapter');
  const out = [`# GPU benchmarks: ${adapter}`, ''];
  /** GFLOP/s, with its share of the fp32 peak when there is one. */
  const ofPeak = (gflops: number) => `${cell(gflops, 1)}${peak ? ` (${((100 * gflops) / peak.gflops).toFixed(1)}%)` : ''}`;
  out.push(`fp32 peak: ${peak ? `${peak.gflops} GFLOP/s (${peak.source})` : 'unknown (give --peak-gflops)'}${seconds !== null ? `; the run took ${seconds} s` : ''}.`, '');
  const measured = of<PeakRecord>('arith_peak')[0];
  if (measured) out.push(`Measured arithmetic ceiling (bench --peak): ${cell(measured.gflops, 1)} GFLOP/s${peak && !peak.source.startsWith('measured') ? `, ${((100 * measured.gflops) / peak.gflops).toFixed(0)}% of the fp32 peak` : ''}.`, '');
  out.push('## Train step, ours against TF.js WebGPU', '');
  out.push(table(['batch', 'impl', 'autotune', 'precision', 'matmuls', 'median ms', 'examples/s', 'first step ms'], steps.map((s) => [
    String(s.batch), s.impl, s.autotune ?? '', s.precision ?? '', s.matmul_generic === undefined ? '' : s.matmul_generic ? 'generic' : 'specialized', cell(s.median_ms, 2), cell(s.samples_per_s, 0), cell(s.first_step_ms, 0),
  ])));
  if (ratios.length) out.push('', ...ratios.map((r) => `- batch ${r.batch}: TF.js / ours = ${r.ratio.toFixed(2)}x (rounds: ${r.round_ratios.join(', ')})`));
  const profiles = of<ProfileRecord>('profile');
  for (const batch of [...new Set(profiles.map((p) => p.batch))]) {
    const rows = profiles.filter((p) => p.batch === batch);
    const total = rows.find((p) => p.family === 'total');
    out.push('', `## Our step's kernels at batch ${batch} (GPU time from timestamp queries, one pass per dispatch)`, '');
    out.push(table(['family', 'dispatches', 'GPU ms', 'share'], rows.filter((p) => p !== total).map((p) => [p.family, String(p.dispatches), cell(p.gpu_ms, 4), `${(100 * p.share).toFixed(1)}%`])));
    if (total) {
      const wall = total.step_ms;
      out.push('', `- ${total.dispatches} dispatches, ${cell(total.gpu_ms, 3)} ms of kernel time` + (wall ? ` against a ${cell(wall, 3)} ms step: kernels fill ${((100 * total.gpu_ms) / wall).toFixed(0)}% of it` : ''));
      // The span is the step's own GPU time (one pass, as trained): close to the wall step, the GPU was busy throughout.
      if (total.span_gpu_ms !== undefined) out.push(`- the unprofiled step's passes span ${cell(total.span_gpu_ms, 3)} ms of GPU time` + (wall ? `, ${((100 * total.span_gpu_ms) / wall).toFixed(0)}% of the step` : ''));
    }
  }
  const sweep = of<SweepRecord>('sweep');
  if (sweep.length) {
    out.push('', '## Batch sweep (ours)', '');
    out.push(table(['batch', 'ms/step', 'examples/s', 'first step ms'], sweep.map((s) => [String(s.batch), cell(s.median_ms, 2), cell(s.samples_per_s, 0), cell(s.first_step_ms, 0)])));
  }
  const matmul = records.filter((r) => r.bench === 'matmul') as unknown as MatmulBenchResult[];
  if (matmul.length) {
    out.push('', '## Matmul variants (GFLOP/s; % of fp32 peak)', '');
    const variants = [...new Set(matmul.map((m) => m.variant))];
    const shapes = [...new Map(matmul.map((m) => [`${m.label}|${m.M}|${m.N}|${m.K}|${m.transA}|${m.transB}`, m])).values()];
    out.push(table(['case', 'M x N x K', 'op', ...variants], shapes.map((s) => [
      s.label, `${s.M} x ${s.N} x ${s.K}`, s.transA ? 'tA' : s.transB ? 'tB' : 'nn',
      ...variants.map((v) => {
        const r = matmul.find((m) => m.variant === v && m.label === s.label && m.M === s.M && m.N === s.N && m.K === s.K && m.transA === s.transA && m.transB === s.transB);
        return r ? ofPeak(r.gflops) : '-';
      }),
    ])));
  }
  const ladder = (records.filter((r) => (r.bench as string) === 'matmul_ladder') as unknown as LadderRecord[]).sort((a, b) => b.gflops - a.gflops);
  if (ladder.length) {
    const side = ladder[0].M;
    out.push('', `## Tile ladder on the ${side}^3 product (every tile \`--autotune full\` tries; fastest first)`, '');
    out.push(table(['tile', 'ms', 'GFLOP/s (% of fp32 peak)'], ladder.map((r) => [r.tile, cell(r.median_ms, 3), ofPeak(r.gflops)])));
  }
  const convModel = records.filter((r) => (r.bench as string) === 'conv_model') as unknown as { choice: string; image: number[]; channels: number[]; dense: number[]; batch: number; median_ms: number }[];
  if (convModel.length) {
    const m = convModel[0];
    out.push('', `## Conv VAE train graph ${m.image.join('x')}, channels ${m.channels.join(',')}, dense ${m.dense.join(',') || 'none'}, batch ${m.batch} (GPU ms, one pass per dispatch)`, '');
    out.push(table(['conv methods', 'GPU ms'], convModel.map((r) => [r.choice, cell(r.median_ms, 3)])));
    const slowest = records.filter((r) => (r.bench as string) === 'conv_model_dispatch') as unknown as { index: number; kernel: string; workgroups: number; median_ms: number }[];
    if (slowest.length) {
      out.push('', 'Its slowest dispatches under the defaults:', '');
      out.push(table(['#', 'kernel', 'workgroups', 'GPU ms'], slowest.map((d) => [String(d.index), d.kernel, String(d.workgroups), cell(d.median_ms, 4)])));
    }
  }
  const rates = records.filter((r) => (r.bench as string) === 'train_cli') as unknown as TrainRateRecord[];
  if (rates.length) {
    out.push('', '## Training from the command line (bench/train-rate.ts: the dSprites conv beta-TCVAE, the steps below)', '');
    out.push(table(['model', 'batch', 'steps', 'ms a step', 'examples/s', 'whole command s'], rates.map((r) => [r.model, String(r.batch), String(r.steps), cell(r.ms_per_step, 3), cell(r.examples_per_s, 0), cell(r.command_s, 1)])));
  }
  const conv = records.filter((r) => (r.bench as string) === 'conv') as unknown as ConvBenchResult[];
  if (conv.length) {
    out.push('', '## Convolutions (GFLOP/s; % of fp32 peak)', '');
    const impls = [...new Set(conv.map((c) => c.impl))];
    const rows = [...new Set(conv.map((c) => `${c.layer}|${c.op}`))].map((key) => {
      const [layer, op] = key.split('|');
      return [layer, op, ...impls.map((i) => {
        const r = conv.find((c) => c.impl === i && c.layer === layer && c.op === op);
        return r ? ofPeak(r.gflops) : '-';
      })];
    });
    out.push(table(['layer', 'op', ...impls], rows));
  }
  const convSteps = records.filter((r) => (r.bench as string) === 'conv_step') as unknown as ConvStepRecord[];
  if (convSteps.length) {
    out.push('', `## MNIST conv VAE step (channels ${convSteps[0].channels.join('-')}), ours against TF.js WebGPU`, '');
    out.push(table(['batch', 'impl', 'median ms', 'first step ms'], convSteps.map((s) => [String(s.batch), s.impl, cell(s.median_ms, 2), cell(s.first_step_ms, 0)])));
    const [ours, theirs] = [convSteps.find((s) => s.impl === 'webgpu-vae'), convSteps.find((s) => s.impl !== 'webgpu-vae')];
    if (ours && theirs) out.push('', `- TF.js / ours = ${(theirs.median_ms / ours.median_ms).toFixed(2)}x`);
  }
  const tuned = of<AutotuneRecord>('autotune');
  if (tuned.length) {
    out.push('', `## Autotune (${tuned[0].mode}) choices`, '');
    out.push(table(['product', 'choice', 'ms', 'candidates timed'], tuned.map((t) => [t.product, t.choice, cell(t.ms, 3), String(t.candidates)])));
  }
  const notes = of<NoteRecord>('note');
  if (notes.length) out.push('', '## Notes', '', ...notes.map((n) => `- ${n.env}: ${n.message.split('\n')[0]}`));
  return out.join('\n') + '\n';
}

function main(argv: string[]): void {
  const value = (name: string) => { const i = argv.indexOf(`--${name}`); return i >= 0 ? argv[i + 1] : undefined; };
  const recordsPath = value('records'), outDir = value('out') ?? 'bench/results';
  if (!recordsPath) throw new Error('gpu-report: --records FILE is required');
  const records = readFileSync(recordsPath, 'utf8').split('\n').filter((l) => l.trim().startsWith('{')).map((l) => JSON.parse(l) as BenchRecord);
  if (!records.length) throw new Error(`gpu-report: no records in ${recordsPath}; did the benchmarks run?`);
  const adapter = (records.find((r) => r.bench === 'train_step') as StepRecord | undefined)?.adapter ?? String((records.find((r) => 'adapter' in r) as { adapter?: string } | undefined)?.adapter ?? '');
  const given = value('peak-gflops');
  if (given !== undefined && !(Number(given) > 0)) throw new Error(`gpu-report: --peak-gflops needs a positive number, got '${given}'`);
  const peak = given !== undefined ? { gflops: Number(given), source: '--peak-gflops' } : (peakFor(adapter) ?? measuredPeak(records));
  const seconds = value('seconds') !== undefined ? Number(value('seconds')) : null;
  const name = gpuFileName(adapter);
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${name}.json`), JSON.stringify({ gpu: name, adapter, peak_gflops: peak?.gflops ?? null, peak_source: peak?.source ?? null, seconds, records }, null, 1) + '\n');
  writeFileSync(join(outDir, `${name}.md`), markdownReport(records, peak, seconds));
  console.log(`wrote ${join(outDir, `${name}.json`)} and ${join(outDir, `${name}.md`)}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
