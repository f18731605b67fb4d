// The page: controls, status, charts and messages. All GPU work happens in the worker
// (worker/worker.ts), which draws the image views into canvases transferred to it, so this thread
// only handles input and small messages and never freezes while a model trains.
import './styles.css';
import type { FromWorker, PresentMode, RunState, ToWorker } from './shared/protocol';
import { isKeptSource, keptData, keptSourceName } from './shared/saved-run';
import { lossName, statusText } from './ui/status-text';
import { RECON_COUNT } from './shared/layout';
import { InterpolationControls } from './ui/interpolation-controls';
import { Charts } from './ui/charts';
import { DatasetFiles } from './ui/files';
import { DataPicker } from './ui/data-picker';
import { TraversalLabels } from './ui/traversal';
import { RowLabels } from './ui/row-labels';
import { ViewCanvases } from './ui/view-canvases';
import { modelViewNotes, RunSummary } from './ui/run-summary';
import { classRowLabels } from './ui/class-pickers';
import { Scatter } from './ui/scatter';
import { DEFAULTS, describeControls, lockSettings, readSettings, SettingsError, writeSettings } from './ui/settings';
import { noWebGpuReason, showError, showSettingsError, clearError, describeError, showNotice } from './ui/errors';
import { SavedRunOffer } from './ui/saved-run-offer';
import { KeptTabs } from './ui/kept-tabs';
import { addViewExports } from './ui/view-export';
import { RunLog } from './ui/run-log';
import { messageHandler, type PageRun } from './ui/messages';
import { fileStem, runStem } from './ui/run-names';
import { RunButtonFocus } from './ui/run-focus';
import { ownDataName, UnsavedRun } from './ui/unsaved-run';
import { controlStates } from './ui/control-states';
import { afterRelease, watchPointerHold } from './ui/pointer-hold';

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const form = $<HTMLFormElement>('settings');
const statusEl = $('status');
const button = (id: string) => $<HTMLButtonElement>(id);
const params = new URLSearchParams(location.search);
/**
 * How frames reach the canvases (see worker/presenter.ts): ?present=bitmap or ?present=canvas, else
 * the WebGPU canvas context, except in headless Chromium, whose compositor does not show those on
 * a software GPU; the worker also falls back to bitmaps after a lost device.
 */
const present: PresentMode = params.get('present') === 'bitmap' || params.get('present') === 'canvas'
  ? params.get('present') as PresentMode
  : /HeadlessChrome/.test(navigator.userAgent) ? 'bitmap' : 'canvas';

const ui: PageRun = {
  state: 'starting', detail: '', model: null, testCount: 0,
  step: 0, loss: NaN, epoch: 1, rate: 0, commandSent: false, loadedFrom: null, compiling: null,
};

const charts = new Charts({ elbo: $('chart-elbo'), terms: $('chart-terms'), speed: $('chart-speed') });
const scatter = new Scatter($<HTMLCanvasElement>('scatter'), $('scatter-legend'));
// Label files picked or cleared change the classes the views are laid out for (sizeViewsForSettings).
const files = new DatasetFiles($('file-list'), () => { updateControls(); sizeViewsForSettings(); });
const picker = new DataPicker({
  select: $<HTMLSelectElement>('dataset'), imageZone: $('image-zone'), imageFiles: $<HTMLInputElement>('image-files'), imageFolder: $<HTMLInputElement>('image-folder'),
  imageCount: $('image-count'), imageSize: form.elements.namedItem('imageSize') as HTMLInputElement, imageChannels: form.elements.namedItem('imageChannels') as HTMLSelectElement,
  idxZone: $('dropzone'), idxFiles: $<HTMLInputElement>('idx-files'), idxClear: $<HTMLButtonElement>('idx-clear'),
}, files, document.baseURI, () => updateControls());
void picker.offerFashionMnist();
const traversal = new TraversalLabels($('traversal-rows'), $('traversal-note'));
/** A conditional model's samples: the class of each row. */
const sampleRows = new RowLabels($('samples-rows'));
const summary = new RunSummary($('summary'));
/** A click on a test picture of the reconstructions view makes it the next interpolation endpoint, a and b in turn. */
const views = new ViewCanvases((index) => interpolation.pick(index), () => ui.testCount);
/** What the charts and the summary showed, kept beside the run the worker stores (ui/run-log.ts). */
const runLog = new RunLog();
// A reloaded page shows no run until one is continued or started: it opens at the top, where the
// offer to continue the kept run and the controls are, not scrolled to views that are empty now.
if ('scrollRestoration' in history) history.scrollRestoration = 'manual';
const offer = new SavedRunOffer($('saved-run'), async (run) => {
  clearError();
  onLoadAccepted = null; // the model that comes is the kept run's, not a file's
  ui.loadedFrom = run.loadedFrom ? fileStem(run.loadedFrom) : null; // a kept run of a loaded model still names its file
  resetViews();
  // The locked form shows what the run goes on with (the model's fields follow from the worker's 'model').
  writeSettings(form, run.settings);
  $<HTMLSelectElement>('dataset').value = keptSourceName(run.data).pickerValue;
  // Read before the run goes on, so the old curves are drawn before its new points arrive.
  await runLog.expect(run);
  unsaved.started(true);
  command({ type: 'continue', data: keptData(run.data, document.baseURI), savedAt: run.savedAt });
});
writeSettings(form, DEFAULTS);
let worker: Worker | null = null;
const send = (m: ToWorker, transfer: Transferable[] = []) => worker?.postMessage(m, transfer);

