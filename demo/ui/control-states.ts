// Which of the page's controls are usable in each state of a run: a pure function of the run's
// state, so that the rules are read (and tested) in one place rather than in the DOM code.
import type { RunState } from '../shared/protocol';

export interface ControlFacts {
  state: RunState;
  hasModel: boolean;
  /** What Start still needs (files to choose), or null. */
  filesMissing: string | null;
  /** A Start, Resume or Continue was sent and the worker has not answered with a state yet. */
  commandSent: boolean;
}

export interface ControlStates {
  start: boolean;
  /** Why Start is disabled, as its title ('' when nothing needs saying). */
  startTitle: string;
  /** The line beside Start for keyboard and touch users, who never see a title. */
  startHint: string;
  pause: boolean;
  resume: boolean;
  reset: boolean;
  save: boolean;
  load: boolean;
  /** The settings form is locked (a model exists, or the worker is busy). */
  settingsLocked: boolean;
  /** The offer to continue a run saved in this browser may be taken. */
  offer: boolean;
}

/** Enabled is true. */
export function controlStates(f: ControlFacts): ControlStates {
  const s = f.state;
  return {
    start: s === 'idle' && !f.hasModel && f.filesMissing === null && !f.commandSent,
    startTitle: f.filesMissing ?? (f.hasModel ? 'Reset first to build a new model' : ''),
    startHint: s === 'idle' && !f.hasModel && f.filesMissing ? `To start: ${f.filesMissing}.` : '',
    pause: s === 'training',
    resume: s === 'paused' && f.hasModel && !f.commandSent,
    // While a model loads or compiles too: its run is then cancelled before it starts (startLoop in worker/run-control.ts).
    reset: ['training', 'paused', 'lost', 'failed', 'idle', 'loading'].includes(s) && !(s === 'idle' && !f.hasModel),
    save: f.hasModel && ['training', 'paused'].includes(s),
    load: ['idle', 'training', 'paused'].includes(s),
    settingsLocked: f.hasModel || !['idle', 'failed'].includes(s),
    offer: s === 'idle' && !f.commandSent,
  };
}
