// What the page does with each message from the worker (worker/worker.ts): the run's state, its
// data and model, progress and epochs, the views' side data (traversal KL, latent scatter,
// interpolation ends), storage and errors. main.ts wires the page's parts into the handler.
import type { VaeConfig } from '../../src/index';
import type { FromWorker, RunState, ToWorker } from '../shared/protocol';
import { classRowLabels, showClassPickers } from './class-pickers';
import type { RowLabels } from './row-labels';
import { interpolationLabels } from './interpolation-labels';
import type { Charts } from './charts';
import type { TraversalLabels } from './traversal';
import type { ViewCanvases } from './view-canvases';
import { modelViewNotes, type RunSummary } from './run-summary';
import type { Scatter } from './scatter';
import { useAdapterFeatures, writeConfig } from './settings';
import { describeError, showError, showNotice } from './errors';
import { downloadBlob } from './view-export';
import type { RunLog } from './run-log';
import type { UnsavedRun } from './unsaved-run';
import { SAVED_WHEN } from '../shared/saved-run';
import { runStem } from './run-names';

/** The page's run as the status line and the controls read it. */
export interface PageRun {
  state: RunState; detail: string; model: VaeConfig | null; testCount: number;
  step: number; loss: number; epoch: number; rate: number;
  /** A Start, Resume or Continue was sent and the worker has not answered with a state yet. */
  commandSent: boolean;
  /** Reset was pressed and the worker has not said Ready yet. */
  resetting?: boolean;
  /** The model file (its name less the extension) the model was loaded from; null for a run started here. */
  loadedFrom: string | null;
  /** What the model is compiling, said in the status line beside the state (null when nothing). */
  compiling: string | null;
  /** The name of the run the worker last kept in the browser (its 'stored'), null before. */
  keptRunId?: string | null;
}

