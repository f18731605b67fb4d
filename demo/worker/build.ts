// Building the model a command asks for: a new one, one from a checkpoint file the page sent, or
// one from a run saved in this browser. Everything that can refuse the request (the file, the
// data, the data against the model and the device) is checked before the current run is dropped,
// and the views draw the new model's starting point before it is handed back. The worker
// (run-control.ts) keeps what the model was built from, to rebuild it on a new device after a loss.
import { readCheckpoint, type AcquiredDevice, type TrainingState } from '../../src/index';
import { dataSourceNamed } from '../../src/data/sources';
import { PAGE_DATA_NAMES, type DataSource, type FromWorker, type RunState, type Settings } from '../shared/protocol';
import { loadData, loadingText, type LoadedData } from './data';
import { checkDataFitsDevice, checkModelFitsData } from './fits';
import { Session } from './session';
import type { Views } from './views';

export type Origin = { kind: 'new' } | { kind: 'file'; bytes: Uint8Array; name: string } | { kind: 'state'; state: TrainingState };

/** What a build uses of the worker; `acquired` and `views` are read when they are needed. */
export interface BuildContext {
  readonly acquired: AcquiredDevice;
  readonly views: Views;
  /** A model is in training: a refused file leaves it as it was. */
  readonly hasModel: boolean;
  post(m: FromWorker): void;
  setState(state: RunState, detail?: string): void;
  /** Drops the current run, once the new one's file and data have passed their checks. */
  dropCurrent(): Promise<void>;
}

/**
 * A model for `source` (new, from a checkpoint file or a saved run) in place of the current one.
 * The file is read, the data loaded and both checked before the current run is dropped, so a
 * refused file or dataset leaves that run as it was.
 */
export async function buildSession(ctx: BuildContext, settings: Settings, source: DataSource, origin: Origin): Promise<{ session: Session; data: LoadedData; fileMetadata?: Record<string, string> }> {
  const { post, setState } = ctx;
  const file = origin.kind === 'file' ? readCheckpoint(origin.bytes, origin.name) : undefined;
  const ck = file ?? (origin.kind === 'state' ? { config: origin.state.config } : undefined);
  setState('loading', loadingText(source));
  const data = await loadData(source, settings.subset);
  if (ck) {
    const what = origin.kind === 'file' ? origin.name : 'the saved run';
    checkModelFitsData(ck.config, data, { what, file: origin.kind === 'file', kind: source.kind, replacing: ctx.hasModel });
  }
  checkDataFitsDevice(data, ctx.acquired.device.limits.maxStorageBufferBindingSize, source.kind);
  await ctx.dropCurrent();
  for (const text of data.warnings ?? []) post({ type: 'notice', text });
  const other = file && origin.kind === 'file' ? trainedElsewhere(file.metadata.dataset, data.name) : null;
  if (other && origin.kind === 'file') post({ type: 'notice', text: `${origin.name} was trained on ${other.was}; it is shown here on ${other.now}, the data set chosen (to see its own pictures: Reset, choose ${other.was} above and load the file again).` });
  const { rows, cols } = data.train;
  post({ type: 'dataset', name: data.name, train: data.train.count, test: data.test.count, rows, cols });
  setState('loading', 'Compiling the model’s shaders…');
  const s = origin.kind === 'state'
    ? await Session.restore(ctx.acquired, settings, data, ctx.views, post, origin.state)
    : await Session.create(ctx.acquired, settings, data, ctx.views, post, file);
  try {
    ctx.views.attach(ctx.acquired.device, data.test, s.vae.config.classes);
    postModel(s, post);
    // Draw the starting point (and compile the views' graphs now rather than mid-training).
    await ctx.views.refresh(s.vae, true);
  } catch (e) {
    s.destroy(); // not yet the worker's session, so nothing else would free it
    throw e;
  }
  return { session: s, data, fileMetadata: file?.metadata };
}

/**
 * The data set a checkpoint file says it was trained on and the page's choice (`current`), as the
 * page names them, when both are known and differ; null otherwise.
 */
export function trainedElsewhere(recorded: string | undefined, current: string): { was: string; now: string } | null {
  const [was, now] = [dataSourceNamed(recorded), dataSourceNamed(current)];
  if (!was || !now || was === now) return null;
  return { was: PAGE_DATA_NAMES[was], now: PAGE_DATA_NAMES[now] };
}

/** Tells the page the model `s` trains, and where it stands when it is not new. */
export function postModel(s: Session, post: (m: FromWorker) => void): void {
  post({ type: 'model', config: s.vae.config, params: s.vae.layout.paramCount, batch: s.vae.training.batch, precision: s.vae.precision });
  if (s.steps > 0) post({ type: 'position', step: s.steps, epoch: s.currentEpoch, loss: s.lastLoss });
}
