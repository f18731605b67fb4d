// Never losing work: a training run stopped anywhere (mid-epoch, at the last step of an epoch
// before its evaluation, after its final epoch, by a crash, by a real Ctrl-C) and resumed ends
// with the very same losses, parameters and Adam moments, bit for bit, as one that ran straight
// through; checkpoints are replaced atomically; the run folder keeps its log and is never
// overwritten by accident. Most runs are in-process on one shared device (its compiled pipelines
// are reused, so a run of this small model takes a second or two); the Ctrl-C test drives the
// real command in a child process.
import { execFile, spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCheckpoint } from '../src/checkpoint';
import { OutputError, writeAll, writeFileAtomic } from '../src/cli/files';
import { checkRecordMatchesState, machineFlagsOf, resumeCommand } from '../src/cli/run-dir';
import { trainCommand, type TrainHooks } from '../src/cli/train';
import { acquireNodeDevice } from '../src/gpu/node-device';
import type { AcquiredDevice } from '../src/gpu/device';
import { decodeSafetensors, encodeSafetensors } from '../src/io/safetensors';
import { paramLayout } from '../src/model/build';
import { tensorsByName } from '../src/model/params';
import { resolveConfig } from '../src/model/config';
import { readTrainingState } from '../src/training-state';
import { tempDir } from './helpers/temp-dir';

const BIN = join(__dirname, '..', 'bin', 'webgpu-vae.mjs');
/** 8 steps per epoch; 12 epochs leave a child process time to be interrupted after its first step event. */
const RUN = ['--hidden', '32', '--latent', '4', '--limit', '512', '--batch', '64', '--test-limit', '128'];
const EPOCHS = ['--epochs', '12'];

const root = tempDir('webgpu-vae-resume-');
let device: AcquiredDevice;
const baseline = join(root, 'baseline');

async function train(args: string[], hooks: Omit<TrainHooks, 'device' | 'print'> = {}): Promise<{ code: number; out: string }> {
  const out: string[] = [];
  const code = await trainCommand([...args, '--json'], { device, print: (_s, t) => out.push(t), ...hooks });
  return { code, out: out.join('') };
}

/**
 * Training runs in this file can take minutes on a busy 2-core machine with a software GPU: the
 * processes are waited for, and this bound only stops a hung one.
 */
const LONG = 1_200_000;

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { timeout: LONG }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const readLines = (path: string) => readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

/** The step and epoch figures of a run's log without timings; after a crash a step may be logged twice, identically. */
function history(dir: string): Record<string, unknown>[] {
  const byKey = new Map<string, Record<string, unknown>>();
  for (const e of readLines(join(dir, 'metrics.jsonl'))) {
    if (e.event !== 'step' && e.event !== 'epoch') continue;
    const { seconds: _s, samples_per_s: _r, ...figures } = e;
    byKey.set(`${e.event}:${e.step}`, figures);
  }
  return [...byKey.values()];
}

/** Every tensor of a file as its raw bytes, so equality is bit for bit (NaN and -0 included). */
function bits(path: string): Record<string, string> {
  const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(path)));
  return Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString('base64')]));
}

function expectSameAsBaseline(dir: string): void {
  expect(history(dir)).toEqual(history(baseline));
  for (const file of ['model.safetensors', 'training-state.safetensors']) {
    const got = bits(join(dir, file)), want = bits(join(baseline, file));
    expect(Object.keys(got).sort(), file).toEqual(Object.keys(want).sort());
    expect(Object.keys(want).filter((k) => got[k] !== want[k]), `${file}: tensors that differ`).toEqual([]);
  }
}

const progressOf = (dir: string) => readTrainingState(new Uint8Array(readFileSync(join(dir, 'training-state.safetensors')))).progress;

beforeAll(async () => {
  device = await acquireNodeDevice();
  const r = await train([...RUN, ...EPOCHS, '--out', baseline]);
  expect(r.code, r.out).toBe(0);
});

afterAll(() => device?.device.destroy());

