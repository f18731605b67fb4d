// Two guards of the demo page's run, without a browser. Load model, like Reset, puts another model
// in place of one trained on the user's own pictures: while no file holds its last steps, either
// takes a second press within 10 s (demo/ui/unsaved-run.ts), and a press of the other does not
// count as that second press. And the worker logs a failure to the console only when the page's
// banner does not already explain it (demo/worker/worker-state.ts, reportError): a refused file or
// data set is the user's to fix, not a bug, while an unexpected failure keeps its stack there.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { DataError } from '../src/data/idx';
import { CheckpointError } from '../src/io/safetensors';

// The modules under test reach for the browser's globals as they load or construct.
const posted: unknown[] = [];
vi.stubGlobal('window', { addEventListener: () => undefined });
vi.stubGlobal('self', { postMessage: (m: unknown) => posted.push(m), onmessage: null });
const { UnsavedRun, RESET_AGAIN_MS } = await import('../demo/ui/unsaved-run');
const { reportError } = await import('../demo/worker/worker-state');
const { KeptRunError } = await import('../demo/worker/failures');
const { describeError } = await import('../demo/ui/errors');

afterEach(() => vi.restoreAllMocks());

describe('Load model and Reset over a model no file holds', () => {
  const run = (step: number) => { const r = new UnsavedRun(() => ({ model: true, step })); return r; };

  it('Load model asks first, and a second Load model within 10 s goes ahead', () => {
    const r = run(40);
    r.started(false); // the user's own pictures: not kept in the browser
    expect(r.confirmDiscard('Load model')).toBe('Load model discards the model trained on your pictures, and no saved file holds its last 40 steps: press Load model again within 10 s to choose the file that replaces it, or Save model first.');
    expect(r.confirmDiscard('Load model'), 'the second press').toBeNull();
    expect(r.confirmDiscard('Load model'), 'a third press asks again: the second used the confirmation').not.toBeNull();
  });

  it('names the data of a run on the user\'s IDX files as such, not as pictures', () => {
    const r = run(40);
    expect(r.started(false, 'your IDX files')).toBe('Runs on your IDX files are not kept in this browser: Save model downloads the weights.');
    expect(r.confirmDiscard('Reset')).toMatch(/^Reset discards the model trained on your IDX files, and no saved file holds its last 40 steps/);
  });

  it('a confirmation expires after 10 s, and one action\'s press does not confirm the other', () => {
    const r = run(40);
    r.started(false);
    let now = 1000;
    vi.spyOn(performance, 'now').mockImplementation(() => now);
    expect(r.confirmDiscard('Reset')).toMatch(/^Reset discards the model trained on your pictures, and no saved file holds its last 40 steps: press Reset again within 10 s to discard it, or Save model first\.$/);
    expect(r.confirmDiscard('Load model'), 'Load model after a first Reset').toMatch(/^Load model discards/);
    now += RESET_AGAIN_MS + 1;
    expect(r.confirmDiscard('Load model'), 'Load model again, too late').toMatch(/^Load model discards/);
    now += 100;
    expect(r.confirmDiscard('Load model')).toBeNull();
  });

  it('does not ask where Reset does not: data the browser keeps, or every step saved', () => {
    const kept = run(40);
    kept.started(true); // MNIST and the other built-in sets: the run is in the browser
    expect(kept.confirmDiscard('Load model')).toBeNull();
    const saved = run(40);
    saved.started(false);
    saved.savedTo(40);
    expect(saved.confirmDiscard('Load model')).toBeNull();
    const none = new UnsavedRun(() => ({ model: false, step: 0 }));
    none.started(false);
    expect(none.confirmDiscard('Load model')).toBeNull();
  });
});

describe('the worker\'s console on a failure', () => {
  it('stays quiet for failures the page explains, and logs the unexpected ones', () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    posted.length = 0;
    reportError(new CheckpointError('bad.safetensors: file too short (19 bytes)'));
    reportError(new DataError('m.safetensors was trained on 28x28 images but your images (60) have 3x16x16 images'));
    reportError(Object.assign(new Error('β must be a number from 0 to 10,000'), { name: 'ConfigError' }));
    reportError(Object.assign(new Error('training diverged by step 3'), { name: 'DivergedError' }));
    // A kept run another tab replaced since the page offered it: told under its own title.
    reportError(new KeptRunError('The run kept in this browser changed since this page offered it'));
    expect(logged).not.toHaveBeenCalled();
    expect(posted.map((m) => (m as { kind: string }).kind), 'each is still told to the page').toEqual(['checkpoint', 'data', 'config', 'config', 'kept-run']);
    expect(describeError('kept-run', 'changed').title).toBe('The kept run could not be continued');
    const bug = new TypeError('Cannot read properties of undefined (reading \'vae\')');
    reportError(bug);
    expect(logged).toHaveBeenCalledWith(bug);
    expect(posted.at(-1)).toMatchObject({ type: 'error', kind: 'internal' });
  });
});
