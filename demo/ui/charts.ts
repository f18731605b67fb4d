// Training curves with uPlot: -ELBO (train per chunk of steps, test per epoch), its two terms, and
// throughput. A model trained on the IWAE bound plots that bound for training (what it optimises
// and reports) beside the test -ELBO. Messages arrive every few steps; the charts redraw at most
// a few times a second on an animation frame, so plotting never competes with the page's input
// handling.
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { EpochReport, LossChunk, Settings } from '../shared/protocol';

const COLORS = { train: '#58a6ff', test: '#f0883e', rec: '#3fb950', kl: '#d2a8ff', rate: '#79c0ff' };
const AXIS = { stroke: '#8b949e', grid: { stroke: 'rgba(240,246,252,0.07)' }, ticks: { stroke: 'rgba(240,246,252,0.15)' } };
const REDRAW_MS = 250;

type Point = { step: number; loss: number; rec: number; kl: number };

function lineSeries(label: string, stroke: string, dashed = false): uPlot.Series {
  return {
    label, stroke, width: dashed ? 1.5 : 1.75, spanGaps: true, dash: dashed ? [6, 4] : undefined,
    points: { show: dashed, size: 5, fill: stroke },
    value: (_u, v) => (v == null ? '–' : v.toFixed(2)),
  };
}

/** Compact tick labels; uPlot passes null for log-scale ticks it leaves unlabelled. */
function tickLabel(t: number | null): string {
  if (t == null) return '';
  return t >= 1000 ? `${(t / 1000).toFixed(t >= 10000 ? 0 : 1)}k` : `${+t.toFixed(2)}`;
}

function makeChart(el: HTMLElement, title: string, series: uPlot.Series[], log: boolean): uPlot {
  const opts: uPlot.Options = {
    title, width: Math.max(240, el.clientWidth), height: 190,
    scales: { x: { time: false }, y: log ? { distr: 3, log: 10 } : {} },
    axes: [
      { ...AXIS, label: 'step', labelSize: 20, size: 36 },
      { ...AXIS, size: 52, values: (_u, ticks) => ticks.map(tickLabel) },
    ],
    series: [{ label: 'step' }, ...series],
    legend: { live: true },
    cursor: { drag: { x: true, y: false } },
  };
  return new uPlot(opts, [[], ...series.map(() => [])] as unknown as uPlot.AlignedData, el);
}

export class Charts {
  private train: Point[] = [];
  private test: Point[] = [];
  private rate: [number, number][] = [];
  private elbo!: uPlot;
  private terms!: uPlot;
  private speed!: uPlot;
  private log = true;
  private objective: { name: Settings['objective']; samples: number } = { name: 'elbo', samples: 1 };
  private pending = false;
  private lastDraw = 0;

  constructor(private readonly els: { elbo: HTMLElement; terms: HTMLElement; speed: HTMLElement }) {
    this.build();
    const resize = () => {
      for (const [chart, el] of [[this.elbo, els.elbo], [this.terms, els.terms], [this.speed, els.speed]] as const) {
        chart.setSize({ width: Math.max(240, el.clientWidth), height: 190 });
      }
    };
    for (const el of Object.values(els)) new ResizeObserver(resize).observe(el);
  }

  private build(): void {
    const { els, log } = this;
    this.elbo = this.objective.name === 'iwae'
      ? makeChart(els.elbo, 'Loss (nats per image)', [lineSeries(`train IWAE bound (K=${this.objective.samples})`, COLORS.train), lineSeries('test −ELBO', COLORS.test, true)], log)
      : makeChart(els.elbo, '−ELBO (nats per image)', [lineSeries('train', COLORS.train), lineSeries('test', COLORS.test, true)], log);
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
    // For the ELBO the chart shows the true -ELBO (rec + KL) even when beta, warm-up or free bits
    // change the training objective; for IWAE, the bound the model trains on.
    const iwae = this.objective.name === 'iwae';
    for (const c of chunks) this.train.push({ step: c.step + 1, loss: iwae ? c.loss : c.rec + c.kl, rec: c.rec, kl: c.kl });
    const last = chunks[chunks.length - 1];
    if (last && examplesPerSecond > 0) this.rate.push([last.step + 1, examplesPerSecond]);
    this.schedule();
  }

  addEpoch(r: EpochReport): void {
    this.test.push({ step: r.step + 1, loss: r.test.loss, rec: r.test.rec, kl: r.test.kl });
    this.schedule();
  }

  clear(): void {
    this.train = [];
    this.test = [];
    this.rate = [];
    this.draw();
  }

  private schedule(): void {
    if (this.pending) return;
    this.pending = true;
    const wait = Math.max(0, REDRAW_MS - (performance.now() - this.lastDraw));
    setTimeout(() => requestAnimationFrame(() => { this.pending = false; this.draw(); }), wait);
  }

  /** Merges the train and test series onto one sorted x axis (steps), with gaps as nulls. */
  private draw(): void {
    this.lastDraw = performance.now();
    const xs: number[] = [], tr: (Point | null)[] = [], te: (Point | null)[] = [];
    let i = 0, j = 0;
    while (i < this.train.length || j < this.test.length) {
      const a = this.train[i], b = this.test[j];
      const step = Math.min(a?.step ?? Infinity, b?.step ?? Infinity);
      xs.push(step);
      tr.push(a?.step === step ? this.train[i++] : null);
      te.push(b?.step === step ? this.test[j++] : null);
    }
    const col = (arr: (Point | null)[], k: keyof Point) => arr.map((p) => (p ? p[k] : null));
    this.elbo.setData([xs, col(tr, 'loss'), col(te, 'loss')] as uPlot.AlignedData);
    this.terms.setData([xs, col(tr, 'rec'), col(te, 'rec'), col(tr, 'kl'), col(te, 'kl')] as uPlot.AlignedData);
    this.speed.setData([this.rate.map((r) => r[0]), this.rate.map((r) => r[1])]);
  }
}
