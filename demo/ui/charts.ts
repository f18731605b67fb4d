// Training curves with uPlot: -ELBO (train per chunk of steps, test per epoch), its two terms, and
// throughput. A model trained on the IWAE bound plots that bound for training (what it optimises
// and reports) beside the test -ELBO. Messages arrive every few steps; the charts redraw at most
// a few times a second on an animation frame, so plotting never competes with the page's input
// handling. The points themselves are kept by ChartHistory (ui/chart-history.ts).
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { EpochReport, LossChunk, Settings } from '../shared/protocol';
import { ChartHistory, type Point } from './chart-history';

const COLORS = { train: '#58a6ff', test: '#f0883e', rec: '#3fb950', kl: '#d2a8ff', rate: '#79c0ff' };
const AXIS = { stroke: '#8b949e', grid: { stroke: 'rgba(240,246,252,0.07)' }, ticks: { stroke: 'rgba(240,246,252,0.15)' } };
const REDRAW_MS = 250;
/** The least plot height (axes included), where a narrow card's legend takes many lines. */
const MIN_PLOT_HEIGHT = 150;

function lineSeries(label: string, stroke: string, dashed = false): uPlot.Series {
  return {
    // The dashed series are the held-out ones, whose legend value names its step (styles.css).
    label, stroke, width: dashed ? 1.5 : 1.75, spanGaps: true, dash: dashed ? [6, 4] : undefined, class: dashed ? 'held-out' : undefined,
    points: { show: dashed, size: 5, fill: stroke },
    value: (u, v, seriesIdx, idx) => (v != null ? v.toFixed(2) : earlierValue(u, seriesIdx, idx)),
  };
}

/**
 * A series' value at or before index `idx`, with its step: the test series has a point at each
 * epoch's end only, so at most steps (the newest included) it has none of its own, and the legend
 * would show "–" beside a curve that has points.
 */
function earlierValue(u: uPlot, seriesIdx: number, idx: number | null): string {
  const ys = u.data[seriesIdx], xs = u.data[0];
  for (let j = Math.min(idx ?? ys.length - 1, ys.length - 1); j >= 0; j--) {
    const y = ys[j];
    if (y != null) return `${y.toFixed(2)} (step ${xs[j]})`;
  }
  return '–';
}

/** Compact tick labels; uPlot passes null for log-scale ticks it leaves unlabelled. */
function tickLabel(t: number | null): string {
  if (t == null) return '';
  return t >= 1000 ? `${(t / 1000).toFixed(t >= 10000 ? 0 : 1)}k` : `${+t.toFixed(2)}`;
}

/** Tick spacings of the step axis: whole steps (uPlot's defaults put ticks at 10.5 steps early in a run). */
const STEP_INCREMENTS = Array.from({ length: 10 }, (_, e) => [1, 2, 5].map((m) => m * 10 ** e)).flat();

/** The width each card last grew at (see fitChart); a new width starts from the CSS height again. */
const grownAt = new WeakMap<HTMLElement, number>();
/** Each card's legend height when its chart was last fitted: new values may wrap it onto more lines. */
const fittedLegend = new WeakMap<HTMLElement, number>();
const legendHeight = (el: HTMLElement) => el.querySelector<HTMLElement>('.u-legend')?.offsetHeight ?? 0;

/**
 * Sizes a chart to its card: the card's height is fixed in CSS (a card that grew when its legend
 * wrapped would move the page below it), so the plot takes what the title and legend leave. Where
 * even the least plot height does not leave room for the legend (a phone's narrow card, long
 * values), the card grows rather than cut legend entries off; it keeps that height at this width.
 */
function fitChart(chart: uPlot, el: HTMLElement): void {
  const width = Math.max(240, el.clientWidth);
  if (grownAt.has(el) && grownAt.get(el) !== el.clientWidth) {
    el.style.minHeight = '';
    grownAt.delete(el);
  }
  chart.setSize({ width, height: chart.height }); // the legend wraps at the new width
  // uPlot applies a size in a microtask; measure after it, still before the page is painted.
  queueMicrotask(() => {
    // A chart rebuilt since (a new likelihood and objective together) is measured by its successor:
    // measured here, the card would hold both charts' heights and grow for good.
    if (!chart.root.isConnected) return;
    const style = getComputedStyle(el);
    const padding = parseFloat(style.paddingTop) + parseFloat(style.paddingBottom);
    const legend = legendHeight(el);
    fittedLegend.set(el, legend);
    const others = (el.querySelector<HTMLElement>('.u-title')?.offsetHeight ?? 0) + legend;
    const room = el.clientHeight - padding - others;
    if (room < MIN_PLOT_HEIGHT) {
      el.style.minHeight = `${Math.ceil(el.offsetHeight + MIN_PLOT_HEIGHT - room)}px`;
      grownAt.set(el, el.clientWidth);
    }
    chart.setSize({ width, height: Math.max(MIN_PLOT_HEIGHT, room) });
  });
}