/**
 * Sends a command that starts or continues a run, and keeps its buttons disabled until the
 * worker answers with a state: the worker may take a moment to, and a second click meanwhile
 * would build a second model.
 */
function command(m: ToWorker): void {
  send(m);
  ui.commandSent = true;
  updateControls();
}

/**
 * With no model, the views as the settings would build one: their sizes, a conditional model's
 * class names beside the samples and its caption, the scatter legend's classes. The model's own,
 * when it comes, are the same, so no view changes size or moves the page seconds after Start.
 */
function sizeViewsForSettings(): void {
  if (ui.model) return;
  const side = picker.expectedSide(), given = Number((form.elements.namedItem('latent') as HTMLInputElement).value);
  const latent = Number.isInteger(given) && given >= 1 ? given : DEFAULTS.latent;
  const subset = Number((form.elements.namedItem('subset') as HTMLInputElement).value);
  const count = picker.expectedClasses(Number.isInteger(subset) && subset >= 1 ? subset : Infinity);
  const classes = (form.elements.namedItem('conditional') as HTMLInputElement).checked ? count : 0;
  views.size({ imgW: side, imgH: side, tests: RECON_COUNT, classes, latent });
  const choice = $<HTMLSelectElement>('dataset').value;
  sampleRows.show(classRowLabels(classes, choice));
  $('samples-note').textContent = modelViewNotes({ classes, latent }).samples;
  scatter.expect(count);
}

const focus = new RunButtonFocus();
const unsaved = new UnsavedRun(() => ({ model: ui.model !== null, step: ui.step }));

function updateControls(): void {
  const c = controlStates({ state: ui.state, hasModel: ui.model !== null, filesMissing: picker.missing(), commandSent: ui.commandSent });
  focus.before();
  for (const id of ['start', 'pause', 'resume', 'reset', 'save'] as const) button(id).disabled = !c[id];
  focus.after();
  button('start').title = c.startTitle;
  $('start-hint').textContent = c.startHint;
  $<HTMLInputElement>('load').disabled = !c.load;
  $('load-label').classList.toggle('disabled', !c.load);
  lockSettings(form, c.settingsLocked);
  offer.enable(c.offer);
  picker.update();
  document.body.classList.toggle('no-model', ui.model === null && ui.state !== 'loading' && ui.state !== 'failed');
}

/** The state last put in the live region (status-live). */
let announcedState: RunState | null = null;

/**
 * How long an announcement stays in the live region. It is emptied afterwards so that a screen
 * reader going through the page meets the status once, in the visible status line, not twice.
 */
const ANNOUNCEMENT_KEPT_MS = 15_000;
let announcementTimer: ReturnType<typeof setTimeout> | undefined;

/** Says `text` through the live region (a change of state, an epoch's figures). */
function announce(text: string): void {
  const live = $('status-live');
  live.textContent = text;
  clearTimeout(announcementTimer);
  announcementTimer = setTimeout(() => { live.textContent = ''; }, ANNOUNCEMENT_KEPT_MS);
}

function updateStatus(): void {
  const text = statusText({ ...ui, hasModel: ui.model !== null, lossName: lossName(ui.model) });
  statusEl.textContent = text;
  statusEl.dataset.state = ui.state;
  // Screen readers hear a change of state, not every step of the status line.
  if (ui.state !== announcedState) {
    announcedState = ui.state;
    announce(text);
  }
}

