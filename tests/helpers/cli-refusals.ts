// The scratch folder and the checks shared by the CLI's refusal tests (cli-refusals.test.ts,
// cli-refusals-paths.test.ts). Commands run in-process through main(), with a device provider that
// throws a sentinel: a command whose checks all pass stops there, before any data is loaded or file
// written. A refusal is one line on stderr naming the flag, exit status 1, and nothing written.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { TRAINING_STATE_FORMAT } from '../../src/checkpoint';
import { COMMAND_FLAGS } from '../../src/cli/args';
import { encodeSafetensors } from '../../src/io/safetensors';
import { setDeviceProvider, type DeviceProvider } from '../../src/cli/io';
import { runMain as run } from './cli-main';
import { tempDir } from './temp-dir';

export const FIXTURE = join(__dirname, '..', 'fixtures', 'v1-checkpoint.safetensors');
export const SENTINEL = 'all checks passed; no device in this test';
/** The old run's training state: a header that reads as one (train checks that before it offers --resume), and one tensor. */
export const OLD_STATE = encodeSafetensors({ step: { shape: [1], data: Float32Array.of(7) } }, { format: TRAINING_STATE_FORMAT });

export const root = tempDir('webgpu-vae-refusals-');
export const at = (...p: string[]) => join(root, ...p);

/** Flags and values that make the rest of each command valid. */
export function baseArgs(command: string, probed: string): string[] {
  const base: Record<string, [string, string][]> = {
    train: probed === 'resume' ? [] : [['out', at('new-run')]],
    eval: [['checkpoint', FIXTURE]],
    sample: [['checkpoint', FIXTURE], ['out', at('samples.png')]],
    traverse: [['checkpoint', FIXTURE], ['out', at('traversal.png')]],
    reconstruct: [['checkpoint', FIXTURE], ['out', at('reconstructions.png')]],
    interpolate: [['checkpoint', FIXTURE], ['out', at('interpolation.png')]],
  };
  return (base[command] ?? []).filter(([k]) => k !== probed).flatMap(([k, v]) => [`--${k}`, v]);
}

/** Names, sizes and modification times of everything under the scratch folder. */
export function snapshot(dir = root): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return [p + '/', ...snapshot(p)];
    const s = e.isSymbolicLink() || e.isFIFO() ? null : statSync(p);
    return [`${p} ${s ? `${s.size} ${s.mtimeMs}` : e.isFIFO() ? 'fifo' : 'link'}`];
  });
}

/** Runs argv and expects one line naming `mention` on stderr, exit 1, and the scratch folder unchanged. */
export async function expectRefusal(argv: string[], mention: string, what = argv.join(' ')): Promise<string> {
  const before = snapshot();
  const r = await run(argv);
  expect(r.stderr, `${what}: internal error`).not.toContain('internal error');
  expect(r.code, `${what}: exit status (stderr: ${r.stderr})`).toBe(1);
  expect(r.stderr.endsWith('\n') && r.stderr.indexOf('\n') === r.stderr.length - 1, `${what}: one line, got ${JSON.stringify(r.stderr)}`).toBe(true);
  expect(r.stderr, what).toContain(mention);
  expect(r.stdout, `${what}: stdout`).toBe('');
  expect(snapshot(), `${what}: files written`).toEqual(before);
  return r.stderr;
}

/** Refused in one line on stderr with exit 1, before any device was asked for (the provider throws SENTINEL). */
export async function refusedBeforeDevice(argv: string[], ...mentions: (string | RegExp)[]): Promise<string> {
  const r = await run(argv);
  const what = argv.join(' ');
  expect(r.stderr, `${what}: reached the device`).not.toContain(SENTINEL);
  expect(r.code, `${what}: ${r.stderr}`).toBe(1);
  expect(r.stderr.trimEnd().split('\n'), `${what}: one line`).toHaveLength(1);
  for (const m of mentions) expect(r.stderr, what).toMatch(m);
  return r.stderr;
}

/** Passed every check: stopped by the sentinel device. */
export async function passesChecks(argv: string[]): Promise<void> {
  const r = await run(argv);
  expect(r.stderr, argv.join(' ')).toContain(SENTINEL);
}

export const commands = [...COMMAND_FLAGS.keys()];

/**
 * Registers the calling file's hooks: before its tests, the scratch folder becomes the working
 * folder, the device provider throws SENTINEL, and the folder gets the files and folders the
 * cases name (a dangling link, a FIFO, an old run, a half-made one, an empty picture folder);
 * after them, the provider and the working folder are restored. Call it at a file's top level.
 */
export function useScratchFolder(): void {
  const cwd = process.cwd();
  let previous: DeviceProvider;

  beforeAll(() => {
    // Relative paths (train's default runs/NAME, odd values such as 'abc') land in the scratch folder.
    process.chdir(root);
    previous = setDeviceProvider(() => Promise.reject(new Error(SENTINEL)));
    mkdirSync(at('a-folder'));
    mkdirSync(at('a-folder.png'));
    writeFileSync(at('a-file'), 'not a folder');
    symlinkSync(at('nowhere'), at('dangling'));
    execFileSync('mkfifo', [at('fifo')]);
    mkdirSync(at('old-run'));
    writeFileSync(at('old-run', 'model.safetensors'), 'the old model');
    writeFileSync(at('old-run', 'training-state.safetensors'), OLD_STATE);
    mkdirSync(at('half-run'));
    writeFileSync(at('half-run', 'config.json'), '{"someone": "else\'s file"}');
    mkdirSync(at('pictures'));
  });

  afterAll(() => {
    setDeviceProvider(previous);
    process.chdir(cwd);
  });
}
