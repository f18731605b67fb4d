// Bad numbers in `train`: the real command at --lr 50 stops at the diverging step with exit 3 and
// a message naming the step, the quantity and a lower learning rate, leaving the last clean
// checkpoint intact; in-process, --on-nan skip-batch gives up after SKIP_LIMIT bad steps in a row,
// rollback halves the learning rate from the last checkpoint up to MAX_ROLLBACKS times, and
// --clip-grad is stored with the run and refused on resume when it differs. StepWatch, the CPU
// side of --on-nan, is checked on made-up loss records.
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HEALTH_FLAGS } from '../shaders/grad-norm';
import { readCheckpoint } from '../src/checkpoint';
import { BAD_NUMBERS_EXIT_CODE, BadStepError, SKIP_LIMIT, skippedStop, StepWatch } from '../src/cli/bad-steps';
import { DEVICE_LOST_EXIT_CODE, KeptCheckpoints, MAX_ROLLBACKS, recover } from '../src/cli/recovery';
import { lowerLr, rateText } from '../src/cli/recovery-advice';
import { trainCommand, type TrainHooks } from '../src/cli/train';
import type { AcquiredDevice } from '../src/gpu/device';
import { acquireNodeDevice } from '../src/gpu/node-device';
import type { StepLoss } from '../src/model/loss-ring';
import { readTrainingState } from '../src/training-state';
import { tempDir } from './helpers/temp-dir';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
/** 8 steps per epoch of a small model. */
const RUN = ['--hidden', '32', '--latent', '4', '--limit', '512', '--batch', '64', '--test-limit', '128'];
const root = tempDir('webgpu-vae-on-nan-');
/** A child process compiles every pipeline afresh: on a busy two-core machine that alone can take a minute. */
const SLOW = 400_000;
let device: AcquiredDevice;

beforeAll(async () => { device = await acquireNodeDevice(); }, SLOW);
afterAll(() => device?.device.destroy());

async function train(args: string[], hooks: Pick<TrainHooks, 'afterStep'> = {}): Promise<{ code: number; out: string; events: Record<string, unknown>[] }> {
  const out: string[] = [];
  const code = await trainCommand([...args, '--json'], { device, print: (_s, t) => out.push(t), ...hooks });
  const text = out.join('');
  const events = text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l));
  return { code, out: text, events };
}

const stateOf = (dir: string) => readTrainingState(new Uint8Array(readFileSync(join(dir, 'training-state.safetensors'))));
const bitsOf = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
const logOf = (dir: string) => readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));

describe('train --lr 50 (a diverging run), the real command', () => {
  it('stops at step 2 with exit 3, naming the step, the quantity, a lower rate and what the checkpoint on disk holds', async () => {
    const dir = join(root, 'lr50');
    const r = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, [BIN, 'train', ...RUN, '--epochs', '3', '--lr', '50', '--save-every', '1', '--out', dir], { timeout: 300_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
    });
    expect(r.code, r.stderr).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(r.stdout).toMatch(/bad numbers at step 2: loss: diverging \(smoothed, over 10x its running minimum\) \(loss \d\.\d\de\+\d+, gradient norm .*\); the step was not applied, and training stopped/);
    // Step 2 is computed from the parameters that step 1's update produced, so the checkpoint of step 1 holds them.
    expect(r.stdout).toMatch(/the checkpoint of step 1 in .*lr50 holds the parameters that produced it, and no earlier one was kept\. The learning rate 50 is probably too high: start a new run with a lower one, e\.g\. --lr 5,/);
    expect(r.stdout).not.toMatch(/epoch 1:/);
    // The files hold step 1, whole, and the log says what happened.
    const state = stateOf(dir);
    expect(state.progress.step).toBe(1);
    expect(state.params.every(Number.isFinite)).toBe(true);
    expect(Array.from(readCheckpoint(new Uint8Array(readFileSync(join(dir, 'model.safetensors')))).flat)).toEqual(Array.from(state.params));
    expect(logOf(dir).at(-1)).toMatchObject({ event: 'bad-numbers', action: 'stop', step: 2, checkpoint_step: null, lr: 50, suggested_lr: 5 });
  }, SLOW);
});

