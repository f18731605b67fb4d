// Reads and writes of a model's parameters and optimizer state keep their place among its other
// calls (docs/API.md, "Calls"): a save or read made after a training step that was not awaited
// holds that step's results, a write made after one is not undone by it, and a saved training
// state is one step's, whatever runs around it. And what restoreOptimizer is given is checked in
// full before anything is written.
import { describe, expect, it } from 'vitest';
import { readCheckpoint, saveCheckpoint } from '../src/checkpoint';
import { loadMnistNode } from '../src/data/mnist-node';
import { readTrainingState, saveTrainingState, type TrainingProgress } from '../src/training-state';
import { VAE } from '../src/model/vae';
import { ConfigError } from '../src/errors';
import { gpu } from './helpers/gpu';

const tiny = { hidden: [16], latent: 3 };
const opts = { batch: 16, seed: 1 };
const progressAt = (step: number): TrainingProgress => ({ step, epochsDone: 0, epochStep: step, stepsPerEpoch: 4, epochLossSum: 0, epochExamples: 0, seconds: 0 });

describe('reads and writes of model state in call order', async () => {
  const train = await loadMnistNode('train', { limit: 64 });

  /** What a model holds after each of its first `steps` steps, each awaited before it is read. */
  async function reference(steps: number) {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, ...opts });
    const data = vae.upload(train);
    const after = [];
    for (let i = 0; i < steps; i++) {
      await vae.trainStep({ data, index: i });
      after.push({ params: await vae.flatParameters(), grads: await vae.flatGradients(), moments: (await vae.optimizerState())!, watch: await vae.watchState() });
    }
    vae.destroy();
    return after;
  }

  it('every read made after un-awaited steps sees their results', async () => {
    const [, second] = await reference(2);
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, ...opts });
    const data = vae.upload(train);
    const steps = [vae.trainStep({ data, index: 0 }), vae.trainStep({ data, index: 1 })];
    const [params, grads, moments, watch, named, checkpoint] = await Promise.all([
      vae.flatParameters(), vae.flatGradients(), vae.optimizerState(), vae.watchState(), vae.parameters(), saveCheckpoint(vae), ...steps,
    ]);
    expect(params).toEqual(second.params);
    expect(grads).toEqual(second.grads);
    expect(moments).toEqual(second.moments);
    expect(watch).toEqual(second.watch);
    const bias = vae.layout.byName.get('decoder.out.bias')!;
    expect(named['decoder.out.bias'].data).toEqual(second.params.slice(bias.offset, bias.offset + bias.count));
    expect(readCheckpoint(checkpoint).flat).toEqual(second.params);
    // A checkpoint names the step its weights are of, not vae.step at the call (still 2 behind here).
    const third = vae.trainStep({ data, index: 2 });
    expect(vae.step).toBe(2);
    const [{ step, flat }, named3] = await Promise.all([vae.stepAndParameters(), saveCheckpoint(vae, (at) => ({ step: String(at) })), third]);
    expect(step).toBe(3);
    expect(readCheckpoint(named3).metadata.step).toBe('3');
    expect(readCheckpoint(named3).flat).toEqual(flat);
    vae.destroy();
  });

  it('a training state saved after queued steps is that of the last of them, or refused when its counters are an earlier step\'s', async () => {
    const after = await reference(4);
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, ...opts });
    const data = vae.upload(train);
    const steps = [0, 1, 2, 3].map((index) => vae.trainStep({ data, index }));
    await steps[0];
    // The caller counts one step done, but the save is queued behind all four.
    await expect(saveTrainingState(vae, {}, progressAt(1))).rejects.toThrow(
      /^saveTrainingState: progress\.step is 1 but the model's state was read at step 4 \(after every call made on it before saveTrainingState, training steps not yet awaited included\); await those steps/,
    );
    // Counters readTrainingState would call damaged are refused before anything is written, naming the rule.
    await expect(saveTrainingState(vae, {}, { step: 4 } as never)).rejects.toThrow(/^saveTrainingState: progress\.epochsDone is undefined, not a number >= 0; give \{ step, epochsDone, epochStep, stepsPerEpoch, epochLossSum, epochExamples, seconds \}/);
    await expect(saveTrainingState(vae, {}, { ...progressAt(4), stepsPerEpoch: 0, epochStep: 0 })).rejects.toThrow(/^saveTrainingState: step 4 does not match 0 epochs of 0 steps plus 0; .*a loop without epochs: epochsDone 0, epochStep = step = vae\.step/);
    await expect(saveTrainingState(vae, {}, undefined as never)).rejects.toThrow(/^saveTrainingState needs the run's counters as its third argument, got undefined/);
    const state = readTrainingState(await saveTrainingState(vae, {}, progressAt(4)));
    await Promise.all(steps);
    // What saveTrainingState reads, in one queued operation.
    const last = after[3];
    expect(await vae.trainingSnapshot()).toEqual({ step: 4, params: last.params, m: last.moments.m, v: last.moments.v, watch: last.watch });
    expect(state.progress.step).toBe(4);
    expect(state.params).toEqual(after[3].params);
    expect(state.m).toEqual(after[3].moments.m);
    expect(state.v).toEqual(after[3].moments.v);
    expect(state.progress.watch).toEqual(after[3].watch);
    vae.destroy();
  });

  it('setFlatParameters and restoreOptimizer after an un-awaited step take effect after it', async () => {
    const [first] = await reference(1);
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, ...opts });
    const data = vae.upload(train);
    const p = await vae.flatParameters();
    const step = vae.trainStep({ data, index: 0 });
    const set = vae.setFlatParameters(p);
    await Promise.all([step, set]);
    expect(await vae.flatParameters()).toEqual(p);
    expect(vae.step).toBe(0);
    expect((await vae.optimizerState())!.m.every((x) => x === 0)).toBe(true);

    const m = new Float32Array(p.length).fill(0.25), v = new Float32Array(p.length).fill(0.5), watch = [3, 2, 1, 4];
    const again = vae.trainStep({ data, index: 0 });
    const state = { m, v, step: 7, watch };
    const restored = vae.restoreOptimizer(state);
    m.fill(9); // the caller's arrays and fields are theirs again once the call returns
    state.step = -3;
    await Promise.all([again, restored]);
    expect(vae.step).toBe(7);
    expect(await vae.optimizerState()).toEqual({ m: new Float32Array(p.length).fill(0.25), v: new Float32Array(p.length).fill(0.5) });
    expect(await vae.watchState()).toEqual(watch);
    expect(await vae.flatParameters()).toEqual(first.params); // the step ran before the restore, from p
    vae.destroy();
  });

  it('rows, labels and options are taken as they are at the call, not when the queued call runs', async () => {
    const { device } = await gpu();
    const rowsOfIndex = (i: number) => Float32Array.from(train.images.subarray(i * 16 * 784, (i + 1) * 16 * 784), (b) => b / 255);
    const straight = await VAE.create(tiny, { device, ...opts });
    await straight.trainStep(rowsOfIndex(0));
    await straight.trainStep(rowsOfIndex(1));
    const want = await straight.flatParameters();
    straight.destroy();
    const vae = await VAE.create(tiny, { device, ...opts });
    const buffer = rowsOfIndex(0);
    const steps = [vae.trainStep(buffer)];
    buffer.set(rowsOfIndex(1)); // refilled for the next step before the first has run
    steps.push(vae.trainStep(buffer));
    await Promise.all(steps);
    expect(await vae.flatParameters()).toEqual(want);
    // An evaluation's options as checked: a seed changed afterwards does not reach it.
    const data = vae.upload(train);
    const seeded = { seed: 4 };
    const wantElbo = await vae.elbo(data, { seed: 4 });
    const queued = vae.elbo(data, seeded);
    seeded.seed = 5;
    expect(await queued).toEqual(wantElbo);
    vae.destroy();
  });

  it('a write with nothing queued takes effect before the call returns; one queued on a model destroyed meanwhile rejects nothing', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, ...opts });
    const data = vae.upload(train);
    await vae.trainStep({ data, index: 0 });
    void vae.restoreOptimizer({ ...(await vae.optimizerState())!, step: 5 });
    expect(vae.step).toBe(5); // as code that restores a run right after creating its model expects
    const unhandled: unknown[] = [];
    const note = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', note);
    try {
      const p = await vae.flatParameters();
      const stepping = vae.trainStep({ data, index: 1 });
      const set = vae.setFlatParameters(p); // queued behind the step
      vae.destroy();
      await stepping.catch(() => undefined);
      await expect(set).resolves.toBeUndefined();
      await new Promise((resolve) => setTimeout(resolve, 100)); // rejections surface a turn later
      expect(unhandled.map(String)).toEqual([]);
    } finally {
      process.off('unhandledRejection', note);
    }
  });
});

