// The soak benchmark's verdict, shared by the Node soak (bench/soak.ts) and the browser soak
// (bench/soak-browser.ts); plain TypeScript, no Node or DOM imports.
//
// A long run passes when:
// - GPU bytes and live buffers never rise above their first sample (exact: these are counts, not
//   noisy measurements; the first sample is taken after the first evaluation, so every plan a run
//   builds already exists);
// - the JS heap (measured after a forced garbage collection) is flat: its least-squares slope,
//   projected over the whole run, is within a band (HEAP_BAND_BYTES unless the caller gives one);
// - the step time is flat: the median of the last quarter of samples is within STEP_TIME_BAND of
//   the median of the first quarter (a shared machine makes single samples noisy, medians less so).
// RSS is reported with its projected growth but does not decide the verdict: the native allocator
// and Dawn keep freed pages, so RSS moves in steps that are not leaks.
// Growth is judged between samples: with fewer than MIN_SOAK_SAMPLES the verdict is inconclusive,
// neither a pass nor growth found, and the soaks exit with their own status for it.

/** One sample of a soak run. `rssBytes` and `gpuBytes`/`buffers` are null where they cannot be measured. */
export interface SoakSample {
  /** Training steps (or, in the browser soak, the cycle number) when the sample was taken. */
  step: number;
  gpuBytes: number | null;
  buffers: number | null;
  heapBytes: number;
  rssBytes: number | null;
  /** Mean training-step time over the window since the previous sample (eval time excluded); null when not timed. */
  stepMs: number | null;
}

export interface SoakCheck {
  name: string;
  pass: boolean;
  /** Informational checks are printed but do not decide the verdict. */
  informational?: boolean;
  detail: string;
}

export interface SoakVerdict {
  pass: boolean;
  /** Too few samples to judge: nothing was found either way (`pass` is false). */
  inconclusive: boolean;
  checks: SoakCheck[];
}

/** The samples a verdict compares, at the least. */
export const MIN_SOAK_SAMPLES = 2;

/** Exit statuses of both soaks; 2 is theirs for a usage error or a failure. */
export const SOAK_EXIT = { noGrowth: 0, growth: 1, inconclusive: 3 } as const;

export const soakExitStatus = (verdict: SoakVerdict): number =>
  verdict.inconclusive ? SOAK_EXIT.inconclusive : verdict.pass ? SOAK_EXIT.noGrowth : SOAK_EXIT.growth;

export const HEAP_BAND_BYTES = 4 * 2 ** 20;
export const STEP_TIME_BAND = 0.25;

const MiB = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;

/** Least-squares slope of y over x (0 for fewer than two distinct x). */
export function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n, my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i] - mx) * (ys[i] - my);
    sxx += (xs[i] - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** "Never above the first sample" for an exact count. */
function noGrowth(name: string, values: (number | null)[], format: (v: number) => string): SoakCheck {
  if (values.some((v) => v === null)) return { name, pass: true, informational: true, detail: 'not measured here' };
  const v = values as number[];
  const first = v[0], max = Math.max(...v), last = v[v.length - 1];
  return { name, pass: max <= first, detail: `first ${format(first)}, last ${format(last)}, max ${format(max)} (must not exceed the first)` };
}

/** Growth projected over the run from the fitted slope, against a fixed band. */
function flatWithin(name: string, samples: SoakSample[], values: number[], band: number, informational = false): SoakCheck {
  const xs = samples.map((s) => s.step);
  const span = xs[xs.length - 1] - xs[0];
  const growth = slope(xs, values) * span;
  return {
    name, pass: growth <= band, informational,
    detail: `first ${MiB(values[0])}, last ${MiB(values[values.length - 1])}, fitted growth over the run ${MiB(growth)} (band ${MiB(band)})`,
  };
}

function stepTimeFlat(samples: SoakSample[]): SoakCheck {
  const timed = samples.map((s) => s.stepMs).filter((v): v is number => v !== null && Number.isFinite(v));
  if (timed.length < 2) return { name: 'step time', pass: true, informational: true, detail: 'fewer than two timed samples' };
  const q = Math.max(1, Math.floor(timed.length / 4));
  const first = median(timed.slice(0, q)), last = median(timed.slice(-q));
  const ratio = last / first;
  return {
    name: 'step time', pass: ratio <= 1 + STEP_TIME_BAND,
    detail: `first-quarter median ${first.toFixed(1)} ms, last-quarter median ${last.toFixed(1)} ms, ratio ${ratio.toFixed(3)} (band ${(1 + STEP_TIME_BAND).toFixed(2)})`,
  };
}

export function soakVerdict(samples: SoakSample[], heapBandBytes = HEAP_BAND_BYTES): SoakVerdict {
  if (samples.length < MIN_SOAK_SAMPLES) {
    return { pass: false, inconclusive: true, checks: [{ name: 'samples', pass: false, detail: `${samples.length} sample(s); a verdict compares at least ${MIN_SOAK_SAMPLES}` }] };
  }
  const checks = [
    noGrowth('GPU bytes', samples.map((s) => s.gpuBytes), MiB),
    noGrowth('GPU buffers', samples.map((s) => s.buffers), String),
    flatWithin('JS heap', samples, samples.map((s) => s.heapBytes), heapBandBytes),
    stepTimeFlat(samples),
  ];
  const rss = samples.map((s) => s.rssBytes);
  if (rss.every((v) => v !== null)) checks.push(flatWithin('RSS', samples, rss as number[], 32 * 2 ** 20, true));
  return { pass: checks.every((c) => c.pass || c.informational), inconclusive: false, checks };
}

/** The series as a fixed-width table and the verdict, for the terminal and RESULTS.md. */
export function formatSoak(samples: SoakSample[], verdict: SoakVerdict, stepLabel = 'step'): string {
  const cell = (v: number | null, f: (x: number) => string) => (v === null ? 'n/a' : f(v));
  const mib = (b: number) => (b / 2 ** 20).toFixed(2);
  const rows = samples.map((s) => `| ${s.step} | ${cell(s.gpuBytes, mib)} | ${cell(s.buffers, String)} | ${mib(s.heapBytes)} | ${cell(s.rssBytes, mib)} | ${cell(s.stepMs, (x) => x.toFixed(1))} |`);
  const lines = [`| ${stepLabel} | GPU MiB | buffers | heap MiB | RSS MiB | ms/step |`, '|---:|---:|---:|---:|---:|---:|', ...rows, ''];
  for (const c of verdict.checks) lines.push(`- ${c.name}: ${verdict.inconclusive ? 'too few' : c.informational ? 'info' : c.pass ? 'pass' : 'FAIL'} (${c.detail})`);
  lines.push('', `verdict: ${verdict.inconclusive ? 'inconclusive (too few samples to judge growth; nothing was found either way)' : verdict.pass ? 'no growth' : 'GROWTH or drift found'}`);
  return lines.join('\n');
}