describe('--on-nan in-process', () => {
  it('skip-batch: every step after the blow-up is skipped on the GPU and reported, until SKIP_LIMIT in a row stop the run', async () => {
    const dir = join(root, 'skip');
    // 16 steps per epoch, so the run of bad steps reaches SKIP_LIMIT before an epoch passes with none applied.
    const r = await train([...RUN, '--batch', '32', '--epochs', '4', '--lr', '50', '--on-nan', 'skip-batch', '--save-every', '1', '--out', dir]);
    expect(r.code, r.out).toBe(BAD_NUMBERS_EXIT_CODE);
    const skipped = r.events.filter((e) => e.event === 'skipped').map((e) => e.step);
    expect(skipped).toEqual(Array.from({ length: SKIP_LIMIT - 1 }, (_, i) => i + 2));
    expect(r.out).toContain(`bad numbers at step ${SKIP_LIMIT + 1}`);
    expect(r.out).toContain(`${SKIP_LIMIT} steps in a row were bad, so skipping batches cannot get past it`);
    // Every checkpoint since step 1 holds step 1's diverged parameters: none is offered to resume.
    const stop = r.events.find((e) => e.event === 'bad-numbers' && e.action === 'stop')!;
    expect([stop.checkpoint_step, stop.resume]).toEqual([null, undefined]);
    expect(r.out).toContain(`the checkpoint of step ${SKIP_LIMIT} in ${dir} holds the parameters that produced it, and no earlier one was kept`);
    // The skipped steps changed nothing: the checkpoint left (the newest, step 16; none is put back
    // in its place, as every one since step 1 holds the same parameters) holds step 1's parameters
    // and Adam moments, bit for bit, as a run stopped there does.
    const state = stateOf(dir);
    expect(state.progress.step).toBe(SKIP_LIMIT);
    expect(logOf(dir).filter((e) => e.event === 'checkpoint').map((e) => e.step)).toEqual(Array.from({ length: SKIP_LIMIT }, (_, i) => i + 1));
    const once = join(root, 'skip-reference');
    expect((await train([...RUN, '--batch', '32', '--epochs', '4', '--lr', '50', '--save-every', '1', '--out', once])).code).toBe(BAD_NUMBERS_EXIT_CODE);
    const reference = stateOf(once);
    expect(reference.progress.step).toBe(1);
    for (const k of ['params', 'm', 'v'] as const) expect(bitsOf(state[k]!), k).toEqual(bitsOf(reference[k]!));
    // Stopped in the middle of the bad steps and resumed, the run counts on from where it was and
    // stops at the same step, as the unbroken one did.
    const resumed = join(root, 'skip-resumed');
    const stopAt: TrainHooks['afterStep'] = (step, stop) => { if (step === 6) stop(); };
    expect((await train([...RUN, '--batch', '32', '--epochs', '4', '--lr', '50', '--on-nan', 'skip-batch', '--out', resumed], { afterStep: stopAt })).code).toBe(130);
    const again = await train(['--resume', resumed]);
    expect(again.code, again.out).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(again.out).toContain(`bad numbers at step ${SKIP_LIMIT + 1}`);
  }, SLOW);

  it('skip-batch: an epoch whose every step was skipped offers no resume of a checkpoint that holds the parameters that went bad', async () => {
    const dir = join(root, 'skip-epoch');
    // 4 steps an epoch: step 1 blows up, steps 2-4 are skipped and epoch 1's checkpoint (step 4)
    // holds step 1's parameters; epoch 2 skips every step before SKIP_LIMIT is reached.
    const r = await train([...RUN, '--batch', '128', '--epochs', '3', '--lr', '50', '--on-nan', 'skip-batch', '--out', dir]);
    expect(r.code, r.out).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(r.out).toContain('every step of epoch 2 was bad and skipped');
    expect(r.out).toContain('every step since step 2 was skipped, so the parameters are those that went bad there');
    expect(r.out).toContain(`the checkpoint of step 4 in ${dir} holds the parameters that produced it, and no earlier one was kept`);
    expect(r.out).not.toContain('--resume');
    // The loss and gradient norm told are the last skipped step's, not an empty epoch's NaN.
    expect(r.out).not.toMatch(/skipped \(loss NaN/);
    const stop = r.events.find((e) => e.event === 'bad-numbers' && e.action === 'stop')!;
    expect([stop.checkpoint_step, stop.resume]).toEqual([null, undefined]);
    expect(String(stop.restart)).toMatch(/--lr 5 .*--force$/);
  }, SLOW);

  it('skip-batch: an epoch whose first step counted and whose later steps were all skipped offers no resume either', async () => {
    const dir = join(root, 'skip-after-one');
    // Step 1 is applied and sends the parameters to about 1e30; steps 2-8 are skipped, and the
    // test loss is NaN. Every checkpoint since step 1 holds those parameters: none is a good one.
    const r = await train([...RUN, '--epochs', '2', '--lr', '1e30', '--on-nan', 'skip-batch', '--save-every', '1', '--out', dir]);
    expect(r.code, r.out).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(r.out).toContain('test loss of epoch 1: NaN or infinite');
    expect(r.out).toContain('every step since step 2 was skipped, so the parameters are those that went bad there');
    expect(r.out).toMatch(/the checkpoint of step \d+ in .* holds the parameters that produced it, and no earlier one was kept/);
    expect(r.out).not.toContain('was put back');
    expect(r.out).not.toContain('--resume');
    const stop = r.events.find((e) => e.event === 'bad-numbers' && e.action === 'stop')!;
    expect([stop.checkpoint_step, stop.resume]).toEqual([null, undefined]);
  }, SLOW);

  it('an epoch of one step whose update sent the test loss to NaN blames the rate, not the settings', async () => {
    const dir = join(root, 'one-step-epoch');
    // 64 pictures at batch 64: step 1 is applied, then epoch 1's test loss is NaN.
    const r = await train(['--hidden', '32', '--latent', '4', '--limit', '64', '--batch', '64', '--test-limit', '128', '--epochs', '2', '--lr', '1e30', '--out', dir]);
    expect(r.code, r.out).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(r.out).toContain('test loss of epoch 1: NaN or infinite');
    expect(r.out).toContain('The learning rate 1e+30 is probably too high');
    expect(r.out).not.toContain('No update had been applied');
  }, SLOW);

  it(`rollback: a checkpoint whose parameters went bad is passed over; the rate halves ${MAX_ROLLBACKS} times, then a stop`, async () => {
    const dir = join(root, 'rollback');
    // Adam at lr >= 1 blows this model up in its first update, so step 2 is bad every time and the
    // checkpoint of step 1 holds the parameters that produced it: each rollback starts over.
    const r = await train([...RUN, '--epochs', '2', '--lr', '40', '--on-nan', 'rollback', '--save-every', '1', '--out', dir]);
    expect(r.code, r.out).toBe(BAD_NUMBERS_EXIT_CODE);
    const actions = r.events.filter((e) => e.event === 'bad-numbers').map((e) => [e.action, e.step, e.lr, e.checkpoint_step]);
    expect(actions).toEqual([['rollback', 2, 20, null], ['rollback', 2, 10, null], ['rollback', 2, 5, null], ['stop', 2, 5, null]]);
    expect(r.out).toContain('the checkpoint of step 1 in');
    expect(r.out).toContain('holds the parameters that produced it, and no earlier one was kept. Rolling back to the initial parameters with the learning rate halved to 20 (rollback 1 of 3)');
    expect(r.out).toContain(`training stopped after ${MAX_ROLLBACKS} rollbacks`);
    // Each attempt trained with the halved rate, which the state keeps for --resume; the log has them all.
    expect(stateOf(dir).training.lr).toBe(5);
    const log = logOf(dir);
    expect(log.filter((e) => e.event === 'restart').map((e) => [e.reason, e.lr])).toEqual([['rollback', 20], ['rollback', 10], ['rollback', 5]]);
    expect(log.filter((e) => e.event === 'start')).toHaveLength(4);
  }, SLOW);

  it('rollback with no checkpoint yet starts again from the initial parameters; a rate that then trains finishes the run', async () => {
    const dir = join(root, 'rollback-start');
    // Adam's first update moves every weight by about lr: at 1.6, 0.8 and 0.4 that blows this model
    // up (its loss goes from 555 to 1e5 and more), at 0.2 it trains.
    const r = await train([...RUN, '--epochs', '1', '--lr', '1.6', '--on-nan', 'rollback', '--out', dir]);
    expect(r.code, r.out).toBe(0);
    expect(r.events.filter((e) => e.event === 'bad-numbers').map((e) => [e.action, e.step, e.lr])).toEqual([['rollback', 2, 0.8], ['rollback', 2, 0.4], ['rollback', 2, 0.2]]);
    expect(r.out).toContain('no checkpoint was written yet. Rolling back to the initial parameters with the learning rate halved to 0.8');
    expect(stateOf(dir).progress).toMatchObject({ step: 8, epochsDone: 1 });
    expect(stateOf(dir).training.lr).toBe(0.2);
    expect(r.events.at(-1)).toMatchObject({ event: 'done', steps: 8 });
  }, SLOW);

  it('a stop that finds an unread bad step while saving ends there with the bad-numbers status instead of rolling back', async () => {
    const dir = join(root, 'stop-then-bad');
    // At lr 40 step 2 is bad; the stop asked for after step 5 reads its losses first (losses come
    // back every few steps), so the bad step is found while answering the stop.
    const out: string[] = [];
    let stops = 0;
    const code = await trainCommand([...RUN, '--epochs', '2', '--lr', '40', '--on-nan', 'rollback', '--out', dir, '--json'], {
      device, print: (_s, t) => out.push(t), afterStep: (step, stop) => { if (step === 5 && stops++ === 0) stop(); },
    });
    const text = out.join('');
    expect(code, text).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(text).toContain('before it was seen: no rollback');
    expect(text).not.toContain('Rolling back');
    expect(text.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)).filter((e) => e.event === 'bad-numbers').map((e) => e.action)).toEqual(['stop']);
  }, SLOW);

  it('--clip-grad is kept with the run: resuming with another value is refused, the same value accepted', async () => {
    const dir = join(root, 'clip');
    const r = await train([...RUN, '--epochs', '1', '--clip-grad', '5', '--out', dir]);
    expect(r.code, r.out).toBe(0);
    expect(stateOf(dir).training.clipGrad).toBe(5);
    // The watch travels with the checkpoint, so a resumed run judges steps (and counts Adam's) as an uninterrupted one.
    const [smoothed, lowest, seen, adamSteps] = (stateOf(dir).progress as { watch?: number[] }).watch!;
    expect([seen, adamSteps]).toEqual([8, 8]);
    expect(lowest).toBeLessThanOrEqual(smoothed);
    expect(lowest).toBeGreaterThan(100);
    await expect(train(['--resume', dir, '--epochs', '2', '--clip-grad', '1'])).rejects.toThrow(/--clip-grad 1 does not match the run in .*, which has clip-grad 5/);
    expect((await train(['--resume', dir, '--epochs', '2', '--clip-grad', '5'])).code).toBe(0);
    await expect(train([...RUN, '--clip-grad', '-1', '--out', join(root, 'bad')])).rejects.toThrow(/--clip-grad must be a gradient norm > 0 to clip to/);
    await expect(train([...RUN, '--on-nan', 'ignore', '--out', join(root, 'bad')])).rejects.toThrow(/--on-nan must be one of stop, skip-batch, rollback; got 'ignore'/);
  });
});