describe('train --resume', { timeout: LONG }, () => {
  it('the uninterrupted run logs its history, keeps model and training state apart, and both files are recognized', () => {
    const log = readLines(join(baseline, 'metrics.jsonl'));
    expect(log[0]).toMatchObject({ event: 'start', step: 0, epochs: 12 });
    expect(log.filter((e) => e.event === 'epoch').map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(log.filter((e) => e.event === 'step').map((e) => e.step)).toEqual([16, 32, 48, 64, 80, 96]); // every lossEvery = 16 steps
    expect(log.at(-1)).toMatchObject({ event: 'done', step: 96 });
    const record = JSON.parse(readFileSync(join(baseline, 'config.json'), 'utf8'));
    expect(record).toMatchObject({ config: { hidden: [32], latent: 4 }, training: { batch: 64, lr: 1e-3, seed: 0 }, run: { epochs: 12, limit: 512, testLimit: 128, precision: 'f32' }, resumed: [] });
    // MNIST pictures come as they are: the folder-only picture options are not recorded.
    for (const folderOnly of ['imageSize', 'imageChannels', 'strict']) expect(record.run).not.toHaveProperty(folderOnly);

    // model.safetensors holds the model tensors under their checkpoint names and nothing else.
    const modelBytes = new Uint8Array(readFileSync(join(baseline, 'model.safetensors')));
    const ckpt = readCheckpoint(modelBytes);
    const names = paramLayout(ckpt.config).tensors.map((t) => t.name).sort();
    expect(Object.keys(decodeSafetensors(modelBytes).tensors).sort()).toEqual(names);
    expect(ckpt.metadata).toMatchObject({ format: 'webgpu-vae', step: '96', epochs: '12' });
    // The training state: the parameters again, Adam's moments per parameter, the counters.
    const stateBytes = new Uint8Array(readFileSync(join(baseline, 'training-state.safetensors')));
    expect(Object.keys(decodeSafetensors(stateBytes).tensors).sort()).toEqual([...names, ...names.map((n) => `adam.m.${n}`), ...names.map((n) => `adam.v.${n}`)].sort());
    const state = readTrainingState(stateBytes);
    expect(state.progress).toMatchObject({ step: 96, epochsDone: 12, epochStep: 0, stepsPerEpoch: 8 });
    // The activations' precision is kept with the run, so that a resume continues in it.
    expect(state.run).toMatchObject({ precision: 'f32' });
    expect(Array.from(state.params)).toEqual(Array.from(ckpt.flat));
    // Each file refuses to be taken for the other.
    expect(() => readCheckpoint(stateBytes, 'training-state.safetensors')).toThrow(/training-state\.safetensors is a training state .*not a model; use model\.safetensors/);
    expect(() => readTrainingState(modelBytes, 'model.safetensors')).toThrow(/is a model checkpoint, not a training state/);
  });

  it('a stop while the end-of-run pictures are drawn: exit 130 at once, the trained model kept, the pictures left to sample', async () => {
    const dir = join(root, 'pictures');
    let requestStop = () => {};
    // One epoch, no --save-every: the only checkpoint is the last one, written before the pictures.
    const r = await train([...RUN, '--epochs', '1', '--out', dir], {
      afterStep: (_step, stop) => { requestStop = stop; },
      writeChunk: (fd, bytes) => { writeAll(fd, bytes); requestStop(); },
    });
    expect(r.code).toBe(130);
    expect(r.out).toMatch(/"event":"interrupted","step":8,.*"pictures":"skipped"/);
    expect(progressOf(dir)).toMatchObject({ step: 8, epochsDone: 1, epochStep: 0 });
    expect(existsSync(join(dir, 'model.safetensors'))).toBe(true);
    expect(existsSync(join(dir, 'samples.png'))).toBe(false);
  });

  it('stopped mid-epoch, then at the last step of an epoch before its evaluation, and resumed: bit-identical', async () => {
    const dir = join(root, 'twice');
    const stopAt = (n: number): TrainHooks['afterStep'] => (step, stop) => { if (step === n) stop(); };
    const first = await train([...RUN, ...EPOCHS, '--out', dir], { afterStep: stopAt(3) });
    expect(first.code).toBe(130);
    expect(first.out).toContain(`"resume":"${resumeCommand(dir)}"`);
    expect(progressOf(dir)).toMatchObject({ step: 3, epochsDone: 0, epochStep: 3 });
    const second = await train(['--resume', dir], { afterStep: stopAt(16) });
    expect(second.code).toBe(130);
    expect(progressOf(dir)).toMatchObject({ step: 16, epochsDone: 1, epochStep: 8 });
    expect((await train(['--resume', dir])).code).toBe(0);
    expectSameAsBaseline(dir);
    const log = readLines(join(dir, 'metrics.jsonl')).map((e) => e.event);
    expect(log.filter((e) => e === 'interrupted' || e === 'resume')).toEqual(['interrupted', 'resume', 'interrupted', 'resume']);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).resumed.map((r: { step: number }) => r.step)).toEqual([3, 16]);
  });

  it('the resume command printed at a stop repeats the machine flags (--autotune, --max-gpu-memory), which the run\'s record does not keep', async () => {
    const dir = join(root, 'machine-flags');
    const stopAt3: TrainHooks['afterStep'] = (step, stop) => { if (step === 3) stop(); };
    const r = await train([...RUN, ...EPOCHS, '--autotune', 'off', '--max-gpu-memory', '4096', '--out', dir], { afterStep: stopAt3 });
    expect(r.code).toBe(130);
    const command = resumeCommand(dir, ['--autotune', 'off', '--max-gpu-memory', '4096']);
    expect(command).toMatch(/ train --resume .* --autotune off --max-gpu-memory 4096$/);
    expect(r.out).toContain(`"resume":"${command}"`);
    expect(machineFlagsOf({ autotune: 'full' })).toEqual(['--autotune', 'full']);
    expect(machineFlagsOf({})).toEqual([]);
  });

  it('a finished run trains longer with a raised --epochs, as if it had been asked for them at the start', async () => {
    const dir = join(root, 'longer');
    expect((await train([...RUN, '--epochs', '2', '--out', dir])).code).toBe(0);
    await expect(train(['--resume', dir])).rejects.toThrow(/has already trained 2 epochs, all it was asked for; pass --epochs N with N > 2/);
    await expect(train(['--resume', dir, '--epochs', '12', '--seed', '3'])).rejects.toThrow(/--seed 3 does not match the run in .*, which has seed 0; resume without --seed, or start a new run from its model under --seed 3: --init-from .*longer with the same data flags and another --out$/);
    // An architecture flag cannot change under --init-from either: only a new run is offered.
    await expect(train(['--resume', dir, '--epochs', '12', '--hidden', '64'])).rejects.toThrow(/--hidden 64 does not match .* which has hidden 32; resume without --hidden, or start a new run with another --out$/);
    // Flags that agree with the run are accepted.
    expect((await train(['--resume', dir, ...EPOCHS, '--hidden', '32', '--batch', '64'])).code).toBe(0);
    expectSameAsBaseline(dir);
  });

  it('--lr on resume: the next step moves the weights lr_new/lr_old as far, and the run keeps the new rate', async () => {
    const lowered = join(root, 'lowered-lr'), kept = join(root, 'kept-lr');
    expect((await train([...RUN, '--epochs', '2', '--out', lowered])).code).toBe(0);
    cpSync(lowered, kept, { recursive: true });
    const stateOf = (dir: string) => readTrainingState(new Uint8Array(readFileSync(join(dir, 'training-state.safetensors'))));
    const start = stateOf(lowered).params;
    const oneStep: TrainHooks['afterStep'] = (step, stop) => { if (step === 17) stop(); };
    expect((await train(['--resume', lowered, '--epochs', '3', '--lr', '0.0003'], { afterStep: oneStep })).code).toBe(130);
    expect((await train(['--resume', kept, '--epochs', '3'], { afterStep: oneStep })).code).toBe(130);

    // From the same weights and moments the gradient and Adam's direction are the same; only the
    // step length, -lr * m_hat / (sqrt(v_hat) + eps), changes: 0.3 times as far for 3e-4 against 1e-3.
    const movedLowered = stateOf(lowered).params.map((p, i) => p - start[i]);
    const movedKept = stateOf(kept).params.map((p, i) => p - start[i]);
    const compared = [...movedKept.keys()].filter((i) => Math.abs(movedKept[i]) > 1e-4);
    expect(compared.length).toBeGreaterThan(100);
    const off = compared.filter((i) => Math.abs(movedLowered[i] / movedKept[i] - 0.3) > 1e-3);
    expect(off.slice(0, 5).map((i) => `${i}: ${movedLowered[i]} vs ${movedKept[i]}`)).toEqual([]);

    expect(stateOf(lowered).training.lr).toBeCloseTo(3e-4, 12);
    expect(stateOf(kept).training.lr).toBeCloseTo(1e-3, 12);
    const resumedOf = (dir: string) => JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).resumed;
    expect(resumedOf(lowered)).toMatchObject([{ step: 16, epochs: 3, lr: 3e-4 }]);
    expect(resumedOf(kept)[0]).not.toHaveProperty('lr');
    // A later resume without --lr goes on at the rate the run last had.
    const last = await train(['--resume', lowered, '--epochs', '3']);
    expect(last.code).toBe(0);
    expect(last.out).toMatch(/"event":"start".*"lr":0\.0003/);
    expect(readLines(join(lowered, 'metrics.jsonl')).filter((e) => e.event === 'resume').map((e) => e.lr)).toEqual([3e-4, 3e-4]);
  });

  it('a resumed run keeps the activations\' precision it was saved with; --precision changes it', async () => {
    const dir = join(root, 'saved-f16');
    expect((await train([...RUN, '--epochs', '1', '--out', dir])).code).toBe(0);
    // The same run as if it had been started with --precision f16 (only the record differs).
    const statePath = join(dir, 'training-state.safetensors');
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(statePath)));
    writeFileSync(statePath, encodeSafetensors(tensors, { ...metadata, run: JSON.stringify({ ...JSON.parse(metadata.run), precision: 'f16' }) }));
    if (device.device.features.has('shader-f16')) {
      const r = await train(['--resume', dir, '--epochs', '2']);
      expect(r.code, r.out).toBe(0);
      expect(r.out).toMatch(/f16 activations\)/);
    } else {
      // Resumed in f16, which this adapter refuses: proof that the saved precision was taken.
      await expect(train(['--resume', dir, '--epochs', '2'])).rejects.toThrow(/needs the WebGPU feature 'shader-f16'/);
    }
    const r = await train(['--resume', dir, '--epochs', '2', '--precision', 'f32']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/training to epoch 2.*, f32 activations \(was f16\)/);
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).resumed.at(-1)).toMatchObject({ step: 8, epochs: 2, precision: 'f32' });
    expect(readTrainingState(new Uint8Array(readFileSync(statePath))).run).toMatchObject({ precision: 'f32' });
  });

  it('a cosine-decayed run, stopped mid-epoch and resumed, ends bit-identical to one that ran through', async () => {
    const decay = ['--lr-decay', 'cosine', '--lr-min', '0.0001', '--epochs', '3'];
    const straight = join(root, 'cosine-straight'), stopped = join(root, 'cosine-stopped');
    expect((await train([...RUN, ...decay, '--out', straight])).code).toBe(0);
    expect((await train([...RUN, ...decay, '--out', stopped], { afterStep: (step, stop) => { if (step === 5) stop(); } })).code).toBe(130);
    expect((await train(['--resume', stopped])).code).toBe(0);
    expect(history(stopped)).toEqual(history(straight));
    for (const file of ['model.safetensors', 'training-state.safetensors']) expect(bits(join(stopped, file)), file).toEqual(bits(join(straight, file)));
    const state = readTrainingState(new Uint8Array(readFileSync(join(straight, 'training-state.safetensors'))));
    expect(state.training).toMatchObject({ lrDecay: 'cosine', lrMin: 1e-4, lrDecaySteps: 24 }); // 3 epochs of 8 steps
    // The decay changed the run: the same run at a constant rate ends elsewhere.
    const constant = join(root, 'cosine-constant');
    expect((await train([...RUN, '--epochs', '3', '--out', constant])).code).toBe(0);
    expect(bits(join(constant, 'model.safetensors'))).not.toEqual(bits(join(straight, 'model.safetensors')));
    // Trained longer, it keeps its span: the new epoch trains at --lr-min, and says so.
    await expect(train(['--resume', straight, '--epochs', '4', '--lr', '0.00001'])).rejects.toThrow(
      /the run in .*cosine-straight decays its learning rate to --lr-min 0\.0001, which it keeps, and --lr 0\.00001 is below that floor; resume with --lr 0\.0001 or higher$/);
    const longer = await train(['--resume', straight, '--epochs', '4']);
    expect(longer.code).toBe(0);
    expect(longer.out).toContain('note: the learning rate reaches --lr-min 0.0001 at step 24, where the run\'s cosine decay ends; the steps after it train at that rate');
    // Past the decay a new --lr would be recorded and change nothing: refused, with the way to a new schedule.
    const record = readFileSync(join(straight, 'config.json'), 'utf8');
    await expect(train(['--resume', straight, '--epochs', '5', '--lr', '0.01'])).rejects.toThrow(
      /^--lr 0\.01 would change nothing: the run in .*cosine-straight followed its cosine decay to --lr-min 0\.0001 by step 24, and the steps after it train at --lr-min whatever --lr is\. Resume without --lr, or start a new schedule from its weights: train --init-from .*cosine-straight\/model\.safetensors --lr 0\.01 --lr-decay cosine/);
    expect(readFileSync(join(straight, 'config.json'), 'utf8')).toBe(record);
  });

  it('dynamic binarization draws each step\'s pixels from seed and step: a run stopped mid-epoch and resumed ends bit-identical', async () => {
    const args = [...RUN, '--binarize', 'dynamic', '--epochs', '2'];
    const straight = join(root, 'binarized-straight'), stopped = join(root, 'binarized-stopped');
    expect((await train([...args, '--out', straight])).code).toBe(0);
    expect((await train([...args, '--out', stopped], { afterStep: (step, stop) => { if (step === 5) stop(); } })).code).toBe(130);
    expect((await train(['--resume', stopped])).code).toBe(0);
    expect(history(stopped)).toEqual(history(straight));
    for (const file of ['model.safetensors', 'training-state.safetensors']) expect(bits(join(stopped, file)), file).toEqual(bits(join(straight, file)));
  });

  it('a cosine decay to --lr-min 0 is not trained past its span: a new schedule from its weights is offered', async () => {
    const dir = join(root, 'cosine-to-zero');
    expect((await train([...RUN, '--lr-decay', 'cosine', '--epochs', '1', '--out', dir])).code).toBe(0);
    await expect(train(['--resume', dir, '--epochs', '3'])).rejects.toThrow(
      /decays its learning rate along a cosine to --lr-min 0 at step 8 \(epoch 1\), so --epochs 3 would train the epochs after 1 at rate 0, which changes nothing\. .*--init-from .*cosine-to-zero\/model\.safetensors --lr-decay cosine --epochs N/);
  });

  it('--save-every: a crash keeps the last checkpoint, a write that fails midway keeps the one before, and the run still ends identical', async () => {
    const dir = join(root, 'crash');
    const crash = await train([...RUN, ...EPOCHS, '--save-every', '5', '--out', dir], { afterStep: (step) => { if (step === 13) throw new Error('simulated crash'); } })
      .catch((e: Error) => e.message);
    expect(crash).toBe('simulated crash');
    expect(progressOf(dir)).toMatchObject({ step: 10, epochsDone: 1, epochStep: 2 }); // saves at 5, 8 (epoch end), 10
    const before = readFileSync(join(dir, 'training-state.safetensors'));
    // The next save (step 15) dies halfway through writing the training state.
    let failed = 0;
    const err = await train(['--resume', dir], {
      writeChunk: (fd, bytes) => {
        writeAll(fd, bytes.subarray(0, bytes.length >> 1));
        failed++;
        throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' });
      },
    }).catch((e: Error) => e);
    expect(failed).toBe(1);
    expect(err).toBeInstanceOf(OutputError);
    expect((err as Error).message).toMatch(/cannot write .*training-state\.safetensors: the disk is full \(ENOSPC\); the previous training-state\.safetensors, if any, is unchanged; .*webgpu-vae train --resume/);
    expect(readFileSync(join(dir, 'training-state.safetensors')).equals(before)).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    readCheckpoint(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
    expect((await train(['--resume', dir])).code).toBe(0);
    // A new run whose first checkpoint cannot be written has nothing to resume: it is told to run again.
    const fresh = join(root, 'full-at-first');
    const failedFirst = await train([...RUN, ...EPOCHS, '--out', fresh], {
      writeChunk: () => { throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }); },
    }).catch((e: Error) => e);
    expect(failedFirst).toBeInstanceOf(OutputError);
    expect((failedFirst as Error).message).toMatch(/the disk is full \(ENOSPC\).*no checkpoint was written yet, so there is nothing to resume: .*then start the run again/);
    expect((failedFirst as Error).message).not.toContain('--resume');
    expectSameAsBaseline(dir);
  });

  it('a full disk at an epoch\'s checkpoint: the log holds each epoch once, from the run whose training state saved it', async () => {
    const dir = join(root, 'full-at-epoch-end');
    expect((await train([...RUN, '--epochs', '1', '--out', dir])).code).toBe(0);
    const full = () => { throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }); };
    const epochsLogged = () => readLines(join(dir, 'metrics.jsonl')).filter((e) => e.event === 'epoch').map((e) => e.epoch);
    // Epoch 2's training state cannot be written: the resume goes back to epoch 1's and runs epoch 2 again.
    await expect(train(['--resume', dir, '--epochs', '2'], { writeChunk: full })).rejects.toThrow(/training-state\.safetensors: the disk is full \(ENOSPC\)/);
    expect(progressOf(dir)).toMatchObject({ step: 8, epochsDone: 1 });
    expect(epochsLogged()).toEqual([1]);
    expect((await train(['--resume', dir, '--epochs', '2'])).code).toBe(0);
    expect(epochsLogged()).toEqual([1, 2]);
    // Epoch 3's training state lands and its model does not: the resume goes on from epoch 3's state, which the log already has.
    let writes = 0;
    await expect(train(['--resume', dir, '--epochs', '3'], { writeChunk: (fd, bytes) => { if (++writes === 2) full(); writeAll(fd, bytes); } }))
      .rejects.toThrow(/model\.safetensors: the disk is full \(ENOSPC\)/);
    expect(progressOf(dir)).toMatchObject({ step: 24, epochsDone: 3 });
    // Nothing is left to train and the model is epoch 2's: the resume the error advised rewrites it
    // from the state (not refused as a finished run), draws the pictures, and logs no epoch again.
    const modelPath = join(dir, 'model.safetensors');
    expect(readCheckpoint(new Uint8Array(readFileSync(modelPath))).metadata).toMatchObject({ step: '16' });
    const rewrite = await train(['--resume', dir, '--epochs', '3']);
    expect(rewrite.code, rewrite.out).toBe(0);
    expect(rewrite.out).toContain(`${modelPath} is of step 16, behind ${join(dir, 'training-state.safetensors')} (step 24): its last write was cut off; rewrote it from the training state`);
    expect(readCheckpoint(new Uint8Array(readFileSync(modelPath))).metadata).toMatchObject({ step: '24', epochs: '3' });
    const state = readTrainingState(new Uint8Array(readFileSync(join(dir, 'training-state.safetensors'))));
    expect(Buffer.from(readCheckpoint(new Uint8Array(readFileSync(modelPath))).flat.buffer).equals(Buffer.from(state.params.buffer))).toBe(true);
    expect(epochsLogged()).toEqual([1, 2, 3]);
    // With the model in step, the finished run is refused as before.
    await expect(train(['--resume', dir, '--epochs', '3'])).rejects.toThrow(/has already trained 3 epochs/);
    expect((await train(['--resume', dir, '--epochs', '4'])).code).toBe(0);
    expect(epochsLogged()).toEqual([1, 2, 3, 4]);
    expect(history(dir)).toEqual(history(baseline).filter((e) => (e.step as number) <= 32));
  });

  it('a new run never overwrites a run folder without --force; with it, the old run is replaced', async () => {
    const dir = join(root, 'forced');
    cpSync(baseline, dir, { recursive: true });
    await expect(train([...RUN, '--epochs', '1', '--out', dir])).rejects.toThrow(/already holds a run \(model\.safetensors, training-state\.safetensors\); continue it with `(npx )?webgpu-vae train --resume .*`, or add --force/);
    expect(readFileSync(join(dir, 'model.safetensors')).equals(readFileSync(join(baseline, 'model.safetensors')))).toBe(true);
    await expect(train(['--resume', dir, '--force'])).rejects.toThrow(/give one of them/);
    expect((await train([...RUN, '--epochs', '1', '--out', dir, '--force'])).code).toBe(0);
    expect(progressOf(dir)).toMatchObject({ step: 8, epochsDone: 1 });
    expect(readLines(join(dir, 'metrics.jsonl'))[0]).toMatchObject({ event: 'start', epochs: 1 });
    expect(history(dir)).toEqual(history(baseline).slice(0, 1)); // epoch 1 only: the old log is gone
  });

  it('Ctrl-C on the real command: finishes the step, saves, prints the resume command, exits 130; the resumed run matches', async () => {
    const dir = join(root, 'sigint');
    const child = spawn(process.execPath, [BIN, 'train', ...RUN, ...EPOCHS, '--out', dir, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', signalled = false;
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdout.on('data', (d) => {
      stdout += d;
      if (!signalled && stdout.includes('"event":"step"')) {
        signalled = true;
        child.kill('SIGINT');
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(signalled, stderr).toBe(true);
    expect(code, stderr).toBe(130);
    const events = stdout.trim().split('\n').map((l) => JSON.parse(l));
    const stopped = events.find((e) => e.event === 'interrupted');
    // The child names itself as its shell would run it (selfName): installed, or through npx.
    expect(stopped.resume).toMatch(new RegExp(`^(npx )?webgpu-vae train --resume ${dir}$`));
    expect(events.some((e) => e.event === 'done')).toBe(false);
    expect(stderr).toContain(`continue with\n  ${stopped.resume}`);
    expect(progressOf(dir).step).toBe(stopped.step);
    expect(stopped.step).toBeGreaterThanOrEqual(16);
    expect(stopped.step).toBeLessThan(96);
    const resumed = await cli(['train', '--resume', dir, '--json']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expectSameAsBaseline(dir);
  });

  it('Ctrl-C while the data loads and the kernels compile: said at once, stops before the first step, writes nothing', async () => {
    const dir = join(root, 'sigint-early');
    const child = spawn(process.execPath, [BIN, 'train', ...RUN, ...EPOCHS, '--out', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '', signalled = false;
    const onData = (d: Buffer) => {
      output += d;
      // The adapter line comes once the device is acquired; the signal handlers are set right after.
      if (!signalled && output.includes('adapter:')) {
        signalled = true;
        setTimeout(() => child.kill('SIGINT'), 20);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code, output).toBe(130);
    expect(output).toContain('SIGINT received: stopping before the first step, once the picture being read or the kernels being compiled are done');
    expect(output).toContain('SIGINT received before the first step: stopped; nothing was trained, and the run wrote no files\n');
    expect(existsSync(dir) ? readdirSync(dir) : []).toEqual([]);
  });

  it('a run folder whose config.json describes another model than its training state is refused; a damaged one is rebuilt with a warning', async () => {
    const mixed = join(root, 'mixed');
    cpSync(baseline, mixed, { recursive: true });
    const record = JSON.parse(readFileSync(join(mixed, 'config.json'), 'utf8'));
    record.config.latent = 99;
    writeFileSync(join(mixed, 'config.json'), JSON.stringify(record));
    await expect(train(['--resume', mixed, '--epochs', '13'])).rejects.toThrow(/describe different models \(latent differ\): the folder mixes files of two runs/);
    const damaged = join(root, 'damaged-record');
    cpSync(baseline, damaged, { recursive: true });
    writeFileSync(join(damaged, 'config.json'), '{ not json');
    const r = await train(['--resume', damaged, '--epochs', '13']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('config.json is not a readable run record; writing a new one from the training state');
    expect(JSON.parse(readFileSync(join(damaged, 'config.json'), 'utf8')).resumed).toHaveLength(1);
  });

  it('a model.safetensors that is not the run\'s is refused, left as it was; the run\'s own of another step, or a damaged one, is replaced', async () => {
    const mixed = join(root, 'foreign-model');
    cpSync(baseline, mixed, { recursive: true });
    const modelPath = join(mixed, 'model.safetensors');
    const ownBytes = new Uint8Array(readFileSync(modelPath));
    const own = readCheckpoint(ownBytes);
    // Another run's model: the same but wider, as that run wrote it.
    const wider = { ...own.config, hidden: [48] }, layout = paramLayout(wider);
    const foreign = encodeSafetensors(tensorsByName(layout, new Float32Array(layout.totalFloats)), { format: 'webgpu-vae', version: '1', config: JSON.stringify(wider), step: '40' });
    const files = () => Object.fromEntries(readdirSync(mixed).map((f) => [f, readFileSync(join(mixed, f)).toString('base64')]));
    const fix = 'and resuming would overwrite it at the run\'s next checkpoint; move that file elsewhere (the run writes its own model.safetensors there), ' +
      'or resume the run in a folder of its own (copy its training-state.safetensors, config.json and metrics.jsonl there)';
    const refusals: [Uint8Array, string][] = [
      [foreign, 'holds another model than training-state.safetensors (hidden differ): the folder mixes files of two runs'],
      [new Uint8Array(readFileSync(join(mixed, 'samples.png'))), 'is not the run\'s model (it is a PNG image)'],
      [new Uint8Array(readFileSync(join(mixed, 'training-state.safetensors'))), 'is not the run\'s model (it is a training state, not a model)'],
      [encodeSafetensors({ w: { shape: [1], data: Float32Array.of(1) } }, {}), 'is not the run\'s model (it is a safetensors file with no format metadata)'],
    ];
    for (const [bytes, says] of refusals) {
      writeFileSync(modelPath, bytes);
      const before = files();
      await expect(train(['--resume', mixed, '--epochs', '13'])).rejects.toThrow(`--resume ${mixed}: ${modelPath} ${says}, ${fix}`);
      expect(files()).toEqual(before);
    }
    // The run's own model, saved at another step: the run goes on and writes its new one.
    writeFileSync(modelPath, encodeSafetensors(decodeSafetensors(ownBytes).tensors, { ...own.metadata, step: '8', epochs: '1' }));
    expect((await train(['--resume', mixed, '--epochs', '13'])).code).toBe(0);
    expect(readCheckpoint(new Uint8Array(readFileSync(modelPath))).metadata).toMatchObject({ step: '104', epochs: '13' });
    // Cut inside its header, nothing tells whose it was: replaced, as the training state holds the run's parameters.
    writeFileSync(modelPath, readFileSync(modelPath).subarray(0, 100));
    expect((await train(['--resume', mixed, '--epochs', '14'])).code).toBe(0);
    expect(readCheckpoint(new Uint8Array(readFileSync(modelPath))).metadata).toMatchObject({ step: '112' });
  });

  it('a conv run recorded before conv configs dropped hidden sizes resumes: its [400] is the same model as []', () => {
    const dir = mkdtempSync(join(root, 'old-conv-record-'));
    const config = resolveConfig({ arch: 'conv', imageShape: [8, 8], inputDim: 64, channels: [4], latent: 3 });
    expect(config.hidden).toEqual([]);
    const record = { format: 'webgpu-vae-run', config: { ...config, hidden: [400] } };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(record));
    expect(() => checkRecordMatchesState(dir, config)).not.toThrow();
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...record, config: { ...record.config, channels: [8] } }));
    expect(() => checkRecordMatchesState(dir, config)).toThrow(/describe different models \(channels differ\)/);
  });
});

describe('atomic checkpoint writes', { timeout: LONG }, () => {
  it('a write that fails midway leaves the old file whole and no temporary file', () => {
    const dir = mkdtempSync(join(root, 'atomic-'));
    const path = join(dir, 'model.safetensors');
    writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    const big = new Uint8Array(1 << 20).fill(7);
    expect(() => writeFileAtomic(path, big, (fd, bytes) => { writeAll(fd, bytes.subarray(0, 1000)); throw new Error('EIO'); })).toThrow(OutputError);
    expect([...readFileSync(path)]).toEqual([1, 2, 3]);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    writeFileAtomic(path, big);
    expect(readFileSync(path).length).toBe(big.length);
    // A target that cannot be replaced (here a folder in its way) is refused without harm either.
    const blocked = join(dir, 'blocked');
    writeFileSync(join(dir, 'keep'), 'x');
    cpSync(join(dir, 'keep'), join(blocked, 'inside'));
    expect(() => writeFileAtomic(blocked, big)).toThrow(/cannot write .*blocked/);
    expect(existsSync(join(blocked, 'inside'))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