export interface PageParts {
  ui: PageRun;
  form: HTMLFormElement;
  views: ViewCanvases;
  charts: Charts;
  scatter: Scatter;
  summary: RunSummary;
  traversal: TraversalLabels;
  /** The class of each row of a conditional model's samples. */
  sampleRows: RowLabels;
  runLog: RunLog;
  unsaved: UnsavedRun;
  send: (m: ToWorker, transfer?: Transferable[]) => void;
  sizeViewsForSettings: () => void;
  resetViews: () => void;
  announce: (text: string) => void;
  /** Brings the controls and the status line up to date (after every message). */
  refresh: () => void;
  /** The worker built the model it was asked for (a file loaded, a run started). */
  modelAccepted: () => void;
  /** The worker reported a failure (a refused file among them): what waited for its model is dropped. */
  commandFailed: () => void;
  /** The worker kept run `runId` in the browser at `step` (the other tabs are told). */
  kept: (runId: string, step: number) => void;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export function messageHandler(page: PageParts): (m: FromWorker) => void {
  const { ui, form, views, charts, scatter, summary, traversal, sampleRows, runLog, unsaved, send, sizeViewsForSettings, resetViews, announce, refresh, modelAccepted, commandFailed } = page;
  return (m: FromWorker): void => {
    switch (m.type) {
      case 'ready': {
        const badge = $('adapter');
        badge.textContent = `${m.software ? 'Software GPU' : 'GPU'}: ${m.adapter}`;
        badge.classList.add(m.software ? 'software' : 'gpu');
        useAdapterFeatures(form, m.features); // f16 activations only where the device has shader-f16
        if (m.software) $('speed-note').textContent = `Your browser gave this page a software GPU (${m.adapter}), which runs the shaders on the CPU. The defaults are small so an MNIST epoch still takes well under a minute; dSprites' 64×64 pictures take 5 (grey) to 16 (colour) times as long each, so give them fewer Training examples. On a real GPU, larger models such as 784-400-20 on all 60,000 images train many times faster.`;
        break;
      }
      case 'compiling':
        ui.compiling = m.detail;
        break;
      case 'state':
        ui.compiling = null; // a new state says what the worker does now
        ui.commandSent = false;
        ui.state = m.state;
        ui.detail = m.detail ?? '';
        if (m.state === 'idle' || m.state === 'lost' || m.state === 'failed') {
          // A reset is done: the run it dropped is no longer kept (a save it overtook said it was).
          if (ui.resetting) Object.assign($('stored'), { textContent: '', title: '' });
          ui.resetting = false;
          ui.model = null; // the worker has no model then
          ui.keptRunId = null;
          sizeViewsForSettings();
          // A start that failed leaves no model: the summary of its data and model goes too. (A lost
          // device keeps it: the recovery restores that model.)
          if (m.state !== 'lost') summary.clear();
        }
        break;
      case 'dataset': // a new model is being built (start or load): its history starts empty
        resetViews();
        ui.testCount = m.test;
        views.size({ imgW: m.cols, imgH: m.rows, tests: m.test });
        summary.data(m);
        break;
      case 'model': {
        modelAccepted();
        ui.model = m.config;
        writeConfig(form, m.config);
        charts.useLogScale(m.config.likelihood === 'bernoulli');
        charts.useObjective(m.config.objective, m.config.samples);
        views.size({ classes: m.config.classes, latent: m.config.latent }); // the samples grid follows the classes, the traversal grid the latent size
        traversal.describe(m.config);
        showClassPickers(m.config, $<HTMLSelectElement>('dataset').value);
        sampleRows.show(classRowLabels(m.config.classes, $<HTMLSelectElement>('dataset').value));
        const notes = modelViewNotes(m.config);
        $('samples-note').textContent = notes.samples;
        $('manifold-note').textContent = notes.manifold;
        summary.model(m, Number((form.elements.namedItem('batch') as HTMLInputElement | null)?.value));
        break;
      }
      case 'progress': {
        if (!ui.model) break; // a step that finished after Reset was pressed
        const last = m.chunks[m.chunks.length - 1];
        ui.step = last.step + 1;
        ui.loss = last.loss;
        ui.epoch = m.epoch;
        ui.rate = m.examplesPerSecond;
        charts.addChunks(m.chunks, m.examplesPerSecond);
        runLog.progress(m.chunks, m.examplesPerSecond);
        break;
      }
      case 'epoch': {
        if (!ui.model) break;
        const r = m.report;
        charts.addEpoch(r);
        summary.epoch(r, ui.model);
        runLog.epoch(r);
        announce(summary.lastLine());
        break;
      }
      // A view refresh that finished after Reset was pressed draws a model that is gone.
      case 'traversal':
        if (!ui.model) break;
        traversal.show(m.dims, m.kl, m.factors);
        break;
      case 'latents':
        if (!ui.model) break;
        scatter.update(m.mu, m.labels);
        break;
      case 'interpolation':
        if (!ui.model) break;
        $<HTMLInputElement>('interp-a').value = String(m.a);
        $<HTMLInputElement>('interp-b').value = String(m.b);
        $('interp-labels').textContent = interpolationLabels($<HTMLSelectElement>('dataset').value, m);
        break;
      case 'position':
        Object.assign(ui, { step: m.step, epoch: m.epoch, loss: m.loss });
        unsaved.savedTo(m.step); // a loaded file or a kept checkpoint holds these steps
        charts.truncate(m.step); // a run restored after a lost device goes on from an earlier step
        runLog.truncate(m.step);
        // A run continued after a reload: its curves and epoch lines up to the step it goes on from.
        for (const p of runLog.replay(m.step)) {
          if ('chunks' in p) charts.addChunks(p.chunks, p.examplesPerSecond);
          else if (ui.model) { charts.addEpoch(p); summary.epoch(p, ui.model); }
        }
        break;
      case 'stored':
        if (ui.resetting) break; // a save of the run a Reset is dropping: the worker forgets it next
        // Short enough for the lines kept for it (a longer note moved the buttons below); the details on hover.
        $('stored').textContent = `Kept in this browser at step ${m.step.toLocaleString('en')}: after a reload you can continue from there.`;
        $('stored').title = `Saved ${SAVED_WHEN}. The browser keeps one run: a run in another tab of this page replaces it.`;
        $('stored').dataset.step = String(m.step);
        runLog.keep(m.step, m.runId);
        page.kept(m.runId, m.step);
        break;
      case 'notice':
        showNotice(m.text);
        break;
      case 'need-canvases': {
        const canvases = views.fresh();
        send({ type: 'canvases', canvases, present: m.present }, Object.values(canvases));
        break;
      }
      case 'saved':
        // Named for its data and step, so that saves of several runs (or of one run) do not pile up as model (3).safetensors.
        downloadBlob(new Blob([m.bytes], { type: 'application/octet-stream' }), `vae-${$<HTMLSelectElement>('dataset').value}-${runStem(ui.loadedFrom, m.step)}.safetensors`);
        unsaved.savedTo(m.step); // the step the saved weights are of
        break;
      case 'error': {
        commandFailed();
        $('notice').hidden = true; // a "restarting…" note would contradict the error
        const { title, text } = describeError(m.kind, m.message);
        const recover = $<HTMLButtonElement>('recover');
        recover.hidden = m.kind !== 'device-lost';
        recover.textContent = m.snapshotStep !== undefined ? `Restart from the weights saved at step ${m.snapshotStep}` : 'Restart on a new device (no saved weights yet)';
        showError(title, text);
        break;
      }
    }
    refresh();
  };
}