function makeChart(el: HTMLElement, title: string, series: uPlot.Series[], log: boolean): uPlot {
  const opts: uPlot.Options = {
    title, width: Math.max(240, el.clientWidth), height: MIN_PLOT_HEIGHT,
    scales: { x: { time: false }, y: log ? { distr: 3, log: 10 } : {} },
    axes: [
      { ...AXIS, label: 'step', labelSize: 20, size: 36, incrs: STEP_INCREMENTS },
      { ...AXIS, size: 52, values: (_u, ticks) => ticks.map(tickLabel) },
    ],
    series: [{ label: 'step' }, ...series],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
  };
  const chart = new uPlot(opts, [[], ...series.map(() => [])] as unknown as uPlot.AlignedData, el);
  fitChart(chart, el);
  return chart;
}

export class Charts {
  private readonly history = new ChartHistory();
  private elbo!: uPlot;
  private terms!: uPlot;
  private speed!: uPlot;
  private log = true;
  private objective: { name: Settings['objective']; samples: number } = { name: 'elbo', samples: 1 };
  private pending = false;
  private lastDraw = 0;

  constructor(private readonly els: { elbo: HTMLElement; terms: HTMLElement; speed: HTMLElement }) {
    this.build();
    const resize = () => { for (const [chart, el] of this.cards()) fitChart(chart, el); };
    for (const el of Object.values(els)) new ResizeObserver(resize).observe(el);
  }

  private cards(): [uPlot, HTMLElement][] {
    return [[this.elbo, this.els.elbo], [this.terms, this.els.terms], [this.speed, this.els.speed]];
  }

  private build(): void {
    const { els, log } = this;
    // Linear axes mean a Gaussian likelihood, a density: its -ELBO goes below 0 once it fits well.
    const units = log ? 'nats per image' : 'nats per image; below 0 for a density that fits well';
    this.elbo = this.objective.name === 'iwae'
      ? makeChart(els.elbo, `Loss (${units})`, [lineSeries(`train −IWAE bound (K=${this.objective.samples})`, COLORS.train), lineSeries('test −ELBO', COLORS.test, true)], log)
      : makeChart(els.elbo, `−ELBO (${units})`, [lineSeries('train', COLORS.train), lineSeries('test', COLORS.test, true)], log);
    this.terms = makeChart(els.terms, 'Reconstruction and KL terms', [
      lineSeries('train rec', COLORS.rec), lineSeries('test rec', COLORS.rec, true),
      lineSeries('train KL', COLORS.kl), lineSeries('test KL', COLORS.kl, true),
    ], log);
    this.speed = makeChart(els.speed, 'Throughput (examples/s)', [lineSeries('examples/s', COLORS.rate)], false);
  }

  /**
   * Log axes suit a Bernoulli -ELBO (from ~540 nats down to ~100, all positive); a Gaussian
   * likelihood's terms go negative once sigma is learned, so those charts switch to linear axes.
   */
  useLogScale(log: boolean): void {
    if (log === this.log) return;
    this.log = log;
    for (const chart of [this.elbo, this.terms, this.speed]) chart.destroy();
    this.build();
    this.draw();
  }

  /** Names the training curve after the objective: the -ELBO, or the IWAE bound with K samples. */
  useObjective(name: Settings['objective'], samples: number): void {
    if (name === this.objective.name && samples === this.objective.samples) return;
    this.objective = { name, samples };
    for (const chart of [this.elbo, this.terms, this.speed]) chart.destroy();
    this.build();
    this.draw();
  }

  addChunks(chunks: LossChunk[], examplesPerSecond: number): void {
    this.history.addChunks(chunks, examplesPerSecond, this.objective.name);
    this.schedule();
  }

  addEpoch(r: EpochReport): void {
    this.history.addEpoch(r);
    this.schedule();
  }

  /** Forgets the points after `step` steps, where a restored run goes on from. */
  truncate(step: number): void {
    this.history.truncate(step);
    this.draw();
  }

  clear(): void {
    this.history.clear();
    this.draw();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    const wait = Math.max(0, REDRAW_MS - (performance.now() - this.lastDraw));
    setTimeout(() => requestAnimationFrame(() => { this.pending = false; this.draw(); }), wait);
  }

  private draw(): void {
    this.lastDraw = performance.now();
    const { xs, train: tr, test: te, rate } = this.history.merged();
    const col = (arr: (Point | null)[], k: keyof Point) => arr.map((p) => (p ? p[k] : null));
    this.elbo.setData([xs, col(tr, 'loss'), col(te, 'loss')] as uPlot.AlignedData);
    this.terms.setData([xs, col(tr, 'rec'), col(te, 'rec'), col(tr, 'kl'), col(te, 'kl')] as uPlot.AlignedData);
    this.speed.setData([rate.xs, rate.ys]);
    // uPlot keeps the last x range when given no points; an empty chart (after Reset) starts at 0.
    for (const [chart, n] of [[this.elbo, xs.length], [this.terms, xs.length], [this.speed, rate.xs.length]] as const) {
      if (n === 0) chart.setScale('x', { min: 0, max: 100 });
      // Away from the pointer the legend shows the newest point's values, not "--": the figures
      // are then there to read without a mouse (and for a screen reader).
      else if (chart.cursor.idx == null) chart.setLegend({ idx: n - 1 });
    }
    // Longer values may wrap a legend onto another line: the plot gives it the room.
    for (const [chart, el] of this.cards()) if (legendHeight(el) !== fittedLegend.get(el)) fitChart(chart, el);
  }
}