describe('the last good checkpoint', () => {
  const bytes = (tag: number) => new Uint8Array([tag, tag, tag]);
  const kept = (...steps: number[]) => {
    const k = new KeptCheckpoints();
    for (const step of steps) k.wrote({ step, state: bytes(step), model: bytes(100 + step) });
    return k;
  };
  const context = (k: KeptCheckpoints, onNan: 'stop' | 'rollback', dir: string, resumed = false) => {
    const lines: string[] = [];
    return { lines, c: { onNan, lr: 0.5, retries: 0, outDir: dir, kept: k, resumed, lostInfo: () => null, info: (l: string) => lines.push(l), event: () => {} } };
  };
  const bad = (step: number) => new BadStepError(step, ['loss: NaN or infinite'], NaN, NaN);

  it('is the newest checkpoint whose parameters gave a clean next step', () => {
    const k = kept(8, 16);
    expect(k.goodBefore(20)?.step).toBe(16);
    expect(k.goodBefore(17)?.step).toBe(8); // step 17 is computed from the parameters of checkpoint 16
    expect(k.goodBefore(9)).toBeNull();
    expect(kept(4).goodBefore(5)).toBeNull();
  });

  it('stop puts the good one back when the newest produced the bad step, and says so', async () => {
    const dir = mkdtempSync(join(root, 'put-back-'));
    writeFileSync(join(dir, 'training-state.safetensors'), bytes(16));
    writeFileSync(join(dir, 'model.safetensors'), bytes(116));
    const { lines, c } = context(kept(8, 16), 'stop', dir);
    expect(await recover(bad(17), c)).toBe(BAD_NUMBERS_EXIT_CODE);
    expect([...readFileSync(join(dir, 'training-state.safetensors'))]).toEqual([8, 8, 8]);
    expect([...readFileSync(join(dir, 'model.safetensors'))]).toEqual([108, 108, 108]);
    expect(lines[0]).toContain('the checkpoint of step 16 holds the parameters that produced it, so the one of step 8 was put back in');
    expect(lines[0]).toContain('e.g. --lr 0.05');
  });

  it('stop leaves a checkpoint alone that an earlier clean step vouches for', async () => {
    const dir = mkdtempSync(join(root, 'intact-'));
    writeFileSync(join(dir, 'training-state.safetensors'), bytes(16));
    const { lines, c } = context(kept(8, 16), 'stop', dir);
    expect(await recover(bad(30), c)).toBe(BAD_NUMBERS_EXIT_CODE);
    expect([...readFileSync(join(dir, 'training-state.safetensors'))]).toEqual([16, 16, 16]);
    expect(lines[0]).toMatch(/the last checkpoint \(step 16\) in .* is intact/);
  });

  it('rollback goes on from the good checkpoint with half the rate; a resumed run with none cannot start over', async () => {
    const dir = mkdtempSync(join(root, 'roll-'));
    const { c } = context(kept(8, 16), 'rollback', dir);
    expect(await recover(bad(17), c)).toMatchObject({ fromCheckpoint: true, freshDevice: false, restart: { reason: 'rollback', rollbacks: 1, lr: 0.25 } });
    const resumed = context(kept(16), 'rollback', dir, true);
    expect(await recover(bad(17), resumed.c)).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(resumed.lines[0]).toContain('training stopped (no good checkpoint to roll back to)');
  });

  it('a stop asked for before the failure was seen ends the run with the failure\'s status: no rollback, no retry', async () => {
    const dir = mkdtempSync(join(root, 'stopped-'));
    const { lines, c } = context(kept(8, 16), 'rollback', dir);
    expect(await recover(bad(30), { ...c, stopped: { said: 'SIGINT received' } })).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(lines[0]).toContain('training stopped (SIGINT received before it was seen: no rollback)');
    expect(lines[0]).toMatch(/the last checkpoint \(step 16\) in .* is intact/);
    const lost = context(kept(8), 'stop', dir);
    const retrying = { ...lost.c, retries: 2, lostInfo: () => ({ reason: 'unknown', message: 'gone' }) as GPUDeviceLostInfo };
    expect(await recover(new Error('x'), { ...retrying, stopped: { said: 'stopped' } })).toBe(DEVICE_LOST_EXIT_CODE);
    expect(lost.lines[0]).toContain('stopped, so no retry');
  });

  it('a bad run from step 1 blames the settings or the starting parameters, not the rate, and offers no rollback', async () => {
    const dir = mkdtempSync(join(root, 'first-step-'));
    for (const onNan of ['stop', 'rollback'] as const) {
      const { lines, c } = context(kept(), onNan, dir);
      expect(await recover(bad(1), { ...c, argv: ['train', '--sigma', '1e-12'] }), onNan).toBe(BAD_NUMBERS_EXIT_CODE);
      expect(lines[0]).toContain('No update had been applied before the bad steps, so the learning rate is not the cause, and no rollback or skip gets past them');
      expect(lines[0]).toContain("The model's settings or its starting parameters give these numbers");
      expect(lines[0]).not.toMatch(/--lr|--clip-grad|--on-nan|Rolling back/);
    }
    // skip-batch's SKIP_LIMIT bad steps in a row from step 1: the same, with --init-from's file named.
    const { lines, c } = context(kept(), 'stop', dir);
    expect(await recover(new BadStepError(SKIP_LIMIT, ['loss: NaN or infinite'], NaN, NaN, 'why', 1), { ...c, initFrom: 'old/model.safetensors' })).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(lines[0]).toContain('the parameters of old/model.safetensors (--init-from) give these numbers');
    // From a resumed run's first step the parameters are a checkpoint's, which trained: the usual advice.
    const resumed = context(kept(), 'stop', dir, true);
    expect(await recover(bad(1), resumed.c)).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(resumed.lines[0]).toContain('is probably too high');
  });

  it('writes large rates as exponents, in messages and in the commands they suggest', () => {
    expect([lowerLr(50), lowerLr(1e-3), lowerLr(1e20), rateText(1e20), rateText(0.5)]).toEqual(['5', '0.0001', '1e+19', '1e+20', '0.5']);
  });

  it('does not ask for --clip-grad when the run clips already, in the skipped-epoch stop either', () => {
    const base = { skipped: 7, stepsPerEpoch: 8, epoch: 2, step: 16, lr: 0.5, outDir: '/tmp/x', again: null };
    expect(skippedStop(base).text).toContain('or clip the gradients with --clip-grad 1');
    expect(skippedStop({ ...base, clipGrad: 1 }).text).not.toContain('--clip-grad');
  });

  it('does not ask for --clip-grad when the run clips already', async () => {
    const dir = mkdtempSync(join(root, 'clipped-'));
    const { lines, c } = context(kept(8, 16), 'stop', dir);
    expect(await recover(bad(30), { ...c, clipGrad: 1 })).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(lines[0]).toContain('e.g. --lr 0.05');
    expect(lines[0]).not.toContain('--clip-grad');
    const plain = context(kept(8, 16), 'stop', dir);
    expect(await recover(bad(30), plain.c)).toBe(BAD_NUMBERS_EXIT_CODE);
    expect(plain.lines[0]).toContain('or clip the gradients with --clip-grad 1');
  });

  it('other errors pass through untouched', async () => {
    const { c } = context(kept(), 'rollback', root);
    await expect(recover(new Error('disk on fire'), c)).rejects.toThrow('disk on fire');
  });
});