function resetViews(): void {
  charts.clear();
  scatter.clear();
  traversal.clear();
  $('interp-labels').textContent = '';
  runLog.clear();
  Object.assign(ui, { step: 0, loss: NaN, epoch: 1, rate: 0 });
  summary.clear();
  sizeViewsForSettings(); // the class names and the legend stay as the settings give them
}

/**
 * What a model file's load changes on the page once the worker has accepted the file: a refused
 * file changes nothing (it had emptied the kept run's line), and an accepted one replaces the
 * offered saved run, whose offer goes.
 */
let onLoadAccepted: (() => void) | null = null;

const onMessage = messageHandler({
  ui, form, views, charts, scatter, summary, traversal, sampleRows, runLog, unsaved, send,
  sizeViewsForSettings, resetViews, announce, refresh: () => { updateControls(); updateStatus(); },
  modelAccepted: () => { onLoadAccepted?.(); onLoadAccepted = null; },
  // A refused file: the next model (a Continue, a Start) is not the file's.
  commandFailed: () => { onLoadAccepted = null; },
  kept: (runId, step) => {
    ui.keptRunId = runId;
    unsaved.keptHere(true);
    keptTabs.kept(runId, step);
  },
});

/** The other tabs of this page, which share the one run the browser keeps (ui/kept-tabs.ts). */
const keptTabs = new KeptTabs({
  replaced: (step) => {
    const line = $('stored');
    if (!line.dataset.step || !ui.keptRunId) return; // this tab has no run that was kept
    delete line.dataset.step;
    line.textContent = `Another tab kept its run in this browser (step ${step.toLocaleString('en')}) in place of this one; this run's next save keeps it again.`;
    line.title = 'The browser keeps one run, the latest any tab of this page saved. Save model keeps this one in a file.';
    unsaved.keptHere(false); // leaving the page now would lose its steps
  },
  open: () => (ui.model && ui.keptRunId ? { runId: ui.keptRunId, step: ui.step, training: ui.state === 'training' } : null),
  openElsewhere: (run) => offer.openElsewhere(run),
});

/** The chosen data; generated and split sets follow the form's seed. */
function dataSource() {
  const seed = Number((form.elements.namedItem('seed') as HTMLInputElement).value);
  return picker.source(Number.isInteger(seed) && seed >= 0 ? seed : 0);
}

/** Runs a user action, turning a thrown error (bad settings, incomplete files) into the banner. */
const act = (fn: () => void | Promise<void>) => async () => {
  clearError();
  try {
    await fn();
  } catch (e) {
    const d = describeError((e as Error).name === 'DataError' ? 'data' : 'config', (e as Error).message);
    const name = e instanceof SettingsError ? e.field : undefined;
    showSettingsError(d.title, d.text, name ? (form.elements.namedItem(name) as HTMLElement | null) : null);
  }
};