describe('restoreOptimizer given what it cannot restore', async () => {
  const train = await loadMnistNode('train', { limit: 32 });

  it('refuses it by name before writing anything: moments, step and watch stay as they were', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, ...opts });
    const data = vae.upload(train);
    for (let i = 0; i < 2; i++) await vae.trainStep({ data, index: i });
    const before = { moments: await vae.optimizerState(), watch: await vae.watchState() };
    const P = vae.layout.totalFloats;
    const ok = { m: new Float32Array(P), v: new Float32Array(P), step: 7 };
    const nan = new Float32Array(P);
    nan[vae.layout.byName.get('decoder.out.bias')!.offset + 2] = NaN;
    const cases: [string, unknown, RegExp][] = [
      ['a watch of 3 numbers', { ...ok, watch: [1, 2, 3] }, /^restoreOptimizer: watch must be the 4 finite numbers watchState\(\) gives .*, got \[1,2,3\]$/],
      ['a watch with a NaN', { ...ok, watch: [1, 2, NaN, 4] }, /got \[1,2,NaN,4\]$/],
      ['a fractional step count in the watch', { ...ok, watch: [1, 2, 3, 4.5] }, /^restoreOptimizer: the watch's accepted steps and Adam's step count \(its last two numbers\) must be integers from 0 to 2\^24, got \[1,2,3,4\.5\]$/],
      ['a negative count in the watch', { ...ok, watch: [1, 2, -1, 4] }, /must be integers from 0 to 2\^24, got \[1,2,-1,4\]$/],
      ['a NaN in m', { ...ok, m: nan }, /^restoreOptimizer: m decoder\.out\.bias\[2\] is NaN; Adam's first moment must be finite numbers$/],
      ['a negative v', { ...ok, v: new Float32Array(P).fill(-1) }, /^restoreOptimizer: v encoder\.layers\.0\.weight\[0\] is -1 \(\d+ values are refused\); .* must be finite numbers >= 0$/],
      ['an infinite v', { ...ok, v: new Float32Array(P).fill(Infinity) }, /restoreOptimizer: v .* is Infinity/],
      ['plain arrays', { ...ok, m: Array(P).fill(0), v: Array(P).fill(0) }, /^restoreOptimizer: Adam's moment m must be a Float32Array of \d+ floats .*, got an array; convert with Float32Array\.from/],
      ['a Float64Array', { ...ok, v: new Float64Array(P) }, /Adam's moment v must be a Float32Array .* got Float64Array/],
      ['no moments', { step: 7 }, /Adam's moment m must be a Float32Array .* got none$/],
      ['moments of another length', { ...ok, v: new Float32Array(P - 1) }, new RegExp(`moment v must hold ${P} floats .*, got ${P - 1}$`)],
      ['a fractional step', { ...ok, step: 1.5 }, /^restoreOptimizer: step \(the steps already taken\) must be an integer >= 0, got 1\.5$/],
      ['a step as a string', { ...ok, step: '7' }, /got '7' \(a string\)$/],
      ['a misspelt field', { ...ok, wacth: [0, 0, 0, 0] }, /^unknown restoreOptimizer field 'wacth' \(did you mean 'watch'\?\)/],
      ['no object', 7, /^restoreOptimizer takes \{ m, v, step, watch \}/],
    ];
    for (const [what, bad, message] of cases) {
      expect(() => vae.restoreOptimizer(bad as never), what).toThrow(message);
      expect(() => vae.restoreOptimizer(bad as never), what).toThrow(ConfigError);
      expect(vae.step, what).toBe(2);
    }
    expect(await vae.optimizerState()).toEqual(before.moments);
    expect(await vae.watchState()).toEqual(before.watch);
    vae.destroy();
  });

  it("Adam's step count t: the watch's, else the steps taken, as before t was kept; at most 2^24", async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, ...opts });
    const P = vae.layout.totalFloats;
    const moments = { m: new Float32Array(P), v: new Float32Array(P) };
    await vae.restoreOptimizer({ ...moments, step: 9, watch: [3, 2, 6, 8] });
    expect(await vae.watchState()).toEqual([3, 2, 6, 8]);
    await vae.restoreOptimizer({ ...moments, step: 7 });
    expect(await vae.watchState(), 'no watch: every step taken counted as applied').toEqual([0, 0, 0, 7]);
    // The version that wrote it counted every step in t; its accepted steps restart wherever a
    // restore started the watch afresh, and as t they would shrink the next updates.
    await vae.restoreOptimizer({ ...moments, step: 7, watch: [3, 2, 5, 0] });
    expect(await vae.watchState(), 'an older watch: t is the steps taken').toEqual([3, 2, 5, 7]);
    // A step count past what the watch counts: t stays at the limit, and the watch it gives restores.
    await vae.restoreOptimizer({ ...moments, step: 2 ** 24 + 5 });
    const far = await vae.watchState();
    expect(far).toEqual([0, 0, 0, 2 ** 24]);
    await vae.restoreOptimizer({ ...moments, step: 2 ** 24 + 5, watch: far });
    await vae.setFlatParameters(await vae.flatParameters());
    expect(await vae.watchState()).toEqual([0, 0, 0, 0]);
    vae.destroy();
  });

  it('an SGD model, which keeps no moments, refuses them rather than ignore them', async () => {
    const { device } = await gpu();
    const vae = await VAE.create(tiny, { device, ...opts, optimizer: 'sgd' });
    const P = vae.layout.totalFloats;
    expect(() => vae.restoreOptimizer({ m: new Float32Array(P), v: new Float32Array(P), step: 3 })).toThrow(/^restoreOptimizer: SGD keeps no moments, so m and v would be ignored/);
    await vae.restoreOptimizer({ step: 3 });
    expect(vae.step).toBe(3);
    vae.destroy();
  });
});