describe('StepWatch', () => {
  const loss = (step: number, flags = 0): StepLoss => ({ step, loss: flags ? NaN : 100, rec: 90, kl: 10, examples: 64, gradNorm: 3, flags, clipScale: 1 });

  it('stop and rollback throw at the first flagged step, naming it (1-based) and its quantities', () => {
    for (const mode of ['stop', 'rollback'] as const) {
      const w = new StepWatch(mode, 0, () => { throw new Error('no skips here'); });
      expect(w.check([loss(0), loss(1)])).toHaveLength(2);
      const err = (() => { try { w.check([loss(2), loss(3, HEALTH_FLAGS.lossNotFinite | HEALTH_FLAGS.gradNormNotFinite), loss(4)]); } catch (e) { return e; } })();
      expect(err).toBeInstanceOf(BadStepError);
      expect((err as BadStepError).step).toBe(4);
      expect((err as Error).message).toMatch(/^bad numbers at step 4: loss: NaN or infinite; gradient norm: NaN or infinite/);
    }
  });

  it('skip-batch passes isolated bad steps (reported, left out of the figures) and gives up at SKIP_LIMIT in a row', () => {
    const heard: number[] = [];
    const w = new StepWatch('skip-batch', 0, (l) => heard.push(l.step));
    const good = w.check([loss(0), loss(1, HEALTH_FLAGS.diverged), loss(2), loss(3, HEALTH_FLAGS.gradNormNotFinite), loss(4)]);
    expect(good.map((l) => l.step)).toEqual([0, 2, 4]);
    expect(heard).toEqual([1, 3]);
    const run = Array.from({ length: SKIP_LIMIT - 1 }, (_, i) => loss(5 + i, HEALTH_FLAGS.lossNotFinite));
    expect(w.check(run)).toEqual([]);
    expect(() => w.check([loss(5 + SKIP_LIMIT - 1, HEALTH_FLAGS.lossNotFinite)])).toThrow(/in a row were bad/);
  });

  it('skip-batch resumed with the bad steps in a row it saved gives up where the unbroken run would', () => {
    const w = new StepWatch('skip-batch', SKIP_LIMIT - 1, () => {});
    expect(() => w.check([loss(40, HEALTH_FLAGS.lossNotFinite)])).toThrow(/in a row were bad/);
  });
});