button('start').onclick = act(() => {
  const settings = readSettings(form);
  const data = dataSource();
  // The worker draws dSprites at exact levels at every step; dequantization needs stored 8-bit pictures.
  if (data.kind === 'dsprites' && settings.dequantize && settings.likelihood === 'gaussian') {
    throw new SettingsError('Dequantization adds noise to stored 8-bit levels, and dSprites pictures are drawn on the GPU at exact levels at every step: turn Dequantize off for dSprites');
  }
  // Pictures of one's own carry no labels: a conditional model would learn one class of them all.
  if (data.kind === 'images' && settings.conditional) {
    throw new SettingsError('Your own pictures have no classes to condition on: untick Conditional, or choose a data set with labels (MNIST, Fashion-MNIST, dSprites)', 'conditional');
  }
  offer.hide();
  ui.loadedFrom = null;
  resetViews();
  onLoadAccepted = null;
  Object.assign($('stored'), { textContent: unsaved.started(isKeptSource(data), ownDataName(data)), title: '' });
  command({ type: 'start', settings, data });
  if (settings.objective === 'iwae' && settings.samples === 1) showNotice(IWAE_ONE_SAMPLE_NOTE);
});
/** Said when a run starts on the IWAE bound with one importance sample. */
const IWAE_ONE_SAMPLE_NOTE = 'IWAE with K = 1 importance sample is the ELBO, so this run trains as the ELBO would: for the tighter bound, set Samples per example (L or K) to 5 or more.';
// Choosing IWAE with Samples at 1 (the ELBO's default) asks for 5: with one sample the bound is the
// ELBO. Choosing another objective again puts back the 1, unless the field was edited since: 5
// Monte Carlo samples would cost the ELBO five times the work without a word.
const objectiveField = form.elements.namedItem('objective') as HTMLSelectElement;
const samplesField = form.elements.namedItem('samples') as HTMLInputElement;
let samplesSetForIwae = false;
objectiveField.addEventListener('change', () => {
  if (objectiveField.value === 'iwae' && samplesField.value === '1') {
    samplesField.value = '5';
    samplesSetForIwae = true;
  } else if (objectiveField.value !== 'iwae' && samplesSetForIwae) {
    if (samplesField.value === '5') samplesField.value = '1';
    samplesSetForIwae = false;
  }
});
samplesField.addEventListener('input', () => { samplesSetForIwae = false; });
button('pause').onclick = () => send({ type: 'pause' });
button('resume').onclick = act(() => command({ type: 'resume' }));
button('reset').onclick = act(() => {
  const ask = unsaved.confirmDiscard('Reset');
  if (ask) return showNotice(ask, true);
  ui.model = null;
  ui.loadedFrom = null;
  onLoadAccepted = null;
  // Said at once: a model still compiling stops only after the kernels in flight (seconds on a software GPU).
  ui.resetting = true;
  offer.hide();
  Object.assign($('stored'), { textContent: '', title: '' });
  resetViews();
  updateStatus();
  send({ type: 'reset' });
});
button('save').onclick = () => send({ type: 'save' });
// A loaded file replaces the model in training, as Reset drops it: a model that exists nowhere
// else (trained on the user's pictures, steps after the last save) takes a second press first.
// Asked before the file chooser opens (a click on the input, from its label or the keyboard), so
// that the file is chosen once.
$<HTMLInputElement>('load').addEventListener('click', (e) => {
  const ask = unsaved.confirmDiscard('Load model');
  if (!ask) return;
  e.preventDefault();
  clearError();
  showNotice(ask, true);
});
$<HTMLInputElement>('load').onchange = act(async () => {
  const input = $<HTMLInputElement>('load'), file = input.files?.[0];
  input.value = ''; // picking the same file again must fire another change
  if (!file) return;
  const settings = { ...DEFAULTS, ...safeSettings() };
  const bytes = await file.arrayBuffer();
  const data = dataSource();
  onLoadAccepted = () => {
    ui.loadedFrom = fileStem(file.name);
    offer.hide();
    Object.assign($('stored'), { textContent: unsaved.started(isKeptSource(data), ownDataName(data)), title: '' });
  };
  send({ type: 'load', bytes, fileName: file.name, settings, data }, [bytes]);
});
button('recover').onclick = () => { clearError(); send({ type: 'recover' }); };
$('dataset').onchange = () => updateControls();
// The settings that decide the views' sizes (data set, picture size, latent size, classes); not
// while a button is held, whose click the moved layout would lose (pointer-hold.ts).
watchPointerHold();
form.addEventListener('change', () => afterRelease(sizeViewsForSettings));

/** Training options for a loaded model: the form's values where valid (its architecture comes from the file). */
function safeSettings() {
  try { return readSettings(form); } catch { return {}; }
}

// Interpolation endpoints (the number fields, a random pair, or a click on a test image) and class pickers.
const interpolation = new InterpolationControls(send, () => ui.testCount);
function boot(): void {
  describeControls(form);
  addViewExports(() => runStem(ui.loadedFrom, ui.step), scatter);
  sizeViewsForSettings();
  const missing = noWebGpuReason();
  if (missing) {
    ui.state = 'failed';
    showError(missing.title, missing.text);
    $('adapter').textContent = 'No WebGPU';
  } else {
    worker = new Worker(new URL('./worker/worker.ts', import.meta.url), { type: 'module', name: 'webgpu-vae trainer' });
    worker.onmessage = (e: MessageEvent<FromWorker>) => onMessage(e.data);
    worker.onerror = (e) => { showError('The training worker failed to start', e.message || 'See the browser console for details.'); ui.state = 'failed'; updateControls(); updateStatus(); };
    const canvases = views.transfer();
    send({ type: 'init', canvases, present }, Object.values(canvases));
    void offer.check().then((run) => run?.runId && keptTabs.ask(run.runId));
    // Test hook: simulate a GPU crash (only with ?debug in the URL).
    if (params.has('debug')) Object.assign(window, { vaeDemo: { loseDevice: () => send({ type: 'debug-lose-device' }) } });
  }
  updateControls();
  updateStatus();
}

boot();
